import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminActor } from '@/lib/admin/actor';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, db, pool } from '@/lib/db/client';
import { allowlistSequence } from '@/lib/mcp/registry/read';
import { registerServerSchema } from '@/lib/mcp/registry/validate';
import { ForbiddenError } from '@/lib/rbac/errors';
import { UserInputError } from '@/lib/users/tenant';
import { createToolPolicyRule, deleteToolPolicyRule, listToolPolicyRules, setToolPolicyRuleEnabled, updateToolPolicyRule } from './admin';
import { cachedToolPolicyRules } from './cache';
import { explainToolDecision } from './explain';
import { decideToolCall, toolPolicyFor } from './runtime';

const suffix = randomBytes(3).toString('hex');
let tenantId: string;
let governor: AdminActor;
let member: AdminActor;
let payments: { id: string; slug: string };
let marketing: { id: string; slug: string };
let adaEmail: string;
let bobEmail: string;
let bobId: string;

async function adminEvents(action: string): Promise<{ outcome: string; event: { call_source?: string; target?: { id?: string; name?: string }; attributes?: Record<string, unknown> } }[]> {
  const { rows } = await pool().query('SELECT outcome, event FROM audit_events WHERE tenant_id = $1 AND action = $2 ORDER BY seq', [tenantId, action]);
  return rows;
}

beforeAll(async () => {
  tenantId = (await db().tenant.create({ data: { slug: `tool-policy-${suffix}`, name: 'Tool policy tests' } })).id;
  payments = await db().department.create({ data: { tenantId, slug: 'payments', name: 'Payments' } });
  marketing = await db().department.create({ data: { tenantId, slug: 'marketing', name: 'Marketing' } });
  const governorRole = await db().role.create({ data: { tenantId, name: 'governor', permissions: ['mcp.admin'] } });
  const memberRole = await db().role.create({ data: { tenantId, name: 'member', permissions: ['mcp.use'] } });
  const governorUser = await db().user.create({ data: { tenantId, email: `gov-${suffix}@example.test`, name: 'Gov', roleBindings: { create: [{ roleId: governorRole.id }] } } });
  const ada = await db().user.create({ data: { tenantId, email: `ada-${suffix}@example.test`, name: 'Ada', departmentId: payments.id, roleBindings: { create: [{ roleId: memberRole.id }] } } });
  const bob = await db().user.create({ data: { tenantId, email: `bob-${suffix}@example.test`, name: 'Bob', departmentId: marketing.id, roleBindings: { create: [{ roleId: memberRole.id }] } } });
  adaEmail = ada.email;
  bobEmail = bob.email;
  bobId = bob.id;
  governor = { userId: governorUser.id, tenantId, email: governorUser.email, roles: ['governor'], callSource: 'cli' };
  member = { userId: ada.id, tenantId, email: ada.email, roles: ['member'] };
  const stripe = await db().mcpServer.create({ data: { tenantId, name: 'stripe', ownerId: governorUser.id, transport: 'streamable_http', url: 'https://mcp.stripe.example/mcp' } });
  await db().mcpServerScope.createMany({ data: [{ serverId: stripe.id, kind: 'department', subject: payments.id }, { serverId: stripe.id, kind: 'department', subject: marketing.id }] });
});

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

describe('tool policy rules: saving, auditing, the allowlist sequence', () => {
  it('stores a rule with its principal resolved to an id, audits it and bumps the allowlist sequence', async () => {
    const before = await allowlistSequence(tenantId);
    const rule = await createToolPolicyRule(governor, { server: 'stripe', tool: 'create_*', principalKind: 'department', principal: 'Marketing', decision: 'block', description: 'Marketing does not move money' });
    expect(rule).toMatchObject({ server: 'stripe', tool: 'create_*', principalKind: 'department', principal: marketing.id, decision: 'block', failMode: 'closed', enabled: true, createdBy: governor.userId });
    expect(await allowlistSequence(tenantId)).toBe(before + 1n);
    const [event] = await adminEvents('tool_policy.create');
    expect(event).toMatchObject({ outcome: 'success', event: { call_source: 'cli', target: { id: rule.id, name: 'stripe/create_*' }, attributes: { decision: 'block', principal_kind: 'department', principal: marketing.id } } });
  });

  it('refuses someone without mcp.admin and records the refusal', async () => {
    await expect(createToolPolicyRule(member, { server: 'stripe', tool: '*', principalKind: 'everyone', decision: 'allow' })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(listToolPolicyRules(member)).rejects.toBeInstanceOf(ForbiddenError);
    const events = await adminEvents('tool_policy.create');
    expect(events.filter((event) => event.outcome === 'denied')).toHaveLength(1);
  });

  it('refuses bad rules with the field at fault, before storing anything', async () => {
    const cases: [unknown, string][] = [
      [{ server: 'nowhere', tool: '*', principalKind: 'everyone', decision: 'block' }, 'server: no MCP server named "nowhere" is registered'],
      [{ server: 'stripe', tool: '*', principalKind: 'department', principal: 'Legal', decision: 'block' }, 'principal: no department Legal'],
      [{ server: 'stripe', tool: '*', principalKind: 'user', principal: 'nobody@example.test', decision: 'block' }, 'principal: no user with email nobody@example.test'],
      [{ server: 'stripe', tool: '*', principalKind: 'role', principal: 'wizard', decision: 'block' }, 'principal: no role named wizard'],
      [{ server: 'stripe', tool: '*', principalKind: 'everyone', decision: 'block', conditions: { timeWindow: { from: '25:00' } } }, 'conditions.timeWindow.from: use HH:MM'],
    ];
    const before = await allowlistSequence(tenantId);
    for (const [input, message] of cases) {
      const failure = await createToolPolicyRule(governor, input).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(UserInputError);
      expect((failure as Error).message).toContain(message);
    }
    expect(await allowlistSequence(tenantId)).toBe(before);
  });

  it('accepts * and claude as servers, roles by name and users by email', async () => {
    const everywhere = await createToolPolicyRule(governor, { server: '*', tool: 'delete_*', principalKind: 'role', principal: 'member', decision: 'ask' });
    const bash = await createToolPolicyRule(governor, { server: 'claude', tool: 'Bash', principalKind: 'user', principal: bobEmail.toUpperCase(), decision: 'block', conditions: { callSources: ['hook'] }, failMode: 'open' });
    expect(everywhere.principal).toBe('member');
    expect(bash.principal).toBe(bobId);
    const listed = await listToolPolicyRules(governor, 'claude');
    expect(listed.map((rule) => [rule.server, rule.tool, rule.principalLabel])).toEqual([
      ['*', 'delete_*', 'role member'],
      ['claude', 'Bash', `user ${bobEmail}`],
    ]);
  });

  it('updates, disables and deletes, each audited and each moving the sequence; the cache follows at once', async () => {
    const rule = await createToolPolicyRule(governor, { server: 'stripe', tool: 'list_*', principalKind: 'everyone', decision: 'ask' });
    expect((await cachedToolPolicyRules(tenantId)).some((cached) => cached.id === rule.id)).toBe(true);
    let sequence = await allowlistSequence(tenantId);

    const updated = await updateToolPolicyRule(governor, rule.id, { server: 'stripe', tool: 'list_*', principalKind: 'everyone', decision: 'allow', description: 'Reading is fine' });
    expect(updated).toMatchObject({ decision: 'allow', description: 'Reading is fine' });
    expect(await allowlistSequence(tenantId)).toBe((sequence += 1n));
    expect((await cachedToolPolicyRules(tenantId)).find((cached) => cached.id === rule.id)?.decision).toBe('allow');

    await setToolPolicyRuleEnabled(governor, rule.id, false);
    expect(await allowlistSequence(tenantId)).toBe((sequence += 1n));
    expect((await cachedToolPolicyRules(tenantId)).some((cached) => cached.id === rule.id)).toBe(false);
    // An edit that does not mention the switch (the dashboard's form) leaves the rule off.
    const edited = await updateToolPolicyRule(governor, rule.id, { server: 'stripe', tool: 'list_*', principalKind: 'everyone', decision: 'ask' });
    expect(edited).toMatchObject({ decision: 'ask', enabled: false });
    expect(await allowlistSequence(tenantId)).toBe((sequence += 1n));

    await deleteToolPolicyRule(governor, rule.id);
    expect(await allowlistSequence(tenantId)).toBe((sequence += 1n));
    await expect(deleteToolPolicyRule(governor, rule.id)).rejects.toThrow(`there is no tool policy rule ${rule.id}`);

    const [update] = await adminEvents('tool_policy.update');
    expect(update?.event.attributes).toMatchObject({ decision: 'allow', enabled: true });
    expect(String(update?.event.attributes?.previous)).toContain('"decision":"ask"');
    expect(await adminEvents('tool_policy.disable')).toHaveLength(1);
    expect(await adminEvents('tool_policy.delete')).toHaveLength(1);
  });
});

describe('the built-in server name', () => {
  it('keeps "claude" for the client\'s built-in tools: no MCP server registers under it', () => {
    const parsed = registerServerSchema.safeParse({ name: 'claude', transport: 'streamable_http', url: 'https://mcp.example.com/mcp' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.message)).toContain('"claude" is reserved: tool policy uses it for the client\'s built-in tools');
    expect(registerServerSchema.safeParse({ name: 'claude-tools', transport: 'streamable_http', url: 'https://mcp.example.com/mcp' }).success).toBe(true);
  });
});

describe('deciding and explaining', () => {
  it('decides for a token principal by department slug: one department blocked, the other allowed', async () => {
    const context = { callSource: 'proxy' as const, clientId: 'claude-desktop', at: new Date() };
    const bob = { userId: 'bob', tenantId, department: marketing.slug, roles: ['member'] };
    const ada = { userId: 'ada', tenantId, department: payments.slug, roles: ['member'] };
    const blocked = await decideToolCall({ principal: bob, server: 'stripe', tool: 'create_charge', context, inScope: true });
    expect(blocked).toMatchObject({ decision: 'block', rule: { description: 'Marketing does not move money' } });
    expect((await decideToolCall({ principal: ada, server: 'stripe', tool: 'create_charge', context, inScope: true })).decision).toBe('allow');
    expect(await toolPolicyFor({ principal: bob, server: 'stripe', tools: ['create_charge', 'list_charges'], context, inScope: true })).toEqual({ create_charge: 'blocked', list_charges: 'allow' });
  });

  it('explains a decision for a user, with the scope and the deciding rule', async () => {
    const bob = await explainToolDecision(governor, { server: 'stripe', tool: 'create_refund', user: bobEmail });
    expect(bob.verdict.decision).toBe('block');
    expect(bob.rule).toMatchObject({ principalLabel: 'department marketing', tool: 'create_*' });
    expect(bob.scope).toEqual({ inScope: true, explanation: 'in the scope of "stripe" (department marketing)' });
    expect(bob.principal).toMatchObject({ label: bobEmail, roles: ['member'], department: 'department marketing' });

    const ada = await explainToolDecision(governor, { server: 'stripe', tool: 'create_refund', user: adaEmail });
    expect(ada.verdict).toMatchObject({ decision: 'allow', rule: null });

    const outsider = await explainToolDecision(governor, { server: 'stripe', tool: 'list_charges', roles: 'member' });
    expect(outsider.verdict).toMatchObject({ decision: 'block', rule: null });
    expect(outsider.verdict.reason).toContain('not in the scope of "stripe"');

    const bash = await explainToolDecision(governor, { server: 'claude', tool: 'Bash', user: bobEmail, callSource: 'hook', at: '2026-12-01T09:00:00Z' });
    expect(bash).toMatchObject({ verdict: { decision: 'block', failMode: 'open' }, at: '2026-12-01T09:00:00.000Z' });

    await expect(explainToolDecision(governor, { server: 'stripe', tool: 'x', user: adaEmail, arguments: '[1]' })).rejects.toThrow('arguments: the arguments are a JSON object');
    await expect(explainToolDecision(governor, { server: 'stripe', tool: 'x' })).rejects.toThrow('user: give a user’s email, or a department and roles');
  });
});
