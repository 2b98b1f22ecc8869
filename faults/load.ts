// Load for the fault suite, in a process of its own that stops by itself: `connections` closed
// loops of POST /v1/messages for `seconds` (or until `maxRequests` were sent), each answer read to
// its end under the client's timeout and classified as the client sees it. Prints one JSON line
// (LoadReport). 127.0.0.1 only. Plain node:http: nothing of Gatehouse is imported.
import { Agent, request } from 'node:http';

export interface LoadPlan {
  url: string;
  token: string;
  model: string;
  stream: boolean;
  connections: number;
  seconds: number;
  maxRequests?: number;
  /** The client's patience for one whole answer; longer counts as `client_timeout`. */
  timeoutMs: number;
}

/** How one answer ended, from the client's side. */
export type ClientOutcome =
  /** 2xx, and a stream ended with message_stop. */
  | 'ok'
  /** An Anthropic error body (or a stream's `error` event): `status error_type`, e.g. `529 overloaded_error`, `200 stream api_error`. */
  | `${number} ${string}`
  /** The connection failed (ECONNRESET, ECONNREFUSED, socket hang up) or the stream ended without message_stop or error. */
  | `transport ${string}`
  | 'client_timeout';

export interface LoadReport {
  requests: number;
  outcomes: Record<string, number>;
  /** The slowest answer, ms: fail-closed answers must come within the client's timeout. */
  maxMs: number;
  /** Trace ids of the answers that carried one (x-trace-id or the error body's request_id). */
  traceIds: string[];
}

function errorType(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { type?: unknown } };
    return typeof parsed.error?.type === 'string' ? parsed.error.type : 'not_anthropic_error';
  } catch {
    return 'not_json';
  }
}

function streamOutcome(body: string): ClientOutcome {
  const failure = /event: error\ndata: (.*)/.exec(body);
  if (failure) return `200 stream ${errorType(failure[1]!)}`;
  return body.includes('event: message_stop') ? 'ok' : 'transport stream_cut';
}

function once(agent: Agent, plan: LoadPlan, n: number): Promise<{ outcome: ClientOutcome; ms: number; traceId: string | null }> {
  const target = new URL(plan.url);
  const body = Buffer.from(
    JSON.stringify({ model: plan.model, max_tokens: 256, stream: plan.stream, messages: [{ role: 'user', content: `fault load request ${n}` }] }),
  );
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: ClientOutcome, traceId: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ outcome, ms: performance.now() - started, traceId });
    };
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: '/v1/messages',
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${plan.token}`, 'anthropic-version': '2023-06-01', 'content-length': String(body.length) },
      },
      (res) => {
        const traceId = typeof res.headers['x-trace-id'] === 'string' ? res.headers['x-trace-id'] : null;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) finish(plan.stream ? streamOutcome(text) : 'ok', traceId);
          else finish(`${status} ${errorType(text)}`, traceId);
        });
        res.on('error', (error: NodeJS.ErrnoException) => finish(`transport ${error.code ?? error.message}`, traceId));
        res.on('aborted', () => finish('transport aborted', traceId));
      },
    );
    const timer = setTimeout(() => {
      finish('client_timeout', null);
      req.destroy();
    }, plan.timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => finish(`transport ${error.code ?? error.message}`, null));
    req.end(body);
  });
}

export async function runLoad(plan: LoadPlan): Promise<LoadReport> {
  if (new URL(plan.url).hostname !== '127.0.0.1') throw new Error('fault load only targets 127.0.0.1');
  const agent = new Agent({ keepAlive: true, maxSockets: plan.connections });
  const ends = performance.now() + plan.seconds * 1000;
  const report: LoadReport = { requests: 0, outcomes: {}, maxMs: 0, traceIds: [] };
  let sent = 0;
  const loop = async () => {
    while (performance.now() < ends && (plan.maxRequests === undefined || sent < plan.maxRequests)) {
      sent += 1;
      const { outcome, ms, traceId } = await once(agent, plan, sent);
      report.requests += 1;
      report.outcomes[outcome] = (report.outcomes[outcome] ?? 0) + 1;
      report.maxMs = Math.max(report.maxMs, Math.round(ms));
      if (traceId) report.traceIds.push(traceId);
      // A refused connection (the web process is down) must not become a busy loop.
      if (outcome.startsWith('transport ')) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  await Promise.all(Array.from({ length: plan.connections }, loop));
  agent.destroy();
  return report;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const plan = JSON.parse(process.argv[2] ?? '{}') as LoadPlan;
  process.stdout.write(`${JSON.stringify(await runLoad(plan))}\n`);
}
