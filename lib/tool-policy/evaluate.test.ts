import { describe, expect, it } from 'vitest';
import { effectiveToolPolicy, evaluateToolPolicy, visibleTools } from './evaluate';
import { describeIssues, toolPolicyRuleInput } from './schema';
import type { CallSource, PolicyPrincipal, ToolDecision, ToolPolicyConditions, ToolPolicyRule } from './types';

const PAYMENTS = '11111111-1111-4111-8111-111111111111';
const MARKETING = '22222222-2222-4222-8222-222222222222';
const ada: PolicyPrincipal = { userId: 'aaaaaaaa-0000-4000-8000-00000000000a', roles: ['member'], departmentId: PAYMENTS };
const bob: PolicyPrincipal = { userId: 'bbbbbbbb-0000-4000-8000-00000000000b', roles: ['member', 'author@marketing'], departmentId: MARKETING };
const cy: PolicyPrincipal = { userId: 'cccccccc-0000-4000-8000-00000000000c', roles: ['security'], departmentId: null };

function rule(id: string, fields: Partial<ToolPolicyRule> & Pick<ToolPolicyRule, 'server' | 'tool' | 'decision'>): ToolPolicyRule {
  return { id, principalKind: 'everyone', principal: '', conditions: {}, failMode: 'closed', description: '', enabled: true, ...fields };
}
const everyone = (id: string, server: string, tool: string, decision: ToolDecision, conditions: ToolPolicyConditions = {}) => rule(id, { server, tool, decision, conditions });

const RULES: ToolPolicyRule[] = [
  everyone('stripe-closed', 'stripe', '*', 'block'),
  rule('payments-stripe', { server: 'stripe', tool: '*', principalKind: 'department', principal: PAYMENTS, decision: 'allow' }),
  rule('payments-refund-ask', { server: 'stripe', tool: 'create_refund', principalKind: 'department', principal: PAYMENTS, decision: 'ask', description: 'Refunds need a second look' }),
  rule('ada-refunds', { server: 'stripe', tool: 'create_refund', principalKind: 'user', principal: ada.userId, decision: 'allow', failMode: 'open' }),
  rule('ada-disabled', { server: 'stripe', tool: '*', principalKind: 'user', principal: ada.userId, decision: 'block', enabled: false }),
  rule('payments-list-allow', { server: 'stripe', tool: 'list_*', principalKind: 'department', principal: PAYMENTS, decision: 'allow' }),
  rule('payments-list-ask', { server: 'stripe', tool: 'list_*', principalKind: 'department', principal: PAYMENTS, decision: 'ask' }),
  rule('members-no-deletes', { server: 'github', tool: 'delete_*', principalKind: 'role', principal: 'member', decision: 'block' }),
  everyone('confirm-delete-repo', 'github', 'delete_repo', 'ask'),
  everyone('anywhere-no-deletes', '*', 'delete_*', 'block'),
  everyone('jira-deletes-ok', 'jira', 'delete_*', 'allow'),
  rule('authors-publish', { server: 'cms', tool: 'publish', principalKind: 'role', principal: 'author', decision: 'allow' }),
  everyone('cms-publish-block', 'cms', 'publish', 'block'),
  everyone('deploy-closed', 'ci', 'deploy', 'block'),
  everyone('deploy-office-hours', 'ci', 'deploy', 'allow', { timeWindow: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '18:00', timeZone: 'America/New_York' } }),
  everyone('no-night-backups', 'ci', 'backup', 'block', { timeWindow: { from: '22:00', to: '06:00', timeZone: 'Asia/Tokyo' } }),
  everyone('no-prod-queries', 'db', 'run_query', 'block', { arguments: [{ path: '/database', op: 'eq', value: 'prod' }] }),
  rule('acme-issues-ask', { server: 'github', tool: 'create_issue', principalKind: 'role', principal: 'member', decision: 'ask', conditions: { arguments: [{ path: 'repo.owner', op: 'matches', value: 'acme-*' }] } }),
  everyone('no-sanctioned-regions', 'cloud', 'start_vm', 'block', { arguments: [{ path: '/region', op: 'in', value: ['cn-north-1', 'ru-central1'] }] }),
  everyone('no-force-push', 'github', 'push', 'block', { arguments: [{ path: '/force', op: 'exists' }] }),
  everyone('confirm-non-main-merge', 'github', 'merge', 'ask', { arguments: [{ path: '/branch', op: 'neq', value: 'main' }] }),
  everyone('hook-bash', 'claude', 'Bash', 'block', { callSources: ['hook'] }),
  everyone('desktop-asks', 'github', '*', 'ask', { clientIds: ['claude-desktop'] }),
  everyone('github-open', 'github', '*', 'allow'),
  everyone('single-char', 'kv', 'get_?', 'block'),
  everyone('literal-dot', 'kv', 'list.items', 'block'),
];

interface Row {
  name: string;
  who: PolicyPrincipal;
  server: string;
  tool: string;
  at?: string;
  callSource?: CallSource;
  clientId?: string | null;
  args?: unknown;
  inScope?: boolean;
  decision: ToolDecision;
  rule: string | null;
  reason?: string;
  failMode?: 'open' | 'closed';
}

const FRIDAY = '2026-11-27T15:00:00Z';

const TABLE: Row[] = [
  { name: 'outside the server scope: default deny', who: bob, server: 'stripe', tool: 'charge', inScope: false, decision: 'block', rule: null, reason: 'not in the scope of MCP server "stripe"' },
  { name: 'in scope, no rule applies: allowed', who: cy, server: 'notion', tool: 'search', decision: 'allow', rule: null, reason: 'no tool policy rule applies' },
  { name: 'everyone rule blocks another department', who: bob, server: 'stripe', tool: 'charge', decision: 'block', rule: 'stripe-closed' },
  { name: 'department rule beats everyone', who: ada, server: 'stripe', tool: 'charge', decision: 'allow', rule: 'payments-stripe' },
  { name: 'user rule beats department rule; its fail mode travels', who: ada, server: 'stripe', tool: 'create_refund', decision: 'allow', rule: 'ada-refunds', failMode: 'open' },
  { name: 'exact tool beats glob at the same principal level', who: { ...ada, userId: 'someone-else' }, server: 'stripe', tool: 'create_refund', decision: 'ask', rule: 'payments-refund-ask', reason: 'Refunds need a second look' },
  { name: 'disabled rules are ignored', who: ada, server: 'stripe', tool: 'list_customers', decision: 'ask', rule: 'payments-list-ask' },
  { name: 'equally specific rules (globs are equal): the strictest wins', who: ada, server: 'stripe', tool: 'list_payments', decision: 'ask', rule: 'payments-list-ask', reason: 'strictest of 3 equally specific rules' },
  { name: 'role rule beats an everyone rule on the exact tool', who: ada, server: 'github', tool: 'delete_repo', decision: 'block', rule: 'members-no-deletes' },
  { name: 'without the role, the exact everyone rule applies', who: cy, server: 'github', tool: 'delete_repo', decision: 'ask', rule: 'confirm-delete-repo' },
  { name: 'a named server beats *', who: cy, server: 'jira', tool: 'delete_ticket', decision: 'allow', rule: 'jira-deletes-ok' },
  { name: '* reaches servers without their own rule', who: cy, server: 'confluence', tool: 'delete_page', decision: 'block', rule: 'anywhere-no-deletes' },
  { name: 'a role rule covers a department-scoped binding of the role', who: bob, server: 'cms', tool: 'publish', decision: 'allow', rule: 'authors-publish' },
  { name: 'without the role, the everyone rule applies', who: cy, server: 'cms', tool: 'publish', decision: 'block', rule: 'cms-publish-block' },
  { name: 'time window: Friday 09:30 in New York (14:30 UTC) is office hours', who: cy, server: 'ci', tool: 'deploy', at: '2026-11-27T14:30:00Z', decision: 'allow', rule: 'deploy-office-hours' },
  { name: 'time window: 13:30 UTC is office hours in UTC but 08:30 in New York', who: cy, server: 'ci', tool: 'deploy', at: '2026-11-27T13:30:00Z', decision: 'block', rule: 'deploy-closed' },
  { name: 'time window follows daylight saving: 13:30 UTC in July is 09:30 EDT', who: cy, server: 'ci', tool: 'deploy', at: '2026-07-10T13:30:00Z', decision: 'allow', rule: 'deploy-office-hours' },
  { name: 'time window: a Saturday is outside the listed days', who: cy, server: 'ci', tool: 'deploy', at: '2026-11-28T15:00:00Z', decision: 'block', rule: 'deploy-closed' },
  { name: 'overnight window: 23:00 in Tokyo', who: cy, server: 'ci', tool: 'backup', at: '2026-11-27T14:00:00Z', decision: 'block', rule: 'no-night-backups' },
  { name: 'overnight window: noon in Tokyo is outside it', who: cy, server: 'ci', tool: 'backup', at: '2026-11-27T03:00:00Z', decision: 'allow', rule: null },
  { name: 'argument eq holds', who: cy, server: 'db', tool: 'run_query', args: { database: 'prod', sql: 'select 1' }, decision: 'block', rule: 'no-prod-queries' },
  { name: 'argument eq fails: the rule does not apply', who: cy, server: 'db', tool: 'run_query', args: { database: 'staging' }, decision: 'allow', rule: null },
  { name: 'argument missing: cannot be evaluated, fails closed', who: cy, server: 'db', tool: 'run_query', args: { sql: 'select 1' }, decision: 'block', rule: 'no-prod-queries', reason: 'cannot be evaluated' },
  { name: 'no arguments at all: fails closed', who: cy, server: 'db', tool: 'run_query', decision: 'block', rule: 'no-prod-queries', reason: 'cannot be evaluated' },
  { name: 'argument matches (glob) on a dotted path', who: ada, server: 'github', tool: 'create_issue', args: { repo: { owner: 'acme-web' } }, decision: 'ask', rule: 'acme-issues-ask' },
  { name: 'argument matches on a non-string: fails closed', who: ada, server: 'github', tool: 'create_issue', args: { repo: { owner: 42 } }, decision: 'block', rule: 'acme-issues-ask', reason: 'repo.owner' },
  { name: 'argument in', who: cy, server: 'cloud', tool: 'start_vm', args: { region: 'ru-central1' }, decision: 'block', rule: 'no-sanctioned-regions' },
  { name: 'argument not in', who: cy, server: 'cloud', tool: 'start_vm', args: { region: 'eu-west-1' }, decision: 'allow', rule: null },
  { name: 'argument exists', who: cy, server: 'github', tool: 'push', args: { force: false }, decision: 'block', rule: 'no-force-push' },
  { name: 'argument absent: exists fails, the next rule applies', who: cy, server: 'github', tool: 'push', args: { branch: 'dev' }, decision: 'allow', rule: 'github-open' },
  { name: 'argument neq', who: cy, server: 'github', tool: 'merge', args: { branch: 'dev' }, decision: 'ask', rule: 'confirm-non-main-merge' },
  { name: 'argument neq fails on the excluded value', who: cy, server: 'github', tool: 'merge', args: { branch: 'main' }, decision: 'allow', rule: 'github-open' },
  { name: 'call source: the hook sees Bash', who: cy, server: 'claude', tool: 'Bash', callSource: 'hook', decision: 'block', rule: 'hook-bash' },
  { name: 'call source: the rule is for hooks only', who: cy, server: 'claude', tool: 'Bash', callSource: 'proxy', decision: 'allow', rule: null },
  { name: 'client id condition makes the rule more specific', who: cy, server: 'github', tool: 'list_repos', clientId: 'claude-desktop', decision: 'ask', rule: 'desktop-asks' },
  { name: 'another client: the client rule does not apply', who: cy, server: 'github', tool: 'list_repos', clientId: 'claude-code', decision: 'allow', rule: 'github-open' },
  { name: '? matches exactly one character', who: cy, server: 'kv', tool: 'get_a', decision: 'block', rule: 'single-char' },
  { name: '? does not match two', who: cy, server: 'kv', tool: 'get_ab', decision: 'allow', rule: null },
  { name: 'a dot in a rule is literal, not a regular expression', who: cy, server: 'kv', tool: 'listXitems', decision: 'allow', rule: null },
];

describe('evaluateToolPolicy: principals × rules × expected decisions', () => {
  it.each(TABLE)('$name', (row) => {
    const verdict = evaluateToolPolicy({
      rules: RULES,
      principal: row.who,
      server: row.server,
      tool: row.tool,
      context: { callSource: row.callSource ?? 'proxy', clientId: row.clientId ?? null, at: new Date(row.at ?? FRIDAY), arguments: row.args },
      inScope: row.inScope ?? true,
    });
    expect(verdict.decision).toBe(row.decision);
    expect(verdict.rule?.id ?? null).toBe(row.rule);
    if (row.reason) expect(verdict.reason).toContain(row.reason);
    expect(verdict.failMode).toBe(row.failMode ?? 'closed');
  });

  it('has at least 25 rows', () => expect(TABLE.length).toBeGreaterThanOrEqual(25));
});

describe('effectiveToolPolicy and visibleTools', () => {
  const context = { callSource: 'proxy' as const, clientId: null, at: new Date(FRIDAY) };
  const stripeTools = ['charge', 'create_refund', 'list_payments'];

  it('gives Desktop’s toolPolicy shape per principal, from the same rules', () => {
    expect(effectiveToolPolicy({ rules: RULES, principal: ada, server: 'stripe', tools: stripeTools, context, inScope: true })).toEqual({ charge: 'allow', create_refund: 'allow', list_payments: 'ask' });
    expect(effectiveToolPolicy({ rules: RULES, principal: bob, server: 'stripe', tools: stripeTools, context, inScope: true })).toEqual({ charge: 'blocked', create_refund: 'blocked', list_payments: 'blocked' });
    expect(effectiveToolPolicy({ rules: RULES, principal: ada, server: 'stripe', tools: stripeTools, context, inScope: false })).toEqual({ charge: 'blocked', create_refund: 'blocked', list_payments: 'blocked' });
  });

  it('does not hide a tool that only some arguments block, and asks for it instead', () => {
    expect(effectiveToolPolicy({ rules: RULES, principal: cy, server: 'db', tools: ['run_query', 'list_tables'], context, inScope: true })).toEqual({ run_query: 'ask', list_tables: 'allow' });
    const conditionalAllow = [
      everyone('db-closed', 'db', '*', 'block'),
      rule('payments-replica', { server: 'db', tool: 'run_query', principalKind: 'department', principal: PAYMENTS, decision: 'allow', conditions: { arguments: [{ path: '/database', op: 'eq', value: 'replica' }] } }),
    ];
    const tools = [{ name: 'run_query' }, { name: 'drop_table' }];
    expect(visibleTools({ rules: conditionalAllow, principal: ada, server: 'db', tools, context, inScope: true }).map((tool) => tool.name)).toEqual(['run_query']);
    expect(visibleTools({ rules: conditionalAllow, principal: bob, server: 'db', tools, context, inScope: true })).toEqual([]);
  });

  it('asks for a tool a time window decides, inside the window and outside it, as the standing outlives the moment it is issued', () => {
    // 15:00 UTC Friday is 10:00 in New York (deploys allowed), 00:00 Saturday in Tokyo (no backups).
    const inside = { ...context, at: new Date(FRIDAY) };
    const outside = { ...context, at: new Date('2026-11-28T15:00:00Z') };
    for (const at of [inside, outside]) {
      expect(effectiveToolPolicy({ rules: RULES, principal: cy, server: 'ci', tools: ['deploy', 'backup', 'lint'], context: at, inScope: true }), at.at.toISOString()).toEqual({ deploy: 'ask', backup: 'ask', lint: 'allow' });
    }
    // The window's rule agrees with what applies outside it: nothing depends on the time.
    const agreeing = [everyone('ci-block', 'ci', 'deploy', 'block'), everyone('night-block', 'ci', 'deploy', 'block', { timeWindow: { from: '22:00', to: '06:00' } })];
    expect(effectiveToolPolicy({ rules: agreeing, principal: cy, server: 'ci', tools: ['deploy'], context: inside, inScope: true })).toEqual({ deploy: 'blocked' });
    // A window that cannot be read (an unknown zone) blocks, as it does per call.
    const unreadable = [everyone('bad-zone', 'ci', 'deploy', 'allow', { timeWindow: { from: '09:00', to: '18:00', timeZone: 'Mars/Olympus' } })];
    expect(effectiveToolPolicy({ rules: unreadable, principal: cy, server: 'ci', tools: ['deploy'], context: inside, inScope: true })).toEqual({ deploy: 'blocked' });
    // tools/list keeps such a tool listed (each call is decided at its own time).
    expect(visibleTools({ rules: RULES, principal: cy, server: 'ci', tools: [{ name: 'deploy' }], context: outside, inScope: true })).toEqual([{ name: 'deploy' }]);
  });

  it('hides blocked tools from tools/list for one department and not another', () => {
    const tools = [{ name: 'charge', title: 'Charge' }, { name: 'list_payments' }];
    expect(visibleTools({ rules: RULES, principal: ada, server: 'stripe', tools, context, inScope: true })).toEqual(tools);
    expect(visibleTools({ rules: RULES, principal: bob, server: 'stripe', tools, context, inScope: true })).toEqual([]);
  });
});

describe('toolPolicyRuleInput', () => {
  const valid = { server: 'github', tool: 'delete_*', principalKind: 'role', principal: 'member', decision: 'block' };

  it('accepts a rule and fills the defaults', () => {
    expect(toolPolicyRuleInput.parse(valid)).toEqual({ ...valid, conditions: {}, failMode: 'closed', description: '', enabled: true });
    expect(toolPolicyRuleInput.parse({ ...valid, server: '*' }).server).toBe('*');
    expect(toolPolicyRuleInput.parse({ ...valid, server: 'claude', tool: 'Bash' }).tool).toBe('Bash');
  });

  it.each([
    [{ ...valid, server: 'GitHub!' }, 'server: the server is a registered MCP server'],
    [{ ...valid, tool: 'rm -rf' }, 'tool: the tool is a name or a glob'],
    [{ ...valid, principalKind: 'everyone', principal: 'x' }, 'principal: a rule for everyone names no principal'],
    [{ ...valid, principal: '' }, 'principal: name the role'],
    [{ ...valid, decision: 'deny' }, 'decision: the decision is allow, ask, block'],
    [{ ...valid, conditions: { timeWindow: { from: '9am' } } }, 'conditions.timeWindow.from: use HH:MM (24-hour)'],
    [{ ...valid, conditions: { timeWindow: { from: '09:00', timeZone: 'Mars/Olympus' } } }, 'conditions.timeWindow.timeZone: not a time zone'],
    [{ ...valid, conditions: { timeWindow: { days: ['funday'] } } }, 'conditions.timeWindow.days.0: days are mon'],
    [{ ...valid, conditions: { arguments: [{ path: '/a', op: 'in', value: 'x' }] } }, 'conditions.arguments.0.value: "in" needs an array'],
    [{ ...valid, conditions: { arguments: [{ path: '/a', op: 'matches', value: 3 }] } }, 'conditions.arguments.0.value: "matches" needs a glob'],
    [{ ...valid, conditions: { callSources: ['browser'] } }, 'conditions.callSources.0: call sources are proxy, hook'],
    [{ ...valid, conditions: { unknown: true } }, 'conditions: Unrecognized key'],
  ])('refuses %j naming the field', (input, message) => {
    const parsed = toolPolicyRuleInput.safeParse(input);
    expect(parsed.success).toBe(false);
    if (!parsed.success) expect(describeIssues(parsed.error)).toContain(message);
  });
});
