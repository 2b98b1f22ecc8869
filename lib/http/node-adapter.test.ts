import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { listenOnLoopback } from '@/lib/platform/net';
import { serveWithWebHandler, type WebHandler } from './node-adapter';

const servers: Server[] = [];

async function serve(handler: WebHandler): Promise<string> {
  const server = createServer((req, res) => void serveWithWebHandler(req, res, handler));
  servers.push(server);
  return listenOnLoopback(server);
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

/** A promise plus the function that settles it, to make one side wait for the other. */
function signal<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Reads a response one chunk at a time (the iterator pauses the stream between reads). */
function chunkReader(response: IncomingMessage): () => Promise<string | null> {
  const iterator = response[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  return async () => {
    const next = await iterator.next();
    return next.done ? null : next.value.toString();
  };
}

function openRequest(url: string, options: { method?: string; headers?: Record<string, string> } = {}) {
  const response = signal<IncomingMessage>();
  const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers }, response.resolve);
  return { req, response: response.promise };
}

describe('node adapter', () => {
  it('delivers each response chunk as soon as the body produces it', async () => {
    const releaseSecond = signal();
    const encoder = new TextEncoder();
    const url = await serve(async () => {
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(encoder.encode('event: first\n\n'));
          // The second chunk exists only after the client has seen the first: a buffering
          // adapter would deadlock here and the test would never finish.
          await releaseSecond.promise;
          controller.enqueue(encoder.encode('event: second\n\n'));
          controller.close();
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    });

    const { req, response } = openRequest(`${url}/v1/messages`);
    req.end();
    const res = await response;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    const nextChunk = chunkReader(res);
    expect(await nextChunk()).toBe('event: first\n\n');
    releaseSecond.resolve();
    expect(await nextChunk()).toBe('event: second\n\n');
    expect(await nextChunk()).toBeNull();
  });

  it('sends a JSON answer in one piece with its length, not chunked', async () => {
    const document = JSON.stringify({ type: 'message', content: [{ type: 'text', text: 'é'.repeat(5000) }] });
    const url = await serve(async () => new Response(new Blob([document]).stream(), { headers: { 'content-type': 'application/json' } }));
    const { req, response } = openRequest(`${url}/v1/messages`);
    req.end();
    const res = await response;
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(document)));
    expect(res.headers['transfer-encoding']).toBeUndefined();
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe(document);
  });

  it('hands the handler the request body while the client is still sending it', async () => {
    const firstChunkSeen = signal<string>();
    const url = await serve(async (request) => {
      const reader = request.body!.getReader();
      const decoder = new TextDecoder();
      const first = await reader.read();
      firstChunkSeen.resolve(decoder.decode(first.value));
      let rest = '';
      for (let part = await reader.read(); !part.done; part = await reader.read()) rest += decoder.decode(part.value);
      return Response.json({ first: decoder.decode(first.value), rest, method: request.method, type: request.headers.get('content-type') });
    });

    const { req, response } = openRequest(`${url}/upload`, { method: 'POST', headers: { 'content-type': 'text/plain' } });
    req.write('hello ');
    expect(await firstChunkSeen.promise).toBe('hello ');
    req.end('world');
    const res = await response;
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    expect(JSON.parse(Buffer.concat(chunks).toString())).toEqual({ first: 'hello ', rest: 'world', method: 'POST', type: 'text/plain' });
  });

  it('aborts the request signal and cancels the body stream when the client disconnects', async () => {
    const aborted = signal<unknown>();
    const cancelled = signal<unknown>();
    const url = await serve(async (request) => {
      request.signal.addEventListener('abort', () => aborted.resolve(request.signal.reason));
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('partial'));
          // Never closes: only the client leaving ends this response.
        },
        cancel(reason) {
          cancelled.resolve(reason);
        },
      });
      return new Response(body);
    });

    const { req, response } = openRequest(`${url}/stream`);
    req.on('error', () => {});
    req.end();
    const res = await response;
    expect(await chunkReader(res)()).toBe('partial');
    req.destroy();
    expect(await aborted.promise).toBeInstanceOf(Error);
    await cancelled.promise;
  });

  it('cancels the body when the client left before the handler answered', async () => {
    const left = signal();
    const cancelled = signal<unknown>();
    const url = await serve(async (request) => {
      // The handler is still working (an upstream's first byte) when the client goes away.
      await new Promise<void>((resolve) => request.signal.addEventListener('abort', () => resolve()));
      left.resolve();
      const body = new ReadableStream<Uint8Array>({
        cancel(reason) {
          cancelled.resolve(reason);
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    });

    const { req } = openRequest(`${url}/stream`);
    req.on('error', () => {});
    req.end();
    await new Promise((resolve) => setTimeout(resolve, 50));
    req.destroy();
    await left.promise;
    // No chunk ever comes: only cancelling frees the body (and the upstream behind it).
    expect(await cancelled.promise).toBeInstanceOf(Error);
  });

  it('keeps status, query string, repeated request headers and several Set-Cookie headers', async () => {
    const url = await serve(async (request) => {
      const headers = new Headers({ 'content-type': 'application/json', 'x-seen-url': request.url, 'x-seen-accept': request.headers.get('accept') ?? '' });
      headers.append('set-cookie', 'a=1; Path=/');
      headers.append('set-cookie', 'b=2; Path=/');
      return new Response('{"created":true}', { status: 201, statusText: 'Created Here', headers });
    });

    const { req, response } = openRequest(`${url}/things?x=1&y=2`);
    req.setHeader('accept', ['text/plain', 'application/json']);
    req.end();
    const res = await response;
    res.resume();
    expect(res.statusCode).toBe(201);
    expect(res.statusMessage).toBe('Created Here');
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(res.headers['x-seen-url']).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/things\?x=1&y=2$/);
    expect(res.headers['x-seen-accept']).toBe('text/plain, application/json');
  });

  it('sends no body for HEAD and turns a throwing handler into a JSON 500', async () => {
    const headUrl = await serve(async () => new Response('body that must not be sent', { headers: { 'content-type': 'text/plain' } }));
    const head = await fetch(headUrl, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');

    const errorUrl = await serve(async () => {
      throw new Error('boom');
    });
    const failed = await fetch(errorUrl);
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ error: { type: 'internal_server_error', message: 'internal server error' } });
  });
});
