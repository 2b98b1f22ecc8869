// The dashboard's "Register a server" and "Scope" forms, as posted, turned into what registerServer
// and updateServerScope validate, and a server's scope back into the fields that show it.
// Only the JSON of a stdio server's declared tools is parsed here; the schema checks the rest.
import { z } from 'zod';
import { UserInputError } from '@/lib/users/tenant';
import { toolInputSchema } from './tools';
import type { ScopeEntry } from './types';
import { parseInput, type RegisterServerInput, type ScopeTarget, type UpstreamAuthInput } from './validate';

function text(form: FormData, name: string): string {
  return String(form.get(name) ?? '').trim();
}

function lines(value: string): string[] {
  return value
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

function emails(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean);
}

/** The scope fields (components/mcp-servers/ScopeFields) as the targets an administrator chose. */
export function scopeFromForm(form: FormData): ScopeTarget[] {
  const everyone = form.get('scopeEveryone') === 'on' ? [{ kind: 'everyone' as const }] : [];
  const departments = form.getAll('scopeDepartments').map((value) => ({ kind: 'department' as const, value: String(value) }));
  const roles = form.getAll('scopeRoles').map((value) => ({ kind: 'role' as const, value: String(value) }));
  const users = emails(text(form, 'scopeUsers')).map((value) => ({ kind: 'user' as const, value }));
  return [...everyone, ...departments, ...roles, ...users];
}

/** The emails the scope editor showed as already in the scope (saveEditedScope drops those who left since). */
export function shownUsersFromForm(form: FormData): string[] {
  return emails(text(form, 'scopeShownUsers'));
}

function envOf(value: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of lines(value)) {
    const equals = line.indexOf('=');
    if (equals < 1) throw new UserInputError(`env: "${line}" is not NAME=value`);
    env[line.slice(0, equals)] = line.slice(equals + 1);
  }
  return env;
}

const declaredTools = z.array(toolInputSchema, { error: 'a JSON array of tools, like [{"name": "search", "inputSchema": {"type": "object"}}]' });

function toolsOf(value: string): z.output<typeof declaredTools> {
  if (!value) return [];
  let tools: unknown;
  try {
    tools = JSON.parse(value);
  } catch (error) {
    throw new UserInputError(`tools: not valid JSON (${(error as Error).message})`);
  }
  try {
    return parseInput(declaredTools, tools);
  } catch (error) {
    throw error instanceof UserInputError ? new UserInputError(`tools: ${error.message}`) : error;
  }
}

export function registrationFromForm(form: FormData): RegisterServerInput {
  const common = { name: text(form, 'name'), description: text(form, 'description'), scope: scopeFromForm(form) };
  const transport = text(form, 'transport');
  if (transport === 'stdio') {
    return { ...common, transport: 'stdio', command: text(form, 'command'), args: lines(String(form.get('args') ?? '')), env: envOf(String(form.get('env') ?? '')), tools: toolsOf(text(form, 'tools')) };
  }
  return {
    ...common,
    transport: transport === 'sse' ? 'sse' : 'streamable_http',
    url: text(form, 'url'),
    allowPrivateNetwork: form.get('allowPrivateNetwork') === 'on',
    upstreamAuth: upstreamAuthOf(form),
  };
}

function upstreamAuthOf(form: FormData): UpstreamAuthInput {
  const secret = String(form.get('secret') ?? '');
  const header = text(form, 'secretHeader');
  const clientId = text(form, 'oauthClientId');
  const clientSecret = String(form.get('oauthClientSecret') ?? '');
  const scope = text(form, 'oauthScope');
  if (form.get('oauthUser') !== 'on') {
    if (clientId || clientSecret || scope) throw new UserInputError('the OAuth fields are for servers where each person signs in: tick that box, or leave them empty');
    return secret ? { type: 'static_secret', secret, ...(header ? { header } : {}) } : { type: 'none' };
  }
  if (secret) throw new UserInputError('choose an upstream secret or sign-in by each person, not both');
  if (clientSecret && !clientId) throw new UserInputError('an OAuth client secret needs its client id');
  return { type: 'oauth_user', ...(clientId ? { clientId } : {}), ...(clientSecret ? { clientSecret } : {}), ...(scope ? { scope } : {}) };
}

/** What the scope fields start with: department slugs, role names and user emails. */
export interface ScopeSelection {
  everyone: boolean;
  departments: string[];
  roles: string[];
  users: string[];
  /** Entries naming someone deleted or deactivated (their labels): shown apart, not preselected, dropped on save. */
  stale: string[];
}

/**
 * A server's scope as the fields show it. Entries carry the stored subject (a department or user
 * id), so departments and users are named by their label (`department <slug>`, `user <email>`,
 * as lib/rbac/audience writes it), which is what the form posts back. A stale entry is never
 * preselected: posting it back would name nobody.
 */
export function scopeSelectionOf(scope: readonly ScopeEntry[]): ScopeSelection {
  const live = scope.filter((entry) => !entry.stale);
  const named = (kind: ScopeEntry['kind']) => live.filter((entry) => entry.kind === kind).map((entry) => entry.label.slice(kind.length + 1));
  return {
    everyone: live.some((entry) => entry.kind === 'everyone'),
    departments: named('department'),
    roles: live.filter((entry) => entry.kind === 'role').map((entry) => entry.subject),
    users: named('user'),
    stale: scope.filter((entry) => entry.stale).map((entry) => entry.label),
  };
}
