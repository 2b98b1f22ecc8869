/**
 * The places in a Messages request where people put text: the system prompt, text blocks of
 * every turn, tool results (what a tool read from disk or the web, where credentials turn up
 * most) and the string values of tool calls sent back. Each is a handle that can rewrite its
 * text in place, so redaction edits exactly what goes upstream and leaves every other field,
 * known or not, as the client sent it. Thinking blocks are left alone: they carry a signature.
 */
export interface TextSegment {
  readonly text: string;
  replace(next: string): void;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(owner: Json, key: string): TextSegment {
  return {
    text: owner[key] as string,
    replace: (next) => {
      owner[key] = next;
    },
  };
}

function element(owner: unknown[], index: number): TextSegment {
  return {
    text: owner[index] as string,
    replace: (next) => {
      owner[index] = next;
    },
  };
}

/** Every string leaf of a JSON value (tool call arguments). */
function collectStrings(value: unknown, out: TextSegment[], depth = 0): void {
  // Tool inputs are model-written JSON; the depth bound only stops a pathological nesting.
  if (depth > 64) return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      if (typeof item === 'string') out.push(element(value, index));
      else collectStrings(item, out, depth + 1);
    });
  } else if (isObject(value)) {
    for (const key of Object.keys(value)) {
      const item = value[key];
      if (typeof item === 'string') out.push(field(value, key));
      else collectStrings(item, out, depth + 1);
    }
  }
}

function collectBlock(block: unknown, out: TextSegment[]): void {
  if (!isObject(block)) return;
  switch (block.type) {
    case 'text':
      if (typeof block.text === 'string') out.push(field(block, 'text'));
      break;
    case 'tool_result':
      collectContent(block, 'content', out);
      break;
    case 'tool_use':
    case 'server_tool_use':
      collectStrings(block.input, out);
      break;
    case 'document':
      if (isObject(block.source)) {
        if (block.source.type === 'text' && typeof block.source.data === 'string') out.push(field(block.source, 'data'));
        else if (block.source.type === 'content') collectContent(block.source, 'content', out);
      }
      break;
    default:
      break;
  }
}

/** A `content` (or `system`) field: a plain string or an array of blocks. */
function collectContent(owner: Json, key: string, out: TextSegment[]): void {
  const content = owner[key];
  if (typeof content === 'string') out.push(field(owner, key));
  else if (Array.isArray(content)) for (const block of content) collectBlock(block, out);
}

export function textSegments(body: Json): TextSegment[] {
  const out: TextSegment[] = [];
  collectContent(body, 'system', out);
  if (Array.isArray(body.messages)) {
    for (const message of body.messages) if (isObject(message)) collectContent(message, 'content', out);
  }
  return out;
}
