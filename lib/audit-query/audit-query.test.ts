import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAuditEvents, closeAuditWriter, newTraceId } from '@/lib/audit';
import { superuserClient } from '@/lib/audit/testing/fixtures';
import { closeDatabase, db, pool } from '@/lib/db/client';
import {
  AuditFilterError,
  auditPage,
  countAuditEvents,
  decodeCursor,
  describeDecision,
  encodeCursor,
  parseAuditFilters,
  policyRuleCounts,
  streamAuditEvents,
  traceLineage,
  viewEventContent,
  ContentAccessDenied,
  loadAuditEventDetail,
  type AuditFilters,
  type AuditRow,
} from '.';
import { generateAuditEvents } from './testing/generate';

let owner: pg.Client;
let tenantId: string;
const users: { id: string; email: string; department: string }[] = [];
const now = new Date();
const from = new Date(now.getTime() - 3 * 24 * 3600_000);

async function allPages(filters: AuditFilters, limit: number): Promise<AuditRow[]> {
  const rows: AuditRow[] = [];
  let after = null;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await auditPage(tenantId, { filters, after, limit });
    rows.push(...page.rows);
    if (!page.more) return rows;
    const last = page.rows.at(-1)!;
    after = decodeCursor(encodeCursor(last));
  }
  throw new Error('too many pages');
}

async function streamed(filters: AuditFilters): Promise<AuditRow[]> {
  const rows: AuditRow[] = [];
  for await (const { row } of streamAuditEvents(tenantId, filters, { batchSize: 97 })) rows.push(row);
  return rows;
}

beforeAll(async () => {
  owner = await superuserClient();
  const suffix = randomUUID().slice(0, 8);
  tenantId = (await db().tenant.create({ data: { slug: `query-${suffix}`, name: 'Query tests' } })).id;
  for (const [name, department] of [['ada', 'Research'], ['bob', 'Sales'], ['cy', 'Research']] as const) {
    const user = await db().user.create({ data: { tenantId, email: `${name}-${suffix}@example.test`, name } });
    users.push({ id: user.id, email: user.email, department });
  }
  await generateAuditEvents(owner, { tenantId, count: 3_000, from, to: now, users });
});

afterAll(async () => {
  await owner.end();
  await closeAuditWriter();
  await closeDatabase();
});

describe('filters', () => {
  it('parses dates, spans and names, and refuses what it cannot use', () => {
    const at = new Date('2026-11-28T12:00:00Z');
    const filters = parseAuditFilters({ from: '2026-11-20', to: '2026-11-27', type: 'policy.decision', rule: 'policy.secrets.*' }, { now: at });
    expect(filters.from.toISOString()).toBe('2026-11-20T00:00:00.000Z');
    // A date as `to` takes in that whole UTC day.
    expect(filters.to.toISOString()).toBe('2026-11-28T00:00:00.000Z');
    expect(parseAuditFilters({ from: '7d' }, { now: at }).from.toISOString()).toBe('2026-11-21T12:00:00.000Z');
    expect(parseAuditFilters({}, { now: at }).from.toISOString()).toBe('2026-11-27T12:00:00.000Z');
    expect(() => parseAuditFilters({ type: 'inference.nope' }, { now: at })).toThrow(AuditFilterError);
    expect(() => parseAuditFilters({ from: '2025-01-01' }, { now: at })).toThrow(/more than 93 days/);
    expect(() => parseAuditFilters({ from: 'yesterday' }, { now: at })).toThrow(/not a time/);
    expect(() => parseAuditFilters({ trace: 'abc' }, { now: at })).toThrow(/32 hexadecimal/);
    expect(() => parseAuditFilters({ from: '2026-11-28', to: '2026-11-20' }, { now: at })).toThrow(/before/);
  });
});

describe('keyset pages, counts and the stream agree', () => {
  const cases: [string, Partial<AuditFilters>][] = [
    ['everything', {}],
    ['a type and an outcome', { type: 'policy.decision', outcome: 'denied' }],
    ['a model and a department', { model: 'claude-haiku-4-5', department: 'Research' }],
    ['an upstream', { upstream: 'bedrock/claude-opus-4-1' }],
    ['a rule prefix', { rule: 'policy.secrets.*' }],
    ['free text', { q: 'messages.comp' }],
  ];
  for (const [name, extra] of cases) {
    it(name, async () => {
      const filters: AuditFilters = { from, to: now, ...extra };
      const paged = await allPages(filters, 250);
      const stream = await streamed(filters);
      expect(paged.length).toBeGreaterThan(0);
      expect(paged.length).toBe(await countAuditEvents(tenantId, filters));
      // The stream is oldest first, pages newest first: the same rows in reverse.
      expect(stream.map((row) => row.eventId)).toEqual(paged.map((row) => row.eventId).reverse());
      expect(new Set(paged.map((row) => row.eventId)).size).toBe(paged.length);
      for (let index = 1; index < paged.length; index++) expect(paged[index - 1]!.occurredAt >= paged[index]!.occurredAt).toBe(true);
    });
  }

  it('finds a user by e-mail (any case) as by id, and nothing for an unknown one', async () => {
    const ada = users[0]!;
    const byId = await allPages({ from, to: now, user: ada.id }, 500);
    const byEmail = await allPages({ from, to: now, user: ada.email.toUpperCase() }, 500);
    expect(byId.length).toBe(1_000);
    expect(byEmail.map((row) => row.eventId)).toEqual(byId.map((row) => row.eventId));
    expect((await auditPage(tenantId, { filters: { from, to: now, user: 'nobody@example.test' }, limit: 10 })).rows).toEqual([]);
  });

  it('never shows another tenant\u2019s events', async () => {
    const other = (await db().tenant.create({ data: { slug: `query-other-${randomUUID().slice(0, 8)}`, name: 'Other' } })).id;
    expect((await auditPage(other, { filters: { from, to: now }, limit: 10 })).rows).toEqual([]);
  });

  it('ignores a cursor that is not one', () => {
    expect(decodeCursor('not-a-cursor')).toBeNull();
    expect(decodeCursor(Buffer.from('2026-01-01T00:00:00Z|nope').toString('base64url'))).toBeNull();
  });
});

describe('decisions in words', () => {
  const policy = { blocklist: { terms: ['project-nightingale'], patterns: ['ACME-\\d+'] } } as Parameters<typeof describeDecision>[1];
  it('names the term, pattern or secret behind a rule', () => {
    expect(describeDecision({ policy: { decision: 'block', rule: 'policy.blocklist.terms[0]' } }, policy)).toBe('blocked: blocklist term `project-nightingale`');
    expect(describeDecision({ policy: { decision: 'block', rule: 'policy.blocklist.patterns[0]' } }, policy)).toBe('blocked: blocklist pattern `ACME-\\d+`');
    expect(describeDecision({ policy: { decision: 'redact', rule: 'policy.secrets.aws', reason: '1 × AWS Access Key ID replaced before the request left Gatehouse' } }, null)).toBe(
      'redacted: AWS Access Key ID',
    );
    expect(describeDecision({ policy: { decision: 'block', rule: 'policy.blocklist.terms[3]' }, policy_version: 'pv_0123456789abcdef' }, null)).toMatch(
      /^blocked: blocklist term #3 \(policy pv_0123456789abcdef is not stored/,
    );
  });
});

describe('counts, lineage and content', () => {
  it('counts blocks and redactions per rule and day', async () => {
    const counts = await policyRuleCounts(tenantId, from, now);
    const total = (rule: string) => counts.filter((count) => count.rule === rule).reduce((sum, count) => sum + count.requests, 0);
    expect(total('policy.blocklist.terms[0]')).toBe(await countAuditEvents(tenantId, { from, to: now, rule: 'policy.blocklist.terms[0]' }));
    expect(total('policy.secrets.aws')).toBeGreaterThan(0);
  });

  it('reads a trace as one lineage with its ledger entry, and guards stored content', async () => {
    const traceId = newTraceId();
    const ada = users[0]!;
    const requestId = uuidv7();
    const actor = { user_id: ada.id, email: ada.email, roles: ['member'] };
    await appendAuditEvents([
      { tenant_id: tenantId, event_type: 'policy.decision', action: 'content.inspect', outcome: 'success', trace_id: traceId, actor, policy: { decision: 'redact', rule: 'policy.secrets.aws', reason: '1 × AWS Access Key ID replaced before the request left Gatehouse' } },
      { tenant_id: tenantId, event_id: requestId, event_type: 'inference.request', action: 'messages.create', outcome: 'success', trace_id: traceId, actor },
    ]);
    await owner.query(
      `INSERT INTO spend_entries (call_id, tenant_id, user_id, model, trace_id, occurred_at, day, cost_microdollars, outcome, recorded_by)
       VALUES ($1, $2, $3, 'claude-sonnet-4-5', $4, now(), current_date, 4200, 'success', 'gateway')`,
      [requestId, tenantId, ada.id, traceId],
    );
    const lineage = await traceLineage(tenantId, traceId);
    expect(lineage.map((entry) => entry.row.eventType)).toEqual(['policy.decision', 'inference.request']);
    expect(lineage[1]!.ledger).toEqual({ costMicrodollars: '4200', outcome: 'success', recordedBy: 'gateway', usageEstimated: false });

    const detail = await loadAuditEventDetail(tenantId, requestId);
    expect(detail?.event.trace_id).toBe(traceId);
    await expect(viewEventContent({ userId: ada.id, tenantId, email: ada.email, roles: ['member'] }, detail!.event)).rejects.toThrow(ContentAccessDenied);
    const { rows } = await pool().query(`SELECT outcome, event FROM audit_events WHERE tenant_id = $1 AND event_type = 'audit.access'`, [tenantId]);
    expect(rows).toHaveLength(1);
    expect(rows[0].outcome).toBe('denied');
    expect(rows[0].event.target).toEqual({ type: 'audit_event', id: requestId, name: 'inference.request' });
  });
});
