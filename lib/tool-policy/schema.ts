// What a rule may say, checked before it is saved (dashboard, CLI, API alike). Messages name the
// field and are written to be shown as they are.
import { z } from 'zod';
import { ANY_SERVER, ARGUMENT_OPS, BUILT_IN_SERVER, CALL_SOURCES, FAIL_MODES, PRINCIPAL_KINDS, TOOL_DECISIONS, WEEKDAYS, type ToolPolicyConditions } from './types';

const SERVER_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** MCP tool names, Claude Code's built-in names and `mcp__server__tool`, with `*` and `?`. */
const TOOL_PATTERN = /^[A-Za-z0-9_.:/*?-]{1,200}$/;
const CLOCK = /^([01]\d|2[0-3]):[0-5]\d$/;

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const argumentCondition = z
  .object({
    path: z.string({ error: 'give the argument path, like /repository or query.limit' }).trim().min(1, 'give the argument path, like /repository or query.limit').max(300, 'an argument path is at most 300 characters'),
    op: z.enum(ARGUMENT_OPS, { error: `op must be one of ${ARGUMENT_OPS.join(', ')}` }),
    value: z.unknown().optional(),
  })
  .strict()
  .superRefine((condition, ctx) => {
    const issue = (message: string) => ctx.addIssue({ code: 'custom', path: ['value'], message });
    if (condition.op === 'in' && !Array.isArray(condition.value)) issue('"in" needs an array of values');
    if (condition.op === 'matches' && typeof condition.value !== 'string') issue('"matches" needs a glob string (* and ? only)');
    if ((condition.op === 'eq' || condition.op === 'neq') && condition.value === undefined) issue(`"${condition.op}" needs a value`);
    if (condition.op === 'exists' && condition.value !== undefined && typeof condition.value !== 'boolean') issue('"exists" takes true (present) or false (absent), or no value');
  });

const timeWindow = z
  .object({
    days: z.array(z.enum(WEEKDAYS, { error: `days are ${WEEKDAYS.join(', ')}` })).min(1, 'list at least one day, or leave days out').optional(),
    from: z.string().regex(CLOCK, 'use HH:MM (24-hour), like 09:00').optional(),
    to: z.string().regex(CLOCK, 'use HH:MM (24-hour), like 18:00').optional(),
    timeZone: z.string().refine(isTimeZone, 'not a time zone this server knows (use an IANA name like Europe/Paris)').optional(),
  })
  .strict()
  .refine((window) => window.days || window.from || window.to, 'give days, from or to (an empty window says nothing)')
  .refine((window) => !window.from || !window.to || window.from !== window.to, 'from and to are the same time: the window would be empty');

export const toolPolicyConditions = z
  .object({
    callSources: z.array(z.enum(CALL_SOURCES, { error: `call sources are ${CALL_SOURCES.join(', ')}` })).min(1, 'list at least one call source, or leave callSources out').optional(),
    clientIds: z.array(z.string().trim().min(1, 'a client id cannot be empty').max(200)).min(1, 'list at least one client id, or leave clientIds out').optional(),
    timeWindow: timeWindow.optional(),
    arguments: z.array(argumentCondition).min(1, 'list at least one argument condition, or leave arguments out').max(20, 'at most 20 argument conditions').optional(),
  })
  .strict();

export const toolPolicyRuleInput = z
  .object({
    server: z
      .string({ error: 'give the server name' })
      .trim()
      .refine((server) => server === ANY_SERVER || SERVER_NAME.test(server), `the server is a registered MCP server's name (a-z, 0-9, -), ${ANY_SERVER} for any server, or ${BUILT_IN_SERVER} for the client's built-in tools`),
    tool: z.string({ error: 'give the tool name or glob' }).trim().regex(TOOL_PATTERN, 'the tool is a name or a glob (* and ?) of letters, digits and _ . : / -'),
    principalKind: z.enum(PRINCIPAL_KINDS, { error: `who is one of ${PRINCIPAL_KINDS.join(', ')}` }),
    principal: z.string().trim().max(320).default(''),
    conditions: toolPolicyConditions.default({}),
    decision: z.enum(TOOL_DECISIONS, { error: `the decision is ${TOOL_DECISIONS.join(', ')}` }),
    failMode: z.enum(FAIL_MODES, { error: `the fail mode is ${FAIL_MODES.join(' or ')}` }).default('closed'),
    description: z.string().trim().max(500, 'the description is at most 500 characters').default(''),
    enabled: z.boolean().default(true),
  })
  .superRefine((rule, ctx) => {
    if (rule.principalKind === 'everyone' && rule.principal !== '') ctx.addIssue({ code: 'custom', path: ['principal'], message: 'a rule for everyone names no principal' });
    if (rule.principalKind !== 'everyone' && rule.principal === '') ctx.addIssue({ code: 'custom', path: ['principal'], message: `name the ${rule.principalKind}` });
  });

export type ToolPolicyRuleInput = z.output<typeof toolPolicyRuleInput>;

/** One line per problem: `conditions.timeWindow.from: use HH:MM …`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`).join('; ');
}

/** Stored conditions, read back; ones that no longer validate come back as null (the caller decides). */
export function parseStoredConditions(value: unknown): ToolPolicyConditions | null {
  const parsed = toolPolicyConditions.safeParse(value ?? {});
  return parsed.success ? parsed.data : null;
}
