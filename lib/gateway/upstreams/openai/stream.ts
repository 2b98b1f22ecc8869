/**
 * OpenAI Chat Completions stream → Anthropic Messages stream (translation notes §4.2):
 *   first chunk            → message_start (usage zeros: OpenAI reports usage only at the end)
 *   delta.content          → a text block: content_block_start, text_delta…
 *   delta.tool_calls[i]    → a tool_use block per call: content_block_start (id, name, input {}),
 *                            input_json_delta per arguments fragment
 *   finish_reason          → remembered; usage chunk (choices [] or null; Groq: x_groq.usage) → usage
 *   [DONE] / end of stream → content_block_stop, message_delta (stop_reason, cumulative usage),
 *                            message_stop
 * Anthropic blocks are strictly sequential while OpenAI may interleave parallel calls, so a call
 * that starts while another is still incomplete is held back and sent whole once the stream ends.
 */
import { createParser } from 'eventsource-parser';
import type { Usage } from '@/lib/gateway/contracts';
import { isRecord } from '@/lib/platform/json';
import type { StreamFacts } from '../adapter';
import { chunksOf, type UpstreamBody } from '../adapter';
import { sseFrame } from '../sse';
import { upstreamTuning } from '../tuning';
import { messageId, reasoningBytes, stopReasonFor, toolUseId, usageFrom, ZERO_USAGE } from './response';

interface ToolCall {
  id: string;
  name: string;
  args: string;
  state: 'open' | 'held' | 'closed';
}

type OpenBlock = { kind: 'text'; index: number } | { kind: 'tool'; index: number; call: ToolCall } | null;

function isCompleteJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export class OpenAIStreamTranslator {
  private started = false;
  private finished = false;
  private nextIndex = 0;
  private open: OpenBlock = null;
  private readonly calls = new Map<number, ToolCall>();
  private finishReason: string | null = null;
  private usage: Usage | null = null;
  private id: string | null = null;
  private model = '';
  private reasoning = 0;

  get usageReported(): boolean {
    return this.usage !== null;
  }

  /** Bytes of reasoning the upstream streamed: not relayed (see translateCompletion), but billed. */
  get reasoningBytes(): number {
    return this.reasoning;
  }

  get done(): boolean {
    return this.finished;
  }

  /** Anthropic SSE frames for one parsed chunk. */
  push(chunk: unknown): string[] {
    if (this.finished || !isRecord(chunk)) return [];
    if (isRecord(chunk.error)) return this.fail(chunk.error);
    const frames: string[] = [];
    if (!this.started) {
      this.id = messageId(chunk.id);
      this.model = typeof chunk.model === 'string' ? chunk.model : '';
      frames.push(this.messageStart());
    }
    const usage = usageFrom(chunk.usage) ?? (isRecord(chunk.x_groq) ? usageFrom(chunk.x_groq.usage) : null);
    if (usage) this.usage = usage;
    const choices = Array.isArray(chunk.choices) ? chunk.choices.filter(isRecord) : [];
    const choice = choices.find((candidate) => (candidate.index ?? 0) === 0);
    if (!choice) return frames;
    const delta = isRecord(choice.delta) ? choice.delta : {};
    this.reasoning += reasoningBytes(delta);
    if (typeof delta.content === 'string' && delta.content !== '') frames.push(...this.text(delta.content));
    if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls.filter(isRecord)) frames.push(...this.toolCall(call));
    if (typeof choice.finish_reason === 'string') this.finishReason = choice.finish_reason;
    return frames;
  }

  /** The closing frames, at `[DONE]` or the end of the upstream stream. */
  finish(): string[] {
    if (this.finished || !this.started) return [];
    this.finished = true;
    const frames = this.closeOpen();
    for (const call of this.calls.values()) {
      if (call.state !== 'held') continue;
      // A held-back parallel call goes out whole: start, its full arguments, stop.
      frames.push(...this.openTool(call));
      frames.push(...this.closeOpen());
    }
    const usage = this.usage ?? ZERO_USAGE;
    frames.push(
      sseFrame('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: stopReasonFor(this.finishReason, this.calls.size > 0), stop_sequence: null },
        usage,
      }),
      sseFrame('message_stop', { type: 'message_stop' }),
    );
    return frames;
  }

  private messageStart(): string {
    this.started = true;
    return sseFrame('message_start', {
      type: 'message_start',
      message: { id: this.id, type: 'message', role: 'assistant', model: this.model, content: [], stop_reason: null, stop_sequence: null, usage: this.usage ?? ZERO_USAGE },
    });
  }

  private fail(error: Record<string, unknown>): string[] {
    this.finished = true;
    upstreamTuning().logger.warn('upstream reported an error mid-stream', { error });
    const overloaded = error.code === 503 || error.type === 'overloaded_error' || /overloaded/i.test(String(error.message ?? ''));
    const type = overloaded ? 'overloaded_error' : 'api_error';
    return [sseFrame('error', { type: 'error', error: { type, message: overloaded ? 'Overloaded' : 'upstream error during the stream' } })];
  }

  private closeOpen(): string[] {
    if (!this.open) return [];
    const frames = [sseFrame('content_block_stop', { type: 'content_block_stop', index: this.open.index })];
    if (this.open.kind === 'tool') this.open.call.state = 'closed';
    this.open = null;
    return frames;
  }

  private text(text: string): string[] {
    const frames: string[] = [];
    if (this.open?.kind !== 'text') {
      frames.push(...this.closeOpen());
      const index = this.nextIndex++;
      this.open = { kind: 'text', index };
      frames.push(sseFrame('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }));
    }
    frames.push(sseFrame('content_block_delta', { type: 'content_block_delta', index: this.open.index, delta: { type: 'text_delta', text } }));
    return frames;
  }

  private openTool(call: ToolCall): string[] {
    const index = this.nextIndex++;
    this.open = { kind: 'tool', index, call };
    call.state = 'open';
    const frames = [sseFrame('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} } })];
    if (call.args !== '') frames.push(this.argsDelta(index, call.args));
    return frames;
  }

  private argsDelta(index: number, partial: string): string {
    return sseFrame('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: partial } });
  }

  private toolCall(delta: Record<string, unknown>): string[] {
    const position = typeof delta.index === 'number' ? delta.index : 0;
    const fn = isRecord(delta.function) ? delta.function : {};
    const fragment = typeof fn.arguments === 'string' ? fn.arguments : '';
    const known = this.calls.get(position);

    if (!known) {
      const call: ToolCall = { id: toolUseId(delta.id), name: typeof fn.name === 'string' ? fn.name : '', args: fragment, state: 'held' };
      this.calls.set(position, call);
      const busy = this.open?.kind === 'tool' && !isCompleteJson(this.open.call.args);
      if (busy) return []; // interleaved with an unfinished call: sent whole at the end
      return [...this.closeOpen(), ...this.openTool(call)];
    }
    if (known.state === 'held') {
      known.args += fragment;
      if (known.name === '' && typeof fn.name === 'string') known.name = fn.name;
      return [];
    }
    if (known.state === 'closed') {
      if (fragment.trim() !== '') upstreamTuning().logger.warn('tool call fragment after its block closed was dropped', { tool: known.name });
      return [];
    }
    known.args += fragment;
    return fragment === '' || this.open?.kind !== 'tool' ? [] : [this.argsDelta(this.open.index, fragment)];
  }
}

const encoder = new TextEncoder();

/** Reads the upstream's SSE and yields Anthropic SSE bytes (empty arrays are signs of life). */
export async function* translateOpenAIStream(body: UpstreamBody, facts: StreamFacts): AsyncGenerator<Uint8Array> {
  const translator = new OpenAIStreamTranslator();
  const decoder = new TextDecoder();
  let frames: string[] = [];
  let sawDone = false;
  const parser = createParser({
    onEvent(event) {
      if (event.data.trim() === '[DONE]') {
        sawDone = true;
        frames.push(...translator.finish());
        return;
      }
      try {
        frames.push(...translator.push(JSON.parse(event.data)));
      } catch {
        upstreamTuning().logger.warn('unparseable chunk in an OpenAI-compatible stream was skipped');
      }
    },
  });
  const flush = () => {
    const bytes = encoder.encode(frames.join(''));
    frames = [];
    facts.usageReported = translator.usageReported;
    facts.hiddenOutputBytes = translator.reasoningBytes;
    return bytes;
  };

  for await (const chunk of chunksOf(body)) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    yield flush();
    if (sawDone || translator.done) return;
  }
  // Ended without [DONE]: close the message properly with what we have (notes §4.2, step 7).
  frames.push(...translator.finish());
  yield flush();
}
