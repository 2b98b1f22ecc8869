import { parseArgs } from 'node:util';
import { z } from 'zod';
import { verifyAuditChains, type ChainReport } from '@/lib/audit/verify';
import { pool } from '@/lib/db/client';
import { CliError } from '../run';
import { withCliDatabase } from './with-database';

const HELP = `Usage:
  gatehouse audit verify [--tenant TENANT_ID] [--json]

verify  Re-walks every tenant's audit hash chain (or only --tenant's), recomputing each event's
        hash, and prints one line per chain with the first break found: an edited event, a
        deleted or inserted row, a truncated tail or an edited column.
        --json prints the full report instead. Exit code 0 when every chain is intact, 1 when
        any chain is broken.`;

export function describeChain(chain: ChainReport): string {
  if (chain.ok) return `chain ${chain.tenant_id}: ${chain.events} events ok`;
  const found = chain.break!;
  const where = found.event_id ? ` (event ${found.event_id}, ${found.occurred_at})` : '';
  return `chain ${chain.tenant_id}: BROKEN at seq ${found.seq}${where}: ${found.reason}`;
}

async function verify(args: string[]): Promise<number> {
  let values: { tenant?: string; json?: boolean };
  try {
    ({ values } = parseArgs({ args, options: { tenant: { type: 'string' }, json: { type: 'boolean' } }, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new CliError((error as Error).message.split('\n')[0] ?? 'invalid arguments', 2);
  }
  if (values.tenant !== undefined && !z.guid().safeParse(values.tenant).success) {
    throw new CliError(`--tenant must be a tenant id (a UUID), got "${values.tenant}"`, 2);
  }
  const report = await withCliDatabase(() => verifyAuditChains(pool(), { tenantId: values.tenant }));
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
  } else if (report.chains.length === 0) {
    console.log('no audit chains yet');
  } else {
    for (const chain of report.chains) console.log(describeChain(chain));
  }
  return report.ok ? 0 : 1;
}

export async function auditCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  if (sub === 'verify') return verify(rest);
  throw new CliError(`unknown audit command "${sub}" (try gatehouse audit --help)`, 2);
}
