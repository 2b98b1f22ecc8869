/**
 * Anthropic Messages request → Gemini `generateContent` request (Gemini API and Vertex AI's
 * publishers/google models share it; translation notes §4.3):
 * - `system` → `systemInstruction`; roles user / assistant → `user` / `model`;
 * - text → `{text}`; base64 images and PDFs → `{inlineData}` (an image given by URL has been
 *   fetched by Gatehouse unless the provider's remote_images says otherwise);
 * - `tool_use` → `{functionCall}`; `tool_result` → `{functionResponse}` named after the call it
 *   answers (looked up by id in the conversation);
 * - a `thinking` block from an earlier Gemini answer carries Gemini's thought signature in its
 *   `signature`: it goes back as `thoughtSignature` on the part that followed it. Gemini 3 refuses
 *   a function call in the history without one, so a call without (say, one another model made)
 *   gets the documented placeholder that skips the check;
 * - tools → `functionDeclarations` (JSON Schema as `parametersJsonSchema`); tool_choice auto /
 *   any / tool / none → AUTO / ANY (+ allowedFunctionNames) / NONE;
 * - max_tokens, stop_sequences, temperature, top_p, top_k → generationConfig; `thinking` →
 *   thinkingConfig (budget, thoughts included).
 * `cache_control` cannot be expressed (Gemini caches implicitly, or through cachedContents): it is
 * dropped, noted once per provider in the log.
 */
import type { DispatchInput, UpstreamTarget } from '@/lib/gateway/contracts';
import { isRecord } from '@/lib/platform/json';
import { TranslationError } from '../adapter';
import { blocksOf, textOf } from '../openai/request';
import { noteDroppedCacheControl } from '../prompt-caching';

type Json = Record<string, unknown>;

/** Gemini's documented placeholder for a function call whose thought signature is unknown. */
export const SKIP_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';

/** Signatures of Gemini thoughts are marked so they are never mistaken for Anthropic ones. */
export const GEMINI_SIGNATURE_PREFIX = 'gemini:';

const INLINE_MEDIA = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf']);

function inlinePart(block: Json, what: string): Json {
  const source = isRecord(block.source) ? block.source : {};
  if (source.type === 'base64' && typeof source.data === 'string' && typeof source.media_type === 'string') {
    if (!INLINE_MEDIA.has(source.media_type)) throw new TranslationError(`${what} media_type ${source.media_type} is not supported by this upstream`);
    return { inlineData: { mimeType: source.media_type, data: source.data } };
  }
  if (source.type === 'text' && typeof source.data === 'string') return { text: source.data };
  if (source.type === 'content') return { text: textOf(blocksOf(source.content)) };
  throw new TranslationError(`${what} source type "${String(source.type)}" is not supported by this upstream; send it inline (base64)`);
}

function toolResponse(block: Json): Json {
  const text = blocksOf(block.content)
    .map((part) => (typeof part.text === 'string' ? part.text : part.type === 'image' ? '[image omitted: not supported in tool results by this upstream]' : ''))
    .filter(Boolean)
    .join('\n\n');
  return block.is_error === true ? { error: text } : { result: text };
}

function signatureOf(block: Json): string | null {
  if (typeof block.signature !== 'string' || !block.signature.startsWith(GEMINI_SIGNATURE_PREFIX)) return null;
  return block.signature.slice(GEMINI_SIGNATURE_PREFIX.length) || null;
}

/** The parts of one message; `names` maps tool_use ids to function names (for functionResponse). */
function partsOf(role: 'user' | 'model', content: unknown, names: Map<string, string>): Json[] {
  const parts: Json[] = [];
  let pendingSignature: string | null = null;
  for (const block of blocksOf(content)) {
    let part: Json | null = null;
    switch (block.type) {
      case 'text':
        if (typeof block.text === 'string' && block.text !== '') part = { text: block.text };
        break;
      case 'image':
        part = inlinePart(block, 'image');
        break;
      case 'document':
        part = inlinePart(block, 'document');
        break;
      case 'tool_use': {
        const name = String(block.name ?? '');
        if (typeof block.id === 'string') names.set(block.id, name);
        part = { functionCall: { name, args: isRecord(block.input) ? block.input : {} } };
        break;
      }
      case 'tool_result': {
        const id = String(block.tool_use_id ?? '');
        const name = names.get(id);
        if (name === undefined) throw new TranslationError(`tool_result ${id} answers no tool_use earlier in the conversation`);
        part = { functionResponse: { name, response: toolResponse(block) } };
        break;
      }
      case 'thinking':
      case 'redacted_thinking':
        // Thought text is not sent back (Gemini does not need it); a Gemini signature rides on the next part.
        if (role === 'model') pendingSignature = signatureOf(block) ?? pendingSignature;
        break;
      default:
        if (typeof block.text === 'string') part = { text: block.text };
        else throw new TranslationError(`content block type "${String(block.type)}" is not supported by this upstream`);
    }
    if (!part) continue;
    if (role === 'model') {
      if (pendingSignature) part.thoughtSignature = pendingSignature;
      else if (part.functionCall) part.thoughtSignature = SKIP_THOUGHT_SIGNATURE;
      pendingSignature = null;
    }
    parts.push(part);
  }
  return parts;
}

function functionDeclarations(list: unknown): Json[] {
  if (!Array.isArray(list)) return [];
  return list.filter(isRecord).map((tool) => {
    // Anthropic server tools (web search, bash, text editor, computer…) run at Anthropic: no equivalent.
    if (!isRecord(tool.input_schema)) throw new TranslationError(`tool "${String(tool.name)}" (${String(tool.type)}) is an Anthropic server tool and cannot be used with this upstream`);
    const declaration: Json = { name: tool.name, parametersJsonSchema: tool.input_schema };
    if (typeof tool.description === 'string') declaration.description = tool.description;
    return declaration;
  });
}

function toolConfig(choice: unknown): Json | null {
  if (!isRecord(choice)) return null;
  if (choice.type === 'auto') return { functionCallingConfig: { mode: 'AUTO' } };
  if (choice.type === 'any') return { functionCallingConfig: { mode: 'ANY' } };
  if (choice.type === 'none') return { functionCallingConfig: { mode: 'NONE' } };
  if (choice.type === 'tool') return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [String(choice.name ?? '')] } };
  return null;
}

function thinkingConfig(thinking: unknown): Json | null {
  if (!isRecord(thinking)) return null;
  if (thinking.type === 'enabled') return { thinkingBudget: typeof thinking.budget_tokens === 'number' ? thinking.budget_tokens : -1, includeThoughts: true };
  if (thinking.type === 'adaptive') return { thinkingBudget: -1, includeThoughts: true };
  return null;
}

export function translateGeminiRequest(input: DispatchInput, target: UpstreamTarget): Json {
  const body = input.body;
  if (body.safeguards !== undefined) throw new TranslationError('safeguards are not supported by this upstream; retry without `safeguards`');
  noteDroppedCacheControl(body, target);

  const names = new Map<string, string>();
  const contents: Json[] = [];
  for (const message of Array.isArray(body.messages) ? body.messages.filter(isRecord) : []) {
    const role = message.role === 'assistant' ? 'model' : 'user';
    const parts = partsOf(role, message.content, names);
    if (parts.length === 0) continue;
    const previous = contents.at(-1);
    // Gemini wants turns to alternate: consecutive messages of one role become one turn.
    if (previous && previous.role === role) (previous.parts as Json[]).push(...parts);
    else contents.push({ role, parts });
  }

  const out: Json = { contents };
  const system = typeof body.system === 'string' ? body.system : textOf(blocksOf(body.system));
  if (system !== '') out.systemInstruction = { parts: [{ text: system }] };
  const declarations = functionDeclarations(body.tools);
  if (declarations.length > 0) {
    out.tools = [{ functionDeclarations: declarations }];
    const config = toolConfig(body.tool_choice);
    if (config) out.toolConfig = config;
  }
  const generation: Json = {};
  if (typeof body.max_tokens === 'number') generation.maxOutputTokens = body.max_tokens;
  if (typeof body.temperature === 'number') generation.temperature = body.temperature;
  if (typeof body.top_p === 'number') generation.topP = body.top_p;
  if (typeof body.top_k === 'number') generation.topK = body.top_k;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) generation.stopSequences = body.stop_sequences;
  const thinking = thinkingConfig(body.thinking);
  if (thinking) generation.thinkingConfig = thinking;
  if (Object.keys(generation).length > 0) out.generationConfig = generation;
  return out;
}
