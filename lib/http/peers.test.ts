import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardToOwner, peerSocket, sessionIdPrefix, sessionOwner, webPeers, type WebPeers } from './peers';

let dir: string;
let peers: WebPeers;
let owner: Server;
let front: Server;
let frontUrl: string;
const handledHere: string[] = [];

function listening(server: Server, options: { port?: number; host?: string; path?: string }): Promise<void> {
  return new Promise((resolve) => server.listen(options, () => resolve()));
}

/** POSTs over a fresh connection; resolves with the status, the headers and the body's chunks as they arrived. */
function post(sessionId: string, body: string, extraHeaders: Record<string, string> = {}): Promise<{ status: number; headers: IncomingMessage['headers']; chunks: string[] }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(`${frontUrl}/mcp`, { method: 'POST', agent: false, headers: { 'mcp-session-id': sessionId, 'content-type': 'application/json', ...extraHeaders } }, (incoming) => {
      const chunks: string[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
      incoming.on('end', () => resolve({ status: incoming.statusCode!, headers: incoming.headers, chunks }));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-peers-'));
  peers = { self: 1, dir };
  // Process 2: answers with what it received, as an event stream in two flushes.
  owner = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'mcp-session-id': String(req.headers['mcp-session-id']) });
      res.write(`data: ${JSON.stringify({ method: req.method, url: req.url, body, forwardedFor: req.headers['x-forwarded-for'] ?? null })}\n\n`);
      setTimeout(() => res.end('data: done\n\n'), 50);
    });
  });
  await listening(owner, { path: peerSocket({ self: 2, dir }, 2) });
  // Process 1: forwards what process 2 owns, handles the rest itself.
  front = createServer((req, res) => {
    const index = sessionOwner(req);
    const handleHere = () => {
      handledHere.push(String(req.headers['mcp-session-id']));
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"here":true}');
    };
    if (index !== null && index !== peers.self) forwardToOwner(req, res, peerSocket(peers, index), handleHere);
    else handleHere();
  });
  await listening(front, { port: 0, host: '127.0.0.1' });
  frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => front.close(resolve));
  await new Promise((resolve) => owner.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('web processes sharing a port', () => {
  it('name themselves in session ids only when there are several', () => {
    expect(webPeers({ GATEHOUSE_WEB_INDEX: '2', GATEHOUSE_WEB_PEERS_DIR: '/run/x' })).toEqual({ self: 2, dir: '/run/x' });
    expect(webPeers({})).toBeNull();
    expect(sessionIdPrefix({ self: 2, dir: '/run/x' })).toBe('w2.');
    expect(sessionIdPrefix(null)).toBe('');
  });

  it('forward a request for another process\'s session whole, streamed answer included, with the client\'s address appended', async () => {
    const answer = await post('w2.abc', '{"jsonrpc":"2.0","id":1,"method":"tools/list"}', { 'x-forwarded-for': '203.0.113.9' });
    expect(answer.status).toBe(200);
    expect(answer.headers['mcp-session-id']).toBe('w2.abc');
    expect(answer.headers['content-type']).toBe('text/event-stream');
    const first = JSON.parse(answer.chunks[0]!.replace(/^data: /, '')) as Record<string, unknown>;
    expect(first).toEqual({ method: 'POST', url: '/mcp', body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}', forwardedFor: '203.0.113.9, 127.0.0.1' });
    // Relayed as it came: the first event before the owner had finished.
    expect(answer.chunks.length).toBeGreaterThan(1);
    expect(answer.chunks.join('')).toMatch(/data: done\n\n$/);
  });

  it('handle here, body unread, a session whose process is gone, and never forward their own or unnamed sessions', async () => {
    const gone = await post('w3.abc', '{"jsonrpc":"2.0","id":1,"method":"tools/list"}');
    expect([gone.status, gone.chunks.join('')]).toEqual([404, '{"here":true}']);
    await post('w1.abc', '{}');
    await post('0f0e-plain-uuid', '{}');
    expect(handledHere).toEqual(['w3.abc', 'w1.abc', '0f0e-plain-uuid']);
  });
});
