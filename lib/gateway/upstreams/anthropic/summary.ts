/**
 * Reads what an Anthropic-format answer said (usage, stop reason, model, content) for the
 * completion record, from a copy of the bytes the client receives. The client's bytes are never
 * touched here: this only watches.
 */
import { createParser, type EventSourceParser } from 'eventsource-parser';
import type { CompletionSummary, Usage } from '@/lib/gateway/contracts';
import { isAuditCount } from '@/lib/audit/event';
import { isRecord } from '@/lib/platform/json';

type Json = Record<string, unknown>;

/** A usage counter, or null when the upstream's value is not a count (negative, fractional, past 2^53). */
function count(value: unknown): number | null {
  return isAuditCount(value) ? value : null;
}

/** Overwrites counters present in `reported` (message_delta usage is cumulative: never add). */
function mergeUsage(into: Usage | null, reported: unknown): Usage | null {
  if (!isRecord(reported)) return into;
  const usage: Usage = into ? { ...into } : { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  for (const field of ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const) {
    const value = count(reported[field]);
    if (value !== null) usage[field] = value;
  }
  const serverTools = isRecord(reported.server_tool_use) ? reported.server_tool_use : null;
  const searches = serverTools ? count(serverTools.web_search_requests) : null;
  if (searches !== null) usage.server_tool_use = { web_search_requests: searches };
  return usage;
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Bytes of what a content block says (text, thinking, tool input): the model's output. */
function blockOutputBytes(block: unknown): number {
  if (!isRecord(block)) return 0;
  if (typeof block.text === 'string') return utf8Bytes(block.text);
  if (typeof block.thinking === 'string') return utf8Bytes(block.thinking);
  if (block.type === 'tool_use' && block.input !== undefined) return utf8Bytes(JSON.stringify(block.input));
  return 0;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function summaryFromMessage(message: unknown, timeToFirstByteMs: number | null): CompletionSummary {
  const body = isRecord(message) ? message : {};
  const content = Array.isArray(body.content) ? body.content : [];
  return {
    usage: mergeUsage(null, body.usage),
    stopReason: typeof body.stop_reason === 'string' ? body.stop_reason : null,
    responseModel: typeof body.model === 'string' ? body.model : null,
    responseId: typeof body.id === 'string' ? body.id : null,
    content,
    outputBytes: content.reduce((sum: number, block) => sum + blockOutputBytes(block), 0),
    timeToFirstByteMs,
  };
}

/** Follows an Anthropic SSE stream and assembles the message as the SDK's MessageStream would. */
export class AnthropicStreamTap {
  private readonly decoder = new TextDecoder();
  private readonly parser: EventSourceParser;
  private usage: Usage | null = null;
  /** What message_start said; the final counts come in message_delta. */
  private startUsage: Usage | null = null;
  private finalUsageSeen = false;
  private outputBytes = 0;
  private stopReason: string | null = null;
  private responseModel: string | null = null;
  private responseId: string | null = null;
  private readonly blocks: Json[] = [];
  private readonly partialJson = new Map<number, string>();
  private error: { type: string; message: string } | undefined;
  private stopped = false;

  constructor() {
    this.parser = createParser({ onEvent: (event) => this.onEvent(event.data) });
  }

  feed(bytes: Uint8Array): void {
    this.parser.feed(this.decoder.decode(bytes, { stream: true }));
  }

  /** True once the stream reached `message_stop` or an `error` event: nothing more is owed. */
  get complete(): boolean {
    return this.stopped || this.error !== undefined;
  }

  summary(timeToFirstByteMs: number | null, error?: { type: string; message: string }): CompletionSummary {
    const summary: CompletionSummary = {
      usage: this.finalUsageSeen ? this.usage : null,
      startUsage: this.startUsage,
      outputBytes: this.outputBytes,
      stopReason: this.stopReason,
      responseModel: this.responseModel,
      responseId: this.responseId,
      content: this.blocks.filter(Boolean),
      timeToFirstByteMs,
    };
    const failure = error ?? this.error;
    if (failure) summary.error = failure;
    return summary;
  }

  private onEvent(data: string): void {
    const event = parseJson(data);
    if (!isRecord(event)) return;
    switch (event.type) {
      case 'message_start': {
        const message = isRecord(event.message) ? event.message : {};
        this.responseId = typeof message.id === 'string' ? message.id : null;
        this.responseModel = typeof message.model === 'string' ? message.model : null;
        this.usage = mergeUsage(this.usage, message.usage);
        this.startUsage = this.usage;
        break;
      }
      case 'content_block_start':
        if (typeof event.index === 'number' && isRecord(event.content_block)) {
          this.blocks[event.index] = { ...event.content_block };
          if (event.content_block.type !== 'tool_use') this.outputBytes += blockOutputBytes(event.content_block);
        }
        break;
      case 'content_block_delta':
        if (typeof event.index === 'number' && isRecord(event.delta)) this.applyDelta(event.index, event.delta);
        break;
      case 'content_block_stop':
        if (typeof event.index === 'number') this.finishBlock(event.index);
        break;
      case 'message_delta': {
        const delta = isRecord(event.delta) ? event.delta : {};
        if (typeof delta.stop_reason === 'string') this.stopReason = delta.stop_reason;
        if (isRecord(event.usage)) this.finalUsageSeen = true;
        this.usage = mergeUsage(this.usage, event.usage);
        break;
      }
      case 'message_stop':
        this.stopped = true;
        break;
      case 'error': {
        const error = isRecord(event.error) ? event.error : {};
        this.error = {
          type: typeof error.type === 'string' ? error.type : 'api_error',
          message: typeof error.message === 'string' ? error.message : 'upstream error',
        };
        break;
      }
      default:
        break; // ping and event types added later
    }
  }

  private applyDelta(index: number, delta: Json): void {
    for (const field of ['text', 'thinking', 'partial_json'] as const) {
      const value = delta[field];
      if (typeof value === 'string') this.outputBytes += utf8Bytes(value);
    }
    const block = this.blocks[index];
    if (!block) return;
    if (delta.type === 'text_delta' && typeof delta.text === 'string') block.text = `${typeof block.text === 'string' ? block.text : ''}${delta.text}`;
    else if (delta.type === 'thinking_delta' && typeof delta.thinking === 'string') block.thinking = `${typeof block.thinking === 'string' ? block.thinking : ''}${delta.thinking}`;
    else if (delta.type === 'signature_delta' && typeof delta.signature === 'string') block.signature = delta.signature;
    else if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') this.partialJson.set(index, (this.partialJson.get(index) ?? '') + delta.partial_json);
  }

  private finishBlock(index: number): void {
    const json = this.partialJson.get(index);
    const block = this.blocks[index];
    if (json === undefined || !block) return;
    this.partialJson.delete(index);
    const input = json === '' ? {} : parseJson(json);
    block.input = input === undefined ? { raw_arguments: json } : input;
  }
}
