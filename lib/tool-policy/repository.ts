// Every statement behind tool policy rules. Each change moves the MCP allowlist sequence in the
// same transaction: devices tell a newer signed allowlist from a replayed older one by it, and
// tool policy is part of what they receive (Desktop's toolPolicy).
import { db } from '@/lib/db/client';
import type { Prisma } from '@/lib/generated/prisma/client';
import { bumpAllowlistSequence } from '@/lib/mcp/registry/repository';
import { parseStoredConditions, type ToolPolicyRuleInput } from './schema';
import type { ToolPolicyRule } from './types';

export interface StoredToolPolicyRule extends ToolPolicyRule {
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

type RuleRow = Prisma.ToolPolicyRuleGetPayload<object>;

function fromRow(row: RuleRow): StoredToolPolicyRule {
  const conditions = parseStoredConditions(row.conditions);
  const base = {
    id: row.id,
    server: row.server,
    tool: row.tool,
    principalKind: row.principalKind,
    principal: row.principal,
    failMode: row.failMode,
    enabled: row.enabled,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
  // Conditions are validated when saved; ones this version cannot read (written by a newer one,
  // or edited by hand) make the rule block what it targets rather than apply half-understood.
  if (!conditions) return { ...base, conditions: {}, decision: 'block', description: `conditions unreadable, blocking: ${row.description}`.trim() };
  return { ...base, conditions, decision: row.decision, description: row.description };
}

function ruleData(input: ToolPolicyRuleInput) {
  return {
    server: input.server,
    tool: input.tool,
    principalKind: input.principalKind,
    principal: input.principal,
    conditions: input.conditions as Prisma.InputJsonObject,
    decision: input.decision,
    failMode: input.failMode,
    description: input.description,
    enabled: input.enabled,
  };
}

export async function insertRule(tenantId: string, input: ToolPolicyRuleInput, createdBy: string): Promise<StoredToolPolicyRule> {
  const row = await db().$transaction(async (tx) => {
    const created = await tx.toolPolicyRule.create({ data: { tenantId, createdBy, ...ruleData(input) } });
    await bumpAllowlistSequence(tx, tenantId);
    return created;
  });
  return fromRow(row);
}

/** The rule as it was and as it is now; null when there is no such rule in the tenant. */
export async function updateRule(tenantId: string, id: string, input: ToolPolicyRuleInput): Promise<{ before: StoredToolPolicyRule; after: StoredToolPolicyRule } | null> {
  return db().$transaction(async (tx) => {
    const before = await tx.toolPolicyRule.findFirst({ where: { id, tenantId } });
    if (!before) return null;
    const after = await tx.toolPolicyRule.update({ where: { id }, data: { ...ruleData(input), updatedAt: new Date() } });
    await bumpAllowlistSequence(tx, tenantId);
    return { before: fromRow(before), after: fromRow(after) };
  });
}

export async function setRuleEnabled(tenantId: string, id: string, enabled: boolean): Promise<StoredToolPolicyRule | null> {
  return db().$transaction(async (tx) => {
    const { count } = await tx.toolPolicyRule.updateMany({ where: { id, tenantId }, data: { enabled, updatedAt: new Date() } });
    if (count === 0) return null;
    await bumpAllowlistSequence(tx, tenantId);
    return fromRow(await tx.toolPolicyRule.findUniqueOrThrow({ where: { id } }));
  });
}

export async function deleteRule(tenantId: string, id: string): Promise<StoredToolPolicyRule | null> {
  return db().$transaction(async (tx) => {
    const existing = await tx.toolPolicyRule.findFirst({ where: { id, tenantId } });
    if (!existing) return null;
    await tx.toolPolicyRule.delete({ where: { id } });
    await bumpAllowlistSequence(tx, tenantId);
    return fromRow(existing);
  });
}

export async function findRule(tenantId: string, id: string): Promise<StoredToolPolicyRule | null> {
  const row = await db().toolPolicyRule.findFirst({ where: { id, tenantId } });
  return row ? fromRow(row) : null;
}

/** Every rule of the tenant (disabled ones too), optionally those naming one server (or *). */
export async function listRules(tenantId: string, server?: string): Promise<StoredToolPolicyRule[]> {
  const rows = await db().toolPolicyRule.findMany({
    where: { tenantId, ...(server ? { server: { in: [server, '*'] } } : {}) },
    orderBy: [{ server: 'asc' }, { tool: 'asc' }, { createdAt: 'asc' }],
  });
  return rows.map(fromRow);
}

export async function loadEnabledRules(tenantId: string): Promise<StoredToolPolicyRule[]> {
  const rows = await db().toolPolicyRule.findMany({ where: { tenantId, enabled: true }, orderBy: { createdAt: 'asc' } });
  return rows.map(fromRow);
}


export async function departmentIdBySlug(tenantId: string, slug: string): Promise<string | null> {
  const department = await db().department.findUnique({ where: { tenantId_slug: { tenantId, slug } }, select: { id: true } });
  return department?.id ?? null;
}

