// The gateway's answers on the client's socket, served the way the production server serves them
// (serveDataPlane on a Node server): how many socket writes an answer takes, what a client that
// leaves or reads slowly does to the upstream call, and the evidence such calls leave.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { matchDataPlane, pathOf, serveDataPlane } from '@/lib/http/data-plane';
import { listenOnLoopback } from '@/lib/platform/net';
import { sseFrame } from '@/lib/gateway/upstreams/sse';
import { tuneUpstreams } from '@/lib/gateway/upstreams/tuning';
import { newTestTraceId, startGateway, tokenFor, waitForEvents, type GatewayHarness } from './harness';

/** What one socket write of the server carried (a writev's buffers joined). */
interface RecordedWrite {
  text: string;
}

/** Records every write the server hands to each client socket: the Writable's _write and _writev, one per syscall. */
function recordWrites(socket: Writable, writes: RecordedWrite[]): void {
  const instrumented = socket as Writable & {
    _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void;
    _writev?(chunks: { chunk: Buffer | string }[], callback: (error?: Error | null) => void): void;
  };
  const write = instrumented._write.bind(socket);
  instrumented._write = (chunk, encoding, callback) => {
    writes.push({ text: Buffer.from(chunk).toString('latin1') });
    write(chunk, encoding, callback);
  };
  const writev = instrumented._writev?.bind(socket);
  if (writev) {
    instrumented._writev = (chunks, callback) => {
      writes.push({ text: chunks.map(({ chunk }) => (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1'))).join('') });
      writev(chunks, callback);
    };
  }
}

const START = sseFrame('message_start', {
  type: 'message_start',
  message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'upstream-model', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } },
});
const BLOCK_START = sseFrame('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
const delta = (text: string) => sseFrame('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } });
const ENDING =
  sseFrame('content_block_stop', { type: 'content_block_stop', index: 0 }) +
  sseFrame('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 5 } }) +
  sseFrame('message_stop', { type: 'message_stop' });

type UpstreamPlay = (res: ServerResponse, req: IncomingMessage) => Promise<void>;

/** An Anthropic-shaped upstream whose answer a test scripts write by write. */
class ScriptedUpstream {
  play: UpstreamPlay = async (res) => {
    res.end(JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: 'upstream-model', content: [{ type: 'text', text: 'hello' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } }));
  };
  /** Whether each call's request ended by the gateway closing the connection before the answer was complete. */
  readonly aborted: Promise<boolean>[] = [];
  readonly server: Server = createServer((req, res) => {
    req.resume();
    this.aborted.push(new Promise((resolve) => res.once('close', () => resolve(!res.writableFinished))));
    req.once('end', () => {
      res.writeHead(200, { 'content-type': req.headers.accept === 'application/json' ? 'application/json' : 'text/event-stream' });
      void this.play(res, req).catch(() => res.destroy());
    });
  });
}

function writeAndWait(res: ServerResponse, text: string | Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (res.write(text)) resolve();
    else res.once('drain', resolve);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let upstream: ScriptedUpstream;
let gateway: GatewayHarness;
let server: Server;
let serverUrl: URL;
let user: UserIdentity;
let token: string;
const writesBySocket = new Map<Socket, RecordedWrite[]>();

beforeAll(async () => {
  upstream = new ScriptedUpstream();
  const upstreamUrl = await listenOnLoopback(upstream.server);
  gateway = await startGateway(
    `
providers:
  # A paused reader holds the stream back for as long as a test needs (the idle limit is also the reader's).
  scripted: { type: anthropic, base_url: ${upstreamUrl}, max_retries: 0, timeout_ms: 5000, idle_timeout_ms: 30000 }
  scripted-short-idle: { type: anthropic, base_url: ${upstreamUrl}, max_retries: 0, timeout_ms: 5000, idle_timeout_ms: 1000 }
models:
  claude-sonnet-5-5:
    targets: [{ provider: scripted, model: upstream-model }]
  claude-haiku-5-5:
    targets: [{ provider: scripted-short-idle, model: upstream-model }]
    price: { input_per_mtok_microdollars: 1000000, output_per_mtok_microdollars: 5000000 }
`,
    'socket-writes',
  );
  user = await createTestUser(['member']);
  token = await tokenFor(gateway, user);
  // The production serving (lib/http/server.ts) on a server whose sockets record their writes.
  server = createServer((req, res) => void serveDataPlane(req, res, matchDataPlane(pathOf(req.url ?? '/'))!));
  server.on('connection', (socket: Socket) => {
    const writes: RecordedWrite[] = [];
    writesBySocket.set(socket, writes);
    recordWrites(socket, writes);
  });
  serverUrl = new URL(await listenOnLoopback(server));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  upstream.server.closeAllConnections();
  await new Promise<void>((resolve) => upstream.server.close(() => resolve()));
  await gateway.close();
});

/** A raw HTTP/1.1 request on its own socket (the gateway's Host: the token was minted for its audience). */
function rawRequest(traceId: string, body: Record<string, unknown>): { socket: Socket; writes: Promise<RecordedWrite[]> } {
  const payload = JSON.stringify({ model: 'claude-sonnet-5-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], ...body });
  const before = new Set(writesBySocket.keys());
  const socket = connect(Number(serverUrl.port), serverUrl.hostname);
  socket.write(
    `POST /v1/messages HTTP/1.1\r\nHost: ${new URL(gateway.url).host}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\n` +
      `Accept: ${body.stream ? 'text/event-stream' : 'application/json'}\r\nx-trace-id: ${traceId}\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
  );
  const writes = new Promise<RecordedWrite[]>((resolve) => {
    const find = () => {
      const socketWrites = [...writesBySocket.entries()].find(([each]) => !before.has(each))?.[1];
      if (socketWrites) resolve(socketWrites);
      else setTimeout(find, 5);
    };
    find();
  });
  return { socket, writes };
}

/** Reads from `socket` until `done(received)` holds. */
function readUntil(socket: Socket, done: (received: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const onData = (chunk: Buffer) => {
      received += chunk.toString('utf8');
      if (!done(received)) return;
      socket.off('data', onData);
      resolve(received);
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** A streamed request whose reader stops after the first block starts; resolves once the upstream is held back (no progress for a while). */
async function pausedStream(upstreamSent: () => number): Promise<Socket> {
  const { socket } = rawRequest(newTestTraceId(), { stream: true });
  await readUntil(socket, (text) => text.includes('content_block_start'));
  socket.pause();
  let last = -1;
  while (upstreamSent() !== last) {
    last = upstreamSent();
    await sleep(300);
  }
  return socket;
}

describe('socket writes', () => {
  it('sends a non-streaming answer, status line, headers and body, in one write', async () => {
    upstream.play = async (res) => {
      res.end(JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: 'upstream-model', content: [{ type: 'text', text: 'hello' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } }));
    };
    const { socket, writes } = rawRequest(newTestTraceId(), {});
    const received = await readUntil(socket, (text) => text.includes('"end_turn"') && text.trimEnd().endsWith('}'));
    socket.destroy();
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    const recorded = await writes;
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.text).toMatch(/^HTTP\/1\.1 200 [^]*x-trace-id: [^]*\r\n\r\n\{"id":"msg_1"/);
  });

  it('sends the events of one upstream read in one write, without waiting for the next read', async () => {
    let sendRest: () => void = () => {};
    const restAllowed = new Promise<void>((resolve) => (sendRest = resolve));
    upstream.play = async (res) => {
      // Five events in one upstream write, then (once the client has them) the rest in another.
      res.write(START + BLOCK_START + delta('one ') + delta('two ') + delta('three '));
      await restAllowed;
      res.end(ENDING);
    };
    const traceId = newTestTraceId();
    const { socket, writes } = rawRequest(traceId, { stream: true });
    // The first batch reaches the client while the upstream holds back the rest: nothing waits for a later read.
    await readUntil(socket, (text) => text.includes('three '));
    const recorded = await writes;
    const eventWrites = () => recorded.filter((write) => write.text.includes('event: '));
    expect(eventWrites()).toHaveLength(1);
    for (const name of ['message_start', 'content_block_start', 'one ', 'two ', 'three ']) expect(eventWrites()[0]!.text).toContain(name);
    sendRest();
    await readUntil(socket, (text) => text.includes('0\r\n\r\n'));
    socket.destroy();
    expect(eventWrites()).toHaveLength(2);
    expect(eventWrites()[1]!.text).toContain('message_stop');
    // Status line and headers first (the client sees them at once), then one write per upstream read, then the end.
    expect(recorded[0]!.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(recorded.length).toBeLessThanOrEqual(4);
  });

  it('sends the status line and headers at once when the first event of the upstream comes later', async () => {
    let sendFirst: () => void = () => {};
    const firstAllowed = new Promise<void>((resolve) => (sendFirst = resolve));
    upstream.play = async (res) => {
      res.flushHeaders();
      // The first event only once the client has the status line: a head held back for the first
      // event (or for a ping, 10 s away) would not arrive in time.
      await firstAllowed;
      res.end(START + BLOCK_START + delta('late ') + ENDING);
    };
    const { socket } = rawRequest(newTestTraceId(), { stream: true });
    const head = await Promise.race([readUntil(socket, (text) => text.includes('\r\n\r\n')), sleep(3000).then(() => 'no status line within 3 s')]);
    expect(head).toMatch(/^HTTP\/1\.1 200 [^]*content-type: text\/event-stream/);
    expect(head).not.toContain('event: ');
    const rest = readUntil(socket, (text) => text.includes('0\r\n\r\n'));
    sendFirst();
    expect(await rest).toContain('message_stop');
    socket.destroy();
  });
});

describe('a client that leaves or reads slowly', () => {
  it('leaving mid-stream (socket closed) aborts the upstream call and records client_disconnected', async () => {
    upstream.play = async (res) => {
      res.write(START + BLOCK_START + delta('never '));
      // Then nothing: the upstream would hold the call open for as long as the gateway lets it.
      await new Promise<void>((resolve) => res.once('close', resolve));
    };
    const traceId = newTestTraceId();
    const calls = upstream.aborted.length;
    const { socket } = rawRequest(traceId, { stream: true });
    await readUntil(socket, (text) => text.includes('never '));
    socket.destroy();
    await expect.poll(() => upstream.aborted.length).toBeGreaterThan(calls);
    expect(await upstream.aborted[calls]).toBe(true);
    const events = await waitForEvents(traceId, ['inference.request', 'inference.response']);
    expect(events.find((event) => event.event_type === 'inference.response')).toMatchObject({ outcome: 'unknown', attributes: { client_disconnected: true } });
  });

  it('a reader that stops reading holds the upstream back instead of buffering its answer', async () => {
    const EVENT_TEXT = 'x'.repeat(16 * 1024);
    const EVENTS = 4096; // 64 MiB of deltas: far more than the socket buffers on the way can hold
    let upstreamSent = 0;
    let upstreamDone = false;
    upstream.play = async (res) => {
      await writeAndWait(res, START + BLOCK_START);
      const frame = Buffer.from(delta(EVENT_TEXT));
      for (let index = 0; index < EVENTS && !res.destroyed; index++) {
        await writeAndWait(res, frame);
        upstreamSent += frame.length;
      }
      res.end(ENDING);
      upstreamDone = true;
    };
    const socket = await pausedStream(() => upstreamSent);
    expect(upstreamDone).toBe(false);
    // Kernel buffers on both sockets (a few MiB each on loopback) and one socket's worth in the gateway, not the answer.
    expect(upstreamSent).toBeLessThan(32 * 1024 * 1024);
    // Reading again lets the whole answer through, intact.
    let received = 0;
    let tail = '';
    const finished = new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        tail = (tail + chunk.toString('latin1')).slice(-200);
        if (tail.includes('message_stop')) resolve();
      });
    });
    socket.resume();
    await finished;
    socket.destroy();
    expect(upstreamDone).toBe(true);
    expect(received).toBeGreaterThan(EVENTS * EVENT_TEXT.length);
  }, 60_000);

  it('after a reader catches up, a silent upstream gets pings again at the ping interval, not at the reader\'s deadline', async () => {
    const EVENTS = 4096; // 64 MiB: the gateway waits for the paused reader's socket to drain
    const frame = Buffer.from(delta('x'.repeat(16 * 1024)));
    let upstreamSent = 0;
    let silent = false;
    upstream.play = async (res) => {
      const closed = new Promise<void>((resolve) => res.once('close', resolve));
      await writeAndWait(res, START + BLOCK_START);
      for (let index = 0; index < EVENTS && !res.destroyed; index++) {
        await writeAndWait(res, frame);
        upstreamSent += frame.length;
      }
      silent = true;
      await closed; // then nothing, with the stream held open (the provider's idle limit is 30 s)
    };
    const previous = tuneUpstreams({ pingIntervalMs: 500 });
    try {
      const socket = await pausedStream(() => upstreamSent);
      expect(silent).toBe(false);
      let tail = '';
      let silentSince: number | null = null;
      const pinged = new Promise<number>((resolve) => {
        socket.on('data', (chunk: Buffer) => {
          tail = (tail + chunk.toString('latin1')).slice(-200);
          if (silent && silentSince === null) silentSince = Date.now();
          if (silentSince !== null && tail.includes('event: ping')) resolve(Date.now() - silentSince);
        });
      });
      socket.resume();
      // Well under the provider's 30 s idle limit, which the watchdog of the last wait was armed for.
      expect(await pinged).toBeLessThan(5_000);
      socket.destroy();
    } finally {
      tuneUpstreams(previous);
    }
  }, 60_000);

  it('a reader that takes nothing for the idle limit is let go: the upstream call is cancelled, client_disconnected recorded', async () => {
    const frame = Buffer.from(delta('x'.repeat(16 * 1024)));
    upstream.play = async (res) => {
      const closed = new Promise<void>((resolve) => res.once('close', resolve));
      await writeAndWait(res, START + BLOCK_START);
      // An endless answer: only the gateway letting go of the call ends it.
      while (!res.destroyed) await Promise.race([writeAndWait(res, frame), closed]);
    };
    const traceId = newTestTraceId();
    const calls = upstream.aborted.length;
    // claude-haiku-5-5's provider has a 1 s idle limit.
    const { socket } = rawRequest(traceId, { stream: true, model: 'claude-haiku-5-5' });
    await readUntil(socket, (text) => text.includes('content_block_start'));
    socket.pause();
    await expect.poll(() => upstream.aborted.length).toBeGreaterThan(calls);
    expect(await upstream.aborted[calls]).toBe(true);
    const events = await waitForEvents(traceId, ['inference.request', 'inference.response']);
    expect(events.find((event) => event.event_type === 'inference.response')).toMatchObject({ outcome: 'unknown', attributes: { client_disconnected: true } });
    socket.destroy();
  }, 20_000);
});
