/**
 * OpenAI Chat Completions answer → Anthropic message, and the mappings the streaming translator
 * shares: finish reasons and usage (OpenAI counts cached prompt tokens inside prompt_tokens;
 * Anthropic's input_tokens excludes them).
 */
import { randomUUID } from 'node:crypto';
import type { Usage } from '@/lib/gateway/contracts';
import { isRecord } from '@/lib/platform/json';
import { upstreamTuning } from '../tuning';
import { isAuditCount } from '@/lib/audit/event';

type Json = Record<string, unknown>;

const STOP_REASONS: Record<string, string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};

/** Some servers (Ollama among them) say `stop` after tool calls; the calls are what matters. */
export function stopReasonFor(finishReason: string | null, sawToolCalls: boolean): string {
  if (sawToolCalls && (finishReason === null || finishReason === 'stop')) return 'tool_use';
  return (finishReason !== null ? STOP_REASONS[finishReason] : undefined) ?? 'end_turn';
}

/** A usage counter; 0 when the upstream's value is not a count (negative, fractional, past 2^53). */
function count(value: unknown): number {
  return isAuditCount(value) ? value : 0;
}

/** OpenAI usage → Anthropic usage; null when the object is not a usage report. */
export function usageFrom(raw: unknown): Usage | null {
  if (!isRecord(raw) || (raw.prompt_tokens === undefined && raw.completion_tokens === undefined)) return null;
  const details = isRecord(raw.prompt_tokens_details) ? raw.prompt_tokens_details : {};
  const cached = count(details.cached_tokens);
  return {
    input_tokens: Math.max(0, count(raw.prompt_tokens) - cached),
    output_tokens: count(raw.completion_tokens),
    cache_read_input_tokens: cached,
    cache_creation_input_tokens: count(raw.cache_write_tokens ?? details.cache_write_tokens),
  };
}

export const ZERO_USAGE: Usage = { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };

/** Tool arguments should be JSON; when a model botches them, keep what it said rather than fail the turn. */
export function parseArguments(text: string, toolName: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    upstreamTuning().logger.warn('tool call arguments are not valid JSON', { tool: toolName });
    return { raw_arguments: text };
  }
}

export function toolUseId(id: unknown): string {
  return typeof id === 'string' && id !== '' ? id : `toolu_${randomUUID().replaceAll('-', '')}`;
}

export function messageId(id: unknown): string {
  if (typeof id !== 'string' || id === '') return `msg_${randomUUID().replaceAll('-', '')}`;
  return id.startsWith('msg_') ? id : `msg_${id}`;
}

/**
 * Bytes of reasoning an OpenAI-compatible server streamed or returned (`reasoning_content` in
 * vLLM, DeepSeek and Qwen; `reasoning` in others). It is never relayed, but it is billed.
 */
export function reasoningBytes(message: Json): number {
  let bytes = 0;
  for (const field of ['reasoning_content', 'reasoning'] as const) {
    const value = message[field];
    if (typeof value === 'string') bytes += Buffer.byteLength(value, 'utf8');
  }
  return bytes;
}

/**
 * Reasoning (`reasoning_content`) is left out of the answer: as an unsigned thinking block it
 * would poison the conversation when a later turn fails over to an Anthropic host, which rejects
 * unsigned thinking.
 */
export function translateCompletion(completion: unknown): { message: Json; usageReported: boolean; reasoningBytes: number } {
  const body = isRecord(completion) ? completion : {};
  const choice = Array.isArray(body.choices) && isRecord(body.choices[0]) ? body.choices[0] : {};
  const message = isRecord(choice.message) ? choice.message : {};
  const content: Json[] = [];
  if (typeof message.content === 'string' && message.content !== '') content.push({ type: 'text', text: message.content });
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls.filter(isRecord) : [];
  for (const call of calls) {
    const fn = isRecord(call.function) ? call.function : {};
    const name = typeof fn.name === 'string' ? fn.name : '';
    content.push({ type: 'tool_use', id: toolUseId(call.id), name, input: parseArguments(typeof fn.arguments === 'string' ? fn.arguments : '', name) });
  }
  const usage = usageFrom(body.usage);
  return {
    usageReported: usage !== null,
    reasoningBytes: reasoningBytes(message),
    message: {
      id: messageId(body.id),
      type: 'message',
      role: 'assistant',
      model: typeof body.model === 'string' ? body.model : '',
      content,
      stop_reason: stopReasonFor(typeof choice.finish_reason === 'string' ? choice.finish_reason : null, calls.length > 0),
      stop_sequence: null,
      usage: usage ?? ZERO_USAGE,
    },
  };
}
