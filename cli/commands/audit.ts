import { parseArgs } from 'node:util';
import { z } from 'zod';
import { CheckpointMemory, listCheckpoints, pinnedCheckpointKeys, publicKeyPem, type CheckpointTrust } from '@/lib/audit';
import type { CheckpointReport } from '@/lib/audit/checkpoint-verify';
import { verifyAuditChains, type ChainReport } from '@/lib/audit/verify';
import { pool } from '@/lib/db/client';
import { dataDir } from '@/lib/db/server';
import { CliError } from '../run';
import { QUERY_HELP } from './audit-query-help';
import { withCliDatabase } from './with-database';

const HELP = `Usage:
  gatehouse audit verify [--tenant TENANT_ID] [--json]
  gatehouse audit checkpoints [--tenant TENANT_ID] [--json]
  gatehouse audit checkpoint-key
  gatehouse audit query …   gatehouse audit export …   (below)

verify          Re-walks every tenant's audit hash chain (or only --tenant's), recomputing each
                event's hash, and prints one line per chain with the first break found: an edited
                event, a deleted or inserted row, a truncated tail or an edited column. Then checks
                the chain against its signed checkpoints, which catches a rewrite even when every
                hash was recomputed, and forged or deleted checkpoints. Checkpoint signatures are
                checked only against keys pinned on this host (the signing key in the data
                directory or GATEHOUSE_CHECKPOINT_KEY / GATEHOUSE_CHECKPOINT_KEY_FILE, and
                GATEHOUSE_CHECKPOINT_PUBLIC_KEYS_FILE), never against keys stored in the database.
                --json prints the full report instead. Exit code 0 when every chain and its
                checkpoints are intact, 1 otherwise.
checkpoints     Exports the signed checkpoints (tenant, number, seq, hash, time, key id, public
                key, the signed statement and its signature), one line each or --json, for a SIEM
                or an auditor to keep outside Gatehouse.
checkpoint-key  Prints the pinned checkpoint public key(s) as PEM, with their key ids, to give to
                whoever verifies checkpoints elsewhere.

${QUERY_HELP}`;

export function describeChain(chain: ChainReport): string {
  if (chain.ok) return `chain ${chain.tenant_id}: ${chain.events} events ok`;
  const found = chain.break!;
  const where = found.event_id ? ` (event ${found.event_id}, ${found.occurred_at})` : '';
  return `chain ${chain.tenant_id}: BROKEN at seq ${found.seq}${where}: ${found.reason}`;
}

export function describeCheckpoints(tenantId: string, report: CheckpointReport): string[] {
  if (!report.ok) return report.problems.map((problem) => `checkpoints ${tenantId}: FAILED: ${problem}`);
  if (!report.latest) return [`checkpoints ${tenantId}: none yet (a rewrite with recomputed hashes would not be caught)`];
  const { number, seq, signed_at, key_id } = report.latest;
  return [`checkpoints ${tenantId}: ${report.checkpoints} ok, latest #${number} at seq ${seq} (signed ${signed_at}, key ${key_id})`];
}

function parse(args: string[]): { tenant?: string; json?: boolean } {
  let values: { tenant?: string; json?: boolean };
  try {
    ({ values } = parseArgs({ args, options: { tenant: { type: 'string' }, json: { type: 'boolean' } }, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new CliError((error as Error).message.split('\n')[0] ?? 'invalid arguments', 2);
  }
  if (values.tenant !== undefined && !z.guid().safeParse(values.tenant).success) {
    throw new CliError(`--tenant must be a tenant id (a UUID), got "${values.tenant}"`, 2);
  }
  return values;
}

/** Keys and the signer's memory from this host; nothing from the database. */
async function checkpointTrust(): Promise<CheckpointTrust> {
  const directory = dataDir();
  try {
    return { pinned: await pinnedCheckpointKeys({ dataDir: directory }), memory: await CheckpointMemory.open(directory) };
  } catch (error) {
    throw new CliError(`checkpoint keys: ${(error as Error).message}`);
  }
}

async function verify(args: string[]): Promise<number> {
  const values = parse(args);
  const checkpoints = await checkpointTrust();
  const report = await withCliDatabase(() => verifyAuditChains(pool(), { tenantId: values.tenant, checkpoints }));
  if (values.json) {
    console.log(JSON.stringify(report, null, 2));
  } else if (report.chains.length === 0) {
    console.log('no audit chains yet');
  } else {
    for (const chain of report.chains) {
      console.log(describeChain(chain));
      if (chain.checkpoints) for (const line of describeCheckpoints(chain.tenant_id, chain.checkpoints)) console.log(line);
    }
  }
  return report.ok ? 0 : 1;
}

async function exportCheckpoints(args: string[]): Promise<number> {
  const values = parse(args);
  const rows = await withCliDatabase(() => listCheckpoints(pool(), values.tenant));
  const exported = rows.map((row) => ({
    tenant_id: row.tenant_id,
    number: row.number,
    seq: row.seq,
    hash: row.hash.toString('hex'),
    signed_at: row.signed_at.toISOString(),
    key_id: row.key_id,
    public_key: row.public_key,
    statement: row.statement,
    signature: row.signature.toString('base64'),
  }));
  if (values.json) console.log(JSON.stringify(exported, null, 2));
  else if (exported.length === 0) console.log('no checkpoints yet');
  else for (const row of exported) console.log(`${row.tenant_id} #${row.number} seq ${row.seq} ${row.hash} ${row.signed_at} key ${row.key_id}`);
  return 0;
}

async function printKeys(args: string[]): Promise<number> {
  if (args.length > 0) throw new CliError(`unexpected argument "${args[0]}"`, 2);
  const { pinned } = await checkpointTrust();
  if (pinned.length === 0) {
    throw new CliError('no checkpoint key on this host: the worker creates one in the data directory at its first start (or set GATEHOUSE_CHECKPOINT_KEY_FILE)');
  }
  for (const key of pinned) console.log(`# key ${key.keyId} (${key.source})\n${publicKeyPem(key).trimEnd()}`);
  return 0;
}

export async function auditCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h' || rest.includes('--help') || rest.includes('-h')) {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  if (sub === 'verify') return verify(rest);
  if (sub === 'checkpoints') return exportCheckpoints(rest);
  if (sub === 'checkpoint-key') return printKeys(rest);
  if (sub === 'query') return (await import('./audit-query')).auditQuery(rest);
  if (sub === 'export') return (await import('./audit-query')).auditExport(rest);
  throw new CliError(`unknown audit command "${sub}" (try gatehouse audit --help)`, 2);
}
