import { z } from 'zod';
import { pool } from '@/lib/db/client';
import { WINDOWS_UNQUOTABLE } from '@/lib/platform/shell';
import { DESKTOP_POLICY_KEYS } from './desktop-keys';
import { encodeDesktopValue, type PolicyValue } from './encode';
import { MdmError } from './errors';

/**
 * What an administrator chooses for the device profiles. Everything else in them (gateway URL,
 * models, token lifetimes, the organisation's name) is read from live configuration when a
 * profile is generated, so a profile downloaded after a change reflects it.
 */
export const rolloutSettingsSchema = z.object({
  /** The gateway URL devices use; empty = the installation's public URL. */
  gatewayUrl: z.string().trim().default(''),
  /** Where the helper is installed on macOS and Linux (an executable file). */
  helperPath: z.string().trim().min(1).default('/usr/local/bin/gatehouse-helper'),
  /** Where the helper's .cmd launcher is installed on Windows. */
  helperPathWindows: z.string().trim().min(1).default('C:\\Program Files\\Gatehouse\\gatehouse-helper.cmd'),
  /**
   * The Node that runs the helper and the sync agent on macOS and Linux: absolute, owned by an
   * administrator. Never looked up on PATH, which the governed person controls.
   */
  nodePath: z.string().trim().min(1).default('/usr/local/bin/node'),
  /** The same on Windows: node.exe, started by the helper's .cmd launcher and the sync task. */
  nodePathWindows: z.string().trim().min(1).default('C:\\Program Files\\nodejs\\node.exe'),
  /** Claude Code: sign in to the gateway natively (/login), or get keys from the helper. */
  claudeCodeSignIn: z.enum(['gateway', 'helper']).default('gateway'),
  /** Claude Code: Gatehouse's governance hooks as managed hooks (tool policy for every tool, every call audited). */
  claudeCodeGovernanceHooks: z.enum(['off', 'on']).default('off'),
  /** Appended to Claude's system prompt in Desktop (organizationInstructions), up to 3,000 characters. */
  organizationInstructions: z.string().trim().max(3000).default(''),
  /** PEM of the CA that signs the organisation's desktop extensions, installed by the macOS profile. */
  extensionSigningCaPem: z.string().trim().default(''),
  /** Any other Desktop keys, validated against the key table. */
  extraDesktopKeys: z.record(z.string(), z.json()).default({}),
});

export type RolloutSettings = z.infer<typeof rolloutSettingsSchema>;

export interface StoredRolloutSettings {
  settings: RolloutSettings;
  version: number;
  updatedAt: Date | null;
}

const PEM = /^-----BEGIN CERTIFICATE-----\s+[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----$/;
const HELPER_ARG_FORBIDDEN = /["%\p{Cc}]/u;
/** A gateway host goes on command lines (helper commands, install steps): names and addresses of these characters only. */
const GATEWAY_HOST = /^[A-Za-z0-9.-]+$/;

function isPosixPath(value: string): boolean {
  return value.startsWith('/') && !HELPER_ARG_FORBIDDEN.test(value);
}

/**
 * Double-quoted in Claude Code's settings and the .cmd launcher (WINDOWS_UNQUOTABLE), single-quoted
 * in PowerShell (install steps, Task Scheduler). A trailing backslash would escape the closing double quote.
 */
function isWindowsPath(value: string): boolean {
  return /^[A-Za-z]:\\/.test(value) && !WINDOWS_UNQUOTABLE.test(value) && !value.includes("'") && !value.endsWith('\\');
}

/** Checks what the schema cannot: URLs, the CA, and the extra keys against Desktop's key table. */
export function validateRolloutSettings(input: unknown): RolloutSettings {
  const parsed = rolloutSettingsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new MdmError(`${issue.path.join('.') || 'settings'}: ${issue.message}`);
  }
  const settings = parsed.data;
  if (settings.gatewayUrl) {
    let url: URL;
    try {
      url = new URL(settings.gatewayUrl);
    } catch {
      throw new MdmError('the gateway URL must be a full URL such as https://gatehouse.example.com');
    }
    if (url.protocol !== 'https:') throw new MdmError('Claude Desktop accepts only an https:// gateway URL');
    if (!GATEWAY_HOST.test(url.hostname)) throw new MdmError('the gateway URL’s host may hold only letters, digits, dots and hyphens (and a port after it)');
    settings.gatewayUrl = url.origin;
  }
  if (!isPosixPath(settings.helperPath)) throw new MdmError('the helper path must be an absolute path without quotes or %');
  if (!isPosixPath(settings.nodePath)) throw new MdmError('the Node path must be an absolute path without quotes or %, such as /usr/local/bin/node');
  if (!isWindowsPath(settings.helperPathWindows)) {
    throw new MdmError('the Windows helper path must be an absolute path without quotes, %, !, $ or ` and not ending in \\, such as C:\\Program Files\\Gatehouse\\gatehouse-helper.cmd');
  }
  if (!isWindowsPath(settings.nodePathWindows)) {
    throw new MdmError('the Windows Node path must be an absolute path without quotes, %, !, $ or ` and not ending in \\, such as C:\\Program Files\\nodejs\\node.exe');
  }
  if (settings.extensionSigningCaPem && !PEM.test(settings.extensionSigningCaPem)) throw new MdmError('the extension-signing CA must be one PEM certificate (-----BEGIN CERTIFICATE----- …)');
  for (const [key, value] of Object.entries(settings.extraDesktopKeys)) {
    if (!DESKTOP_POLICY_KEYS[key]) throw new MdmError(`there is no Claude Desktop managed-configuration key named ${key}`);
    encodeDesktopValue(key, value as PolicyValue);
  }
  return settings;
}

export const DEFAULT_ROLLOUT_SETTINGS: RolloutSettings = rolloutSettingsSchema.parse({});

export async function loadRolloutSettings(tenantId: string): Promise<StoredRolloutSettings> {
  const { rows } = await pool().query<{ settings: unknown; version: number; updated_at: Date }>('SELECT settings, version, updated_at FROM rollout_settings WHERE tenant_id = $1', [tenantId]);
  const row = rows[0];
  if (!row) return { settings: DEFAULT_ROLLOUT_SETTINGS, version: 0, updatedAt: null };
  // A stored value that no longer validates (a key Desktop dropped) falls back key by key.
  const parsed = rolloutSettingsSchema.safeParse(row.settings);
  return { settings: parsed.success ? parsed.data : DEFAULT_ROLLOUT_SETTINGS, version: row.version, updatedAt: row.updated_at };
}

/** Saves a new version when `expectedVersion` is still current (two admins cannot overwrite each other unseen). */
export async function saveRolloutSettings(tenantId: string, settings: RolloutSettings, expectedVersion: number, updatedBy: string): Promise<number> {
  const { rows } = await pool().query<{ version: number }>(
    `INSERT INTO rollout_settings (tenant_id, settings, version, updated_by, updated_at)
     VALUES ($1, $2, 1, $3, now())
     ON CONFLICT (tenant_id) DO UPDATE SET settings = EXCLUDED.settings, version = rollout_settings.version + 1, updated_by = EXCLUDED.updated_by, updated_at = now()
       WHERE rollout_settings.version = $4
     RETURNING version`,
    [tenantId, JSON.stringify(settings), updatedBy, expectedVersion],
  );
  if (!rows[0]) throw new MdmError('someone else saved the rollout settings meanwhile; reload the page and make your change again');
  return rows[0].version;
}
