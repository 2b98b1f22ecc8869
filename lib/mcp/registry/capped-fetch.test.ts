// messageCappedFetch over loopback HTTP with real fetch: SSE events pass whole and unchanged
// (whatever line endings, however the bytes are chunked), read as the SDK reads them (eventsource-
// parser), an oversized one is dropped from a stream or answers its request with the JSON-RPC
// error, and a JSON answer is capped the same way.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { EventSourceParserStream, type EventSourceMessage } from 'eventsource-parser/stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listenOnLoopback } from '@/lib/platform/net';
import { messageCappedFetch, type MessageCap } from './capped-fetch';

const MAX = 1_000;
let server: Server;
let base: string;
/** What the next request is answered with: content type and the pieces written one by one. */
let answer: { type: string; pieces: string[] } = { type: 'text/event-stream', pieces: [] };

async function writePieces(res: ServerResponse, pieces: string[]): Promise<void> {
  for (const piece of pieces) {
    res.write(piece);
    // Let each piece leave as its own chunk.
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  res.end();
}

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': answer.type });
    void writePieces(res, answer.pieces);
  });
  base = await listenOnLoopback(server);
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function capped(cut: Parameters<MessageCap['onOversized']>[0][]) {
  return messageCappedFetch(fetch, { maxBytes: MAX, error: { code: -32004, message: 'too large' }, onOversized: (what) => cut.push(what) });
}

/** The events of an SSE body as the SDK's transports read them, collected as they are parsed. */
function parse(body: ReadableStream<Uint8Array>): { events: Pick<EventSourceMessage, 'event' | 'data'>[]; done: Promise<void> } {
  const events: Pick<EventSourceMessage, 'event' | 'data'>[] = [];
  const decoder = new TextDecoder();
  const done = body
    .pipeThrough(new TransformStream<Uint8Array, string>({ transform: (chunk, controller) => controller.enqueue(decoder.decode(chunk, { stream: true })) }))
    .pipeThrough(new EventSourceParserStream())
    .pipeTo(new WritableStream({ write: ({ event, data }) => void events.push({ event, data }) }));
  return { events, done };
}

async function eventsOf(response: Response): Promise<Pick<EventSourceMessage, 'event' | 'data'>[]> {
  const { events, done } = parse(response.body!);
  await done;
  return events;
}

// Every line ending SSE allows, the last event closed by a CRLF blank line as sse-starlette (the Python SDK) writes it.
const MIXED = 'event: message\r\ndata: {"a":1}\r\n\r\ndata: {"b":2}\n\n: comment\rdata: {"c":3}\r\rdata: {"d":4}\r\n\r\n';
const MIXED_EVENTS = [
  { event: 'message', data: '{"a":1}' },
  { event: undefined, data: '{"b":2}' },
  { event: undefined, data: '{"c":3}' },
  { event: undefined, data: '{"d":4}' },
];

/**
 * An SSE answer arriving in exactly these chunks, through messageCappedFetch: the chunks are made
 * here (not on a socket, which may join or split them) so every split point is tried. The stream
 * stays open after the last chunk until `close` is called, as an upstream's stream may.
 */
function chunkedAnswer(chunks: Uint8Array[], cut: Parameters<MessageCap['onOversized']>[0][]) {
  let upstream!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (controller) => void (upstream = controller) });
  const fetched = messageCappedFetch(async () => new Response(body, { headers: { 'content-type': 'text/event-stream' } }), {
    maxBytes: MAX,
    error: { code: -32004, message: 'too large' },
    onOversized: (what) => cut.push(what),
  })('http://upstream.test/', { method: 'GET' });
  return { fetched, send: (chunk: Uint8Array) => upstream.enqueue(chunk), close: () => upstream.close() };
}

describe('messageCappedFetch', () => {
  it('passes SSE events whole and byte for byte, CRLF, CR or LF, split anywhere', async () => {
    // Split in the middle of line endings and blank lines.
    answer = { type: 'text/event-stream', pieces: [MIXED.slice(0, 15), MIXED.slice(15, 32), MIXED.slice(32, 33), MIXED.slice(33, 50), MIXED.slice(50)] };
    const cut: Parameters<MessageCap['onOversized']>[0][] = [];
    const response = await capped(cut)(`${base}/`, { method: 'GET' });
    expect(await response.text()).toBe(MIXED);
    expect(cut).toEqual([]);
  });

  it('delivers every event to an SSE parser once its bytes are in, while the stream is still open, split at every byte', async () => {
    const bytes = new TextEncoder().encode(MIXED);
    const splits: Uint8Array[][] = [[...bytes].map((byte) => Uint8Array.of(byte))];
    for (let at = 1; at < bytes.byteLength; at += 1) splits.push([bytes.slice(0, at), bytes.slice(at)]);
    for (const chunks of splits) {
      const cut: Parameters<MessageCap['onOversized']>[0][] = [];
      const { fetched, send, close } = chunkedAnswer(chunks, cut);
      const { events, done } = parse((await fetched).body!);
      for (const chunk of chunks) send(chunk);
      // Nothing more comes: the last answer must not wait for bytes of an event that never starts.
      await vi.waitFor(() => expect(events, `split into ${chunks.map((chunk) => chunk.byteLength).join('+')} bytes`).toEqual(MIXED_EVENTS), { timeout: 2_000, interval: 5 });
      close();
      await done;
      expect(events).toEqual(MIXED_EVENTS);
      expect(cut).toEqual([]);
    }
  });

  it('passes on what follows the last blank line when the stream ends', async () => {
    answer = { type: 'text/event-stream', pieces: ['data: {"a":1}\r\n\r', '\n: trailing comment'] };
    const response = await capped([])(`${base}/`, { method: 'GET' });
    expect(await response.text()).toBe('data: {"a":1}\r\n\r\n: trailing comment');
  });

  it('drops an oversized CRLF event whole, its closing LF included, split at the CR', async () => {
    const big = `data: ${'x'.repeat(MAX * 2)}\r\n\r`;
    const after = '\ndata: {"after":2}\r\n\r\n';
    const cut: Parameters<MessageCap['onOversized']>[0][] = [];
    const { fetched, send, close } = chunkedAnswer([], cut);
    const response = await fetched;
    const encoder = new TextEncoder();
    for (const piece of ['data: {"before":1}\r\n\r\n', big.slice(0, MAX / 2), big.slice(MAX / 2), after]) send(encoder.encode(piece));
    close();
    expect(await response.text()).toBe('data: {"before":1}\r\n\r\ndata: {"after":2}\r\n\r\n');
    expect(cut).toEqual([{ url: 'http://upstream.test/' }]);
  });

  it('drops an oversized event from a stream that answers no one request, keeping the rest', async () => {
    const big = `data: ${'x'.repeat(MAX * 3)}\n\n`;
    answer = { type: 'text/event-stream', pieces: ['data: {"before":1}\n\n', big.slice(0, MAX), big.slice(MAX, 2 * MAX), big.slice(2 * MAX), 'data: {"after":2}\n\n'] };
    const cut: Parameters<MessageCap['onOversized']>[0][] = [];
    const response = await capped(cut)(`${base}/`, { method: 'GET' });
    expect(await eventsOf(response)).toEqual([
      { event: undefined, data: '{"before":1}' },
      { event: undefined, data: '{"after":2}' },
    ]);
    expect(cut).toEqual([{ url: `${base}/` }]);
  });

  it('answers for an oversized event on a stream of no one request when its head names the request it answers, and goes on', async () => {
    const big = (message: string) => `data: ${message.replace('BIG', 'x'.repeat(MAX * 2))}\r\n\r\n`;
    answer = {
      type: 'text/event-stream',
      pieces: [
        // The Python SDK's order: the id before the result, within the head.
        big('{"jsonrpc":"2.0","id":"r1","result":{"text":"BIG"}}'),
        // A request of the upstream's carries an id too: nothing to answer for it.
        big('{"jsonrpc":"2.0","id":9,"method":"sampling/createMessage","params":{"text":"BIG"}}'),
        // The TypeScript SDK's order: the id after the result, past the head.
        big('{"result":{"text":"BIG"},"jsonrpc":"2.0","id":3}'),
        'data: {"after":1}\n\n',
      ],
    };
    const cut: Parameters<MessageCap['onOversized']>[0][] = [];
    const response = await capped(cut)(`${base}/`, { method: 'GET' });
    expect(await eventsOf(response)).toEqual([
      { event: 'message', data: '{"jsonrpc":"2.0","id":"r1","error":{"code":-32004,"message":"too large"}}' },
      { event: undefined, data: '{"after":1}' },
    ]);
    expect(cut).toEqual([{ requestId: 'r1', url: `${base}/` }, { url: `${base}/` }, { url: `${base}/` }]);
  });

  it("answers a request whose SSE answer is oversized with the error for its id, and stops reading", async () => {
    answer = { type: 'text/event-stream', pieces: ['data: {"progress":1}\n\n', `data: ${'y'.repeat(MAX * 2)}`, '\n\ndata: {"never":true}\n\n'] };
    const cut: Parameters<MessageCap['onOversized']>[0][] = [];
    const response = await capped(cut)(`${base}/`, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: {} }) });
    expect(await eventsOf(response)).toEqual([
      { event: undefined, data: '{"progress":1}' },
      { event: 'message', data: '{"jsonrpc":"2.0","id":7,"error":{"code":-32004,"message":"too large"}}' },
    ]);
    expect(cut).toEqual([{ requestId: 7, url: `${base}/` }]);
  });

  it('caps a JSON answer: whole under the cap, the error for its id over it', async () => {
    const small = JSON.stringify({ jsonrpc: '2.0', id: 'a', result: { ok: true } });
    answer = { type: 'application/json', pieces: [small.slice(0, 10), small.slice(10)] };
    const post = (id: string) => ({ method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id, method: 'resources/read', params: {} }) });
    const cut: Parameters<MessageCap['onOversized']>[0][] = [];
    expect(await (await capped(cut)(`${base}/`, post('a'))).json()).toEqual(JSON.parse(small));
    answer = { type: 'application/json', pieces: ['{"jsonrpc":"2.0","id":"b","result":{"text":"', 'z'.repeat(MAX), '"}}'] };
    expect(await (await capped(cut)(`${base}/`, post('b'))).json()).toEqual({ jsonrpc: '2.0', id: 'b', error: { code: -32004, message: 'too large' } });
    expect(cut).toEqual([{ requestId: 'b', url: `${base}/` }]);
  });
});
