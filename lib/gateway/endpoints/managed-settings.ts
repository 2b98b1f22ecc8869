import { createHash } from 'node:crypto';
import type { DataPlaneRequest } from '@/lib/http/data-plane-request';
import { v5 as uuidv5 } from 'uuid';
import type { GatehouseConfig } from '@/lib/config';
import type { GatewayRequestContext } from '@/lib/gateway/auth';
import { anthropicError } from '@/lib/gateway/errors';
import { matchesSubject, type PlanSubject } from '@/lib/gateway/limits/plan';
import { claudeCodeSettingsFor } from '@/lib/mcp/allowlist/distribution';
import { noteIssuedChecksum } from '@/lib/mdm/checksums';
import { isRecord } from '@/lib/platform/json';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface ManagedSettingsDocument {
  uuid: string;
  checksum: string;
  settings: JsonObject;
}

// Fixed namespace for the documents' uuids: the same settings always get the same uuid.
const DOCUMENT_NAMESPACE = '0b6c1e0e-3f7a-5c1e-9a61-6d2f4b1c8e70';

/** Objects merge key by key, arrays are joined without duplicates, anything else is replaced. */
function merge(base: Json | undefined, overlay: Json): Json {
  if (isRecord(base) && isRecord(overlay)) {
    const merged: JsonObject = { ...base };
    for (const [key, value] of Object.entries(overlay)) merged[key] = merge(merged[key], value);
    return merged;
  }
  if (Array.isArray(base) && Array.isArray(overlay)) {
    const joined = [...base];
    const seen = new Set(base.map(canonicalJson));
    for (const item of overlay) {
      const key = canonicalJson(item);
      if (seen.has(key)) continue;
      seen.add(key);
      joined.push(item);
    }
    return joined;
  }
  return overlay;
}

function sortKeys(value: Json): Json {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isRecord(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys(value[key]!)]),
  );
}

/** JSON with keys sorted at every level and no whitespace: what Claude Code hashes. */
export function canonicalJson(value: Json): string {
  return JSON.stringify(sortKeys(value));
}

/** `sha256:` + hex SHA-256 of the canonical settings JSON, as the client computes it for If-None-Match. */
export function settingsChecksum(settings: JsonObject): string {
  return `sha256:${createHash('sha256').update(canonicalJson(settings)).digest('hex')}`;
}

// Documents depend only on the configuration, the department and the roles.
const documents = new WeakMap<GatehouseConfig, Map<string, ManagedSettingsDocument | null>>();

/** The user's managed settings under `config`, or null when no entry applies (no managed policy). */
export function managedSettingsFor(config: GatehouseConfig, subject: PlanSubject): ManagedSettingsDocument | null {
  let byCaller = documents.get(config);
  if (!byCaller) {
    byCaller = new Map();
    documents.set(config, byCaller);
  }
  const key = `${subject.department ?? ''}\u0000${[...subject.roles].sort().join('\u0000')}`;
  if (byCaller.has(key)) return byCaller.get(key)!;
  const entries = config.managed_settings.filter((entry) => matchesSubject(entry.match, subject));
  let document: ManagedSettingsDocument | null = null;
  if (entries.length) {
    const settings = entries.reduce<Json>((merged, entry) => merge(merged, entry.settings as JsonObject), {}) as JsonObject;
    const checksum = settingsChecksum(settings);
    document = { uuid: uuidv5(checksum, DOCUMENT_NAMESPACE), checksum, settings };
  }
  byCaller.set(key, document);
  return document;
}

/**
 * `document` with `extra` merged in as managed_settings entries merge (objects key by key,
 * lists joined), under a new checksum and uuid; a document of `extra` alone when there was none.
 */
export function withSettings(document: ManagedSettingsDocument | null, extra: JsonObject | null): ManagedSettingsDocument | null {
  if (!extra) return document;
  const settings = merge(document?.settings ?? {}, extra) as JsonObject;
  const checksum = settingsChecksum(settings);
  return { uuid: uuidv5(checksum, DOCUMENT_NAMESPACE), checksum, settings };
}

/**
 * Whether If-None-Match names this checksum. `*` is a Claude Desktop probe that only asks whether
 * settings exist, so it is answered as if the header were absent: a 304 must answer a real
 * revalidation only (one the client did not ask for counts as a failed fetch).
 */
function revalidated(ifNoneMatch: string | null, checksum: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1'))
    .some((tag) => tag === checksum);
}

/**
 * GET /managed/settings: `{uuid, checksum, settings}` with the checksum as a quoted ETag, 304 on
 * a matching If-None-Match, 404 when no managed policy applies. The settings are gatehouse.yaml's
 * managed_settings for the caller plus, once the tenant registers MCP servers, the caller's MCP
 * allowlist (lib/mcp/allowlist: managedMcpServers, allowedMcpServers, deniedMcpServers), so a
 * registry change reaches Claude Code at its next poll. No `x-cc-gateway-version` header is
 * sent, so Claude Desktop reads these answers in their ordinary meaning.
 */
export async function handleManagedSettings(request: DataPlaneRequest, context: GatewayRequestContext): Promise<Response> {
  const { principal } = context.caller;
  const document = withSettings(managedSettingsFor(context.snapshot.config, principal), await claudeCodeSettingsFor(principal));
  if (!document) return anthropicError('not_found_error', 'no managed settings apply to you', { headers: { 'cache-control': 'private, no-cache' } });
  noteIssuedChecksum(context.caller.principal.tenantId, document.checksum, 'served');
  const headers = { etag: `"${document.checksum}"`, 'cache-control': 'private, no-cache' };
  if (revalidated(request.headers.get('if-none-match'), document.checksum)) return new Response(null, { status: 304, headers });
  return Response.json(document, { headers });
}
