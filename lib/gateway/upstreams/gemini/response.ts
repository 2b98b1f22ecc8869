/**
 * Gemini `GenerateContentResponse` → Anthropic message, whole (generateContent) or as a stream
 * (streamGenerateContent?alt=sse: SSE frames each holding one response, no `[DONE]`; usage and
 * the finish reason on the last). Translation notes §4.3:
 * - parts with `thought: true` → a `thinking` block; a `thoughtSignature` (on a thought or on the
 *   part after it) becomes that block's signature, marked `gemini:` so it goes back to Gemini and
 *   only there (request.ts);
 * - text → text; `functionCall` → tool_use (calls arrive whole: one input_json_delta);
 * - finishReason: STOP → end_turn (tool_use when a call was made), MAX_TOKENS → max_tokens, the
 *   safety family → refusal;
 * - usage: promptTokenCount includes cachedContentTokenCount (input = prompt − cached, cache read
 *   = cached); output is everything else the total counts (candidates and thoughts).
 */
import type { Usage } from '@/lib/gateway/contracts';
import { isRecord } from '@/lib/platform/json';
import { messageId, toolUseId, ZERO_USAGE } from '../openai/response';
import { sseFrame } from '../sse';
import { upstreamTuning } from '../tuning';
import { GEMINI_SIGNATURE_PREFIX } from './request';
import { isAuditCount } from '@/lib/audit/event';

type Json = Record<string, unknown>;

const REFUSALS = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY', 'LANGUAGE']);

export function geminiStopReason(finishReason: string | null, sawFunctionCall: boolean): string {
  if (finishReason === 'MAX_TOKENS') return 'max_tokens';
  if (finishReason !== null && REFUSALS.has(finishReason)) return 'refusal';
  if (finishReason === 'MALFORMED_FUNCTION_CALL' || finishReason === 'UNEXPECTED_TOOL_CALL') {
    upstreamTuning().logger.warn('Gemini ended its answer with a broken function call', { finish_reason: finishReason });
    return 'end_turn';
  }
  return sawFunctionCall ? 'tool_use' : 'end_turn';
}

/** A usage counter; 0 when the upstream's value is not a count (negative, fractional, past 2^53). */
function count(value: unknown): number {
  return isAuditCount(value) ? value : 0;
}

export function geminiUsage(raw: unknown): Usage | null {
  if (!isRecord(raw) || raw.promptTokenCount === undefined) return null;
  const prompt = count(raw.promptTokenCount);
  const cached = count(raw.cachedContentTokenCount);
  const output = raw.totalTokenCount !== undefined ? count(raw.totalTokenCount) - prompt - count(raw.toolUsePromptTokenCount) : count(raw.candidatesTokenCount) + count(raw.thoughtsTokenCount);
  return { input_tokens: Math.max(0, prompt - cached), output_tokens: Math.max(0, output), cache_read_input_tokens: cached, cache_creation_input_tokens: 0 };
}

function firstCandidate(response: Json): Json {
  return Array.isArray(response.candidates) && isRecord(response.candidates[0]) ? response.candidates[0] : {};
}

function partsOf(candidate: Json): Json[] {
  const content = isRecord(candidate.content) ? candidate.content : {};
  return Array.isArray(content.parts) ? content.parts.filter(isRecord) : [];
}

function signature(part: Json): string | null {
  return typeof part.thoughtSignature === 'string' && part.thoughtSignature !== '' ? `${GEMINI_SIGNATURE_PREFIX}${part.thoughtSignature}` : null;
}

function finishReasonOf(response: Json): string | null {
  const candidate = firstCandidate(response);
  if (typeof candidate.finishReason === 'string') return candidate.finishReason;
  // A prompt blocked outright comes back without candidates, its reason in promptFeedback.
  const feedback = isRecord(response.promptFeedback) ? response.promptFeedback : {};
  return typeof feedback.blockReason === 'string' ? 'SAFETY' : null;
}

/** A whole generateContent answer as an Anthropic message. */
export function translateGeminiMessage(response: Json, requestedModel: string): { message: Json; usageReported: boolean } {
  const content: Json[] = [];
  let sawCall = false;
  for (const part of partsOf(firstCandidate(response))) {
    const sig = signature(part);
    const last = content.at(-1);
    if (part.thought === true) {
      if (last?.type === 'thinking' && last.signature === '') last.thinking = `${String(last.thinking)}${typeof part.text === 'string' ? part.text : ''}`;
      else content.push({ type: 'thinking', thinking: typeof part.text === 'string' ? part.text : '', signature: '' });
      if (sig) content.at(-1)!.signature = sig;
      continue;
    }
    if (sig) {
      if (last?.type === 'thinking' && last.signature === '') last.signature = sig;
      else content.push({ type: 'thinking', thinking: '', signature: sig });
    }
    if (isRecord(part.functionCall)) {
      sawCall = true;
      content.push({ type: 'tool_use', id: toolUseId(part.functionCall.id), name: String(part.functionCall.name ?? ''), input: isRecord(part.functionCall.args) ? part.functionCall.args : {} });
    } else if (typeof part.text === 'string' && part.text !== '') {
      if (content.at(-1)?.type === 'text') content.at(-1)!.text = `${String(content.at(-1)!.text)}${part.text}`;
      else content.push({ type: 'text', text: part.text });
    }
  }
  const usage = geminiUsage(response.usageMetadata);
  return {
    usageReported: usage !== null,
    message: {
      id: messageId(response.responseId),
      type: 'message',
      role: 'assistant',
      model: typeof response.modelVersion === 'string' ? response.modelVersion : requestedModel,
      content,
      stop_reason: geminiStopReason(finishReasonOf(response), sawCall),
      stop_sequence: null,
      usage: usage ?? ZERO_USAGE,
    },
  };
}

type Open = { kind: 'thinking'; index: number; signature: string | null } | { kind: 'text'; index: number } | null;

/** Gemini stream responses in, Anthropic SSE frames out. */
export class GeminiStreamTranslator {
  private started = false;
  private finished = false;
  private nextIndex = 0;
  private open: Open = null;
  private sawCall = false;
  private finishReason: string | null = null;
  private usage: Usage | null = null;

  constructor(private readonly requestedModel: string) {}

  get usageReported(): boolean {
    return this.usage !== null;
  }

  get sawFinish(): boolean {
    return this.finishReason !== null;
  }

  get done(): boolean {
    return this.finished;
  }

  push(response: unknown): string[] {
    if (this.finished || !isRecord(response)) return [];
    if (isRecord(response.error)) return this.fail(response.error);
    const frames: string[] = [];
    if (!this.started) frames.push(this.messageStart(response));
    const usage = geminiUsage(response.usageMetadata);
    if (usage) this.usage = usage;
    for (const part of partsOf(firstCandidate(response))) frames.push(...this.part(part));
    const reason = finishReasonOf(response);
    if (reason !== null) this.finishReason = reason;
    return frames;
  }

  finish(): string[] {
    if (this.finished || !this.started) return [];
    this.finished = true;
    return [
      ...this.close(),
      sseFrame('message_delta', { type: 'message_delta', delta: { stop_reason: geminiStopReason(this.finishReason, this.sawCall), stop_sequence: null }, usage: this.usage ?? ZERO_USAGE }),
      sseFrame('message_stop', { type: 'message_stop' }),
    ];
  }

  private messageStart(response: Json): string {
    this.started = true;
    return sseFrame('message_start', {
      type: 'message_start',
      message: {
        id: messageId(response.responseId),
        type: 'message',
        role: 'assistant',
        model: typeof response.modelVersion === 'string' ? response.modelVersion : this.requestedModel,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: geminiUsage(response.usageMetadata) ?? ZERO_USAGE,
      },
    });
  }

  private fail(error: Json): string[] {
    this.finished = true;
    upstreamTuning().logger.warn('upstream reported an error mid-stream', { error });
    const overloaded = error.code === 503 || error.code === 429 || error.status === 'UNAVAILABLE' || error.status === 'RESOURCE_EXHAUSTED';
    return [sseFrame('error', { type: 'error', error: { type: overloaded ? 'overloaded_error' : 'api_error', message: overloaded ? 'Overloaded' : 'upstream error during the stream' } })];
  }

  private close(): string[] {
    const open = this.open;
    if (!open) return [];
    this.open = null;
    const frames: string[] = [];
    if (open.kind === 'thinking' && open.signature) frames.push(sseFrame('content_block_delta', { type: 'content_block_delta', index: open.index, delta: { type: 'signature_delta', signature: open.signature } }));
    frames.push(sseFrame('content_block_stop', { type: 'content_block_stop', index: open.index }));
    return frames;
  }

  private start(block: Json): { frames: string[]; index: number } {
    const frames = this.close();
    const index = this.nextIndex++;
    frames.push(sseFrame('content_block_start', { type: 'content_block_start', index, content_block: block }));
    return { frames, index };
  }

  private part(part: Json): string[] {
    const sig = signature(part);
    const frames: string[] = [];
    if (part.thought === true) {
      if (this.open?.kind !== 'thinking' || this.open.signature !== null) {
        const started = this.start({ type: 'thinking', thinking: '', signature: '' });
        frames.push(...started.frames);
        this.open = { kind: 'thinking', index: started.index, signature: null };
      }
      const open = this.open as Extract<Open, { kind: 'thinking' }>;
      if (typeof part.text === 'string' && part.text !== '') frames.push(sseFrame('content_block_delta', { type: 'content_block_delta', index: open.index, delta: { type: 'thinking_delta', thinking: part.text } }));
      if (sig) open.signature = sig;
      return frames;
    }
    if (sig) {
      // The signature of the thinking before this part: on the open thinking block, or a block of its own.
      if (this.open?.kind === 'thinking' && this.open.signature === null) this.open.signature = sig;
      else {
        const started = this.start({ type: 'thinking', thinking: '', signature: '' });
        frames.push(...started.frames);
        this.open = { kind: 'thinking', index: started.index, signature: sig };
      }
    }
    if (isRecord(part.functionCall)) {
      this.sawCall = true;
      const call = part.functionCall;
      const started = this.start({ type: 'tool_use', id: toolUseId(call.id), name: String(call.name ?? ''), input: {} });
      frames.push(...started.frames);
      frames.push(sseFrame('content_block_delta', { type: 'content_block_delta', index: started.index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(isRecord(call.args) ? call.args : {}) } }));
      frames.push(sseFrame('content_block_stop', { type: 'content_block_stop', index: started.index }));
      return frames;
    }
    if (typeof part.text === 'string' && part.text !== '') {
      if (this.open?.kind !== 'text') {
        const started = this.start({ type: 'text', text: '' });
        frames.push(...started.frames);
        this.open = { kind: 'text', index: started.index };
      }
      frames.push(sseFrame('content_block_delta', { type: 'content_block_delta', index: this.open.index, delta: { type: 'text_delta', text: part.text } }));
    }
    return frames;
  }
}
