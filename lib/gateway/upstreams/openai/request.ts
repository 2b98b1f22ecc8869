/**
 * Anthropic Messages request → OpenAI Chat Completions request (OpenAI, Azure OpenAI, Groq, vLLM,
 * Ollama, llama.cpp, TGI). Mappings follow the gateway translation notes (§4.2):
 * - `system` (string or text blocks) → a leading system message; `cache_control` has no
 *   equivalent (OpenAI-style servers cache prefixes on their own) and is dropped, with a note.
 * - user text/image blocks → content parts (images as data: URLs; an image given by URL has been
 *   fetched by Gatehouse unless the provider's remote_images says otherwise, see remote-images);
 * - user `tool_result` blocks → separate `role: tool` messages, before the rest of that turn;
 * - assistant `tool_use` → `tool_calls`; assistant thinking blocks are dropped (their signatures
 *   only mean something to Anthropic hosts);
 * - tools → functions; tool_choice auto/any/tool/none → auto/required/function/none;
 * - stop_sequences → stop; max_tokens → max_completion_tokens (OpenAI, Azure) or max_tokens;
 * - stream → stream + stream_options.include_usage (without it OpenAI reports no usage at all).
 */
import type { DispatchInput, UpstreamTarget } from '@/lib/gateway/contracts';
import { isRecord } from '@/lib/platform/json';
import { TranslationError } from '../adapter';
import { noteDroppedCacheControl } from '../prompt-caching';

type Json = Record<string, unknown>;

export function blocksOf(content: unknown): Json[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? content.filter(isRecord) : [];
}

export function textOf(blocks: Json[]): string {
  return blocks
    .map((block) => (typeof block.text === 'string' ? block.text : ''))
    .filter(Boolean)
    .join('\n\n');
}

const IMAGE_MEDIA_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/**
 * A URL source reaches this point only when the provider's `remote_images` is `forward`: by
 * default Gatehouse has already fetched it (remote-images) and it arrives here as base64.
 */
function imagePart(block: Json): Json {
  const source = isRecord(block.source) ? block.source : {};
  if (source.type === 'base64' && typeof source.data === 'string' && typeof source.media_type === 'string') {
    // The media type goes into a data: URL; only the four image types the upstreams take.
    if (!IMAGE_MEDIA_TYPES.has(source.media_type)) throw new TranslationError(`image media_type must be one of ${[...IMAGE_MEDIA_TYPES].join(', ')}`);
    return { type: 'image_url', image_url: { url: `data:${source.media_type};base64,${source.data}` } };
  }
  if (source.type === 'url' && typeof source.url === 'string') return { type: 'image_url', image_url: { url: source.url } };
  throw new TranslationError(`image source type "${String(source.type)}" is not supported by this upstream`);
}

function documentText(block: Json): string {
  const source = isRecord(block.source) ? block.source : {};
  if (source.type === 'text' && typeof source.data === 'string') return source.data;
  if (source.type === 'content') return textOf(blocksOf(source.content));
  throw new TranslationError('document blocks (PDF or file) are not supported by this upstream model; send the text instead');
}

/** User content parts (text and images); tool results are handled separately. */
function userPart(block: Json): Json {
  switch (block.type) {
    case 'text':
      return { type: 'text', text: typeof block.text === 'string' ? block.text : '' };
    case 'image':
      return imagePart(block);
    case 'document':
      return { type: 'text', text: documentText(block) };
    default:
      if (typeof block.text === 'string') return { type: 'text', text: block.text };
      throw new TranslationError(`content block type "${String(block.type)}" is not supported by this upstream`);
  }
}

/** Tool results are text on this side; images in them cannot be passed on. */
function toolResultText(block: Json): string {
  const parts = blocksOf(block.content).map((part) => (part.type === 'image' ? '[image omitted: not supported by this upstream]' : typeof part.text === 'string' ? part.text : ''));
  const text = parts.filter(Boolean).join('\n\n');
  return block.is_error === true ? `Error: ${text}` : text;
}

/** A user turn: one role:tool message per tool result, then the remaining content (if any). */
function userMessages(content: unknown): Json[] {
  if (typeof content === 'string') return [{ role: 'user', content }];
  const blocks = blocksOf(content);
  const messages: Json[] = blocks
    .filter((block) => block.type === 'tool_result')
    .map((block) => ({ role: 'tool', tool_call_id: String(block.tool_use_id ?? ''), content: toolResultText(block) }));
  const parts = blocks.filter((block) => block.type !== 'tool_result').map(userPart);
  if (parts.length > 0) {
    // Plain text as a string: some servers (older llama.cpp, TGI) accept only that.
    const allText = parts.every((part) => part.type === 'text');
    messages.push({ role: 'user', content: allText ? parts.map((part) => String(part.text)).join('\n\n') : parts });
  }
  return messages;
}

function assistantMessage(content: unknown): Json {
  if (typeof content === 'string') return { role: 'assistant', content };
  const blocks = blocksOf(content);
  const text = textOf(blocks.filter((block) => block.type === 'text'));
  const toolCalls = blocks
    .filter((block) => block.type === 'tool_use')
    .map((block) => ({ id: String(block.id ?? ''), type: 'function', function: { name: String(block.name ?? ''), arguments: JSON.stringify(block.input ?? {}) } }));
  const message: Json = { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return message;
}

function systemMessage(system: unknown): Json[] {
  const text = typeof system === 'string' ? system : textOf(blocksOf(system));
  return text === '' ? [] : [{ role: 'system', content: text }];
}

function tools(list: unknown): Json[] {
  if (!Array.isArray(list)) return [];
  return list.filter(isRecord).map((tool) => {
    // Anthropic server tools (web search, bash, text editor, computer…) run at Anthropic: no equivalent.
    if (!isRecord(tool.input_schema)) throw new TranslationError(`tool "${String(tool.name)}" (${String(tool.type)}) is an Anthropic server tool and cannot be used with this upstream`);
    const fn: Json = { name: tool.name, parameters: tool.input_schema };
    if (typeof tool.description === 'string') fn.description = tool.description;
    return { type: 'function', function: fn };
  });
}

function toolChoice(choice: unknown, out: Json): void {
  if (!isRecord(choice)) return;
  if (choice.type === 'auto') out.tool_choice = 'auto';
  else if (choice.type === 'any') out.tool_choice = 'required';
  else if (choice.type === 'none') out.tool_choice = 'none';
  else if (choice.type === 'tool') out.tool_choice = { type: 'function', function: { name: choice.name } };
  if (choice.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
}

export function translateRequest(input: DispatchInput, target: UpstreamTarget): Json {
  const body = input.body;
  // The contract: a client that asks for safeguards and is told, by name, that they are not
  // available retries without them and runs the check itself.
  if (body.safeguards !== undefined) throw new TranslationError('safeguards are not supported by this upstream; retry without `safeguards`');
  noteDroppedCacheControl(body, target);

  const messages: Json[] = systemMessage(body.system);
  for (const message of Array.isArray(body.messages) ? body.messages.filter(isRecord) : []) {
    if (message.role === 'assistant') messages.push(assistantMessage(message.content));
    else if (message.role === 'system') messages.push(...systemMessage(message.content));
    else messages.push(...userMessages(message.content));
  }

  const out: Json = { model: target.model, messages };
  if (typeof body.max_tokens === 'number') {
    // OpenAI's reasoning models refuse max_tokens; the others still expect it.
    out[target.providerType === 'openai' || target.providerType === 'azure' ? 'max_completion_tokens' : 'max_tokens'] = body.max_tokens;
  }
  if (typeof body.temperature === 'number') out.temperature = body.temperature;
  if (typeof body.top_p === 'number') out.top_p = body.top_p;
  if (typeof body.top_k === 'number' && target.providerType === 'openai_compatible') out.top_k = body.top_k;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) out.stop = body.stop_sequences;
  const functions = tools(body.tools);
  if (functions.length > 0) {
    out.tools = functions;
    toolChoice(body.tool_choice, out);
  }
  // `user` identifies a person to the provider: only for upstreams the company runs.
  const metadata = isRecord(body.metadata) ? body.metadata : {};
  if (target.forwardAttribution && typeof metadata.user_id === 'string') out.user = metadata.user_id;
  if (input.stream) {
    out.stream = true;
    out.stream_options = { include_usage: true };
  }
  return out;
}
