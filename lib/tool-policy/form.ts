// The dashboard's rule form, as posted, turned into the shape the admin functions validate. Only
// the JSON in "Argument conditions" is parsed here; everything else is checked by the schema.
import { UserInputError } from '@/lib/users/tenant';

function text(form: FormData, name: string): string {
  return String(form.get(name) ?? '').trim();
}

function list(form: FormData, name: string): string[] {
  return form.getAll(name).map(String).filter(Boolean);
}

/**
 * "Applies to" is `everyone`, `role:NAME`, `department:ID` or `user` (the email field then
 * names the user).
 */
function principalOf(form: FormData): { principalKind: string; principal: string } {
  const appliesTo = text(form, 'appliesTo');
  if (appliesTo === 'user') return { principalKind: 'user', principal: text(form, 'userEmail') };
  const colon = appliesTo.indexOf(':');
  if (colon === -1) return { principalKind: appliesTo, principal: '' };
  return { principalKind: appliesTo.slice(0, colon), principal: appliesTo.slice(colon + 1) };
}

function conditionsOf(form: FormData): Record<string, unknown> {
  const conditions: Record<string, unknown> = {};
  const callSources = list(form, 'callSources');
  if (callSources.length) conditions.callSources = callSources;
  const clientIds = text(form, 'clientIds').split(/[\s,]+/).filter(Boolean);
  if (clientIds.length) conditions.clientIds = clientIds;
  const days = list(form, 'days');
  const from = text(form, 'from');
  const to = text(form, 'to');
  if (days.length || from || to) {
    conditions.timeWindow = { ...(days.length ? { days } : {}), ...(from ? { from } : {}), ...(to ? { to } : {}), timeZone: text(form, 'timeZone') || 'UTC' };
  }
  const args = text(form, 'arguments');
  if (args) {
    try {
      conditions.arguments = JSON.parse(args);
    } catch (error) {
      throw new UserInputError(`conditions.arguments: not valid JSON (${(error as Error).message})`);
    }
  }
  return conditions;
}

export function ruleFromForm(form: FormData): Record<string, unknown> {
  return {
    server: text(form, 'server'),
    tool: text(form, 'tool'),
    ...principalOf(form),
    decision: text(form, 'decision'),
    failMode: text(form, 'failMode') || 'closed',
    description: text(form, 'description'),
    conditions: conditionsOf(form),
  };
}

/** The test box's fields, as explainToolDecision takes them. */
export function policyTestFromForm(form: FormData): Record<string, string> {
  const fields = ['server', 'tool', 'user', 'department', 'roles', 'callSource', 'clientId', 'at', 'arguments'];
  return Object.fromEntries(fields.map((name) => [name, text(form, name)]));
}
