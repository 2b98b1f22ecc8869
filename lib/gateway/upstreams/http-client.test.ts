import { createServer, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from '@/lib/platform/net';
import { chunksOf } from './adapter';
import { postUpstream } from './http-client';

const seen: IncomingHttpHeaders[] = [];
const server = createServer((req, res) => {
  seen.push(req.headers);
  req.resume();
  req.on('end', () => res.end('{"ok":true}'));
});
let url: string;

beforeAll(async () => {
  url = await listenOnLoopback(server);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('upstream HTTP client', () => {
  it('never asks for a compressed answer, even when a provider is configured to', async () => {
    const headers = new Headers({ 'content-type': 'application/json', 'accept-encoding': 'gzip, br', 'x-team': 'research' });
    const answer = await postUpstream({ url: `${url}/v1/messages`, headers, body: '{}' }, new AbortController().signal).response;
    const chunks: Uint8Array[] = [];
    for await (const chunk of chunksOf(answer.body)) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString()).toBe('{"ok":true}');
    expect(seen).toHaveLength(1);
    expect(seen[0]!['accept-encoding']).toBeUndefined();
    expect(seen[0]!['x-team']).toBe('research');
  });

  it('sends again once on a fresh connection when a reused keep-alive socket turns out closed', async () => {
    // An upstream that drops every kept-alive connection at its next request, as one closing an
    // idle socket does while the request is on its way.
    const served = new WeakSet<object>();
    const closing = createServer((req, res) => {
      if (served.has(req.socket)) {
        req.socket.resetAndDestroy();
        return;
      }
      served.add(req.socket);
      req.resume();
      req.on('end', () => res.end('{"ok":true}'));
    });
    const closingUrl = await listenOnLoopback(closing);
    try {
      for (let call = 0; call < 3; call++) {
        const answer = await postUpstream({ url: `${closingUrl}/v1/messages`, headers: new Headers(), body: '{}' }, new AbortController().signal).response;
        const chunks: Uint8Array[] = [];
        for await (const chunk of chunksOf(answer.body)) chunks.push(chunk);
        expect(Buffer.concat(chunks).toString()).toBe('{"ok":true}');
      }
    } finally {
      closing.closeAllConnections();
      await new Promise<void>((resolve) => closing.close(() => resolve()));
    }
  });
});
