import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  approveVersion,
  checkServer,
  listServers,
  recordStdioTools,
  registerServer,
  rejectVersion,
  resetUpstreamOAuth,
  revokeServer,
  updateServerScope,
  type RegisterServerInput,
  type RegisteredServer,
  type RegistryActor,
  type ScopeTarget,
  type UpstreamAuthInput,
} from '@/lib/mcp/registry';
import { actorByEmail, defaultAdminActor } from '@/lib/plugins/catalog';
import { ForbiddenError } from '@/lib/rbac';
import { CliError } from '../run';
import { mcpBundleCommand } from './mcp-bundle';
import { mcpPolicyCommand } from './mcp-policy';
import { withCliDatabase } from './with-database';

const HELP = `Usage:
  gatehouse mcp add NAME --url URL [--transport sse] [--department D] [--role R] [--user EMAIL] [--everyone]
                    [--secret-env VAR [--secret-header H] | --oauth [--client-id ID [--client-secret-env VAR]]
                    [--authorization-server URL] [--oauth-scope S]] [--allow-private-network] [--description T] [--as EMAIL]
  gatehouse mcp add NAME --command CMD [--arg A ...] [--env K=V ...] [scope as above] [--description T] [--as EMAIL]
  gatehouse mcp scope NAME (--department D | --role R | --user EMAIL | --everyone)... [--as EMAIL]
  gatehouse mcp list [--json]
  gatehouse mcp check NAME [--as EMAIL]
  gatehouse mcp approve NAME [--version N] [--comment T] [--as EMAIL]
  gatehouse mcp reject NAME [--version N] --comment T [--as EMAIL]
  gatehouse mcp revoke NAME [--reason T] [--as EMAIL]
  gatehouse mcp reset-oauth NAME [--as EMAIL]
  gatehouse mcp tools NAME --file TOOLS.json [--as EMAIL]
  gatehouse mcp bundle sign | verify | ca | certificates | renew   (see gatehouse mcp bundle --help)

add      Registers a remote MCP server (Streamable HTTP, or --transport sse) and checks it now
         (initialize + tools/list): its tools become version 1, approved by you. --command
         registers a stdio server that devices run instead (never checked from here).
         Scope flags repeat and add up; without any the server is for nobody yet.
         An argument starting with a dash is given as --arg=-y.
         --secret-env VAR: the upstream's secret is read from the environment variable VAR (so it
         stays out of shell history), sealed, and sent by Gatehouse as "Authorization: Bearer …"
         (or in --secret-header). Clients and the model never see it.
         --oauth: the server signs in each person at its own authorization server; people connect
         their account on the dashboard (MCP servers → Your connections) and the proxy calls the
         server with their token. Gatehouse registers itself there (Dynamic Client Registration)
         unless --client-id is given (its secret from --client-secret-env; register
         GATEHOUSE_PUBLIC_URL/mcp/oauth/callback as its redirect URI). The authorization server
         is discovered from the server unless --authorization-server names it.
         Private and loopback URLs are refused unless --allow-private-network; cloud metadata
         addresses always are.
scope    Replaces who the server is for.
check    Runs the health check now; a changed tool list is held for approval (drift).
approve  Makes a pending tool list the one clients and the proxy use (the newest by default).
revoke   Takes the server off every allowlist; the proxy refuses it.
reset-oauth  Accepts the authorization server an --oauth server names now. The first connection
         pins it; when the server later names another one, connecting is refused until this is
         run. Everyone's connection to the server is dropped: they connect again there.
tools    Records the tools a stdio server provides (a JSON array of {name, description?,
         inputSchema, annotations?}, as tools/list gives them); approved at once.
policy   Per-principal tool policy rules: add, list, remove, test (gatehouse mcp policy --help).

Without --as, changes are made as the earliest tenant-wide administrator. Every change needs
mcp.admin, is recorded in the audit log and bumps the allowlist sequence.`;

type Options = NonNullable<ParseArgsConfig['options']>;

function parse<T extends Options>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new CliError((error as Error).message.split('\n')[0] ?? 'invalid arguments', 2);
  }
}

function oneName(positionals: string[]): string {
  if (positionals.length !== 1) throw new CliError('expected one server NAME', 2);
  return positionals[0]!;
}

async function actor(email: string | undefined): Promise<RegistryActor> {
  const who = email ? await actorByEmail(email, 'cli') : await defaultAdminActor();
  return { userId: who.userId, tenantId: who.tenantId, email: who.email, roles: who.roles, callSource: 'cli' };
}

/** Runs a registry change, turning a refusal into one CLI line. */
async function run(work: () => Promise<void>): Promise<number> {
  try {
    await withCliDatabase(work);
    return 0;
  } catch (error) {
    if (error instanceof ForbiddenError) throw new CliError(`refused: that needs ${error.permission}`);
    throw error;
  }
}

const SCOPE_OPTIONS = {
  department: { type: 'string', multiple: true },
  role: { type: 'string', multiple: true },
  user: { type: 'string', multiple: true },
  everyone: { type: 'boolean' },
} as const satisfies Options;

function scopeOf(values: { department?: string[]; role?: string[]; user?: string[]; everyone?: boolean }): ScopeTarget[] {
  return [
    ...(values.everyone ? [{ kind: 'everyone' as const }] : []),
    ...(values.role ?? []).map((value) => ({ kind: 'role' as const, value })),
    ...(values.department ?? []).map((value) => ({ kind: 'department' as const, value })),
    ...(values.user ?? []).map((value) => ({ kind: 'user' as const, value })),
  ];
}

function transportOf(value: string | undefined): 'streamable_http' | 'sse' {
  if (value === undefined || value === 'http' || value === 'streamable-http' || value === 'streamable_http') return 'streamable_http';
  if (value === 'sse') return 'sse';
  throw new CliError(`--transport must be http (Streamable HTTP, the default) or sse, not "${value}"`, 2);
}

function envPairs(pairs: string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const at = pair.indexOf('=');
    if (at < 1) throw new CliError(`--env takes KEY=VALUE, not "${pair}"`, 2);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

interface AuthFlags {
  'secret-env'?: string;
  'secret-header'?: string;
  oauth?: boolean;
  'client-id'?: string;
  'client-secret-env'?: string;
  'authorization-server'?: string;
  'oauth-scope'?: string;
}

function oauthUser(values: AuthFlags): UpstreamAuthInput {
  if (values['secret-env'] || values['secret-header']) throw new CliError('--oauth and --secret-env are two kinds of upstream auth: give one', 2);
  const secretEnv = values['client-secret-env'];
  if (secretEnv && !values['client-id']) throw new CliError('--client-secret-env needs --client-id', 2);
  const clientSecret = secretEnv ? process.env[secretEnv] : undefined;
  if (secretEnv && !clientSecret) throw new CliError(`--client-secret-env ${secretEnv}: that environment variable is not set or empty`, 2);
  return {
    type: 'oauth_user',
    ...(values['client-id'] ? { clientId: values['client-id'] } : {}),
    ...(clientSecret ? { clientSecret } : {}),
    ...(values['authorization-server'] ? { authorizationServer: values['authorization-server'] } : {}),
    ...(values['oauth-scope'] ? { scope: values['oauth-scope'] } : {}),
  };
}

function upstreamAuthOf(values: AuthFlags): UpstreamAuthInput {
  if (values.oauth) return oauthUser(values);
  const oauthOnly = (['client-id', 'client-secret-env', 'authorization-server', 'oauth-scope'] as const).find((flag) => values[flag]);
  if (oauthOnly) throw new CliError(`--${oauthOnly} needs --oauth`, 2);
  return upstreamAuth(values['secret-env'], values['secret-header']);
}

function upstreamAuth(secretEnv: string | undefined, header: string | undefined): UpstreamAuthInput {
  if (!secretEnv) {
    if (header) throw new CliError('--secret-header needs --secret-env', 2);
    return { type: 'none' };
  }
  const secret = process.env[secretEnv];
  if (!secret) throw new CliError(`--secret-env ${secretEnv}: that environment variable is not set or empty`, 2);
  return { type: 'static_secret', secret, ...(header ? { header } : {}) };
}

function describeServer(server: RegisteredServer): string {
  const target = server.transport === 'stdio' ? `stdio ${[server.command, ...server.args].join(' ')}` : `${server.transport === 'sse' ? 'sse' : 'http'} ${server.url}`;
  const tools = server.approvedVersion ? `v${server.approvedVersion.version} (${server.approvedVersion.tools.length} tools)` : 'no approved tool list';
  const drift = server.pendingVersion ? `  drift: v${server.pendingVersion.version} waits for approval` : '';
  const check = server.lastCheck ? (server.lastCheck.ok ? `  checked ok ${server.lastCheck.at.toISOString()}` : `  last check failed: ${server.lastCheck.error ?? 'unknown'}`) : '';
  const scope = server.scope.map((entry) => entry.label).join(', ') || 'nobody';
  return `${server.name}  ${server.status}  ${target}  ${tools}  for: ${scope}${drift}${check}`;
}

async function add(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...SCOPE_OPTIONS,
    url: { type: 'string' },
    transport: { type: 'string' },
    command: { type: 'string' },
    arg: { type: 'string', multiple: true },
    env: { type: 'string', multiple: true },
    'secret-env': { type: 'string' },
    'secret-header': { type: 'string' },
    oauth: { type: 'boolean' },
    'client-id': { type: 'string' },
    'client-secret-env': { type: 'string' },
    'authorization-server': { type: 'string' },
    'oauth-scope': { type: 'string' },
    'allow-private-network': { type: 'boolean' },
    description: { type: 'string' },
    as: { type: 'string' },
  });
  const name = oneName(positionals);
  if (Boolean(values.url) === Boolean(values.command)) throw new CliError('give either --url URL (a remote server) or --command CMD (a stdio server devices run)', 2);
  const common = { name, description: values.description ?? '', scope: scopeOf(values) };
  let input: RegisterServerInput;
  if (values.command) {
    if (values.transport || values['secret-env'] || values.oauth || values['allow-private-network']) throw new CliError('--transport, --secret-env, --oauth and --allow-private-network are for --url servers', 2);
    input = { ...common, transport: 'stdio', command: values.command, args: values.arg ?? [], env: envPairs(values.env) };
  } else {
    if (values.arg || values.env) throw new CliError('--arg and --env are for --command servers', 2);
    input = { ...common, transport: transportOf(values.transport), url: values.url!, allowPrivateNetwork: values['allow-private-network'] ?? false, upstreamAuth: upstreamAuthOf(values) };
  }
  return run(async () => {
    const server = await registerServer(await actor(values.as), input);
    console.log(`registered ${describeServer(server)}`);
    if (server.upstreamAuth === 'oauth_user') console.log(`${name} signs in each person: connect your own account on the dashboard (MCP servers → Your connections), then gatehouse mcp check ${name} and gatehouse mcp approve ${name}`);
    else if (server.lastCheck && !server.lastCheck.ok) console.log(`the check failed, so no client sees ${name} yet: fix the server, then gatehouse mcp check ${name} and gatehouse mcp approve ${name}`);
    if (server.scope.length === 0) console.log(`${name} is for nobody yet: gatehouse mcp scope ${name} --department D (or --role, --user, --everyone)`);
  });
}

async function scope(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...SCOPE_OPTIONS, as: { type: 'string' } });
  const name = oneName(positionals);
  const targets = scopeOf(values);
  if (targets.length === 0) throw new CliError('name who the server is for: --department D, --role R, --user EMAIL or --everyone', 2);
  return run(async () => {
    const server = await updateServerScope(await actor(values.as), name, targets);
    console.log(`${name} is now for: ${server.scope.map((entry) => entry.label).join(', ')}`);
  });
}

async function list(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean' } });
  if (positionals.length) throw new CliError('list takes no arguments', 2);
  return run(async () => {
    const servers = await listServers((await defaultAdminActor()).tenantId);
    if (values.json) {
      console.log(JSON.stringify(servers, null, 2));
      return;
    }
    if (servers.length === 0) console.log('no MCP servers yet (gatehouse mcp add NAME --url URL)');
    for (const server of servers) console.log(describeServer(server));
  });
}

async function check(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { as: { type: 'string' } });
  const name = oneName(positionals);
  let failed = false;
  const code = await run(async () => {
    const outcome = await checkServer(await actor(values.as), name);
    if (!outcome.ok) {
      failed = true;
      console.log(`${name}: the check failed after ${outcome.latencyMs} ms: ${outcome.error}`);
      return;
    }
    const { drift } = outcome;
    if (outcome.result === 'unchanged') console.log(`${name}: ${outcome.tools} tools, as approved (${outcome.latencyMs} ms)`);
    else if (drift) {
      const changes = [drift.added.length ? `added ${drift.added.join(', ')}` : '', drift.removed.length ? `removed ${drift.removed.join(', ')}` : '', drift.changed.length ? `changed ${drift.changed.join(', ')}` : ''].filter(Boolean).join('; ');
      console.log(`${name}: the tool list changed (${changes || 'first tool list'}); held as version ${drift.version} until approved: gatehouse mcp approve ${name} --version ${drift.version}`);
    }
  });
  return failed ? 1 : code;
}

function versionOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]{0,8}$/.test(value)) throw new CliError(`--version must be a positive whole number, not "${value}"`, 2);
  return Number(value);
}

async function decide(args: string[], approve: boolean): Promise<number> {
  const { values, positionals } = parse(args, { version: { type: 'string' }, comment: { type: 'string' }, as: { type: 'string' } });
  const name = oneName(positionals);
  const version = versionOption(values.version);
  if (!approve && !values.comment) throw new CliError('--comment is required: say why the tool list is rejected', 2);
  return run(async () => {
    const who = await actor(values.as);
    if (approve) {
      const server = await approveVersion(who, name, version, values.comment ?? '');
      console.log(`${name}: version ${server.approvedVersion?.version} approved (${server.approvedVersion?.tools.length ?? 0} tools); clients converge on their next poll`);
    } else {
      await rejectVersion(who, name, version, values.comment!);
      console.log(`${name}: rejected; the approved tool list stays in use`);
    }
  });
}

async function revoke(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { reason: { type: 'string' }, as: { type: 'string' } });
  const name = oneName(positionals);
  return run(async () => {
    await revokeServer(await actor(values.as), name, values.reason ?? '');
    console.log(`revoked ${name}: it leaves every allowlist at the next poll and the proxy refuses it`);
  });
}

async function resetOAuth(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { as: { type: 'string' } });
  const name = oneName(positionals);
  return run(async () => {
    const { previousIssuer, grantsDeleted } = await resetUpstreamOAuth(await actor(values.as), name);
    console.log(`${name}: ${previousIssuer ? `no longer pinned to ${previousIssuer}` : 'no authorization server was pinned'}; ${grantsDeleted} connection(s) dropped; the next connection pins the authorization server the server names then`);
  });
}

async function tools(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { file: { type: 'string' }, as: { type: 'string' } });
  const name = oneName(positionals);
  if (!values.file) throw new CliError('--file TOOLS.json is required (a JSON array of tools, as tools/list gives them)', 2);
  const file = path.resolve(process.env.GATEHOUSE_CLI_CWD ?? process.cwd(), values.file);
  let list: unknown;
  try {
    list = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CliError(`${values.file}: ${error instanceof SyntaxError ? 'not JSON' : 'cannot be read'}`, 2);
  }
  const entries = Array.isArray(list) ? list : (list as { tools?: unknown })?.tools;
  if (!Array.isArray(entries)) throw new CliError(`${values.file}: expected a JSON array of tools (or {"tools": [...]})`, 2);
  return run(async () => {
    const server = await recordStdioTools(await actor(values.as), name, entries);
    console.log(`${name}: version ${server.approvedVersion?.version} has ${server.approvedVersion?.tools.length ?? 0} tools`);
  });
}

const REGISTRY_COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  add,
  scope,
  list,
  check,
  approve: (rest) => decide(rest, true),
  reject: (rest) => decide(rest, false),
  revoke,
  'reset-oauth': resetOAuth,
  tools,
};

/**
 * `gatehouse mcp <sub>`: the registry's subcommands; other capabilities add theirs (`policy …`)
 * to this table, each answering its own --help.
 */
export const MCP_COMMANDS: Record<string, (args: string[]) => Promise<number>> = { ...REGISTRY_COMMANDS, bundle: mcpBundleCommand, policy: mcpPolicyCommand };

export async function mcpCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || ((rest.includes('--help') || rest.includes('-h')) && sub in REGISTRY_COMMANDS)) {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  const command = MCP_COMMANDS[sub];
  if (!command) throw new CliError(`unknown mcp command "${sub}" (try gatehouse mcp --help)`, 2);
  return command(rest);
}
