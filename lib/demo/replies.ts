/**
 * What the demo upstream says. No model is involved: the answer is worked out from the request,
 * the same way every time, so a newcomer can see their own words come back through Gatehouse and
 * a test can predict it.
 *
 * - Plain prompt: the upstream says what it is, which model the request named and what was asked.
 * - Tools offered and the prompt says "use NAME" or "call NAME" for one of them: a call of that tool,
 *   with its required inputs filled with placeholders.
 * - The last turn carries a tool's result: the upstream reports what the tool returned.
 */
import { estimateInputTokens, type FakeAnthropicReply } from '@/lib/gateway/fake-upstreams/anthropic';
import type { FakeOpenAIReply } from '@/lib/gateway/fake-upstreams/openai';
import { isRecord } from '@/lib/platform/json';

/** Echoed text is cut here, so a pasted file does not come back whole. */
const ECHO_LIMIT = 200;

interface OfferedTool {
  name: string;
  schema: unknown;
}

/** What a request asks, whichever wire format it came in. */
interface Question {
  model: string;
  /** The text of the last user turn (Claude Code's `<system-reminder>` blocks left out). */
  prompt: string;
  /** The text of a tool result in the last turn, when there is one. */
  toolResult: string | null;
  tools: OfferedTool[];
}

export type DemoAnswer = { kind: 'text'; text: string } | { kind: 'tool'; name: string; input: Record<string, unknown> };

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((block): block is { type: 'text'; text: string } => isRecord(block) && block.type === 'text' && typeof block.text === 'string')
    .map((block) => block.text)
    .filter((text) => !text.trimStart().startsWith('<system-reminder>'))
    .join('\n');
}

function lastMessage(body: Record<string, unknown>, roles: string[]): Record<string, unknown> | undefined {
  const messages = Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
  return messages.findLast((message) => typeof message.role === 'string' && roles.includes(message.role));
}

function anthropicQuestion(body: Record<string, unknown>): Question {
  const last = lastMessage(body, ['user']);
  const blocks = Array.isArray(last?.content) ? last.content.filter(isRecord) : [];
  const result = blocks.find((block) => block.type === 'tool_result');
  const tools = (Array.isArray(body.tools) ? body.tools.filter(isRecord) : [])
    .filter((tool) => typeof tool.name === 'string' && tool.input_schema !== undefined)
    .map((tool) => ({ name: tool.name as string, schema: tool.input_schema }));
  return { model: String(body.model ?? ''), prompt: textOf(last?.content), toolResult: result ? textOf(result.content) : null, tools };
}

function openAIQuestion(body: Record<string, unknown>): Question {
  const last = lastMessage(body, ['user', 'tool']);
  const tools = (Array.isArray(body.tools) ? body.tools.filter(isRecord) : [])
    .map((tool) => (isRecord(tool.function) ? tool.function : {}))
    .filter((fn) => typeof fn.name === 'string')
    .map((fn) => ({ name: fn.name as string, schema: fn.parameters }));
  const isResult = last?.role === 'tool';
  return { model: String(body.model ?? ''), prompt: isResult ? '' : textOf(last?.content), toolResult: isResult ? textOf(last?.content) : null, tools };
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > ECHO_LIMIT ? `${flat.slice(0, ECHO_LIMIT)}…` : flat;
}

/** Placeholders for a tool's required inputs, by their JSON Schema type. */
function placeholderInput(schema: unknown): Record<string, unknown> {
  if (!isRecord(schema) || !isRecord(schema.properties)) return {};
  const required = Array.isArray(schema.required) ? schema.required.filter((name): name is string => typeof name === 'string') : [];
  const input: Record<string, unknown> = {};
  for (const name of required) {
    const property = schema.properties[name];
    const type = isRecord(property) ? property.type : undefined;
    input[name] = type === 'number' || type === 'integer' ? 1 : type === 'boolean' ? true : type === 'array' ? [] : type === 'object' ? {} : 'demo';
  }
  return input;
}

/** The tool a prompt asks for by "use NAME" or "call NAME" (optionally "the NAME tool", in backticks). */
function requestedTool(question: Question): OfferedTool | undefined {
  const named = /\b(?:use|call)\s+(?:the\s+)?`?([A-Za-z0-9_.-]+)`?/gi;
  for (const match of question.prompt.matchAll(named)) {
    const tool = question.tools.find((offered) => offered.name.toLowerCase() === match[1]!.toLowerCase());
    if (tool) return tool;
  }
  return undefined;
}

export function demoAnswer(question: Question): DemoAnswer {
  if (question.toolResult !== null) {
    return { kind: 'text', text: `Gatehouse demo upstream: the tool returned "${clip(question.toolResult)}". (No model is behind this answer.)` };
  }
  const tool = requestedTool(question);
  if (tool) return { kind: 'tool', name: tool.name, input: placeholderInput(tool.schema) };
  return {
    kind: 'text',
    text: `Hello from the Gatehouse demo upstream, answering as ${question.model || 'no model'}. You said: "${clip(question.prompt)}". No model is behind this answer; put a real provider in gatehouse.yaml for one.`,
  };
}

function outputTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

let answered = 0;
function nextId(prefix: string): string {
  answered += 1;
  return `${prefix}${String(answered).padStart(6, '0')}`;
}

/** The demo's answer to a Messages API request, as the Anthropic fake's reply script. */
export function anthropicDemoReply(body: unknown): FakeAnthropicReply {
  const request = isRecord(body) ? body : {};
  const answer = demoAnswer(anthropicQuestion(request));
  const input_tokens = estimateInputTokens(request);
  if (answer.kind === 'tool') {
    return {
      id: nextId('msg_demo_'),
      content: [{ type: 'tool_use', id: nextId('toolu_demo_'), name: answer.name, input: answer.input }],
      usage: { input_tokens, output_tokens: outputTokens(JSON.stringify(answer.input)) },
    };
  }
  return { id: nextId('msg_demo_'), content: [{ type: 'text', text: answer.text }], usage: { input_tokens, output_tokens: outputTokens(answer.text) } };
}

/** The demo's answer to a Chat Completions request, as the OpenAI fake's reply script. */
export function openAIDemoReply(body: unknown): FakeOpenAIReply {
  const request = isRecord(body) ? body : {};
  const answer = demoAnswer(openAIQuestion(request));
  const prompt_tokens = estimateInputTokens(request);
  if (answer.kind === 'tool') {
    return {
      id: nextId('chatcmpl-demo'),
      toolCalls: [{ id: nextId('call_demo_'), name: answer.name, arguments: answer.input }],
      usage: { prompt_tokens, completion_tokens: outputTokens(JSON.stringify(answer.input)) },
    };
  }
  return { id: nextId('chatcmpl-demo'), content: answer.text, usage: { prompt_tokens, completion_tokens: outputTokens(answer.text) } };
}
