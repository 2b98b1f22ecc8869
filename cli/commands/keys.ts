import { parseArgs, type ParseArgsConfig } from 'node:util';
import { rotateKeys } from '@/lib/oauth/keys';
import { listSigningKeys, type SigningKeySummary } from '@/lib/tokens/signing-keys';
import { CliError } from '../run';
import { withCliDatabase } from './with-database';

const HELP = `Usage:
  gatehouse keys rotate
  gatehouse keys list [--json]

rotate  Starts signing tokens with a new key. The previous key is retired: it stays in
        /.well-known/jwks.json and keeps verifying the tokens it signed until they expire.
list    Prints every signing key with its status and how long a retired key still verifies.

Private keys are stored encrypted with a key derived from GATEHOUSE_SECRET.`;

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (error) {
    throw new CliError((error as Error).message.split('\n')[0] ?? 'invalid arguments', 2);
  }
}

async function rotate(args: string[]): Promise<number> {
  parse(args, {});
  const result = await withCliDatabase(() => rotateKeys({ call_source: 'cli' }));
  console.log(`new signing key ${result.kid}`);
  for (const kid of result.retired) console.log(`retired ${kid} (still verifies the tokens it signed until they expire)`);
  return 0;
}

function formatTable(keys: SigningKeySummary[]): string {
  const rows = keys.map((k) => [k.kid, k.algorithm, k.status, k.createdAt.toISOString(), k.verifyUntil?.toISOString() ?? '-']);
  const header = ['KID', 'ALG', 'STATUS', 'CREATED', 'VERIFIES UNTIL'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return [header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

async function list(args: string[]): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean' } });
  const keys = await withCliDatabase(listSigningKeys);
  console.log(values.json ? JSON.stringify(keys, null, 2) : keys.length ? formatTable(keys) : 'no signing keys yet (one is created on first use)');
  return 0;
}

export async function keysCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || rest.includes('--help') || rest.includes('-h')) {
    console.log(HELP);
    return sub ? 0 : 2;
  }
  if (sub === 'rotate') return rotate(rest);
  if (sub === 'list') return list(rest);
  throw new CliError(`unknown keys command "${sub}" (try gatehouse keys --help)`, 2);
}
