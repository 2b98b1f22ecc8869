import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { AdminActor } from '@/lib/admin/actor';
import { actorByEmail, defaultAdminActor } from '@/lib/plugins/catalog';
import { ForbiddenError } from '@/lib/rbac';
import { createToolPolicyRule, deleteToolPolicyRule, explainToolDecision, listToolPolicyRules, type PolicyTestResult, type ToolPolicyRuleView } from '@/lib/tool-policy';
import { describeConditions } from '@/lib/tool-policy/describe';
import { CliError } from '../run';
import { withCliDatabase } from './with-database';

const HELP = `Usage:
  gatehouse mcp policy add --server NAME --tool GLOB (--department D | --role R | --user EMAIL | --everyone)
                           --decision allow|ask|block [--fail-open] [--description TEXT] [--conditions JSON] [--as EMAIL]
  gatehouse mcp policy list [--server NAME] [--json] [--as EMAIL]
  gatehouse mcp policy remove ID [--as EMAIL]
  gatehouse mcp policy test --server NAME --tool TOOL (--user EMAIL | [--department D] [--role R ...])
                            [--source proxy|hook] [--client-id ID] [--at ISO-8601] [--args JSON] [--as EMAIL]

add     Adds a rule. --server is a registered MCP server, * for any server, or claude for the
        client's built-in tools (Bash, Edit, WebFetch …, seen by the governance hooks). --tool is
        a name or a glob (* and ?). The most specific rule decides: user > department > role >
        everyone, then an exact tool over a glob, a named server over *, more conditions over
        fewer; equally specific rules give the strictest decision. --fail-open lets a hook allow
        the call when Gatehouse cannot be reached (default: refuse it). --conditions takes
        {"callSources":["hook"],"clientIds":[…],"timeWindow":{"days":["mon"],"from":"09:00",
        "to":"18:00","timeZone":"Europe/Paris"},"arguments":[{"path":"/repo","op":"matches",
        "value":"acme/*"}]}.
list    Prints every rule (with --server, those for that server and for *).
remove  Deletes a rule by its id.
test    Prints what the policy decides for that user (or a department and roles) calling the tool
        now (or --at), and which rule decided and why.

Changes need mcp.admin; without --as they are made as the earliest tenant-wide administrator.
Every change is recorded in the audit log and moves the MCP allowlist sequence.`;

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new CliError((error as Error).message.split('\n')[0] ?? 'invalid arguments', 2);
  }
}

async function actor(email: string | undefined): Promise<AdminActor> {
  const who = email ? await actorByEmail(email, 'cli') : await defaultAdminActor();
  return { userId: who.userId, tenantId: who.tenantId, email: who.email, roles: who.roles, callSource: 'cli' };
}

async function run(work: () => Promise<void>): Promise<number> {
  try {
    await withCliDatabase(work);
    return 0;
  } catch (error) {
    if (error instanceof ForbiddenError) throw new CliError(`refused: that needs ${error.permission} tenant-wide`);
    throw error;
  }
}

function json(text: string, flag: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`${flag} is not valid JSON`, 2);
  }
}

function ruleLine(rule: ToolPolicyRuleView): string {
  return `${rule.decision} ${rule.server}/${rule.tool} for ${rule.principalLabel}`;
}

async function add(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    server: { type: 'string' },
    tool: { type: 'string' },
    department: { type: 'string' },
    role: { type: 'string' },
    user: { type: 'string' },
    everyone: { type: 'boolean' },
    decision: { type: 'string' },
    'fail-open': { type: 'boolean' },
    description: { type: 'string' },
    conditions: { type: 'string' },
    as: { type: 'string' },
  });
  if (positionals.length) throw new CliError(`unexpected argument "${positionals[0]}"`, 2);
  for (const name of ['server', 'tool', 'decision'] as const) if (!values[name]) throw new CliError(`--${name} is required`, 2);
  const who = [
    ...(values.department ? [{ principalKind: 'department', principal: values.department }] : []),
    ...(values.role ? [{ principalKind: 'role', principal: values.role }] : []),
    ...(values.user ? [{ principalKind: 'user', principal: values.user }] : []),
    ...(values.everyone ? [{ principalKind: 'everyone', principal: '' }] : []),
  ];
  if (who.length !== 1) throw new CliError('name exactly one of --department, --role, --user or --everyone', 2);
  const input = {
    server: values.server,
    tool: values.tool,
    ...who[0],
    decision: values.decision,
    failMode: values['fail-open'] ? 'open' : 'closed',
    description: values.description ?? '',
    ...(values.conditions ? { conditions: json(values.conditions, '--conditions') } : {}),
  };
  return run(async () => {
    const admin = await actor(values.as);
    const rule = await createToolPolicyRule(admin, input);
    const [view] = (await listToolPolicyRules(admin, rule.server)).filter((listed) => listed.id === rule.id);
    console.log(`added rule ${rule.id}: ${view ? ruleLine(view) : `${rule.decision} ${rule.server}/${rule.tool}`}${rule.failMode === 'open' ? ' (fails open)' : ''}`);
  });
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

async function list(args: string[]): Promise<number> {
  const { values } = parse(args, { server: { type: 'string' }, json: { type: 'boolean' }, as: { type: 'string' } });
  return run(async () => {
    const rules = await listToolPolicyRules(await actor(values.as), values.server);
    if (values.json) {
      console.log(JSON.stringify(rules, null, 2));
      return;
    }
    if (rules.length === 0) {
      console.log(`no tool policy rules${values.server ? ` for ${values.server}` : ''} (gatehouse mcp policy add --help)`);
      return;
    }
    const header = ['ID', 'SERVER', 'TOOL', 'WHO', 'DECISION', 'FAIL', 'CONDITIONS', 'ENABLED', 'DESCRIPTION'];
    console.log(table([header, ...rules.map((rule) => [rule.id, rule.server, rule.tool, rule.principalLabel, rule.decision, rule.failMode, describeConditions(rule.conditions) || '-', rule.enabled ? 'yes' : 'no', rule.description || '-'])]));
  });
}

async function remove(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { as: { type: 'string' } });
  if (positionals.length !== 1) throw new CliError('expected one rule id (gatehouse mcp policy list shows them)', 2);
  return run(async () => {
    const removed = await deleteToolPolicyRule(await actor(values.as), positionals[0]!);
    console.log(`removed rule ${removed.id} (${removed.decision} ${removed.server}/${removed.tool})`);
  });
}

function printResult(result: PolicyTestResult): void {
  const { verdict, rule } = result;
  const lines: [string, string][] = [
    ['decision', verdict.decision],
    ['rule', rule ? `${rule.id}${rule.description ? ` "${rule.description}"` : ''} (${ruleLine(rule)}; conditions: ${describeConditions(rule.conditions) || 'none'})` : 'none'],
    ['why', verdict.reason],
    ['scope', result.scope.explanation],
    ['principal', `${result.principal.label}; roles ${result.principal.roles.join(', ') || 'none'}; ${result.principal.department ?? 'no department'}`],
    ['at', result.at],
    ['fail mode', `${verdict.failMode} (what a hook does for this call when Gatehouse cannot be reached)`],
  ];
  if (result.unknownTool) lines.push(['note', 'the server’s approved tool list has no tool by this name']);
  const width = Math.max(...lines.map(([label]) => label.length));
  for (const [label, value] of lines) console.log(`${`${label}:`.padEnd(width + 2)}${value}`);
}

async function test(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    server: { type: 'string' },
    tool: { type: 'string' },
    user: { type: 'string' },
    department: { type: 'string' },
    role: { type: 'string', multiple: true },
    source: { type: 'string' },
    'client-id': { type: 'string' },
    at: { type: 'string' },
    args: { type: 'string' },
    json: { type: 'boolean' },
    as: { type: 'string' },
  });
  if (positionals.length) throw new CliError(`unexpected argument "${positionals[0]}"`, 2);
  for (const name of ['server', 'tool'] as const) if (!values[name]) throw new CliError(`--${name} is required`, 2);
  if (values.args !== undefined) json(values.args, '--args');
  const input = {
    server: values.server,
    tool: values.tool,
    user: values.user,
    department: values.department,
    roles: values.role?.join(','),
    callSource: values.source,
    clientId: values['client-id'],
    at: values.at,
    arguments: values.args,
  };
  return run(async () => {
    const result = await explainToolDecision(await actor(values.as), input);
    if (values.json) console.log(JSON.stringify(result, null, 2));
    else printResult(result);
  });
}

/** `gatehouse mcp policy …` */
export async function mcpPolicyCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || rest.includes('--help') || rest.includes('-h')) {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  const commands: Record<string, (args: string[]) => Promise<number>> = { add, list, remove, test };
  const command = commands[sub];
  if (!command) throw new CliError(`unknown mcp policy command "${sub}" (try gatehouse mcp policy --help)`, 2);
  return command(rest);
}
