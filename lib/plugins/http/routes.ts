import { withGatewayCallerOnWeb, type WebGatewayHandler } from '@/lib/gateway/auth/with-caller';
import type { GatewayRequestContext } from '@/lib/gateway/auth';
import { anthropicError } from '@/lib/gateway/errors';
import { publicUrl } from '@/lib/platform/public-url';
import { orgKeyDocument } from '@/lib/signing';
import { entitledVersion, signedEntitledSet, type SetSubject } from '../entitled';
import type { PluginActor } from '../events';
import { marketplaceFor } from '../marketplace-manifest';
import { pluginArchive } from '../digest';
import { versionFiles } from '../store';
import { recordSync, syncReportSchema } from '../sync-report';

/**
 * The org-plugins endpoints devices and Claude clients call with a user's access token, through
 * the gateway's one way in (authenticate → plugins.install → handler → error map): the signed
 * entitled set, plugin archives (only those in the caller's set), sync reports and the per-user
 * marketplace. The organisation's public keys are served without a token.
 */

export const ORG_KEYS_PATH = '/.well-known/gatehouse/org-keys.json';
export const ENTITLED_PATH = '/api/v1/plugins/entitled';
export const SYNC_REPORT_PATH = '/api/v1/plugins/sync-report';
export const ARCHIVE_PREFIX = '/api/v1/plugins/archive/';
export const MARKETPLACE_PATH = '/marketplace.json';

function subjectOf(context: GatewayRequestContext): SetSubject {
  const { principal } = context.caller;
  return { userId: principal.userId, tenantId: principal.tenantId, email: principal.email };
}

function actorOf(context: GatewayRequestContext): PluginActor {
  const { principal } = context.caller;
  return { userId: principal.userId, tenantId: principal.tenantId, email: principal.email, roles: principal.roles, callSource: 'api', traceId: context.caller.traceId };
}

const entitled: WebGatewayHandler = async (_request, context) => {
  const { jws, set } = await signedEntitledSet(subjectOf(context), publicUrl());
  return Response.json({ jws, seq: set.seq }, { headers: { 'cache-control': 'no-store' } });
};

/** A path segment decoded, or null when its %-escapes are malformed (an unknown archive, not a failure). */
function safeDecode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

const archive: WebGatewayHandler = async (request, context) => {
  const match = /^\/api\/v1\/plugins\/archive\/([^/]+)\/([^/]+)\.zip$/.exec(new URL(request.url).pathname);
  if (!match) return anthropicError('not_found_error', 'archive paths are /api/v1/plugins/archive/NAME/VERSION.zip');
  const [name, version] = [safeDecode(match[1]!), safeDecode(match[2]!)];
  const plugin = name !== null && version !== null ? await entitledVersion(subjectOf(context), name, version) : null;
  // Not entitled and not existing answer alike: the path says nothing about other people's plugins.
  if (!plugin) return anthropicError('not_found_error', 'no such plugin version in your entitled set');
  const zip = pluginArchive(await versionFiles(plugin.versionId));
  return new Response(new Uint8Array(zip), { headers: { 'content-type': 'application/zip', 'cache-control': 'no-store', 'x-plugin-sha256': plugin.archiveSha256 } });
};

const syncReport: WebGatewayHandler = async (request, context) => {
  let body: unknown;
  try {
    body = await request.json();
  } catch {
    return anthropicError('invalid_request_error', 'the body must be JSON');
  }
  const parsed = syncReportSchema.safeParse(body);
  if (!parsed.success) return anthropicError('invalid_request_error', parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  const traceId = await recordSync(actorOf(context), parsed.data);
  return Response.json({ recorded: true, trace_id: traceId });
};

const marketplace: WebGatewayHandler = async (_request, context) => {
  const { body, sha256 } = await marketplaceFor(subjectOf(context), publicUrl());
  return new Response(body, { headers: { 'content-type': 'application/json', 'cache-control': 'no-store', etag: `"${sha256}"` } });
};

const PLUGINS = 'plugins.install' as const;
const ENTITLED = withGatewayCallerOnWeb({ methods: ['GET'], permission: PLUGINS }, entitled);
const ARCHIVE = withGatewayCallerOnWeb({ methods: ['GET'], permission: PLUGINS }, archive);
const SYNC_REPORT = withGatewayCallerOnWeb({ methods: ['POST'], permission: PLUGINS }, syncReport);
const MARKETPLACE = withGatewayCallerOnWeb({ methods: ['GET'], permission: PLUGINS }, marketplace);

async function orgKeys(request: Request): Promise<Response> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return new Response('use GET', { status: 405, headers: { allow: 'GET, HEAD' } });
  return Response.json(await orgKeyDocument(), { headers: { 'cache-control': 'public, max-age=300', 'access-control-allow-origin': '*' } });
}

/** Data-plane paths (lib/http/data-plane.ts) served here. */
export const PLUGIN_PATHS: readonly string[] = [ORG_KEYS_PATH, MARKETPLACE_PATH, '/api/v1/plugins/*'];

export function handlePluginRequest(request: Request): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (pathname === ORG_KEYS_PATH) return orgKeys(request);
  if (pathname === MARKETPLACE_PATH) return MARKETPLACE(request);
  if (pathname === ENTITLED_PATH) return ENTITLED(request);
  if (pathname === SYNC_REPORT_PATH) return SYNC_REPORT(request);
  if (pathname.startsWith(ARCHIVE_PREFIX)) return ARCHIVE(request);
  return Promise.resolve(anthropicError('not_found_error', `no such endpoint: ${request.method} ${pathname}`));
}
