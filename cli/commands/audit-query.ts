import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import {
  AuditFilterError,
  FILTER_PARAMS,
  MAX_EXPORT_RANGE_DAYS,
  auditPage,
  jsonRow,
  parseAuditFilters,
  type AuditFilters,
  type AuditRow,
  type RawFilters,
} from '@/lib/audit-query';
import { EXPORT_FORMATS, exportAuditEvents, type ExportFormat, type ExportProgress } from '@/lib/audit-query/export';
import { systemTenantId } from '@/lib/config';
import { CliError } from '../run';
import { withCliDatabase } from './with-database';


const FILTER_OPTIONS = Object.fromEntries(FILTER_PARAMS.map((name) => [name, { type: 'string' as const }]));

function parse(args: string[], extra: Record<string, { type: 'string' | 'boolean' }>) {
  try {
    return parseArgs({ args, options: { ...FILTER_OPTIONS, since: { type: 'string' }, until: { type: 'string' }, tenant: { type: 'string' }, ...extra }, strict: true, allowPositionals: false }).values as Record<
      string,
      string | boolean | undefined
    >;
  } catch (error) {
    throw new CliError((error as Error).message.split('\n')[0] ?? 'invalid arguments', 2);
  }
}

function filtersFrom(values: Record<string, string | boolean | undefined>, maxRangeDays?: number): AuditFilters {
  const raw: RawFilters = {};
  for (const name of FILTER_PARAMS) if (typeof values[name] === 'string') raw[name] = values[name];
  if (typeof values.since === 'string') raw.from = values.since;
  if (typeof values.until === 'string') raw.to = values.until;
  try {
    return parseAuditFilters(raw, maxRangeDays ? { maxRangeDays } : {});
  } catch (error) {
    if (error instanceof AuditFilterError) throw new CliError(error.message, 2);
    throw error;
  }
}

async function tenantOf(values: Record<string, string | boolean | undefined>): Promise<string> {
  const given = values.tenant;
  if (typeof given === 'string') {
    if (!z.guid().safeParse(given).success) throw new CliError(`--tenant must be a tenant id (a UUID), got "${given}"`, 2);
    return given.toLowerCase();
  }
  const tenantId = await systemTenantId();
  if (!tenantId) throw new CliError('no tenant yet: start Gatehouse once (npm start) or pass --tenant');
  return tenantId;
}

const TABLE_COLUMNS = ['occurred_at', 'event_type', 'action', 'outcome', 'actor', 'model', 'rule', 'cost_microdollars', 'event_id'] as const;

/** Rows as aligned columns; empty fields as `-`. */
export function formatTable(rows: readonly AuditRow[]): string {
  const cells = rows.map((row) => {
    const named = jsonRow(row);
    return TABLE_COLUMNS.map((name) => named[name] ?? '-');
  });
  const widths = TABLE_COLUMNS.map((name, index) => Math.max(name.length, ...cells.map((line) => line[index]!.length)));
  const line = (values: readonly string[]) => values.map((value, index) => value.padEnd(widths[index]!)).join('  ').trimEnd();
  return [line(TABLE_COLUMNS.map((name) => name.toUpperCase())), ...cells.map(line)].join('\n');
}

export async function auditQuery(args: string[]): Promise<number> {
  const values = parse(args, { limit: { type: 'string' }, json: { type: 'boolean' } });
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new CliError('--limit must be a whole number from 1 to 10000', 2);
  const filters = filtersFrom(values);
  const { rows } = await withCliDatabase(async () => auditPage(await tenantOf(values), { filters, limit }));
  if (values.json) {
    for (const row of rows) process.stdout.write(`${JSON.stringify(jsonRow(row))}\n`);
  } else if (rows.length === 0) {
    console.log(`no events match between ${filters.from.toISOString()} and ${filters.to.toISOString()}`);
  } else {
    console.log(formatTable(rows));
  }
  return 0;
}

/** A bar on a terminal, redrawn in place; a line per tenth done when stderr is a file or pipe. */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr): (progress: ExportProgress) => void {
  let lastTenth = -1;
  return ({ written, total }) => {
    const fraction = total === 0 ? 1 : Math.min(1, written / total);
    if (stream.isTTY) {
      const width = 30;
      const filled = Math.round(fraction * width);
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor(fraction * 100)}% ${written}/${total} events${fraction === 1 ? '\n' : ''}`);
      return;
    }
    const tenth = Math.floor(fraction * 10);
    if (tenth === lastTenth) return;
    lastTenth = tenth;
    stream.write(`exported ${written}/${total} events (${tenth * 10}%)\n`);
  };
}

export async function auditExport(args: string[]): Promise<number> {
  const values = parse(args, { format: { type: 'string' }, out: { type: 'string' } });
  const format = values.format;
  if (typeof format !== 'string' || !(EXPORT_FORMATS as readonly string[]).includes(format)) throw new CliError('--format must be csv or ndjson', 2);
  if (typeof values.since !== 'string' && typeof values.from !== 'string') throw new CliError('--since is required: the start of the range to export', 2);
  const filters = filtersFrom(values, MAX_EXPORT_RANGE_DAYS);
  // The launcher (cli/gatehouse.mjs) runs from the repository; --out is relative to where the command was typed.
  const outPath = typeof values.out === 'string' ? path.resolve(process.env.GATEHOUSE_CLI_CWD ?? process.cwd(), values.out) : null;
  const out = outPath ? createWriteStream(outPath) : process.stdout;
  const written = await withCliDatabase(async () => exportAuditEvents(await tenantOf(values), filters, out, { format: format as ExportFormat, onProgress: progressReporter() }));
  if (out === process.stdout) {
    // The CLI ends with process.exit, which would drop what a pipe has not taken yet.
    await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  } else {
    out.end();
    await finished(out);
    process.stderr.write(`wrote ${written} events to ${outPath}\n`);
  }
  return 0;
}

