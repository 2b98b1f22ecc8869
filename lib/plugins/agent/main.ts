import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MANAGED_MCP_PATHS } from './mcp';
import { DEFAULT_FRESHNESS_SECONDS, reportSync, resetSubject, syncOnce, SyncError, type SyncOptions, type SyncResult } from './sync';

const USAGE = `usage: gatehouse-sync --server URL [--token T] [--dir DIR] [--once] [--interval SECONDS]
                      [--org-key FILE] [--state DIR] [--freshness SECONDS] [--managed-mcp FILE|default]
       gatehouse-sync reset-subject [--state DIR]

Writes your entitled org plugins, verified against the pinned organisation key, into DIR
(default: the Claude org-plugins folder of this OS). The token comes from --token or
GATEHOUSE_TOKEN; the organisation key from --org-key, GATEHOUSE_ORG_KEY (JWK JSON), or the copy
pinned at install in the state folder. Without --once it syncs every --interval seconds (300).
With --managed-mcp it also writes Claude Code's managed-mcp.json from your signed MCP allowlist
(\`default\`: /Library/Application Support/ClaudeCode/, /etc/claude-code/ or C:\\Program Files\\ClaudeCode\\).
reset-subject forgets whose plugins and allowlist the device applies (to hand it to someone
else), keeping what it installed as its own: the next sync pins the person of its token.`;

function defaultDir(): string | null {
  if (process.platform === 'darwin') return '/Library/Application Support/Claude/org-plugins';
  if (process.platform === 'win32') return path.join(process.env.ProgramFiles ?? 'C:\\Program Files', 'Claude', 'org-plugins');
  return null;
}

function defaultStateDir(): string {
  if (process.platform === 'darwin') return '/Library/Application Support/Gatehouse/sync';
  if (process.platform === 'win32') return path.join(process.env.ProgramData ?? 'C:\\ProgramData', 'Gatehouse', 'sync');
  return path.join(process.env.XDG_STATE_HOME ?? path.join(os.homedir(), '.local', 'state'), 'gatehouse-sync');
}

function describe(result: SyncResult): string {
  const parts = [`sequence ${result.seq}`];
  if (result.installed.length) parts.push(`installed ${result.installed.map((entry) => `${entry.name}@${entry.version}`).join(', ')}`);
  if (result.removed.length) parts.push(`removed ${result.removed.join(', ')}`);
  parts.push(`${result.present.length} plugin(s) present`);
  if (result.failed.length) parts.push(`FAILED ${result.failed.map((entry) => `${entry.name}: ${entry.error}`).join('; ')}`);
  if (result.mcp) parts.push('error' in result.mcp ? `FAILED ${result.mcp.error}` : `MCP allowlist ${result.mcp.seq}: ${result.mcp.servers.length} server(s)${result.mcp.written ? ', managed-mcp.json rewritten' : ''}`);
  return parts.join('; ');
}

async function runOnce(options: SyncOptions, first: boolean): Promise<boolean> {
  let result: SyncResult | null = null;
  let failure: string | undefined;
  try {
    result = await syncOnce(options);
    console.log(`gatehouse-sync: ${describe(result)}`);
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
    console.error(`gatehouse-sync: ${failure}`);
  }
  const mcpChanged = Boolean(result?.mcp && ('error' in result.mcp || result.mcp.written));
  const changed = !result || first || result.installed.length > 0 || result.removed.length > 0 || result.failed.length > 0 || mcpChanged;
  if (changed) {
    try {
      await reportSync(options, result, failure);
    } catch (error) {
      console.error(`gatehouse-sync: could not report to the server: ${(error as Error).message}`);
    }
  }
  return Boolean(result) && result!.failed.length === 0 && !(result!.mcp && 'error' in result!.mcp);
}

async function resetSubjectCommand(argv: string[]): Promise<number> {
  let state: string | undefined;
  try {
    state = parseArgs({ args: argv, options: { state: { type: 'string' } } }).values.state;
  } catch (error) {
    console.error(`gatehouse-sync: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const stateDir = path.resolve(state ?? defaultStateDir());
  try {
    const previous = await resetSubject({ stateDir, dir: stateDir });
    console.log(`gatehouse-sync: ${previous ? `no longer pinned to person ${previous.sub} in organisation ${previous.tenant}` : 'was pinned to nobody'}; the next sync pins the person of its token (installed plugins kept as gatehouse-sync's)`);
    return 0;
  } catch (error) {
    console.error(`gatehouse-sync: ${(error as Error).message}`);
    return 1;
  }
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'reset-subject') return resetSubjectCommand(argv.slice(1));
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        server: { type: 'string' },
        token: { type: 'string' },
        dir: { type: 'string' },
        state: { type: 'string' },
        'org-key': { type: 'string' },
        once: { type: 'boolean' },
        interval: { type: 'string' },
        freshness: { type: 'string' },
        'managed-mcp': { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    console.error(`gatehouse-sync: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const values = parsed.values;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const token = values.token ?? process.env.GATEHOUSE_TOKEN;
  const dir = values.dir ?? defaultDir();
  if (!values.server || !token || !dir) {
    console.error(`gatehouse-sync: ${!values.server ? '--server is required' : !token ? 'a token is required (--token or GATEHOUSE_TOKEN)' : '--dir is required on this OS'}\n${USAGE}`);
    return 2;
  }
  const requestedMcp = values['managed-mcp'];
  const managedMcp = requestedMcp === 'default' ? (MANAGED_MCP_PATHS[process.platform as keyof typeof MANAGED_MCP_PATHS] ?? null) : requestedMcp ? path.resolve(requestedMcp) : null;
  if (requestedMcp === 'default' && !managedMcp) {
    console.error(`gatehouse-sync: Claude Code has no managed-mcp.json location on ${process.platform}; give --managed-mcp FILE`);
    return 2;
  }
  let pinnedKeys: string | undefined = process.env.GATEHOUSE_ORG_KEY || undefined;
  if (values['org-key']) pinnedKeys = await readFile(values['org-key'], 'utf8');
  const options: SyncOptions = {
    server: values.server,
    token,
    dir: path.resolve(dir),
    stateDir: path.resolve(values.state ?? defaultStateDir()),
    ...(pinnedKeys ? { pinnedKeys } : {}),
    freshnessSeconds: values.freshness ? Number(values.freshness) : DEFAULT_FRESHNESS_SECONDS,
    ...(managedMcp ? { managedMcpFile: managedMcp } : {}),
    log: (line) => console.log(`gatehouse-sync: ${line}`),
  };
  if (values.once) return (await runOnce(options, true)) ? 0 : 1;

  const interval = Math.max(5, Number(values.interval ?? 300)) * 1000;
  let stopping = false;
  let wake: (() => void) | null = null;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      stopping = true;
      wake?.();
    });
  }
  let first = true;
  while (!stopping) {
    await runOnce(options, first);
    first = false;
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, interval).unref();
    });
  }
  return 0;
}

export { SyncError };
