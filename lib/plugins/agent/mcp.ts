import { createHash, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { mcpJsonDocument } from '../../mcp/allowlist/clients';
import type { AllowlistResponse } from '../../mcp/allowlist/documents';
import { AllowlistVerificationError, verifyAllowlist } from '../../mcp/allowlist/verify';
import { subjectOf, type DocumentSubject } from '../../signing/subject';

/**
 * gatehouse-sync's MCP step: fetch the person's signed allowlist, verify it against the pinned
 * organisation key (lib/mcp/allowlist/verify.ts: signatures, expiry, revocations, no going back
 * in sequence), and write Claude Code's managed-mcp.json from what verified. While that file
 * exists Claude Code loads MCP servers from it alone, so a server revoked or scoped away
 * disappears from the machine at the next run. A refused allowlist leaves the file as it was.
 */

/** Where Claude Code reads the machine's managed-mcp.json. */
export const MANAGED_MCP_PATHS = {
  darwin: '/Library/Application Support/ClaudeCode/managed-mcp.json',
  linux: '/etc/claude-code/managed-mcp.json',
  win32: 'C:\\Program Files\\ClaudeCode\\managed-mcp.json',
} as const;

export interface McpSyncState {
  /** The allowlist applied last: an older one is refused as a replay. */
  last: { seq: number; iat: number } | null;
  /** SHA-256 of the file as this agent last wrote it: a file that differs is someone else's. */
  fileSha256: string | null;
  /** Whose allowlist this device applies (the person of its plugin set, else of the first allowlist applied): anybody else's is refused. */
  subject?: DocumentSubject | null;
}

export type McpSyncResult = { seq: number; servers: string[]; written: boolean } | { error: string };

export interface McpSyncIo {
  file: string;
  state: McpSyncState;
  /** The keys that may sign expiring documents: the head of the followed key chain (lib/signing/jws.ts currentKeys). */
  trusted(): ReadonlyMap<string, KeyObject>;
  fetchAllowlist(): Promise<AllowlistResponse>;
  /** Fetches the organisation's key document and trusts keys a trusted key endorsed; true when one was added. */
  followRotations(): Promise<boolean>;
  writeFileAtomic(file: string, data: string, mode: number): Promise<void>;
  log?: (line: string) => void;
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** One run; throws (AllowlistVerificationError or Error) when nothing was written, with the reason. */
export async function syncManagedMcp(io: McpSyncIo): Promise<{ seq: number; servers: string[]; written: boolean }> {
  const response = await io.fetchAllowlist();
  let verified;
  try {
    verified = verifyAllowlist(response, { trusted: io.trusted(), last: io.state.last, subject: io.state.subject ?? null });
  } catch (error) {
    if (!(error instanceof AllowlistVerificationError && error.code === 'unknown_key' && (await io.followRotations()))) throw error;
    verified = verifyAllowlist(response, { trusted: io.trusted(), last: io.state.last, subject: io.state.subject ?? null });
  }
  const body = `${JSON.stringify(mcpJsonDocument(verified.servers), null, 2)}\n`;
  const wanted = sha256Hex(body);
  const current = existsSync(io.file) ? sha256Hex(await readFile(io.file)) : null;
  if (current !== null && current !== io.state.fileSha256 && current !== wanted) {
    throw new Error(`${io.file} exists and was not written by gatehouse-sync; leaving it alone`);
  }
  let written = false;
  if (current !== wanted) {
    await mkdir(path.dirname(io.file), { recursive: true, mode: 0o755 });
    // Claude Code runs as the person and must read it; only the agent (as root) may change it.
    await io.writeFileAtomic(io.file, body, 0o644);
    written = true;
  }
  io.state.fileSha256 = wanted;
  io.state.last = { seq: verified.seq, iat: verified.iat };
  io.state.subject ??= subjectOf(verified.allowlist);
  const servers = verified.servers.map((entry) => entry.manifest.server.name).sort();
  if (written) io.log?.(`managed-mcp.json now lists ${servers.length ? servers.join(', ') : 'no servers'} (allowlist sequence ${verified.seq})`);
  return { seq: verified.seq, servers, written };
}
