// What Claude Code POSTs to an HTTP hook (seen from 2.1.332): the session, the working directory,
// the event's name and, per event, the tool call or the prompt. Unknown fields are ignored, as
// the client adds some (effort, prompt_id, permission_mode) from one version to the next.
import { z } from 'zod';
import type { HookEvent } from './paths';

const common = {
  session_id: z.string().min(1).max(200),
  cwd: z.string().max(4096).optional(),
  permission_mode: z.string().max(100).optional(),
  agent_id: z.string().max(200).optional(),
};

const toolCall = {
  ...common,
  tool_name: z.string().min(1).max(300),
  tool_input: z.unknown().optional(),
  tool_use_id: z.string().max(200).optional(),
};

export const hookInputSchemas = {
  PreToolUse: z.object({ ...toolCall, hook_event_name: z.literal('PreToolUse') }),
  PostToolUse: z.object({ ...toolCall, hook_event_name: z.literal('PostToolUse'), tool_response: z.unknown().optional(), duration_ms: z.number().nonnegative().optional() }),
  PostToolUseFailure: z.object({ ...toolCall, hook_event_name: z.literal('PostToolUseFailure'), error: z.unknown().optional(), duration_ms: z.number().nonnegative().optional() }),
  UserPromptSubmit: z.object({ ...common, hook_event_name: z.literal('UserPromptSubmit'), prompt: z.string().optional() }),
  SessionStart: z.object({ ...common, hook_event_name: z.literal('SessionStart'), source: z.string().max(100).optional(), model: z.string().max(200).optional() }),
} satisfies Record<HookEvent, z.ZodType>;

export type HookInput<E extends HookEvent> = z.output<(typeof hookInputSchemas)[E]>;

/** Hook bodies are small (a tool call's input, a prompt); past this the request is refused. */
export const MAX_HOOK_BODY_BYTES = 4 * 1024 * 1024;
