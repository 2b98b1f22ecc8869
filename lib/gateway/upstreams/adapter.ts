/**
 * What each kind of upstream must provide so dispatch can treat them alike: build the HTTP
 * request, and turn a successful answer into Anthropic's format. Everything else (timeouts,
 * retries, failover, pings, the completion record) is shared.
 */
import type { CompletionSummary, DispatchInput, UpstreamTarget } from '@/lib/gateway/contracts';
import { lazy, type Lazy } from '@/lib/platform/lazy';

/**
 * An upstream answer's body: the socket's chunks as they arrive (a Node stream from the upstream
 * client; a Web stream where a test builds one). Stopping early closes the connection.
 */
export type UpstreamBody = AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

export interface PreparedRequest {
  url: string;
  headers: Headers;
  body: string;
}

/** What a translated stream learned that its Anthropic bytes cannot say. */
export interface StreamFacts {
  /** False when the upstream never reported token usage (the counts sent to the client are placeholders). */
  usageReported: boolean;
  /**
   * Output the upstream produced that the Anthropic answer does not carry (reasoning dropped in
   * translation), in UTF-8 bytes: it is billed, so an estimate must count it.
   */
  hiddenOutputBytes?: number;
}

/** Adds what only the translation knew to the completion record of an answer. */
export function applyStreamFacts(summary: CompletionSummary, facts: StreamFacts): CompletionSummary {
  if (!facts.usageReported) {
    // The counts the client saw are placeholders: none of them are the upstream's.
    summary.usage = null;
    summary.startUsage = null;
  }
  if (facts.hiddenOutputBytes) summary.outputBytes = (summary.outputBytes ?? 0) + facts.hiddenOutputBytes;
  return summary;
}

export interface UpstreamAdapter {
  /**
   * Throws TranslationError for a request this upstream cannot serve (answered 400, not retried).
   * Cloud adapters sign or fetch a token here, hence the promise.
   */
  prepareMessages(input: DispatchInput, target: UpstreamTarget): PreparedRequest | Promise<PreparedRequest>;
  /** Anthropic Messages JSON from a successful non-streaming answer. */
  translateMessage(body: Uint8Array, input: DispatchInput, target: UpstreamTarget): { bytes: Uint8Array; facts: StreamFacts };
  /**
   * Anthropic SSE bytes from a successful streaming answer. May yield empty arrays as a sign of
   * life when upstream data produced no output yet (it keeps the idle timer from firing).
   */
  translateStream(body: UpstreamBody, input: DispatchInput, facts: StreamFacts, target: UpstreamTarget): AsyncIterable<Uint8Array>;
  /**
   * count_tokens on this upstream, when it can count: the request, and the upstream's answer as
   * Anthropic's `{"input_tokens": N}`. Null from prepareCountTokens: not for this model.
   */
  countTokens?: {
    prepare(input: DispatchInput, target: UpstreamTarget): PreparedRequest | null | Promise<PreparedRequest | null>;
    translate(body: Uint8Array): Uint8Array;
  };
}

/** The upstream's credential could not be obtained (no AWS credentials, ADC unset…): that target fails, others are tried. */
export class CredentialError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CredentialError';
  }
}

/**
 * An upstream's credential SDK, imported and set up on first use (lib/platform/lazy.ts: a failure
 * is retried on the next call). Either failure is that target's credential error, so the route
 * fails over instead of answering 500: a failed import names the package; a throw while setting
 * the SDK up (its constructor, a credential provider) keeps the SDK's own message.
 */
export function lazyCredentialSdk<M, T>(packageName: string, load: () => Promise<M>, setUp: (modules: M) => T): Lazy<T> {
  return lazy(async () => {
    let modules: M;
    try {
      modules = await load();
    } catch (error) {
      throw new CredentialError(`could not load ${packageName} (the upstream's credential library): reinstall the dependencies`, { cause: error });
    }
    try {
      return setUp(modules);
    } catch (error) {
      throw credentialSetUpError(packageName, error);
    }
  });
}

/** A credential SDK that loaded but threw while being set up: its own message, under the package's name. */
export function credentialSetUpError(packageName: string, error: unknown): CredentialError {
  return new CredentialError(`${packageName} could not set up the upstream's credentials: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

/** A request the target cannot express (e.g. an Anthropic server tool on an OpenAI upstream). */
export class TranslationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TranslationError';
  }
}

/** `{base}/v1/{path}`, tolerating a base URL that already ends in /v1 (common for vLLM and OpenAI). */
export function endpoint(baseUrl: string, path: string): string {
  const base = baseUrl.replace(/\/+$/, '');
  return base.endsWith('/v1') ? `${base}/${path}` : `${base}/v1/${path}`;
}

/** The chunks of a body, as they arrive. */
export function chunksOf(body: UpstreamBody): AsyncIterable<Uint8Array> {
  return Symbol.asyncIterator in body ? body : readerChunks(body);
}

/** Reads a Web body chunk by chunk, releasing it however the reading ends. */
async function* readerChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
