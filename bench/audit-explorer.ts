/**
 * `npm run bench:audit`: the request explorer's query speed at a million events. Generates
 * BENCH_AUDIT_EVENTS (default 1 000 000) audit events over 30 days in a fresh database (the mix
 * of lib/audit-query/testing/generate.ts: requests, responses with cost and upstream, blocks,
 * redactions, admin changes; three users in two departments), then times the first page and a
 * page deep in the keyset (50 rows, as /audit shows) for each filter, as the application role.
 *
 * Needs PostgreSQL: a fresh database on DATABASE_URL's server (dropped afterwards), or an
 * embedded cluster under .data/bench/ when DATABASE_URL is unset.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';

const EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 1_000_000);
const RUNS = 7;
const PAGE = 50;

async function prepareDatabase(): Promise<{ appUrl: string; ownerUrl: string; cleanUp: () => Promise<void> }> {
  const { dropDatabase } = await import('@/lib/db/admin');
  const { createTestDatabase } = await import('@/lib/testing/database');
  let adminUrl: string;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (process.env.DATABASE_URL) adminUrl = process.env.DATABASE_URL;
  else {
    const { startEmbeddedPostgres } = await import('@/lib/db/embedded');
    const embedded = await startEmbeddedPostgres(path.resolve('.data/bench'));
    adminUrl = embedded.adminUrl;
    stopEmbedded = () => embedded.stop();
  }
  const database = `gatehouse_bench_audit_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const { appUrl, superuserUrl } = await createTestDatabase(adminUrl, database);
  return {
    appUrl,
    ownerUrl: superuserUrl,
    cleanUp: async () => {
      await dropDatabase(adminUrl, database).catch((error: Error) => console.warn(`could not drop ${database}: ${error.message}`));
      await stopEmbedded?.();
    },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const { appUrl, ownerUrl, cleanUp } = await prepareDatabase();
process.env.DATABASE_URL = appUrl;
const { poolConfigFromUrl } = await import('@/lib/db/connection');
const { closeDatabase, db } = await import('@/lib/db/client');
const { auditPage, countAuditEvents, encodeCursor, decodeCursor } = await import('@/lib/audit-query');
const { generateAuditEvents } = await import('@/lib/audit-query/testing/generate');
type AuditFilters = import('@/lib/audit-query').AuditFilters;

const owner = new pg.Client(poolConfigFromUrl(ownerUrl));
await owner.connect();
try {
  const tenantId = (await db().tenant.create({ data: { slug: 'bench-audit', name: 'Bench' } })).id;
  const users = [];
  for (const [name, department] of [['ada', 'research'], ['bob', 'sales'], ['cy', 'research']] as const) {
    const user = await db().user.create({ data: { tenantId, email: `${name}@bench.example`, name } });
    users.push({ id: user.id, email: user.email, department });
  }
  const now = new Date();
  const from30 = new Date(now.getTime() - 30 * 86_400_000);
  const started = performance.now();
  await generateAuditEvents(owner, { tenantId, count: EVENTS, from: from30, to: now, users });
  await owner.query('ANALYZE audit_events');
  console.log(`generated ${EVENTS} events over 30 days in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const day: AuditFilters = { from: new Date(now.getTime() - 86_400_000), to: now };
  const month: AuditFilters = { from: from30, to: now };
  const cases: [string, AuditFilters][] = [
    ['last 24 h, no filter', day],
    ['30 days, no filter', month],
    ['30 days, type=policy.decision', { ...month, type: 'policy.decision' }],
    ['30 days, outcome=failure', { ...month, outcome: 'failure' }],
    ['30 days, user (e-mail)', { ...month, user: 'bob@bench.example' }],
    ['30 days, department', { ...month, department: 'research' }],
    ['30 days, model', { ...month, model: 'claude-opus-4-1' }],
    ['30 days, upstream (1 in 30)', { ...month, upstream: 'bedrock/claude-haiku-4-5' }],
    ['30 days, rule', { ...month, rule: 'policy.blocklist.terms[0]' }],
    ['30 days, rule prefix policy.secrets.*', { ...month, rule: 'policy.secrets.*' }],
    ['30 days, trace id', { ...month, trace: (await owner.query<{ trace_id: string }>('SELECT trace_id FROM audit_events WHERE tenant_id = $1 LIMIT 1 OFFSET 123456', [tenantId])).rows[0]?.trace_id ?? '0'.repeat(32) }],
    ['30 days, free text q=bedrock/', { ...month, q: 'bedrock/' }],
  ];
  console.log(`\n| filter | rows matching | first page (${PAGE}) | page 20 | `);
  console.log('|---|---:|---:|---:|');
  for (const [name, filters] of cases) {
    const first: number[] = [];
    const deep: number[] = [];
    let cursor = null;
    // Walk to page 20 once, to time a page deep in the keyset.
    for (let page = 0; page < 19; page++) {
      const result = await auditPage(tenantId, { filters, after: cursor, limit: PAGE });
      if (!result.more) break;
      cursor = decodeCursor(encodeCursor(result.rows.at(-1)!));
    }
    for (let run = 0; run < RUNS; run++) {
      let at = performance.now();
      await auditPage(tenantId, { filters, limit: PAGE });
      first.push(performance.now() - at);
      at = performance.now();
      await auditPage(tenantId, { filters, after: cursor, limit: PAGE });
      deep.push(performance.now() - at);
    }
    const matching = await countAuditEvents(tenantId, filters);
    console.log(`| ${name} | ${matching} | ${median(first).toFixed(1)} ms | ${median(deep).toFixed(1)} ms |`);
  }
} finally {
  await owner.end();
  await closeDatabase();
  await cleanUp();
}
