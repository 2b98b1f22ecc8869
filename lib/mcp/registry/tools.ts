import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalJson } from '@/lib/audit';
import { UserInputError } from '@/lib/users/tenant';
import type { RecordedTool } from './types';

/** Limits on what a tool list may be: a server answering more is refused, not truncated (a truncated list would hash as a different one). */
export const TOOL_LIMITS = { tools: 500, toolBytes: 64 * 1024, listBytes: 2 * 1024 * 1024 } as const;

const jsonObject = z.record(z.string(), z.unknown());

/**
 * What a server asks of the client (sampling, elicitation) is decided by the tool policy under
 * its method name, which the MCP spec's tool names may spell ("/" is allowed): a tool of that
 * name would share those rules, so none is recorded (health check or stdio declaration alike).
 */
export const RELAYED_REQUEST_NAMES: readonly string[] = ['sampling/createMessage', 'elicitation/create'];

/** A tool as tools/list (or an administrator) gives it; unknown members such as _meta and icons are not recorded. */
export const toolInputSchema = z.object({
  name: z.string().min(1).max(200),
  title: z.string().max(500).optional(),
  description: z.string().max(20_000).optional(),
  inputSchema: jsonObject,
  outputSchema: jsonObject.optional(),
  annotations: jsonObject.optional(),
});

export type ToolInput = z.input<typeof toolInputSchema>;

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The recorded form of a tool list: only the fields that describe a tool, each tool with the
 * hash of its canonical JSON, sorted by name. Throws UserInputError for a list over the limits,
 * a malformed tool or a name given twice.
 */
export function recordTools(tools: readonly unknown[]): RecordedTool[] {
  if (tools.length > TOOL_LIMITS.tools) throw new UserInputError(`the server lists ${tools.length} tools; at most ${TOOL_LIMITS.tools} are recorded`);
  const seen = new Set<string>();
  let total = 0;
  const recorded = tools.map((tool, index) => {
    const parsed = toolInputSchema.safeParse(tool);
    if (!parsed.success) throw new UserInputError(`tool ${index + 1} is malformed: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'tool'}: ${issue.message}`).join('; ')}`);
    const { name, title, description, inputSchema, outputSchema, annotations } = parsed.data;
    if (seen.has(name)) throw new UserInputError(`the tool ${name} is listed twice`);
    if (RELAYED_REQUEST_NAMES.includes(name)) throw new UserInputError(`the tool name ${name} is reserved: the tool policy uses it for the server's ${name} requests to the client`);
    seen.add(name);
    const described = {
      name,
      ...(title !== undefined ? { title } : {}),
      ...(description !== undefined ? { description } : {}),
      inputSchema,
      ...(outputSchema !== undefined ? { outputSchema } : {}),
      ...(annotations !== undefined ? { annotations } : {}),
    };
    const canonical = canonicalJson(described);
    if (Buffer.byteLength(canonical) > TOOL_LIMITS.toolBytes) throw new UserInputError(`the tool ${name} is described in more than ${TOOL_LIMITS.toolBytes} bytes`);
    total += Buffer.byteLength(canonical);
    return { ...described, schemaHash: sha256Hex(canonical) };
  });
  if (total > TOOL_LIMITS.listBytes) throw new UserInputError(`the tool list is more than ${TOOL_LIMITS.listBytes} bytes`);
  return recorded.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The digest two tool lists are compared by: names and schema hashes, in name order. */
export function toolsDigest(tools: readonly RecordedTool[]): string {
  const entries = tools.map((tool) => ({ name: tool.name, schemaHash: tool.schemaHash })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return sha256Hex(canonicalJson(entries));
}

/** What changed between two tool lists, for the drift notice: names added, removed and changed. */
export function toolChanges(before: readonly RecordedTool[], after: readonly RecordedTool[]): { added: string[]; removed: string[]; changed: string[] } {
  const old = new Map(before.map((tool) => [tool.name, tool.schemaHash]));
  const now = new Map(after.map((tool) => [tool.name, tool.schemaHash]));
  return {
    added: [...now.keys()].filter((name) => !old.has(name)),
    removed: [...old.keys()].filter((name) => !now.has(name)),
    changed: [...now.entries()].filter(([name, hash]) => old.has(name) && old.get(name) !== hash).map(([name]) => name),
  };
}
