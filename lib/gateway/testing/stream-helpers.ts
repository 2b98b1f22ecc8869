/** Small helpers for tests that read what the gateway would send to the client. */
import Anthropic from '@anthropic-ai/sdk';
import { webStreamOf, type ReplyBody } from '@/lib/http/reply';

/** A body as the client would read it: a Web stream (a gateway reply body is written to it). */
export function webBody(body: ReplyBody | ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  if (body instanceof ReadableStream) return body;
  if (body instanceof Uint8Array) return new Response(new Uint8Array(body)).body!;
  return webStreamOf(body);
}

export async function readAll(body: ReplyBody | ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const reader = webBody(body).getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) chunks.push(read.value);
  return new Uint8Array(Buffer.concat(chunks));
}

export async function readText(body: ReplyBody | ReadableStream<Uint8Array>): Promise<string> {
  return new TextDecoder().decode(await readAll(body));
}

/** The `event:` names of an SSE text, in order. */
export function eventNames(sse: string): string[] {
  return [...sse.matchAll(/^event: (.+)$/gm)].map((match) => match[1] ?? '');
}

/**
 * An unmodified @anthropic-ai/sdk client whose HTTP layer returns `answer` — so the SDK's own SSE
 * decoder and MessageStream judge a body produced by the gateway.
 */
export function sdkReading(answer: { status: number; headers: Headers; body: ReplyBody | ReadableStream<Uint8Array> }): Anthropic {
  return new Anthropic({
    apiKey: 'unused',
    baseURL: 'http://gateway.invalid',
    maxRetries: 0,
    fetch: async () => new Response(webBody(answer.body), { status: answer.status, headers: answer.headers }),
  });
}
