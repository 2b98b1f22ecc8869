/**
 * Bedrock Converse answers → Anthropic, whole (`/converse`) or streamed (`/converse-stream`:
 * event-stream frames messageStart, contentBlockStart (tool use only), contentBlockDelta,
 * contentBlockStop, messageStop {stopReason}, then metadata {usage}). The usage arrives after
 * messageStop, so message_delta waits for it. Usage is exclusive of cache, like Anthropic's.
 * Reasoning (`reasoningContent`, e.g. DeepSeek R1) is not relayed — as an unsigned thinking block
 * it would break a later turn on a Claude host — but its bytes are counted as output.
 */
import type { Usage } from '@/lib/gateway/contracts';
import type { DispatchInput, UpstreamTarget } from '@/lib/gateway/contracts';
import { isRecord } from '@/lib/platform/json';
import type { StreamFacts, UpstreamBody } from '../adapter';
import { messageId, toolUseId, ZERO_USAGE } from '../openai/response';
import { errorFrame, sseFrame } from '../sse';
import { eventStreamFrames, exceptionError } from './event-stream';
import { isAuditCount } from '@/lib/audit/event';

type Json = Record<string, unknown>;

const STOP_REASONS: Record<string, string> = {
  end_turn: 'end_turn',
  tool_use: 'tool_use',
  max_tokens: 'max_tokens',
  stop_sequence: 'stop_sequence',
  model_context_window_exceeded: 'model_context_window_exceeded',
  content_filtered: 'refusal',
  guardrail_intervened: 'refusal',
};

export function converseStopReason(reason: unknown): string {
  return (typeof reason === 'string' ? STOP_REASONS[reason] : undefined) ?? 'end_turn';
}

/** A usage counter; 0 when the upstream's value is not a count (negative, fractional, past 2^53). */
function count(value: unknown): number {
  return isAuditCount(value) ? value : 0;
}

export function converseUsage(raw: unknown): Usage | null {
  if (!isRecord(raw) || raw.inputTokens === undefined) return null;
  return { input_tokens: count(raw.inputTokens), output_tokens: count(raw.outputTokens), cache_read_input_tokens: count(raw.cacheReadInputTokens), cache_creation_input_tokens: count(raw.cacheWriteInputTokens) };
}

function reasoningBytes(reasoning: unknown): number {
  if (!isRecord(reasoning)) return 0;
  const text = isRecord(reasoning.reasoningText) ? reasoning.reasoningText.text : reasoning.text;
  return typeof text === 'string' ? Buffer.byteLength(text, 'utf8') : 0;
}

export function translateConverseMessage(response: Json, model: string): { message: Json; usageReported: boolean; reasoningBytes: number } {
  const output = isRecord(response.output) && isRecord(response.output.message) ? response.output.message : {};
  const content: Json[] = [];
  let hidden = 0;
  for (const block of Array.isArray(output.content) ? output.content.filter(isRecord) : []) {
    if (typeof block.text === 'string' && block.text !== '') content.push({ type: 'text', text: block.text });
    else if (isRecord(block.toolUse)) content.push({ type: 'tool_use', id: toolUseId(block.toolUse.toolUseId), name: String(block.toolUse.name ?? ''), input: isRecord(block.toolUse.input) ? block.toolUse.input : {} });
    else if (block.reasoningContent !== undefined) hidden += reasoningBytes(block.reasoningContent);
  }
  const usage = converseUsage(response.usage);
  return {
    usageReported: usage !== null,
    reasoningBytes: hidden,
    message: { id: messageId(undefined), type: 'message', role: 'assistant', model, content, stop_reason: converseStopReason(response.stopReason), stop_sequence: null, usage: usage ?? ZERO_USAGE },
  };
}

type Open = { upstream: number; index: number; kind: 'text' | 'tool' } | null;

/** Converse stream events in, Anthropic SSE frames out. */
export class ConverseStreamTranslator {
  private started = false;
  private finished = false;
  private nextIndex = 0;
  private open: Open = null;
  private stopReason: unknown = null;
  private usage: Usage | null = null;
  hiddenBytes = 0;

  constructor(private readonly model: string) {}

  get sawStop(): boolean {
    return this.stopReason !== null;
  }

  get usageReported(): boolean {
    return this.usage !== null;
  }

  get done(): boolean {
    return this.finished;
  }

  push(type: string, event: Json): string[] {
    if (this.finished) return [];
    const frames: string[] = this.started ? [] : [this.messageStart()];
    switch (type) {
      case 'contentBlockStart': {
        const start = isRecord(event.start) ? event.start : {};
        if (isRecord(start.toolUse)) {
          frames.push(...this.close());
          const index = this.nextIndex++;
          this.open = { upstream: count(event.contentBlockIndex), index, kind: 'tool' };
          frames.push(sseFrame('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: toolUseId(start.toolUse.toolUseId), name: String(start.toolUse.name ?? ''), input: {} } }));
        }
        break;
      }
      case 'contentBlockDelta': {
        const delta = isRecord(event.delta) ? event.delta : {};
        if (typeof delta.text === 'string') frames.push(...this.text(count(event.contentBlockIndex), delta.text));
        else if (isRecord(delta.toolUse) && typeof delta.toolUse.input === 'string' && this.open?.kind === 'tool') {
          frames.push(sseFrame('content_block_delta', { type: 'content_block_delta', index: this.open.index, delta: { type: 'input_json_delta', partial_json: delta.toolUse.input } }));
        } else if (delta.reasoningContent !== undefined) this.hiddenBytes += reasoningBytes(delta.reasoningContent);
        break;
      }
      case 'contentBlockStop':
        if (this.open?.upstream === count(event.contentBlockIndex)) frames.push(...this.close());
        break;
      case 'messageStop':
        frames.push(...this.close());
        this.stopReason = event.stopReason ?? 'end_turn';
        break;
      case 'metadata':
        this.usage = converseUsage(event.usage) ?? this.usage;
        if (this.sawStop) frames.push(...this.finish());
        break;
      default:
        break;
    }
    return frames;
  }

  /** The closing frames: at metadata, or at the end of a stream that stopped without it. */
  finish(): string[] {
    if (this.finished) return [];
    this.finished = true;
    return [
      ...this.close(),
      sseFrame('message_delta', { type: 'message_delta', delta: { stop_reason: converseStopReason(this.stopReason), stop_sequence: null }, usage: this.usage ?? ZERO_USAGE }),
      sseFrame('message_stop', { type: 'message_stop' }),
    ];
  }

  private messageStart(): string {
    this.started = true;
    return sseFrame('message_start', { type: 'message_start', message: { id: messageId(undefined), type: 'message', role: 'assistant', model: this.model, content: [], stop_reason: null, stop_sequence: null, usage: ZERO_USAGE } });
  }

  private close(): string[] {
    if (!this.open) return [];
    const index = this.open.index;
    this.open = null;
    return [sseFrame('content_block_stop', { type: 'content_block_stop', index })];
  }

  private text(upstream: number, text: string): string[] {
    const frames: string[] = [];
    if (this.open?.kind !== 'text' || this.open.upstream !== upstream) {
      frames.push(...this.close());
      const index = this.nextIndex++;
      this.open = { upstream, index, kind: 'text' };
      frames.push(sseFrame('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }));
    }
    if (text !== '') frames.push(sseFrame('content_block_delta', { type: 'content_block_delta', index: this.open.index, delta: { type: 'text_delta', text } }));
    return frames;
  }
}

const encoder = new TextEncoder();

export async function* translateConverseStream(body: UpstreamBody, input: DispatchInput, facts: StreamFacts, target: UpstreamTarget): AsyncGenerator<Uint8Array> {
  const translator = new ConverseStreamTranslator(target.model);
  const sync = () => {
    facts.usageReported = translator.usageReported;
    facts.hiddenOutputBytes = translator.hiddenBytes;
  };
  for await (const frames of eventStreamFrames(body)) {
    const out: string[] = [];
    for (const frame of frames) {
      if (frame.kind === 'exception') {
        const error = exceptionError(frame, target.provider, input.caller.traceId);
        yield encoder.encode(out.join(''));
        yield errorFrame(error.type, error.message);
        return;
      }
      out.push(...translator.push(frame.type, frame.payload));
    }
    sync();
    yield encoder.encode(out.join(''));
    if (translator.done) return;
  }
  // The message stopped but the metadata with its usage never came: close it, usage unreported.
  if (!translator.sawStop) throw new Error('the Converse stream ended before messageStop');
  yield encoder.encode(translator.finish().join(''));
  sync();
}
