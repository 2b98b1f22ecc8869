/**
 * Anthropic Messages request → Bedrock Converse request, for the models Bedrock serves that are
 * not Claude (Llama, Mistral, Nova, DeepSeek…; translation notes §4.4):
 * - `system` → `system: [{text}]`; text, base64 images (`{image:{format, source:{bytes}}}`) and
 *   PDFs (`{document}`); `tool_use` → `{toolUse}`; `tool_result` → `{toolResult}` (status error
 *   when is_error); thinking blocks from Claude are left out (their signatures mean nothing here);
 * - `cache_control` on a block → a `{cachePoint}` after it (system, messages, tools);
 * - tools → `toolConfig.tools[].toolSpec` (inputSchema.json); tool_choice auto / any / tool →
 *   `{auto}` / `{any}` / `{tool:{name}}`; `none` has no equivalent: no toolChoice, and the tools
 *   stay declared when the history holds tool calls (Bedrock requires toolConfig then);
 * - max_tokens, temperature, top_p, stop_sequences → inferenceConfig; top_k →
 *   additionalModelRequestFields.
 */
import type { DispatchInput } from '@/lib/gateway/contracts';
import { isRecord } from '@/lib/platform/json';
import { TranslationError } from '../adapter';
import { blocksOf, textOf } from '../openai/request';

type Json = Record<string, unknown>;

const IMAGE_FORMATS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp' };
const CACHE_POINT = { cachePoint: { type: 'default' } };

function imageBlock(block: Json): Json {
  const source = isRecord(block.source) ? block.source : {};
  const format = typeof source.media_type === 'string' ? IMAGE_FORMATS[source.media_type] : undefined;
  if (source.type !== 'base64' || typeof source.data !== 'string') throw new TranslationError('images must be sent inline (base64) to this upstream');
  if (!format) throw new TranslationError(`image media_type must be one of ${Object.keys(IMAGE_FORMATS).join(', ')}`);
  return { image: { format, source: { bytes: source.data } } };
}

function documentBlock(block: Json, index: number): Json {
  const source = isRecord(block.source) ? block.source : {};
  if (source.type === 'base64' && source.media_type === 'application/pdf' && typeof source.data === 'string') {
    return { document: { format: 'pdf', name: `document-${index + 1}`, source: { bytes: source.data } } };
  }
  if (source.type === 'text' && typeof source.data === 'string') return { text: source.data };
  if (source.type === 'content') return { text: textOf(blocksOf(source.content)) };
  throw new TranslationError('this document source is not supported by this upstream; send a base64 PDF or text');
}

function toolResultBlock(block: Json): Json {
  const content = blocksOf(block.content).map((part) => (part.type === 'image' ? imageBlock(part) : { text: typeof part.text === 'string' ? part.text : '' }));
  const result: Json = { toolUseId: String(block.tool_use_id ?? ''), content: content.length > 0 ? content : [{ text: '' }] };
  if (block.is_error === true) result.status = 'error';
  return { toolResult: result };
}

function contentBlocks(content: unknown): Json[] {
  const out: Json[] = [];
  blocksOf(content).forEach((block, index) => {
    let converted: Json | null;
    switch (block.type) {
      case 'text':
        converted = typeof block.text === 'string' && block.text !== '' ? { text: block.text } : null;
        break;
      case 'image':
        converted = imageBlock(block);
        break;
      case 'document':
        converted = documentBlock(block, index);
        break;
      case 'tool_use':
        converted = { toolUse: { toolUseId: String(block.id ?? ''), name: String(block.name ?? ''), input: isRecord(block.input) ? block.input : {} } };
        break;
      case 'tool_result':
        converted = toolResultBlock(block);
        break;
      case 'thinking':
      case 'redacted_thinking':
        converted = null;
        break;
      default:
        if (typeof block.text === 'string') converted = { text: block.text };
        else throw new TranslationError(`content block type "${String(block.type)}" is not supported by this upstream`);
    }
    if (converted) out.push(converted);
    if (converted && block.cache_control !== undefined) out.push(CACHE_POINT);
  });
  return out;
}

function systemBlocks(system: unknown): Json[] {
  if (typeof system === 'string') return system === '' ? [] : [{ text: system }];
  const out: Json[] = [];
  for (const block of blocksOf(system)) {
    if (typeof block.text !== 'string' || block.text === '') continue;
    out.push({ text: block.text });
    if (block.cache_control !== undefined) out.push(CACHE_POINT);
  }
  return out;
}

function toolSpecs(list: unknown): Json[] {
  if (!Array.isArray(list)) return [];
  const out: Json[] = [];
  for (const tool of list.filter(isRecord)) {
    if (!isRecord(tool.input_schema)) throw new TranslationError(`tool "${String(tool.name)}" (${String(tool.type)}) is an Anthropic server tool and cannot be used with this upstream`);
    const spec: Json = { name: tool.name, inputSchema: { json: tool.input_schema } };
    if (typeof tool.description === 'string') spec.description = tool.description;
    out.push({ toolSpec: spec });
    if (tool.cache_control !== undefined) out.push(CACHE_POINT);
  }
  return out;
}

function toolChoice(choice: unknown): Json | null {
  if (!isRecord(choice)) return null;
  if (choice.type === 'auto') return { auto: {} };
  if (choice.type === 'any') return { any: {} };
  if (choice.type === 'tool') return { tool: { name: String(choice.name ?? '') } };
  return null;
}

export function translateConverseRequest(input: DispatchInput): Json {
  const body = input.body;
  if (body.safeguards !== undefined) throw new TranslationError('safeguards are not supported by this upstream; retry without `safeguards`');
  const messages: Json[] = [];
  for (const message of Array.isArray(body.messages) ? body.messages.filter(isRecord) : []) {
    const role = message.role === 'assistant' ? 'assistant' : 'user';
    const content = contentBlocks(message.content);
    if (content.length === 0) continue;
    const previous = messages.at(-1);
    // Converse wants roles to alternate: consecutive messages of one role become one.
    if (previous && previous.role === role) (previous.content as Json[]).push(...content);
    else messages.push({ role, content });
  }
  const out: Json = { messages };
  const system = systemBlocks(body.system);
  if (system.length > 0) out.system = system;
  const inference: Json = {};
  if (typeof body.max_tokens === 'number') inference.maxTokens = body.max_tokens;
  if (typeof body.temperature === 'number') inference.temperature = body.temperature;
  if (typeof body.top_p === 'number') inference.topP = body.top_p;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) inference.stopSequences = body.stop_sequences;
  if (Object.keys(inference).length > 0) out.inferenceConfig = inference;
  if (typeof body.top_k === 'number') out.additionalModelRequestFields = { top_k: body.top_k };
  const tools = toolSpecs(body.tools);
  if (tools.length > 0) {
    const config: Json = { tools };
    const choice = toolChoice(body.tool_choice);
    if (choice) config.toolChoice = choice;
    out.toolConfig = config;
  }
  return out;
}
