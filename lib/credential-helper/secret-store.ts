import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isRecord } from '@/lib/platform/json';
import { HelperError } from './errors';

/**
 * Where the refresh token lives: the OS credential store where there is one, else a file only
 * the user can read. Secrets go to the store's tools on stdin, never on a command line (which
 * other users can read in `ps`).
 */
export interface SecretStore {
  readonly kind: SecretStoreKind;
  read(account: string): string | null;
  write(account: string, secret: string): void;
  remove(account: string): void;
}

export type SecretStoreKind = 'keychain' | 'secret-service' | 'dpapi' | 'file';

const SERVICE = 'gatehouse-helper';

function run(command: string, args: string[], input?: string): { ok: boolean; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { input, encoding: 'utf8', timeout: 15_000, windowsHide: true });
  return { ok: result.status === 0 && !result.error, stdout: result.stdout ?? '', stderr: (result.stderr ?? '').trim() };
}

function onPath(command: string, env: NodeJS.ProcessEnv): boolean {
  const separator = process.platform === 'win32' ? ';' : ':';
  const names = process.platform === 'win32' ? [`${command}.exe`, `${command}.cmd`] : [command];
  for (const dir of (env.PATH ?? '').split(separator).filter(Boolean)) {
    for (const name of names) {
      try {
        if (statSync(path.join(dir, name)).isFile()) return true;
      } catch {
        // not in this directory
      }
    }
  }
  return false;
}

/** `security -i` reads commands from stdin; arguments are double-quoted with `"` and `\` escaped. */
function quoteForSecurity(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

const keychain: Omit<SecretStore, 'kind'> = {
  read(account) {
    const result = run('security', ['find-generic-password', '-s', SERVICE, '-a', account, '-w']);
    return result.ok ? result.stdout.replace(/\n$/, '') || null : null;
  },
  write(account, secret) {
    const command = `add-generic-password -U -s ${quoteForSecurity(SERVICE)} -a ${quoteForSecurity(account)} -w ${quoteForSecurity(secret)}\n`;
    const result = run('security', ['-i'], command);
    if (!result.ok) throw new HelperError(`could not save the sign-in to the macOS keychain: ${result.stderr || 'security failed'}`);
  },
  remove(account) {
    run('security', ['delete-generic-password', '-s', SERVICE, '-a', account]);
  },
};

const secretService: Omit<SecretStore, 'kind'> = {
  read(account) {
    const result = run('secret-tool', ['lookup', 'service', SERVICE, 'account', account]);
    return result.ok ? result.stdout.replace(/\n$/, '') || null : null;
  },
  write(account, secret) {
    const result = run('secret-tool', ['store', '--label', `Gatehouse sign-in (${account})`, 'service', SERVICE, 'account', account], secret);
    if (!result.ok) throw new HelperError(`could not save the sign-in with secret-tool: ${result.stderr || 'secret-tool failed'}`);
  },
  remove(account) {
    run('secret-tool', ['clear', 'service', SERVICE, 'account', account]);
  },
};

/** Windows: the secret encrypted with DPAPI for the current user, in a file beside the state. */
function dpapi(home: string): Omit<SecretStore, 'kind'> {
  const fileFor = (account: string) => path.join(home, `secret-${Buffer.from(account).toString('base64url')}.dpapi`);
  const powershell = (script: string, input?: string) =>
    run('powershell.exe', ['-NoProfile', '-NonInteractive', '-Command', `Add-Type -AssemblyName System.Security; ${script}`], input);
  return {
    read(account) {
      const file = fileFor(account).replaceAll("'", "''");
      const result = powershell(
        `$b = [IO.File]::ReadAllBytes('${file}'); $p = [Security.Cryptography.ProtectedData]::Unprotect($b, $null, 'CurrentUser'); [Console]::Out.Write([Text.Encoding]::UTF8.GetString($p))`,
      );
      return result.ok ? result.stdout || null : null;
    },
    write(account, secret) {
      mkdirSync(home, { recursive: true });
      const file = fileFor(account).replaceAll("'", "''");
      const result = powershell(
        `$s = [Console]::In.ReadToEnd(); $p = [Security.Cryptography.ProtectedData]::Protect([Text.Encoding]::UTF8.GetBytes($s), $null, 'CurrentUser'); [IO.File]::WriteAllBytes('${file}', $p)`,
        secret,
      );
      if (!result.ok) throw new HelperError(`could not save the sign-in with DPAPI: ${result.stderr || 'powershell failed'}`);
    },
    remove(account) {
      rmSync(fileFor(account), { force: true });
    },
  };
}

/** A JSON map account → secret, mode 0600, replaced atomically. */
function fileStore(home: string): Omit<SecretStore, 'kind'> {
  const file = path.join(home, 'credentials.json');
  const load = (): Record<string, string> => {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      return isRecord(parsed) ? (parsed as Record<string, string>) : {};
    } catch {
      return {};
    }
  };
  const save = (secrets: Record<string, string>) => {
    mkdirSync(home, { recursive: true, mode: 0o700 });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(secrets)}\n`, { mode: 0o600 });
    chmodSync(temporary, 0o600);
    renameSync(temporary, file);
  };
  return {
    read: (account) => load()[account] ?? null,
    write: (account, secret) => save({ ...load(), [account]: secret }),
    remove: (account) => {
      const secrets = load();
      if (!(account in secrets)) return;
      delete secrets[account];
      save(secrets);
    },
  };
}

const KINDS: readonly SecretStoreKind[] = ['keychain', 'secret-service', 'dpapi', 'file'];

/**
 * The store for this machine: GATEHOUSE_HELPER_STORE names one explicitly; otherwise the
 * keychain on macOS, DPAPI on Windows, the Secret Service on Linux when `secret-tool` and a
 * session bus exist, else the 0600 file.
 */
export function openSecretStore(home: string, env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): SecretStore {
  const requested = env.GATEHOUSE_HELPER_STORE?.trim();
  if (requested && !KINDS.includes(requested as SecretStoreKind)) {
    throw new HelperError(`GATEHOUSE_HELPER_STORE must be one of ${KINDS.join(', ')} (got "${requested}")`, 2);
  }
  let kind = requested as SecretStoreKind | undefined;
  if (!kind) {
    if (platform === 'darwin' && onPath('security', env)) kind = 'keychain';
    else if (platform === 'win32') kind = 'dpapi';
    else if (env.DBUS_SESSION_BUS_ADDRESS && onPath('secret-tool', env)) kind = 'secret-service';
    else kind = 'file';
  }
  const implementation = kind === 'keychain' ? keychain : kind === 'secret-service' ? secretService : kind === 'dpapi' ? dpapi(home) : fileStore(home);
  return { kind, ...implementation };
}
