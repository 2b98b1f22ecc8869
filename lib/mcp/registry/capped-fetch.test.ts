// messageCappedFetch over loopback HTTP with real fetch: SSE events pass whole and unchanged
// (whatever line endings, however the bytes are chunked), an oversized one is dropped from a
// stream or answers its request with the JSON-RPC error, and a JSON answer is capped the same way.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe('messageCappedFetch', () => {
  it('passes SSE events whole and byte for byte, CRLF, CR or LF, split anywhere', async () => {
    const stream = 'event: message\r\ndata: {"a":1}\r\n\r\ndata: {"b":2}\n\n: comment\rdata: {"c":3}\r\r';
    // Split in the middle of line endings and blank lines.
    answer = { type: 'text/event-stream', pieces: [stream.slice(0, 15), stream.slice(15, 32), stream.slice(32, 33), stream.slice(33, 50), stream.slice(50)] };
    const cut: Parameters<MessageCap['onOversized']>[0][] = [];
    const response = await capped(cut)(`${base}/`, { method: 'GET' });
    expect(await response.text()).toBe(stream);
    expect(cut).toEqual([]);
  });

  it('drops an oversized event from a stream that answers no one request, keeping the rest', async () => {
    const big = `data: ${'x'.repeat(MAX * 3)}\n\n`;
    answer = { type: 'text/event-stream', pieces: ['data: {"before":1}\n\n', big.slice(0, MAX), big.slice(MAX, 2 * MAX), big.slice(2 * MAX), 'data: {"after":2}\n\n'] };
    const cut: Parameters<MessageCap['onOversized']>[0][] = [];
    const response = await capped(cut)(`${base}/`, { method: 'GET' });
    expect(await response.text()).toBe('data: {"before":1}\n\ndata: {"after":2}\n\n');
    expect(cut).toEqual([{ url: `${base}/` }]);
  });

  it("answers a request whose SSE answer is oversized with the error for its id, and stops reading", async () => {
    answer = { type: 'text/event-stream', pieces: ['data: {"progress":1}\n\n', `data: ${'y'.repeat(MAX * 2)}`, '\n\ndata: {"never":true}\n\n'] };
    const cut: Parameters<MessageCap['onOversized']>[0][] = [];
    const response = await capped(cut)(`${base}/`, { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: {} }) });
    expect(await response.text()).toBe('data: {"progress":1}\n\nevent: message\ndata: {"jsonrpc":"2.0","id":7,"error":{"code":-32004,"message":"too large"}}\n\n');
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
