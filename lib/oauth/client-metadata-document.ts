/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, what MCP clients try
 * before dynamic registration): the client_id is an https URL, and the document it serves is the
 * client's registration. Gatehouse fetches it through the SSRF-guarded fetch (public addresses,
 * https only, no redirects, 5 KB, 5 s), checks it, and keeps it as an oauth_clients row
 * (origin `metadata_document`) until its cache lifetime ends; then the next use fetches it again.
 * A row an administrator disabled stays disabled whatever the document says.
 */
import { z } from 'zod';
import { db } from '@/lib/db/client';
import type { OAuthClient } from '@/lib/generated/prisma/client';
import { fetchPublicUrl, OutboundFetchRefused } from '@/lib/platform/outbound/fetch-public';
import { clientIp } from '@/lib/http/client-ip';
import { primaryTenant } from '@/lib/users/tenant';
import { auditOAuth } from './audit';
import { oauthSettings } from './config';
import { findClient } from './clients';
import { hitRateLimit } from './rate-limit';
import { AUTHORIZATION_CODE_GRANT, REFRESH_TOKEN_GRANT } from './grants';
import { redirectUriProblem } from './redirect-uris';

export interface ClientMetadataTuning {
  maxBytes: number;
  timeoutMs: number;
  minCacheSeconds: number;
  maxCacheSeconds: number;
  /** Without Cache-Control max-age. */
  defaultCacheSeconds: number;
  /**
   * Tests only, set in code (tuneClientMetadataDocuments): documents on loopback addresses, and
   * a certificate authority for their https server. Nothing in a request or the environment can
   * turn this on.
   */
  allowLoopback: boolean;
  ca?: string;
}

const defaults: ClientMetadataTuning = { maxBytes: 5 * 1024, timeoutMs: 5_000, minCacheSeconds: 300, maxCacheSeconds: 86_400, defaultCacheSeconds: 3_600, allowLoopback: false };
let tuning: ClientMetadataTuning = { ...defaults };

export function tuneClientMetadataDocuments(changes: Partial<ClientMetadataTuning>): void {
  tuning = { ...tuning, ...changes };
}

export function resetClientMetadataTuning(): void {
  tuning = { ...defaults };
}

/** The document could not be used; the message says why, for the user's error page or the client. */
export class ClientMetadataDocumentError extends Error {
  override name = 'ClientMetadataDocumentError';
}

const MAX_URL_LENGTH = 2000;

/** Whether a client_id is meant as a metadata document URL (an https URL). */
export function isClientMetadataDocumentUrl(clientId: string): boolean {
  return clientId.startsWith('https://');
}

/** The draft's rules for the URL itself: https, a path, no fragment, credentials or dot segments. */
function urlProblem(clientId: string): string | null {
  if (clientId.length > MAX_URL_LENGTH) return `is longer than ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return 'is not a valid URL';
  }
  if (url.protocol !== 'https:') return 'must be an https URL';
  if (url.pathname === '/' || url.pathname === '') return 'must have a path';
  if (clientId.includes('#')) return 'must not contain a fragment';
  if (url.username || url.password) return 'must not contain user information';
  if (/\/\.\.?(\/|$)/.test(clientId.slice(url.origin.length))) return 'must not contain . or .. path segments';
  return null;
}

const text = (max: number) => z.string().max(max).optional().catch(undefined);

const documentSchema = z.object({
  client_id: z.string(),
  client_name: text(200),
  redirect_uris: z.array(z.string()).min(1).max(10),
  grant_types: z.array(z.string()).max(10).optional(),
  response_types: z.array(z.string()).max(10).optional(),
  token_endpoint_auth_method: z.string().optional(),
  client_uri: text(2000),
  logo_uri: text(2000),
  tos_uri: text(2000),
  policy_uri: text(2000),
  software_id: text(200),
  software_version: text(200),
});

type ClientDocument = z.infer<typeof documentSchema>;

function validate(clientId: string, raw: unknown): ClientDocument & { grantTypes: string[] } {
  const parsed = documentSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ClientMetadataDocumentError(`its document is not valid client metadata (${issue?.path.join('.') || 'document'}: ${issue?.message ?? 'invalid'})`);
  }
  const document = parsed.data;
  // Compared as strings, without normalising either side (the draft requires it).
  if (document.client_id !== clientId) throw new ClientMetadataDocumentError('its document names a different client_id than the URL it was fetched from');
  const method = document.token_endpoint_auth_method ?? 'none';
  if (method !== 'none') throw new ClientMetadataDocumentError(`token_endpoint_auth_method ${method.slice(0, 50)} is not supported for metadata document clients (use none, with PKCE)`);
  if (document.response_types && document.response_types.some((type) => type !== 'code')) throw new ClientMetadataDocumentError('only the "code" response type is supported');
  const grantTypes = document.grant_types ?? [AUTHORIZATION_CODE_GRANT, REFRESH_TOKEN_GRANT];
  const unsupported = grantTypes.find((grant) => grant !== AUTHORIZATION_CODE_GRANT && grant !== REFRESH_TOKEN_GRANT);
  if (unsupported) throw new ClientMetadataDocumentError(`grant type ${unsupported.slice(0, 50)} is not supported for metadata document clients`);
  for (const uri of document.redirect_uris) {
    const problem = redirectUriProblem(uri, { customSchemes: oauthSettings().customRedirectSchemes });
    if (problem) throw new ClientMetadataDocumentError(`its redirect URI ${JSON.stringify(uri.slice(0, 200))} ${problem}`);
  }
  return { ...document, grantTypes: [...new Set(grantTypes)] };
}

/** Cache lifetime from Cache-Control max-age, held between the configured bounds. */
function cacheSeconds(cacheControl: string | undefined): number {
  const maxAge = /(?:^|,)\s*max-age=(\d+)/i.exec(cacheControl ?? '')?.[1];
  const wanted = maxAge === undefined ? tuning.defaultCacheSeconds : Number(maxAge);
  return Math.min(tuning.maxCacheSeconds, Math.max(tuning.minCacheSeconds, wanted));
}

async function fetchDocument(clientId: string): Promise<{ document: ReturnType<typeof validate>; expiresAt: Date }> {
  let fetched;
  try {
    fetched = await fetchPublicUrl(clientId, {
      maxBytes: tuning.maxBytes,
      timeoutMs: tuning.timeoutMs,
      maxRedirects: 0,
      httpsOnly: true,
      accept: 'application/json',
      ca: tuning.ca,
      allowAddress: tuning.allowLoopback ? (address) => address === '127.0.0.1' || address === '::1' : undefined,
      checkHeaders: (headers) => {
        const type = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (type !== 'application/json' && !type.endsWith('+json')) throw new OutboundFetchRefused(`it is not JSON (${type.slice(0, 60) || 'no content type'})`);
      },
    });
  } catch (error) {
    if (error instanceof OutboundFetchRefused) throw new ClientMetadataDocumentError(`its metadata document was not fetched: ${error.message}`);
    throw error;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fetched.body.toString('utf8'));
  } catch {
    throw new ClientMetadataDocumentError('its metadata document is not valid JSON');
  }
  const cacheControl = fetched.headers['cache-control'];
  return { document: validate(clientId, raw), expiresAt: new Date(Date.now() + cacheSeconds(Array.isArray(cacheControl) ? cacheControl.join(',') : cacheControl) * 1000) };
}

/**
 * The client a metadata document URL names: the cached row while fresh, else the document
 * fetched, checked and stored. Throws ClientMetadataDocumentError when the URL or the document is
 * not acceptable (the caller refuses the request with that reason).
 */
export async function resolveMetadataDocumentClient(clientId: string, request?: Request): Promise<OAuthClient> {
  const problem = urlProblem(clientId);
  if (problem) throw new ClientMetadataDocumentError(`the client_id URL ${problem}`);
  const cached = await db().oAuthClient.findUnique({ where: { clientId } });
  if (cached && cached.origin !== 'metadata_document') return cached;
  if (cached && (cached.disabledAt || (cached.metadataExpiresAt && cached.metadataExpiresAt > new Date()))) return cached;
  // Anyone can name any URL: the fetches one address can cause are limited, like registrations.
  const limit = await hitRateLimit('client_metadata_fetch', (request && clientIp(request)) ?? 'unknown', oauthSettings().clientMetadataFetchesPerIpPerMinute, 60);
  if (!limit.allowed) throw new ClientMetadataDocumentError(`too many new client metadata documents from this address; try again in ${limit.retryAfterSeconds} s`);
  const { document, expiresAt } = await fetchDocument(clientId);
  const name = document.client_name?.trim() || new URL(clientId).host;
  const metadata = Object.fromEntries(
    (['client_uri', 'logo_uri', 'tos_uri', 'policy_uri', 'software_id', 'software_version'] as const).filter((key) => document[key] !== undefined).map((key) => [key, document[key]]),
  );
  const fields = { name, redirectUris: document.redirect_uris, grantTypes: document.grantTypes, metadata, metadataExpiresAt: expiresAt };
  const tenant = await primaryTenant();
  const client = await db().oAuthClient.upsert({
    where: { clientId },
    create: { tenantId: tenant.id, clientId, tokenEndpointAuthMethod: 'none', trusted: false, origin: 'metadata_document', ...fields },
    update: fields,
  });
  if (!cached) {
    await auditOAuth({
      tenantId: client.tenantId,
      type: 'admin.change',
      action: 'client.register',
      outcome: 'success',
      clientId,
      request,
      target: { type: 'oauth_client', id: clientId, name },
      attributes: { origin: 'metadata_document', redirect_uris: document.redirect_uris.join(' ').slice(0, 4000) },
    });
  }
  return client;
}

/**
 * The client a request names: a metadata document URL is resolved (fetched when not cached),
 * any other client_id is looked up. Null when no such client is registered.
 */
export async function lookupClient(clientId: string, request?: Request): Promise<OAuthClient | null> {
  if (isClientMetadataDocumentUrl(clientId)) return resolveMetadataDocumentClient(clientId, request);
  return findClient(clientId);
}
