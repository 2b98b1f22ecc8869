import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEvents, closeAuditWriter, type AuditEventInput } from '@/lib/audit';
import { closeDatabase, db } from '@/lib/db/client';
import { personalOverview, tenantOverview } from './overview';

let tenantId: string;
let otherTenantId: string;
const now = new Date();
const yesterday = new Date(now.getTime() - 24 * 60 * 60 * 1000);

let adaId: string;

function inference(type: 'inference.request' | 'inference.response', occurredAt: Date, microdollars?: number, tenant = tenantId, userId?: string): AuditEventInput {
  return {
    tenant_id: tenant,
    event_type: type,
    action: type === 'inference.request' ? 'messages.create' : 'messages.complete',
    outcome: 'success',
    occurred_at: occurredAt,
    actor: { ...(userId ? { user_id: userId } : {}), email: 'dev@example.test', roles: ['member'] },
    ...(microdollars === undefined ? {} : { cost: { microdollars } }),
  };
}

beforeAll(async () => {
  const suffix = randomUUID().slice(0, 8);
  tenantId = (await db().tenant.create({ data: { slug: `dash-${suffix}`, name: 'Dashboard tests' } })).id;
  otherTenantId = (await db().tenant.create({ data: { slug: `dash-other-${suffix}`, name: 'Other tenant' } })).id;
  const department = await db().department.create({ data: { tenantId, slug: 'research', name: 'Research' } });
  const admin = await db().role.create({ data: { tenantId, name: 'admin', permissions: ['users.read'] } });
  const member = await db().role.create({ data: { tenantId, name: 'member', permissions: [] } });
  adaId = (await db().user.create({
    data: {
      tenantId,
      email: `ada-${suffix}@example.test`,
      name: 'Ada',
      departmentId: department.id,
      lastSignInAt: new Date('2026-11-20T08:00:00Z'),
      roleBindings: { create: [{ roleId: admin.id }, { roleId: member.id, departmentId: department.id }] },
    },
  })).id;
  await db().user.create({ data: { tenantId, email: `bob-${suffix}@example.test`, name: 'Bob', status: 'disabled' } });
  await db().user.create({ data: { tenantId: otherTenantId, email: `eve-${suffix}@example.test`, name: 'Eve' } });

  await appendAuditEvents([
    inference('inference.request', now, undefined, tenantId, adaId),
    inference('inference.request', now),
    inference('inference.response', now, 1_250_000, tenantId, adaId),
    inference('inference.response', now, 250_000),
    // Yesterday's and another tenant's traffic must not count.
    inference('inference.request', yesterday),
    inference('inference.response', yesterday, 9_000_000),
    inference('inference.request', now, undefined, otherTenantId),
    { tenant_id: tenantId, event_type: 'admin.change', action: 'user.create', outcome: 'success', occurred_at: now, call_source: 'cli' },
  ]);
});

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

describe('overview numbers', () => {
  it("counts today's requests, spend and events for one tenant, and the users active today (not every account)", async () => {
    const stats = await tenantOverview(tenantId, now);
    // Three accounts exist in the tenant (one disabled); only Ada made a request today.
    expect(stats).toEqual({ activeUsers: 1, requestsToday: 2, spendTodayMicrodollars: 1_500_000n, auditEventsToday: 5 });
  });

  it("gives a user their own figures only", async () => {
    expect(await personalOverview(tenantId, adaId, now)).toEqual({ requestsToday: 1, spendTodayMicrodollars: 1_250_000n });
    expect(await personalOverview(tenantId, randomUUID(), now)).toEqual({ requestsToday: 0, spendTodayMicrodollars: 0n });
  });

  it('reports zero, not nothing, for a quiet tenant', async () => {
    const quiet = await db().tenant.create({ data: { slug: `quiet-${randomUUID().slice(0, 8)}`, name: 'Quiet' } });
    expect(await tenantOverview(quiet.id, now)).toEqual({ activeUsers: 0, requestsToday: 0, spendTodayMicrodollars: 0n, auditEventsToday: 0 });
  });
});
