// Load generator for bench/gateway.ts, run as a separate process so its work does not share a
// thread with the server under test. Closed loop: `connections` workers, each sending its next
// request as soon as the previous answer ended, for `seconds` (after `warmupSeconds` unmeasured).
// 127.0.0.1 only. As a child process it prints `{"phase":"measuring"}` when the warm-up ends (so
// the parent can sample the servers' CPU over exactly the measured window) and the result last.
import { Agent, request } from 'node:http';

export interface LoadOptions {
  url: string;
  headers: Record<string, string>;
  /** The request body; `{{n}}` is replaced by a per-request counter, so no two prompts are equal. */
  body: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  requestsPerSecond: number;
  /** Milliseconds from sending to the end of the answer. */
  p50: number;
  p90: number;
  p99: number;
  /** Milliseconds from sending to the response headers. */
  ttfbP50: number;
  ttfbP99: number;
  /** Milliseconds from sending to the first token: the first text delta of a stream, the whole body otherwise. */
  ttftP50: number;
  ttftP90: number;
  ttftP99: number;
}

/** What marks the first token in an Anthropic event stream. */
const FIRST_TOKEN = 'content_block_delta';

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

interface Sample {
  ok: boolean;
  ttfb: number;
  ttft: number;
  total: number;
}

function once(agent: Agent, target: URL, options: LoadOptions, n: number): Promise<Sample> {
  const body = Buffer.from(options.body.replaceAll('{{n}}', String(n)));
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(
      { agent, host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: 'POST', headers: { ...options.headers, 'content-length': String(body.length) } },
      (res) => {
        const ttfb = performance.now() - started;
        const streamed = res.headers['content-type']?.startsWith('text/event-stream') ?? false;
        let ttft = 0;
        res.on('data', (chunk: Buffer) => {
          if (ttft === 0 && streamed && chunk.includes(FIRST_TOKEN)) ttft = performance.now() - started;
        });
        res.on('end', () => {
          const total = performance.now() - started;
          resolve({ ok: res.statusCode === 200, ttfb, ttft: ttft || total, total });
        });
        res.on('error', () => resolve({ ok: false, ttfb, ttft: 0, total: performance.now() - started }));
      },
    );
    req.on('error', () => resolve({ ok: false, ttfb: 0, ttft: 0, total: performance.now() - started }));
    req.end(body);
  });
}

export async function runLoad(options: LoadOptions, onMeasuring: () => void = () => {}): Promise<LoadResult> {
  const target = new URL(options.url);
  if (target.hostname !== '127.0.0.1') throw new Error('the load generator only targets 127.0.0.1');
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const warmupEnds = performance.now() + options.warmupSeconds * 1000;
  const ends = warmupEnds + options.seconds * 1000;
  setTimeout(onMeasuring, options.warmupSeconds * 1000).unref();
  const totals: number[] = [];
  const ttfbs: number[] = [];
  const ttfts: number[] = [];
  let errors = 0;
  let counter = 0;
  const worker = async () => {
    while (performance.now() < ends) {
      const sentAt = performance.now();
      const result = await once(agent, target, options, (counter += 1));
      if (sentAt < warmupEnds) continue;
      if (!result.ok) errors += 1;
      else {
        totals.push(result.total);
        ttfbs.push(result.ttfb);
        ttfts.push(result.ttft);
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  agent.destroy();
  for (const samples of [totals, ttfbs, ttfts]) samples.sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    requests: totals.length,
    errors,
    requestsPerSecond: round(totals.length / options.seconds),
    p50: round(percentile(totals, 0.5)),
    p90: round(percentile(totals, 0.9)),
    p99: round(percentile(totals, 0.99)),
    ttfbP50: round(percentile(ttfbs, 0.5)),
    ttfbP99: round(percentile(ttfbs, 0.99)),
    ttftP50: round(percentile(ttfts, 0.5)),
    ttftP90: round(percentile(ttfts, 0.9)),
    ttftP99: round(percentile(ttfts, 0.99)),
  };
}

// As a child process: options as JSON in argv[2], the result as one JSON line on stdout.
if (process.argv[1]?.endsWith('load.ts') && process.argv[2]) {
  const result = await runLoad(JSON.parse(process.argv[2]) as LoadOptions, () => process.stdout.write('{"phase":"measuring"}\n'));
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
