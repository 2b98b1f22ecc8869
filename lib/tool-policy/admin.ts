// Managing tool policy rules (dashboard and CLI): mcp.admin tenant-wide — rules are part of the
// MCP allowlist devices receive — every change and every refused attempt an `admin.change` event.
import type { AdminActor } from '@/lib/admin/actor';
import { recordAdminChange, type AdminTarget } from '@/lib/admin/audit';
import { requireAdmin } from '@/lib/admin/guard';
import { getServerByName } from '@/lib/mcp/registry/read';
import { audienceLabels, resolveAudienceTarget } from '@/lib/rbac/audience';
import { UserInputError } from '@/lib/users/tenant';
import { invalidateToolPolicyCache } from './cache';
import * as repository from './repository';
import { describeIssues, toolPolicyRuleInput, type ToolPolicyRuleInput } from './schema';
import { ANY_SERVER, BUILT_IN_SERVER, type PrincipalKind } from './types';

export const TOOL_POLICY_PERMISSION = 'mcp.admin';

/** A stored rule with its principal spelled for people (department name, user email). */
export interface ToolPolicyRuleView extends repository.StoredToolPolicyRule {
  principalLabel: string;
}

function target(rule: { id?: string; server: string; tool: string }): AdminTarget {
  return { type: 'tool_policy_rule', ...(rule.id ? { id: rule.id } : {}), name: `${rule.server}/${rule.tool}` };
}

function ruleAttributes(rule: ToolPolicyRuleInput): Record<string, string | boolean> {
  return {
    server: rule.server,
    tool: rule.tool,
    principal_kind: rule.principalKind,
    principal: rule.principal,
    decision: rule.decision,
    fail_mode: rule.failMode,
    enabled: rule.enabled,
    conditions: JSON.stringify(rule.conditions).slice(0, 2000),
  };
}

/** Validates a rule as typed (principal by name, slug or email) and stores ids in its place. */
async function resolveRule(tenantId: string, raw: unknown): Promise<ToolPolicyRuleInput> {
  const parsed = toolPolicyRuleInput.safeParse(raw);
  if (!parsed.success) throw new UserInputError(describeIssues(parsed.error));
  const rule = parsed.data;
  if (rule.server !== ANY_SERVER && rule.server !== BUILT_IN_SERVER && !(await getServerByName(tenantId, rule.server))) {
    throw new UserInputError(`server: no MCP server named "${rule.server}" is registered (register it first, or use ${ANY_SERVER} for any server or ${BUILT_IN_SERVER} for the client's built-in tools)`);
  }
  try {
    const entry = await resolveAudienceTarget(tenantId, { kind: rule.principalKind, value: rule.principal });
    return { ...rule, principal: entry.subject };
  } catch (error) {
    throw error instanceof UserInputError ? new UserInputError(`principal: ${error.message}`) : error;
  }
}

function changed(actor: AdminActor): void {
  invalidateToolPolicyCache(actor.tenantId);
}

export async function createToolPolicyRule(actor: AdminActor, raw: unknown): Promise<repository.StoredToolPolicyRule> {
  const draft = raw as { server?: string; tool?: string };
  await requireAdmin(actor, TOOL_POLICY_PERMISSION, undefined, 'tool_policy.create', target({ server: String(draft?.server ?? '?'), tool: String(draft?.tool ?? '?') }));
  const input = await resolveRule(actor.tenantId, raw);
  const rule = await repository.insertRule(actor.tenantId, input, actor.userId);
  changed(actor);
  await recordAdminChange(actor, 'tool_policy.create', target(rule), ruleAttributes(input));
  return rule;
}

export async function updateToolPolicyRule(actor: AdminActor, id: string, raw: unknown): Promise<repository.StoredToolPolicyRule> {
  await requireAdmin(actor, TOOL_POLICY_PERMISSION, undefined, 'tool_policy.update', { type: 'tool_policy_rule', id });
  const existing = await repository.findRule(actor.tenantId, id);
  if (!existing) throw new UserInputError(`there is no tool policy rule ${id}`);
  // An edit that does not say whether the rule is on leaves it as it was.
  const input = await resolveRule(actor.tenantId, raw !== null && typeof raw === 'object' && !('enabled' in raw) ? { ...raw, enabled: existing.enabled } : raw);
  const result = await repository.updateRule(actor.tenantId, id, input);
  if (!result) throw new UserInputError(`there is no tool policy rule ${id}`);
  changed(actor);
  const { before, after } = result;
  await recordAdminChange(actor, 'tool_policy.update', target(after), {
    ...ruleAttributes(input),
    previous: JSON.stringify({ server: before.server, tool: before.tool, principal_kind: before.principalKind, principal: before.principal, decision: before.decision, fail_mode: before.failMode, enabled: before.enabled, conditions: before.conditions }).slice(0, 2000),
  });
  return after;
}

/** Turns a rule on or off without retyping it. */
export async function setToolPolicyRuleEnabled(actor: AdminActor, id: string, enabled: boolean): Promise<repository.StoredToolPolicyRule> {
  await requireAdmin(actor, TOOL_POLICY_PERMISSION, undefined, enabled ? 'tool_policy.enable' : 'tool_policy.disable', { type: 'tool_policy_rule', id });
  const rule = await repository.setRuleEnabled(actor.tenantId, id, enabled);
  if (!rule) throw new UserInputError(`there is no tool policy rule ${id}`);
  changed(actor);
  await recordAdminChange(actor, enabled ? 'tool_policy.enable' : 'tool_policy.disable', target(rule), { enabled });
  return rule;
}

export async function deleteToolPolicyRule(actor: AdminActor, id: string): Promise<repository.StoredToolPolicyRule> {
  await requireAdmin(actor, TOOL_POLICY_PERMISSION, undefined, 'tool_policy.delete', { type: 'tool_policy_rule', id });
  const removed = await repository.deleteRule(actor.tenantId, id);
  if (!removed) throw new UserInputError(`there is no tool policy rule ${id}`);
  changed(actor);
  await recordAdminChange(actor, 'tool_policy.delete', target(removed), { server: removed.server, tool: removed.tool, decision: removed.decision, principal_kind: removed.principalKind, principal: removed.principal });
  return removed;
}

/** How each rule's principal reads (`department research`, `user a@example.com`), in order. */
export async function principalLabels(tenantId: string, rules: readonly { principalKind: PrincipalKind; principal: string }[]): Promise<string[]> {
  return audienceLabels(tenantId, rules.map((rule) => ({ kind: rule.principalKind, subject: rule.principal })));
}

export async function listToolPolicyRules(actor: AdminActor, server?: string): Promise<ToolPolicyRuleView[]> {
  await requireAdmin(actor, TOOL_POLICY_PERMISSION, undefined, 'tool_policy.list');
  const rules = await repository.listRules(actor.tenantId, server);
  const labels = await principalLabels(actor.tenantId, rules);
  return rules.map((rule, index) => ({ ...rule, principalLabel: labels[index]! }));
}
