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
    const answer = await postUpstream({ url: `${url}/v1/messages`, headers, body: '{}' }, new AbortController().signal);
    const chunks: Uint8Array[] = [];
    for await (const chunk of chunksOf(answer.body)) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString()).toBe('{"ok":true}');
    expect(seen).toHaveLength(1);
    expect(seen[0]!['accept-encoding']).toBeUndefined();
    expect(seen[0]!['x-team']).toBe('research');
  });
});
