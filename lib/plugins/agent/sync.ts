import { randomBytes, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { currentKeys, followRollovers, JwsError, JWS_TYPES, peekHeader, trustedKeysFrom, verifyCompact, type Ed25519Jwk } from '../../signing/jws';
import { subjectOf, subjectRefusal, tokenSubject, type DocumentSubject } from '../../signing/subject';
import { sha256Hex, treeDigest } from '../digest';
import { checkFileSet, type PluginFile } from '../paths';
import { readZip } from '../zip';
import type { AllowlistResponse } from '../../mcp/allowlist/documents';
import { syncManagedMcp, type McpSyncResult, type McpSyncState } from './mcp';

/**
 * gatehouse-sync's work: make the org-plugins directory hold exactly the user's entitled set,
 * trusting nothing it is sent until the organisation key it was pinned with (or a key that key
 * endorsed) has vouched for it. Imports only node: modules and pure project files, so it bundles
 * into one file that runs with Node alone.
 */

export interface SyncOptions {
  server: string;
  token: string;
  /** The org-plugins directory it owns plugins in. */
  dir: string;
  /** Where it keeps its state, lock and trusted keys (never inside `dir`). */
  stateDir: string;
  /** The pinned organisation key(s), as a JWK, a JWK Set, or a key document; else the state's. */
  pinnedKeys?: string;
  /** Refuse a set signed longer ago than this. */
  freshnessSeconds?: number;
  /** Also keep Claude Code's managed-mcp.json at this path equal to the person's signed MCP allowlist. */
  managedMcpFile?: string;
  fetch?: typeof fetch;
  log?: (line: string) => void;
}

export interface SyncResult {
  seq: number;
  installed: { name: string; version: string; digest: string }[];
  removed: string[];
  present: { name: string; version: string }[];
  failed: { name: string; error: string }[];
  /** The MCP allowlist step, when managedMcpFile is set. */
  mcp?: McpSyncResult;
}

export class SyncError extends Error {
  override name = 'SyncError';
}

interface InstalledPlugin {
  version: string;
  digest: string;
}

interface AgentState {
  deviceId: string;
  last: { seq: number; iat: number } | null;
  /**
   * Whose documents this device applies: the tenant and person of the first set it applied (a
   * device that applied an MCP allowlist first keeps that one's). Another's set or allowlist,
   * however validly signed, is refused.
   */
  subject?: DocumentSubject | null;
  /** Plugins this agent wrote, by folder name: the only ones it will ever replace or remove. */
  installed: Record<string, InstalledPlugin>;
  mcp?: McpSyncState;
}

interface SetEntry {
  name: string;
  version: string;
  digest: string;
  archiveSha256: string;
  archive: string;
  signature: string;
}

interface SignedSet {
  iss: string;
  sub: string;
  tenant: string;
  seq: number;
  iat: number;
  exp: number;
  plugins: SetEntry[];
}

interface SignedVersion {
  tenant: string;
  plugin: string;
  version: string;
  digest: string;
  archiveSha256: string;
}

export const DEFAULT_FRESHNESS_SECONDS = 900;
const CLOCK_SKEW_SECONDS = 120;
// A server that stops answering must not hold the lock forever.
const REQUEST_TIMEOUT_MS = 120_000;
const NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const STAGING_PREFIX = '.gatehouse-staging-';
const OLD_PREFIX = '.gatehouse-old-';
const ORG_KEYS_PATH = '/.well-known/gatehouse/org-keys.json';

const stateFile = (options: SyncOptions) => path.join(options.stateDir, 'state.json');
const keysFile = (options: SyncOptions) => path.join(options.stateDir, 'org-keys.json');

async function writeFileAtomic(file: string, data: string, mode = 0o600): Promise<void> {
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temporary, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(temporary, mode);
  await rename(temporary, file);
}

async function readState(options: SyncOptions): Promise<AgentState> {
  try {
    const state = JSON.parse(await readFile(stateFile(options), 'utf8')) as AgentState;
    return { deviceId: state.deviceId, last: state.last ?? null, subject: state.subject ?? state.mcp?.subject ?? null, installed: state.installed ?? {}, ...(state.mcp ? { mcp: state.mcp } : {}) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new SyncError(`state file ${stateFile(options)} is unreadable: ${(error as Error).message}`);
    return { deviceId: `dev-${randomBytes(12).toString('hex')}`, last: null, installed: {} };
  }
}

function parseKeys(text: string, source: string): Ed25519Jwk[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new SyncError(`${source}: not JSON (expected a JWK or a JWK Set)`);
  }
  const keys = (value as { keys?: unknown }).keys ?? [value];
  if (!Array.isArray(keys) || keys.length === 0) throw new SyncError(`${source}: no keys in it`);
  return keys as Ed25519Jwk[];
}

/**
 * What the device trusts: the keys pinned at install (the option, given on every run, or the
 * state's copy), plus the rollovers it followed from them, remembered by the key each replaced.
 * The memory is kept whatever is pinned, so re-pinning the original key on every run still knows
 * which keys were replaced, and a replaced key never gets a second successor.
 */
interface Trust {
  pinned: Ed25519Jwk[];
  followed: Map<string, Ed25519Jwk>;
  /** Pinned and followed keys: enough for what never expires (approved plugin versions). */
  trusted: Map<string, KeyObject>;
}

interface SavedKeys {
  keys?: unknown;
  followed?: Record<string, Ed25519Jwk>;
}

async function loadTrust(options: SyncOptions): Promise<Trust> {
  let saved: SavedKeys = {};
  if (existsSync(keysFile(options))) {
    try {
      saved = JSON.parse(await readFile(keysFile(options), 'utf8')) as SavedKeys;
    } catch (error) {
      throw new SyncError(`${keysFile(options)}: unreadable (${(error as Error).message})`);
    }
  }
  const text = options.pinnedKeys ?? (saved.keys ? JSON.stringify(saved) : null);
  const source = options.pinnedKeys ? 'pinned organisation key' : keysFile(options);
  if (!text) throw new SyncError('no organisation key is pinned: install it with --org-key FILE (from the Rollout page or MDM); refusing to trust anything');
  try {
    const pinned = parseKeys(text, source);
    const trust: Trust = { pinned, followed: new Map(Object.entries(saved.followed ?? {})), trusted: trustedKeysFrom({ keys: pinned }) };
    followRollovers(trust.trusted, [], trust.followed);
    return trust;
  } catch (error) {
    throw new SyncError(`${source}: ${(error as Error).message}`);
  }
}

async function saveTrust(options: SyncOptions, trust: Trust): Promise<void> {
  const saved: SavedKeys = { keys: trust.pinned, followed: Object.fromEntries(trust.followed) };
  await writeFileAtomic(keysFile(options), `${JSON.stringify(saved, null, 2)}\n`);
}

async function http(options: SyncOptions, pathname: string, init: RequestInit = {}): Promise<Response> {
  const doFetch = options.fetch ?? fetch;
  const response = await doFetch(new URL(pathname, options.server), {
    ...init,
    headers: { authorization: `Bearer ${options.token}`, 'user-agent': 'gatehouse-sync/1', ...(init.headers as Record<string, string> | undefined) },
    redirect: 'error',
    signal: init.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return response;
}

async function fetchSet(options: SyncOptions): Promise<string> {
  const response = await http(options, '/api/v1/plugins/entitled');
  if (!response.ok) throw new SyncError(`the server refused the entitled set: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`);
  const body = (await response.json()) as { jws?: unknown };
  if (typeof body.jws !== 'string') throw new SyncError('the server sent no signed set');
  return body.jws;
}

/**
 * Fetches the key document and trusts keys a trusted key endorsed (remembered for next time);
 * true when one was added. A second successor for a key is refused loudly (followRollovers).
 */
async function followRotations(options: SyncOptions, trust: Trust): Promise<boolean> {
  const response = await (options.fetch ?? fetch)(new URL(ORG_KEYS_PATH, options.server), { redirect: 'error', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  if (!response.ok) throw new SyncError(`signed by an unknown key and the key document is unavailable (HTTP ${response.status})`);
  const document = (await response.json()) as { keys?: Ed25519Jwk[]; rollovers?: string[] };
  const before = trust.followed.size;
  let added: string[];
  try {
    added = followRollovers(trust.trusted, document.rollovers ?? [], trust.followed);
  } catch (error) {
    if (error instanceof JwsError && error.reason === 'forked') throw new SyncError(`refusing the organisation's key document: ${error.message}`);
    throw error;
  }
  if (trust.followed.size !== before) await saveTrust(options, trust);
  if (added.length === 0) return false;
  options.log?.(`trusting rotated organisation key(s) ${added.join(', ')} (endorsed by a pinned key)`);
  return true;
}

/**
 * Verifies a signature, following key rollovers the pinned keys endorse when the kid is new.
 * `expiring`: a document that expires (an entitled set), which only the current key may sign.
 */
async function verifyWithRollovers<T>(options: SyncOptions, trust: Trust, jws: string, typ: string, expiring: boolean): Promise<T> {
  const keys = () => (expiring ? currentKeys(trust.trusted, trust.followed) : trust.trusted);
  const replaced = () => {
    const kid = peekHeader(jws).kid;
    const successor = expiring ? trust.followed.get(kid) : undefined;
    return successor ? new SyncError(`signature refused: signed by organisation key ${kid}, which this device saw replaced by ${successor.kid ?? 'its successor'}; only the current key signs this`) : null;
  };
  try {
    return verifyCompact<T>(jws, keys(), typ).payload;
  } catch (error) {
    if (!(error instanceof JwsError && error.reason === 'unknown_key')) throw new SyncError(`signature refused: ${(error as Error).message}`);
    const refusal = replaced();
    if (refusal) throw refusal;
  }
  await followRotations(options, trust);
  try {
    return verifyCompact<T>(jws, keys(), typ).payload;
  } catch (error) {
    throw replaced() ?? new SyncError(`signature refused: ${(error as Error).message}`);
  }
}

async function fetchAllowlist(options: SyncOptions): Promise<AllowlistResponse> {
  const response = await http(options, '/api/v1/mcp/allowlist');
  if (!response.ok) throw new SyncError(`the server refused the MCP allowlist: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`);
  return (await response.json()) as AllowlistResponse;
}

function checkFreshness(set: SignedSet, state: AgentState, options: SyncOptions): void {
  const now = Math.floor(Date.now() / 1000);
  const window = options.freshnessSeconds ?? DEFAULT_FRESHNESS_SECONDS;
  if (!Number.isInteger(set.seq) || !Number.isInteger(set.iat)) throw new SyncError('the signed set has no sequence or time');
  if (set.iat > now + CLOCK_SKEW_SECONDS) throw new SyncError(`the signed set is dated ${set.iat - now}s in the future; check this device's clock`);
  if (now - set.iat > window || now > set.exp + CLOCK_SKEW_SECONDS) throw new SyncError(`the signed set is ${now - set.iat}s old, outside the ${window}s freshness window (a replay?)`);
  if (state.last && (set.seq < state.last.seq || (set.seq === state.last.seq && set.iat < state.last.iat))) {
    throw new SyncError(`the signed set (sequence ${set.seq}) is older than the one applied last (sequence ${state.last.seq}): refusing a rollback or replay`);
  }
}

async function readTree(root: string, relative = ''): Promise<PluginFile[]> {
  const files: PluginFile[] = [];
  for (const entry of await readdir(path.join(root, relative), { withFileTypes: true })) {
    const name = relative ? `${relative}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await readTree(root, name)));
    else if (entry.isFile()) files.push({ path: name, content: await readFile(path.join(root, name)) });
    else files.push({ path: name, content: Buffer.from(`not a regular file: ${randomBytes(8).toString('hex')}`) });
  }
  return files;
}

async function diskDigest(folder: string): Promise<string | null> {
  try {
    return treeDigest(await readTree(folder));
  } catch {
    return null;
  }
}

async function downloadVerified(options: SyncOptions, entry: SetEntry): Promise<PluginFile[]> {
  // The bearer token goes only to the server it was issued for, whatever URL the set names.
  const url = new URL(entry.archive, options.server);
  if (url.origin !== new URL(options.server).origin) throw new SyncError(`archive ${url.origin} is not on ${new URL(options.server).origin}; refusing to send the token there`);
  const response = await http(options, url.href);
  if (!response.ok) throw new SyncError(`archive download failed: HTTP ${response.status}`);
  const zip = Buffer.from(await response.arrayBuffer());
  const sha256 = sha256Hex(zip);
  if (sha256 !== entry.archiveSha256) throw new SyncError(`archive sha256 ${sha256} does not match the signed ${entry.archiveSha256}`);
  const files = checkFileSet(readZip(zip).filter((item) => !item.isDirectory));
  const digest = treeDigest(files);
  if (digest !== entry.digest) throw new SyncError(`file tree digest ${digest} does not match the signed ${entry.digest}`);
  return files;
}

async function writeTree(folder: string, files: PluginFile[]): Promise<void> {
  await mkdir(folder, { recursive: true, mode: 0o755 });
  for (const file of files) {
    const target = path.join(folder, ...file.path.split('/'));
    await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
    // A script (#!) keeps working after the trip through the archive: hooks run them.
    const executable = file.content.subarray(0, 2).toString('latin1') === '#!';
    await writeFile(target, file.content, { mode: executable ? 0o755 : 0o644, flag: 'wx' });
    await chmod(target, executable ? 0o755 : 0o644);
  }
}

/**
 * Puts `files` at dir/name: written completely into a staging folder beside it, then swapped in
 * by rename. The previous copy is moved aside first and removed after; a crash between the two
 * renames is repaired by the next run (recoverInterrupted).
 */
async function swapIn(options: SyncOptions, name: string, files: PluginFile[]): Promise<void> {
  const suffix = randomBytes(6).toString('hex');
  const staging = path.join(options.dir, `${STAGING_PREFIX}${name}-${suffix}`);
  const target = path.join(options.dir, name);
  const old = path.join(options.dir, `${OLD_PREFIX}${name}-${suffix}`);
  await writeTree(staging, files);
  const hadOld = existsSync(target);
  if (hadOld) await rename(target, old);
  await rename(staging, target);
  if (hadOld) await rm(old, { recursive: true, force: true });
}

/** Repairs what a killed run left: staging folders go; a plugin moved aside and not replaced comes back. */
async function recoverInterrupted(options: SyncOptions): Promise<void> {
  for (const entry of await readdir(options.dir)) {
    if (entry.startsWith(STAGING_PREFIX)) await rm(path.join(options.dir, entry), { recursive: true, force: true });
    if (entry.startsWith(OLD_PREFIX)) {
      const name = entry.slice(OLD_PREFIX.length).replace(/-[0-9a-f]{12}$/, '');
      const target = path.join(options.dir, name);
      if (existsSync(target)) await rm(path.join(options.dir, entry), { recursive: true, force: true });
      else await rename(path.join(options.dir, entry), target);
    }
  }
}

async function acquireLock(options: SyncOptions): Promise<() => Promise<void>> {
  const file = path.join(options.stateDir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (holder && holder !== process.pid && isAlive(holder)) throw new SyncError(`another gatehouse-sync (pid ${holder}) is running on ${options.dir}`);
      // The holder died (kill -9, power loss): its lock is stale.
      await rm(file, { force: true });
    }
  }
  throw new SyncError(`cannot take the lock ${file}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function pinnedTo(subject: DocumentSubject, options: SyncOptions): string {
  return `this device applies the documents of person ${subject.sub} in organisation ${subject.tenant} (to hand it to someone else, run \`gatehouse-sync reset-subject --state ${options.stateDir}\` as an administrator)`;
}

function checkFirstSubject(set: SignedSet, token: string): void {
  const own = tokenSubject(token);
  if (!own) throw new SyncError('the token names no organisation and person (is it a Gatehouse access token?): cannot tell whose plugin set to apply');
  if (own.tenant !== set.tenant || own.sub !== set.sub) {
    throw new SyncError(`the signed set is for person ${set.sub} in organisation ${set.tenant}, not for this device's token (person ${own.sub} in organisation ${own.tenant}); refusing to pin this device to it`);
  }
}

/**
 * Forgets whose documents this device applies, for handing it to someone else: the next set
 * pins its person again (checked against the token). What this agent installed, and the
 * managed-mcp.json it wrote, stay known as its own, so the next person's same-named plugins
 * replace them and withdrawn ones are removed. The sequences go too: they count per person.
 */
export async function resetSubject(options: Pick<SyncOptions, 'stateDir' | 'dir'>): Promise<DocumentSubject | null> {
  // A wrong --state must not look like a successful hand-over (nor fail on the lock file's path).
  if (!existsSync(stateFile(options as SyncOptions))) throw new SyncError(`no gatehouse-sync state in ${options.stateDir}: nothing to reset (pass the --state the sync runs with)`);
  const release = await acquireLock(options as SyncOptions);
  try {
    const state = await readState(options as SyncOptions);
    const previous = state.subject ?? null;
    state.subject = null;
    state.last = null;
    if (state.mcp) state.mcp = { ...state.mcp, last: null, subject: null };
    await writeFileAtomic(stateFile(options as SyncOptions), JSON.stringify(state));
    return previous;
  } finally {
    await release();
  }
}

/** The device id this agent reports under (created with its state). */
export async function deviceIdOf(options: SyncOptions): Promise<string> {
  return (await readState(options)).deviceId;
}

/** One sync run. Throws SyncError when the set itself is refused (nothing on disk is changed then). */
export async function syncOnce(options: SyncOptions): Promise<SyncResult> {
  await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  await mkdir(options.dir, { recursive: true, mode: 0o755 });
  if (path.resolve(options.stateDir).startsWith(`${path.resolve(options.dir)}${path.sep}`)) throw new SyncError('the state directory must not be inside the plugins directory');
  const release = await acquireLock(options);
  try {
    await recoverInterrupted(options);
    const state = await readState(options);
    if (!existsSync(stateFile(options))) await writeFileAtomic(stateFile(options), JSON.stringify(state));
    const trust = await loadTrust(options);
    if (options.pinnedKeys && !existsSync(keysFile(options))) await saveTrust(options, trust);
    const set = await verifyWithRollovers<SignedSet>(options, trust, await fetchSet(options), JWS_TYPES.pluginSet, true);
    const refusal = subjectRefusal(set, state.subject, 'the signed set');
    if (refusal) throw new SyncError(state.subject ? `${refusal}: ${pinnedTo(state.subject, options)}` : refusal);
    // First use pins whoever the first set names: it must be the person this device's own token
    // is for, not whoever the channel chose to serve.
    if (!state.subject) checkFirstSubject(set, options.token);
    checkFreshness(set, state, options);

    const result: SyncResult = { seq: set.seq, installed: [], removed: [], present: [], failed: [] };
    const wanted = new Map<string, SetEntry>();
    for (const entry of set.plugins) {
      try {
        if (!NAME.test(entry.name)) throw new SyncError('not a valid plugin name');
        const signed = await verifyWithRollovers<SignedVersion>(options, trust, entry.signature, JWS_TYPES.pluginVersion, false);
        if (signed.plugin !== entry.name || signed.version !== entry.version || signed.digest !== entry.digest || signed.archiveSha256 !== entry.archiveSha256 || signed.tenant !== set.tenant) {
          throw new SyncError('the set does not match the signed version');
        }
        wanted.set(entry.name, entry);
      } catch (error) {
        result.failed.push({ name: entry.name, error: (error as Error).message });
      }
    }

    for (const [name, entry] of wanted) {
      const target = path.join(options.dir, name);
      const mine = state.installed[name];
      if (!mine && existsSync(target)) {
        result.failed.push({ name, error: `${target} exists and was not written by gatehouse-sync; leaving it alone` });
        continue;
      }
      if (mine && mine.digest === entry.digest && (await diskDigest(target)) === entry.digest) {
        result.present.push({ name, version: entry.version });
        continue;
      }
      try {
        const files = await downloadVerified(options, entry);
        await swapIn(options, name, files);
        state.installed[name] = { version: entry.version, digest: entry.digest };
        await writeFileAtomic(stateFile(options), JSON.stringify(state));
        result.installed.push({ name, version: entry.version, digest: entry.digest });
        result.present.push({ name, version: entry.version });
        options.log?.(`installed ${name}@${entry.version}`);
      } catch (error) {
        result.failed.push({ name, error: (error as Error).message });
        if (mine) result.present.push({ name, version: mine.version });
      }
    }

    for (const name of Object.keys(state.installed)) {
      if (wanted.has(name) || result.failed.some((failure) => failure.name === name && set.plugins.some((entry) => entry.name === name))) continue;
      await rm(path.join(options.dir, name), { recursive: true, force: true });
      delete state.installed[name];
      result.removed.push(name);
      options.log?.(`removed ${name} (no longer entitled, withdrawn or revoked)`);
    }
    state.last = { seq: set.seq, iat: set.iat };
    state.subject ??= subjectOf(set);
    if (options.managedMcpFile) {
      // The allowlist must be the same person's as the plugin set.
      const mcpState: McpSyncState = { ...(state.mcp ?? { last: null, fileSha256: null }), subject: state.subject };
      try {
        result.mcp = await syncManagedMcp({
          file: options.managedMcpFile,
          state: mcpState,
          trusted: () => currentKeys(trust.trusted, trust.followed),
          fetchAllowlist: () => fetchAllowlist(options),
          followRotations: () => followRotations(options, trust),
          writeFileAtomic,
          ...(options.log ? { log: options.log } : {}),
        });
        state.mcp = mcpState;
      } catch (error) {
        result.mcp = { error: `MCP allowlist not applied: ${(error as Error).message}` };
      }
    }
    await writeFileAtomic(stateFile(options), JSON.stringify(state));
    return result;
  } finally {
    await release();
  }
}

/** Tells Gatehouse what this run did (audit event plugin.sync, and the device's current versions). */
export async function reportSync(options: SyncOptions, result: SyncResult | null, error?: string): Promise<void> {
  const deviceId = await deviceIdOf(options);
  const body = result
    ? { device_id: deviceId, seq: result.seq, installed: result.installed, removed: result.removed, present: result.present, failed: result.failed, ...(result.mcp ? { mcp: result.mcp } : {}) }
    : { device_id: deviceId, seq: 0, installed: [], removed: [], present: [], failed: [], error: (error ?? 'sync failed').slice(0, 2000) };
  const response = await http(options, '/api/v1/plugins/sync-report', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new SyncError(`the server did not take the sync report: HTTP ${response.status}`);
}
