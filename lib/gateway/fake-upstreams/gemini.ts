/**
 * A fake Gemini API (generativelanguage.googleapis.com) on 127.0.0.1, and the Gemini wire format
 * the fake Vertex AI shares (vertex.ts):
 *
 *   POST /v1beta/models/{model}:generateContent             GenerateContentResponse JSON
 *   POST /v1beta/models/{model}:streamGenerateContent?alt=sse
 *        SSE, `data: <GenerateContentResponse>` + CRLF CRLF per event, no [DONE]: text parts in
 *        pieces, thoughts (`thought: true`) likewise, function calls whole; the finish reason and
 *        usageMetadata on a last event of their own (as newer models send STOP after a call).
 *
 * The key comes as `x-goog-api-key` (or `?key=`). Like Gemini 3, a request whose history holds a
 * model functionCall part without `thoughtSignature` is refused (400 INVALID_ARGUMENT), so the
 * gateway must echo signatures back. Errors use Google's envelope
 * {"error":{"code","message","status"}}; `errorType` of an error behaviour is the status string.
 */
import type { ServerResponse } from 'node:http';
import { playJson, playStream, resetConnection, sendJson, splitIntoPieces, startFakeServer, type FakeBehaviour, type FakeErrorBehaviour, type FakeServer, type FakeServerOptions, type RecordedRequest } from './server';

type Json = Record<string, unknown>;

/** What the fake model says, in Gemini's own parts (`{text}`, `{text, thought: true}`, `{functionCall}`, each with an optional `thoughtSignature`). */
export interface FakeGeminiReply {
  parts?: Json[];
  finishReason?: string;
  usage?: { promptTokenCount?: number; candidatesTokenCount?: number; thoughtsTokenCount?: number; cachedContentTokenCount?: number };
  responseId?: string;
  modelVersion?: string;
}

export type FakeGeminiBehaviour = FakeBehaviour<FakeGeminiReply>;
export type FakeGemini = FakeServer<FakeGeminiReply>;

export const DEFAULT_GEMINI_TEXT = 'Hello from the fake Gemini upstream.';

const STATUS_NAMES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

/** Google API failures; messages name the project, as real ones can. */
export const geminiFailures = {
  exhausted: (): FakeErrorBehaviour => ({ kind: 'error', status: 429, errorType: 'RESOURCE_EXHAUSTED', message: 'Quota exceeded for aiplatform.googleapis.com/generate_content_requests_per_minute in project fake-project-4242' }),
  unavailable: (): FakeErrorBehaviour => ({ kind: 'error', status: 503, errorType: 'UNAVAILABLE', message: 'The model is overloaded. Please try again later.' }),
  invalid: (message = 'Request contains an invalid argument (project fake-project-4242).'): FakeErrorBehaviour => ({ kind: 'error', status: 400, errorType: 'INVALID_ARGUMENT', message }),
  tooLarge: (): FakeErrorBehaviour => ({ kind: 'error', status: 400, errorType: 'INVALID_ARGUMENT', message: 'The request size (30037042 bytes) exceeds 30.000MB limit.' }),
};

export function sendGoogleError(res: ServerResponse, behaviour: FakeErrorBehaviour): void {
  sendJson(res, behaviour.status, { error: { code: behaviour.status, message: behaviour.message, status: behaviour.errorType || STATUS_NAMES[behaviour.status] || 'UNKNOWN' } }, behaviour.headers);
}

let responseCounter = 0;

function usageOf(reply: FakeGeminiReply): Json {
  const usage = { promptTokenCount: 14, candidatesTokenCount: 6, thoughtsTokenCount: 0, cachedContentTokenCount: 0, ...reply.usage };
  const total = usage.promptTokenCount + usage.candidatesTokenCount + usage.thoughtsTokenCount;
  const out: Json = { promptTokenCount: usage.promptTokenCount, candidatesTokenCount: usage.candidatesTokenCount, totalTokenCount: total };
  if (usage.thoughtsTokenCount) out.thoughtsTokenCount = usage.thoughtsTokenCount;
  if (usage.cachedContentTokenCount) out.cachedContentTokenCount = usage.cachedContentTokenCount;
  return out;
}

function resolve(reply: FakeGeminiReply | undefined, model: string): Required<Omit<FakeGeminiReply, 'usage'>> & { usage: Json } {
  const parts = reply?.parts ?? [{ text: DEFAULT_GEMINI_TEXT }];
  return {
    parts,
    finishReason: reply?.finishReason ?? 'STOP',
    usage: usageOf(reply ?? {}),
    responseId: reply?.responseId ?? `fakeresp${String((responseCounter += 1)).padStart(4, '0')}`,
    modelVersion: reply?.modelVersion ?? model,
  };
}

export function geminiResponse(reply: FakeGeminiReply | undefined, model: string): Json {
  const resolved = resolve(reply, model);
  return {
    candidates: [{ content: { role: 'model', parts: resolved.parts }, finishReason: resolved.finishReason, index: 0 }],
    usageMetadata: resolved.usage,
    modelVersion: resolved.modelVersion,
    responseId: resolved.responseId,
  };
}

/** The SSE events of a streamed reply: parts in pieces, then the finish reason and usage. */
export function geminiStreamFrames(reply: FakeGeminiReply | undefined, model: string): string[] {
  const resolved = resolve(reply, model);
  const event = (parts: Json[], extra: Json = {}) =>
    `data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts }, index: 0, ...extra }], usageMetadata: { promptTokenCount: (resolved.usage as { promptTokenCount: number }).promptTokenCount }, modelVersion: resolved.modelVersion, responseId: resolved.responseId })}\r\n\r\n`;
  const frames: string[] = [];
  for (const part of resolved.parts) {
    if (typeof part.text === 'string' && part.functionCall === undefined) {
      const pieces = splitIntoPieces(part.text, 2);
      pieces.forEach((text, index) => {
        const piece: Json = { ...part, text };
        // A signature comes with the last piece of its part.
        if (index < pieces.length - 1) delete piece.thoughtSignature;
        frames.push(event([piece]));
      });
    } else {
      frames.push(event([part]));
    }
  }
  frames.push(
    `data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: '' }] }, finishReason: resolved.finishReason, index: 0 }], usageMetadata: resolved.usage, modelVersion: resolved.modelVersion, responseId: resolved.responseId })}\r\n\r\n`,
  );
  return frames;
}

/** Why Gemini would refuse this generateContent body; null when it would not. */
export function invalidGeminiRequest(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as Json).contents)) return 'Invalid JSON payload received. Unknown name "messages": Cannot find field.';
  for (const [turn, content] of ((body as Json).contents as Json[]).entries()) {
    if (content.role !== 'user' && content.role !== 'model') return `Please use a valid role: user, model. (contents[${turn}])`;
    const parts = Array.isArray(content.parts) ? (content.parts as Json[]) : [];
    if (parts.length === 0) return `contents[${turn}].parts must not be empty`;
    for (const [index, part] of parts.entries()) {
      if (content.role === 'model' && part.functionCall !== undefined && typeof part.thoughtSignature !== 'string') {
        return `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly (contents[${turn}].parts[${index}])`;
      }
    }
  }
  return null;
}

/** Answers a generateContent / streamGenerateContent call once auth and path are checked. */
export async function answerGemini(request: RecordedRequest, behaviour: FakeGeminiBehaviour, res: ServerResponse, model: string, stream: boolean): Promise<void> {
  const invalid = invalidGeminiRequest(request.body);
  if (invalid) {
    sendGoogleError(res, { kind: 'error', status: 400, errorType: 'INVALID_ARGUMENT', message: invalid });
    return;
  }
  if (behaviour.kind === 'hang') return;
  if (behaviour.kind === 'reset') return resetConnection(res);
  if (behaviour.kind === 'error') {
    sendGoogleError(res, behaviour);
    return;
  }
  if (stream) await playStream(res, geminiStreamFrames(behaviour.reply, model), behaviour, { 'content-type': 'text/event-stream' });
  else await playJson(res, geminiResponse(behaviour.reply, model), behaviour);
}

const API_PATH = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

export interface FakeGeminiOptions extends FakeServerOptions<FakeGeminiReply> {
  apiKey?: string;
}

export function startFakeGemini(options: FakeGeminiOptions = {}): Promise<FakeGemini> {
  return startFakeServer<FakeGeminiReply>(options, { kind: 'reply' }, async ({ request, behaviour, res }) => {
    const route = API_PATH.exec(request.path);
    if (request.method !== 'POST' || !route) {
      sendGoogleError(res, { kind: 'error', status: 404, errorType: 'NOT_FOUND', message: `Not found: ${request.path}` });
      return;
    }
    const key = request.headers['x-goog-api-key'] ?? new URLSearchParams(request.url.split('?')[1] ?? '').get('key');
    if (options.apiKey !== undefined && key !== options.apiKey) {
      sendGoogleError(res, { kind: 'error', status: 400, errorType: 'INVALID_ARGUMENT', message: 'API key not valid. Please pass a valid API key.' });
      return;
    }
    const stream = route[2] === 'streamGenerateContent';
    if (stream && !request.url.includes('alt=sse')) {
      sendGoogleError(res, { kind: 'error', status: 400, errorType: 'INVALID_ARGUMENT', message: 'this fake streams only as SSE (alt=sse)' });
      return;
    }
    await answerGemini(request, behaviour, res, decodeURIComponent(route[1]!), stream);
  });
}
