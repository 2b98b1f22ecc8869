import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardToOwner, peerSocket, sessionIdPrefix, sessionOwner, webPeers, type WebPeers } from './peers';

let dir: string;
let peers: WebPeers;
let owner: Server;
let front: Server;
let frontUrl: string;
const others: Server[] = [];
let busyOwner: ChildProcess | undefined;
/** Session id and the body handleHere could still read (so forwarding had read none of it). */
const handledHere: { session: string; body: string }[] = [];

function listening(server: Server, options: { port?: number; host?: string; path?: string }): Promise<void> {
  return new Promise((resolve) => server.listen(options, () => resolve()));
}

/**
 * POSTs over a fresh connection; resolves with the status, the headers, the body's chunks as
 * they arrived, and whether the answer was cut off before its end.
 */
function post(sessionId: string, body: string, extraHeaders: Record<string, string> = {}): Promise<{ status: number; headers: IncomingMessage['headers']; chunks: string[]; cutOff: boolean }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(`${frontUrl}/mcp`, { method: 'POST', agent: false, headers: { 'mcp-session-id': sessionId, 'content-type': 'application/json', ...extraHeaders } }, (incoming) => {
      const chunks: string[] = [];
      const done = (cutOff: boolean) => resolve({ status: incoming.statusCode!, headers: incoming.headers, chunks, cutOff });
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
      incoming.on('end', () => done(false));
      incoming.on('error', () => done(true));
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
  // Process 4: dies mid-answer, after its first event.
  const dying = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      setTimeout(() => res.socket?.destroy(), 50);
    });
  });
  // Process 5: fails after accepting the connection, before any answer.
  const failing = createServer((req) => req.socket.destroy());
  await listening(dying, { path: peerSocket({ self: 4, dir }, 4) });
  await listening(failing, { path: peerSocket({ self: 5, dir }, 5) });
  others.push(dying, failing);
  // Process 1: forwards what process 2 owns, handles the rest itself.
  front = createServer((req, res) => {
    const index = sessionOwner(req);
    const handleHere = () => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        handledHere.push({ session: String(req.headers['mcp-session-id']), body });
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"here":true}');
      });
    };
    if (index !== null && index !== peers.self) forwardToOwner(req, res, peerSocket(peers, index), handleHere);
    else handleHere();
  });
  await listening(front, { port: 0, host: '127.0.0.1' });
  frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
});

afterAll(async () => {
  busyOwner?.kill('SIGKILL');
  for (const server of others) await new Promise((resolve) => server.close(resolve));
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
    expect(handledHere).toEqual([
      { session: 'w3.abc', body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' },
      { session: 'w1.abc', body: '{}' },
      { session: '0f0e-plain-uuid', body: '{}' },
    ]);
  });

  it('cut the client\'s answer off when the owner dies mid-stream, so it never looks complete', async () => {
    const cut = await post('w4.abc', '{}');
    expect(cut.status).toBe(200);
    expect(cut.chunks.join('')).toBe('data: first\n\n');
    expect(cut.cutOff).toBe(true);
  });

  it('answer 502 in the MCP error shape when the owner fails after the connection, before answering', async () => {
    const before = handledHere.length;
    const failed = await post('w5.abc', '{}');
    expect(failed.status).toBe(502);
    expect(JSON.parse(failed.chunks.join(''))).toEqual({ jsonrpc: '2.0', error: { code: -32000, message: expect.stringMatching(/failed before answering/) }, id: null });
    expect(handledHere.length).toBe(before);
  });

  it('answer 503 with Retry-After, not "unknown session", when the owner\'s socket is full (EAGAIN)', async () => {
    // An owner whose event loop is blocked accepts nothing: its backlog of 1 fills, then connect fails with EAGAIN.
    const socketPath = peerSocket({ self: 6, dir }, 6);
    const script = `require('net').createServer().listen({ path: ${JSON.stringify(socketPath)}, backlog: 1 }, () => { console.log('listening'); setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0), 20); })`;
    busyOwner = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => busyOwner!.stdout!.once('data', resolve));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const fillers: net.Socket[] = [];
    for (;;) {
      const filler = net.connect(socketPath);
      const outcome = await new Promise<string>((resolve) => {
        filler.once('connect', () => resolve('connected'));
        filler.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });
      if (outcome !== 'connected') {
        expect(outcome).toBe('EAGAIN');
        break;
      }
      fillers.push(filler);
      expect(fillers.length).toBeLessThan(100);
    }
    const before = handledHere.length;
    const busy = await post('w6.abc', '{}');
    for (const filler of fillers) filler.destroy();
    expect(busy.status).toBe(503);
    expect(busy.headers['retry-after']).toBe('1');
    expect(JSON.parse(busy.chunks.join(''))).toEqual({ jsonrpc: '2.0', error: { code: -32000, message: expect.stringMatching(/busy; retry/) }, id: null });
    expect(handledHere.length).toBe(before);
  });
});
