import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditPage, filterParams, jsonRow, parseAuditFilters, type AuditFilters, type AuditRow } from '@/lib/audit-query';
import { generateAuditEvents } from '@/lib/audit-query/testing/generate';
import { superuserClient } from '@/lib/audit/testing/fixtures';
import { closeDatabase, db } from '@/lib/db/client';
import { formatTable } from './audit-query';

const exec = promisify(execFile);
const root = path.resolve(__dirname, '..', '..');

/**
 * The CLI process itself (no launcher in between), under GNU time for its peak RSS. `heapMb` caps
 * V8's old space: an export that held its rows or its output would die of it, however busy the
 * machine, where a comparison of RSS figures only tells a trend.
 */
async function cli(args: string[], heapMb?: number): Promise<{ stdout: string; stderr: string; peakRssKb: number }> {
  const nodeFlags = heapMb ? [`--max-old-space-size=${heapMb}`] : [];
  const { stdout, stderr } = await exec('/usr/bin/time', ['-f', 'peak_rss_kb=%M', process.execPath, ...nodeFlags, '--import', 'tsx', path.join(root, 'cli', 'main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.json') },
    maxBuffer: 256 * 1024 * 1024,
  });
  const peak = /peak_rss_kb=(\d+)/.exec(stderr);
  return { stdout, stderr, peakRssKb: Number(peak?.[1] ?? Number.NaN) };
}

/** Filters as CLI options: the same names as the explorer's query string. */
function options(filters: AuditFilters): string[] {
  return [...filterParams(filters)].flatMap(([name, value]) => [`--${name}`, value]);
}

/** A CSV line → fields (the export quotes only fields with commas, quotes or line breaks). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  const pattern = /(?:^|,)(?:"((?:[^"]|"")*)"|([^,]*))/g;
  for (let match = pattern.exec(line); match && match.index < line.length; match = pattern.exec(line)) {
    fields.push(match[1] !== undefined ? match[1].replaceAll('""', '"') : match[2]!);
    if (pattern.lastIndex === match.index) pattern.lastIndex++;
  }
  return fields;
}

let owner: pg.Client;
let tenantId: string;
let bigTenantId: string;
let scratch: string;
const now = new Date();
const from = new Date(now.getTime() - 2 * 24 * 3600_000);
const users: { id: string; email: string; department: string }[] = [];

async function explorerRows(filters: AuditFilters): Promise<AuditRow[]> {
  // What /audit shows with these filters, every page of it.
  const page = await auditPage(tenantId, { filters, limit: 10_000 });
  expect(page.more).toBe(false);
  return page.rows;
}

beforeAll(async () => {
  owner = await superuserClient();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'gatehouse-export-'));
  const suffix = randomUUID().slice(0, 8);
  tenantId = (await db().tenant.create({ data: { slug: `cli-query-${suffix}`, name: 'CLI query' } })).id;
  bigTenantId = (await db().tenant.create({ data: { slug: `cli-export-${suffix}`, name: 'CLI export' } })).id;
  for (const [name, department] of [['ann', 'Research'], ['ben', 'Sales, EMEA']] as const) {
    const user = await db().user.create({ data: { tenantId, email: `${name}-${suffix}@example.test`, name } });
    users.push({ id: user.id, email: user.email, department });
  }
  await generateAuditEvents(owner, { tenantId, count: 1_200, from, to: now, users });
}, 120_000);

afterAll(async () => {
  await owner.end();
  await rm(scratch, { recursive: true, force: true });
  await closeDatabase();
});

describe('gatehouse audit query and export', () => {
  const cases: [string, Record<string, string>][] = [
    ['a user, an outcome and a type', { user: 'ANN', type: 'policy.decision', outcome: 'denied' }],
    ['a department with a comma and a model', { department: 'Sales, EMEA', model: 'claude-opus-4-1' }],
    ['a rule prefix and free text', { rule: 'policy.secrets.*', q: 'content.' }],
  ];
  for (const [name, raw] of cases) {
    it(`returns the explorer's rows for ${name}, as JSON lines and as CSV`, async () => {
      const given = { ...raw, ...(raw.user ? { user: users[0]!.email.toUpperCase() } : {}) };
      const filters: AuditFilters = parseAuditFilters({ ...given, from: from.toISOString(), to: now.toISOString() });
      const explorer = await explorerRows(filters);
      expect(explorer.length).toBeGreaterThan(0);

      const out = path.join(scratch, `${randomUUID()}.csv`);
      const [query, exported] = await Promise.all([
        cli(['audit', 'query', '--tenant', tenantId, '--json', '--limit', '10000', ...options(filters)]),
        cli(['audit', 'export', '--tenant', tenantId, '--format', 'csv', '--out', out, ...options(filters).map((value) => value.replace(/^--from$/, '--since').replace(/^--to$/, '--until'))]),
      ]);
      const lines = query.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, string | null>);
      expect(lines).toEqual(explorer.map(jsonRow));

      const csv = (await readFile(out, 'utf8')).split('\r\n').filter(Boolean);
      const header = csvFields(csv[0]!);
      const records = csv.slice(1).map((line) => Object.fromEntries(csvFields(line).map((value, index) => [header[index]!, value === '' ? null : value])));
      // The export runs oldest first; the explorer newest first.
      expect(records).toEqual(explorer.map(jsonRow).reverse());
      expect(exported.stderr).toContain(`wrote ${explorer.length} events`);
    }, 120_000);
  }

  it('prints a table, and refuses bad filters in one line', async () => {
    const rows = await explorerRows(parseAuditFilters({ from: from.toISOString(), to: now.toISOString(), type: 'admin.change' }));
    const table = formatTable(rows.slice(0, 2)).split('\n');
    expect(table[0]).toMatch(/^OCCURRED_AT\s+EVENT_TYPE\s+ACTION/);
    expect(table[1]).toContain('admin.change');
    await expect(cli(['audit', 'query', '--tenant', tenantId, '--type', 'nope'])).rejects.toMatchObject({
      stderr: expect.stringContaining('gatehouse: type "nope" is not one of'),
    });
    await expect(cli(['audit', 'export', '--tenant', tenantId, '--format', 'xml', '--since', '1d'])).rejects.toMatchObject({
      stderr: expect.stringContaining('gatehouse: --format must be csv or ndjson'),
    });
  }, 120_000);

  it('exports 150 000 events in bounded memory', async () => {
    // Peak RSS figures are printed for the record only; the cap below is what the test holds. Loading
    // the CLI alone takes about 50 MB of heap; the export's output (~90 MiB) is far more than the rest.
    const EXPORT_HEAP_MB = 80;
    const TOTAL = 150_000;
    const bigFrom = new Date(now.getTime() - 30 * 24 * 3600_000);
    await generateAuditEvents(owner, { tenantId: bigTenantId, count: TOTAL, from: bigFrom, to: now, users });
    const run = async (count: number, format: 'csv' | 'ndjson') => {
      const out = path.join(scratch, `${count}-${format}`);
      // The first `count` events: --until just after the count-th (they are spread evenly).
      const until = new Date(bigFrom.getTime() + Math.ceil(((now.getTime() - bigFrom.getTime()) * count) / TOTAL));
      const result = await cli(['audit', 'export', '--tenant', bigTenantId, '--format', format, '--since', bigFrom.toISOString(), '--until', until.toISOString(), '--out', out], EXPORT_HEAP_MB);
      return { ...result, bytes: (await stat(out)).size, lines: (await readFile(out, 'utf8')).split('\n').filter(Boolean).length };
    };
    const small = await run(5_000, 'ndjson');
    const large = await run(TOTAL, 'ndjson');
    const csv = await run(TOTAL, 'csv');
    console.log(
      `audit export peak RSS: ${small.lines} events ${Math.round(small.peakRssKb / 1024)} MiB; ` +
        `${large.lines} events (${Math.round(large.bytes / 1048576)} MiB NDJSON) ${Math.round(large.peakRssKb / 1024)} MiB; ` +
        `${csv.lines - 1} events as CSV ${Math.round(csv.peakRssKb / 1024)} MiB`,
    );
    expect(large.lines).toBe(TOTAL);
    expect(csv.lines).toBe(TOTAL + 1);
    expect(large.stderr).toMatch(new RegExp(`exported ${TOTAL}/${TOTAL} events \\(100%\\)`));
    // The output is larger than the heap the export may use: nothing was held.
    expect(large.bytes).toBeGreaterThan(EXPORT_HEAP_MB * 1024 * 1024);
  }, 600_000);
});
