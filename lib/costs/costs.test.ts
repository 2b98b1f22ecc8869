import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDatabase, db, pool } from '@/lib/db/client';
import { postgresSpendLedger, type SpendEntry } from '@/lib/gateway/limits';
import { COST_CSV_COLUMNS, costCsvStream } from './export';
import { CostQueryError, parseCostQuery, type CostQuery } from './query';
import { costSeries, costTotals } from './repository';
import { runCostRollup } from './rollup';

let tenantId: string;
let ada: string;
let bob: string;

function entry(userId: string, at: string, cost: number, extra: Partial<SpendEntry> = {}): SpendEntry {
  return {
    callId: randomUUID(),
    traceId: randomUUID().replaceAll('-', ''),
    tenantId,
    userId,
    department: userId === ada ? 'research' : null,
    model: 'claude-sonnet-4-5',
    upstream: 'anthropic/claude-sonnet-4-5',
    route: 'model:claude-sonnet-4-5',
    at: new Date(at),
    usage: { input_tokens: cost * 2, output_tokens: cost, cache_creation_input_tokens: 1, cache_read_input_tokens: 3 },
    costMicrodollars: cost,
    usageEstimated: false,
    outcome: 'success',
    recordedBy: 'gateway',
    ...extra,
  };
}

interface Totals {
  requests: string;
  cost: string;
  input: string;
  output: string;
}

/** The same figures summed three ways: raw entries, the ledger aggregate, the rollups. */
async function sums(table: 'spend_entries' | 'spend_ledger' | 'cost_rollups', groupBy: string): Promise<Record<string, Totals>> {
  const requests = table === 'spend_entries' ? 'count(*)' : 'sum(requests)';
  const { rows } = await pool().query<Totals & { key: string }>(
    `SELECT ${groupBy} AS key, ${requests}::text AS requests, sum(cost_microdollars)::text AS cost,
            sum(input_tokens)::text AS input, sum(output_tokens)::text AS output
       FROM ${table} WHERE tenant_id = $1 GROUP BY 1 ORDER BY 1`,
    [tenantId],
  );
  return Object.fromEntries(rows.map(({ key, ...rest }) => [key, rest]));
}

function view(overrides: Partial<CostQuery> = {}): CostQuery {
  return { from: '2026-10-01', to: '2026-11-30', interval: 'day', groupBy: 'model', filters: {}, ...overrides };
}

async function readCsv(stream: ReadableStream<Uint8Array>): Promise<string[][]> {
  const text = await new Response(stream).text();
  return text
    .split('\r\n')
    .filter(Boolean)
    .map((line) => line.split(','));
}

beforeAll(async () => {
  const suffix = randomUUID().slice(0, 8);
  tenantId = (await db().tenant.create({ data: { slug: `costs-${suffix}`, name: 'Costs tests' } })).id;
  ada = (await db().user.create({ data: { tenantId, email: `ada-${suffix}@example.test`, name: 'Ada' } })).id;
  bob = (await db().user.create({ data: { tenantId, email: `bob-${suffix}@example.test`, name: 'Bob' } })).id;

  const entries = [
    // Either side of UTC midnight: two different days.
    entry(ada, '2026-11-24T23:59:59.999Z', 1_000),
    entry(ada, '2026-11-25T00:00:00.000Z', 2_000),
    // 08:30 in Sydney on the 25th is 21:30 UTC on the 24th: it counts on the 24th.
    entry(bob, '2026-11-25T08:30:00+11:00', 4_000, { model: 'claude-haiku-4-5', upstream: 'bedrock/haiku', route: 'routes[0]' }),
    // 18:00 in New York on the 25th is 23:00 UTC on the 25th.
    entry(bob, '2026-11-25T18:00:00-05:00', 8_000, { upstream: null, route: null, usageEstimated: true, outcome: 'unknown' }),
    entry(ada, '2026-10-31T12:00:00Z', 16_000),
    entry(ada, '2026-11-02T12:00:00Z', 32_000, { model: 'claude-opus-4-1' }),
  ];
  for (const spend of entries) expect((await postgresSpendLedger.record(spend)).result).toBe('new');
  // A call the reconciler closed at an estimate, then settled late by the gateway: corrected in place.
  const late = entry(bob, '2026-11-25T10:00:00Z', 50_000, { recordedBy: 'reconciler', usageEstimated: true, outcome: 'unknown', upstream: null });
  await postgresSpendLedger.record(late);
  expect((await postgresSpendLedger.record({ ...late, recordedBy: 'gateway', costMicrodollars: 30_000, usageEstimated: false, outcome: 'success', upstream: 'anthropic/claude-sonnet-4-5' })).result).toBe('corrected');
});

afterAll(async () => {
  await closeDatabase();
});

describe('daily cost rollups', () => {
  it('equal the sum of the raw spend entries (and the ledger) per UTC day, user, model, upstream and route', async () => {
    const run = await runCostRollup({ lookbackDays: null });
    expect(run.days.filter((day) => day.tenantId === tenantId).map((day) => day.day)).toEqual(['2026-10-31', '2026-11-02', '2026-11-24', '2026-11-25']);

    const byDay = "to_char(day, 'YYYY-MM-DD')";
    const raw = await sums('spend_entries', byDay);
    expect(await sums('cost_rollups', byDay)).toEqual(raw);
    expect(await sums('spend_ledger', byDay)).toEqual(raw);
    expect(raw['2026-11-24']).toEqual({ requests: '2', cost: '5000', input: '10000', output: '5000' });
    expect(raw['2026-11-25']).toEqual({ requests: '3', cost: '40000', input: '120000', output: '60000' });

    for (const dimension of ['user_id::text', 'model', "coalesce(upstream, '')", "coalesce(route, '')", "coalesce(department, '')"]) {
      const rolled = dimension.replace(/coalesce\((\w+), ''\)/, '$1');
      expect(await sums('cost_rollups', rolled)).toEqual(await sums('spend_entries', dimension));
    }
  });

  it('recomputes only the days whose entries changed, and then nothing', async () => {
    await runCostRollup({ lookbackDays: null });
    await postgresSpendLedger.record(entry(bob, '2026-11-02T09:00:00Z', 64_000));
    const run = await runCostRollup({ lookbackDays: 35, now: new Date('2026-11-26T12:00:00Z') });
    expect(run.days.filter((day) => day.tenantId === tenantId)).toEqual([{ tenantId, day: '2026-11-02' }]);
    const byDay = "to_char(day, 'YYYY-MM-DD')";
    expect(await sums('cost_rollups', byDay)).toEqual(await sums('spend_entries', byDay));

    const again = await runCostRollup({ lookbackDays: null });
    expect(again.days.filter((day) => day.tenantId === tenantId)).toEqual([]);
  });
});

describe('cost views', () => {
  it('buckets by UTC week (from Monday) and month, and filters exactly', async () => {
    const weeks = await costSeries(tenantId, view({ interval: 'week', groupBy: 'none' }));
    // 2026-10-31 is a Saturday (week of Oct 26); Nov 2 is a Monday; Nov 24 and 25 are in the week of Nov 23.
    expect(weeks.map((row) => [row.period, row.costMicrodollars])).toEqual([
      ['2026-10-26', 16_000n],
      ['2026-11-02', 96_000n],
      ['2026-11-23', 45_000n],
    ]);
    const months = await costSeries(tenantId, view({ interval: 'month', groupBy: 'user' }));
    expect(months.map((row) => [row.period, row.key, row.costMicrodollars])).toEqual(
      [
        ['2026-10-01', ada, 16_000n],
        ['2026-11-01', ada, 35_000n],
        ['2026-11-01', bob, 106_000n],
      ].sort((a, b) => `${a[0]}${a[1]}`.localeCompare(`${b[0]}${b[1]}`)),
    );
    const haiku = await costTotals(tenantId, view({ groupBy: 'upstream', filters: { model: 'claude-haiku-4-5' } }));
    expect(haiku.map((row) => [row.key, row.requests, row.costMicrodollars])).toEqual([['bedrock/haiku', 1, 4_000n]]);
    const unknownUpstream = await costTotals(tenantId, view({ groupBy: 'user', filters: { upstream: '(none)' } }));
    expect(unknownUpstream.map((row) => [row.key, row.estimatedRequests, row.costMicrodollars])).toEqual([[bob, 1, 8_000n]]);
    const top = await costTotals(tenantId, view({ groupBy: 'user' }), 'user', 1);
    expect(top.map((row) => row.key)).toEqual([bob]);
  });

  it('exports the same rows as CSV, streamed, with exact dollar amounts', async () => {
    const query = view({ groupBy: 'user', interval: 'month' });
    const lines = await readCsv(costCsvStream(tenantId, query));
    expect(lines[0]).toEqual([...COST_CSV_COLUMNS]);
    const series = await costSeries(tenantId, query);
    expect(lines.slice(1).map((line) => [line[0], line[3], line[5], line[11]])).toEqual(
      series.map((row) => [row.period, row.key, String(row.requests), `0.${row.costMicrodollars.toString().padStart(6, '0')}`]),
    );
    expect(lines.slice(1).every((line) => line[4]!.endsWith('@example.test'))).toBe(true);
  });

  it('refuses bad view parameters with a message naming each', () => {
    expect(() => parseCostQuery(new URLSearchParams('from=2026-13-01'))).toThrow(CostQueryError);
    expect(() => parseCostQuery(new URLSearchParams('group_by=colour'))).toThrow(/group_by/);
    expect(() => parseCostQuery(new URLSearchParams('from=2026-11-02&to=2026-11-01'))).toThrow(/after/);
    expect(() => parseCostQuery(new URLSearchParams('from=2020-01-01&to=2026-01-01'))).toThrow(/at most/);
    expect(() => parseCostQuery(new URLSearchParams('sort=desc'))).toThrow(/sort/);
    expect(parseCostQuery(new URLSearchParams('to=2026-11-30'), new Date())).toMatchObject({ from: '2026-11-01', to: '2026-11-30', interval: 'day', groupBy: 'model' });
  });
});
