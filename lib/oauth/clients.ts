import { z } from 'zod';
import { db } from '@/lib/db/client';
import type { OAuthClient } from '@/lib/generated/prisma/client';
import type { OAuthClientAuthMethod, OAuthClientOrigin } from '@/lib/generated/prisma/enums';
import { invalidateRevocationCache } from '@/lib/tokens/revocation';
import { primaryTenant, UserInputError } from '@/lib/users/tenant';
import type { ChangeActor } from '@/lib/users/users';
import { auditOAuth } from './audit';
import { oauthSettings } from './config';
import { OAuthError } from './errors';
import { AUTHORIZATION_CODE_GRANT, REFRESH_TOKEN_GRANT, SUPPORTED_GRANT_TYPES, type GrantType } from './grants';
import { redirectUriProblem, type RedirectUriPolicy } from './redirect-uris';
import { hashSecret, randomToken } from './secrets';

export type { OAuthClient };

const AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const satisfies readonly OAuthClientAuthMethod[];
const MAX_REDIRECT_URIS = 10;

export interface ClientSummary {
  clientId: string;
  name: string;
  origin: OAuthClientOrigin;
  trusted: boolean;
  confidential: boolean;
  tokenEndpointAuthMethod: OAuthClientAuthMethod;
  redirectUris: string[];
  grantTypes: string[];
  registrationIp: string | null;
  metadata: Record<string, unknown>;
  createdAt: Date;
  disabledAt: Date | null;
}

function summarize(client: OAuthClient): ClientSummary {
  return {
    clientId: client.clientId,
    name: client.name,
    origin: client.origin,
    trusted: client.trusted,
    confidential: client.tokenEndpointAuthMethod !== 'none',
    tokenEndpointAuthMethod: client.tokenEndpointAuthMethod,
    redirectUris: client.redirectUris,
    grantTypes: client.grantTypes,
    registrationIp: client.registrationIp,
    metadata: (client.metadata ?? {}) as Record<string, unknown>,
    createdAt: client.createdAt,
    disabledAt: client.disabledAt,
  };
}

export async function findClient(clientId: string): Promise<OAuthClient | null> {
  // 2000: metadata document URLs (client-metadata-document.ts); other ids are at most 100.
  if (clientId.length === 0 || clientId.length > 2000) return null;
  return db().oAuthClient.findUnique({ where: { clientId } });
}

export function clientAllowsGrant(client: OAuthClient, grant: GrantType): boolean {
  return client.grantTypes.includes(grant);
}

/** Every client, newest first, for the admin view (dynamic registrations included). */
export async function listClients(): Promise<ClientSummary[]> {
  const clients = await db().oAuthClient.findMany({ orderBy: { createdAt: 'desc' } });
  return clients.map(summarize);
}

function checkRedirectUris(uris: readonly string[], policy: RedirectUriPolicy, fail: (message: string) => Error): void {
  if (uris.length > MAX_REDIRECT_URIS) throw fail(`at most ${MAX_REDIRECT_URIS} redirect URIs`);
  for (const uri of uris) {
    const problem = redirectUriProblem(uri, policy);
    if (problem) throw fail(`redirect URI ${JSON.stringify(uri.slice(0, 200))} ${problem}`);
  }
}

function checkGrantTypes(grantTypes: readonly string[], redirectUris: readonly string[], fail: (message: string) => Error): GrantType[] {
  const unknown = grantTypes.find((g) => !(SUPPORTED_GRANT_TYPES as readonly string[]).includes(g));
  if (unknown) throw fail(`grant type "${unknown.slice(0, 100)}" is not supported (supported: ${SUPPORTED_GRANT_TYPES.join(', ')})`);
  if (grantTypes.includes(AUTHORIZATION_CODE_GRANT) && redirectUris.length === 0) throw fail('the authorization_code grant needs at least one redirect URI');
  return [...new Set(grantTypes)] as GrantType[];
}

// ---------------------------------------------------------------------------------------------
// Dynamic client registration (RFC 7591)

const optionalText = (max: number) => z.string().max(max).optional().catch(undefined);

/** Fields Gatehouse acts on; anything else in the request is ignored, as RFC 7591 allows. */
const registrationSchema = z.object({
  redirect_uris: z.array(z.string()).max(MAX_REDIRECT_URIS).optional(),
  client_name: optionalText(200),
  token_endpoint_auth_method: z.string().optional(),
  grant_types: z.array(z.string()).max(10).optional(),
  response_types: z.array(z.string()).max(10).optional(),
  client_uri: optionalText(2000),
  logo_uri: optionalText(2000),
  tos_uri: optionalText(2000),
  policy_uri: optionalText(2000),
  software_id: optionalText(200),
  software_version: optionalText(200),
  application_type: optionalText(50),
});

export interface RegistrationContext {
  ip?: string;
  request?: Request;
}

export interface RegistrationResponse {
  client_id: string;
  client_id_issued_at: number;
  client_secret?: string;
  client_secret_expires_at?: number;
  client_name: string;
  redirect_uris: string[];
  grant_types: string[];
  response_types: string[];
  token_endpoint_auth_method: OAuthClientAuthMethod;
}

function metadataError(message: string): OAuthError {
  return new OAuthError('invalid_client_metadata', message);
}

function redirectError(message: string): OAuthError {
  return new OAuthError('invalid_redirect_uri', message);
}

async function enforceRegistrationLimit(ip: string | undefined): Promise<void> {
  const limit = oauthSettings().registrationsPerIpPerHour;
  const since = new Date(Date.now() - 3600_000);
  const recent = await db().oAuthClient.count({ where: { origin: 'dynamic', registrationIp: ip ?? null, createdAt: { gt: since } } });
  if (recent >= limit) {
    throw new OAuthError('temporarily_unavailable', `too many client registrations from this address; try again within the hour`, {
      status: 429,
      headers: { 'retry-after': '3600' },
    });
  }
}

/**
 * Registers a client for anyone who asks (MCP clients, Claude connectors): redirect URIs must be
 * https, http loopback, or a custom scheme the administrator allowed; registrations per address
 * are limited per hour. Public clients (`none`) are the norm; a client asking for
 * client_secret_basic/post (Claude's hosted connectors do) gets a secret, shown only here.
 */
export async function registerDynamicClient(body: unknown, context: RegistrationContext = {}): Promise<RegistrationResponse> {
  const parsed = registrationSchema.safeParse(body);
  if (!parsed.success) throw metadataError(`the registration request is not valid: ${parsed.error.issues[0]?.path.join('.') || 'body'} ${parsed.error.issues[0]?.message ?? ''}`.trim());
  const input = parsed.data;
  const redirectUris = input.redirect_uris ?? [];
  checkRedirectUris(redirectUris, { customSchemes: oauthSettings().customRedirectSchemes }, redirectError);
  const grantTypes = checkGrantTypes(input.grant_types ?? [AUTHORIZATION_CODE_GRANT, REFRESH_TOKEN_GRANT], redirectUris, metadataError);
  if (input.response_types && input.response_types.some((t) => t !== 'code')) throw metadataError('only the "code" response type is supported');
  // RFC 7591 §2: an omitted method means client_secret_basic.
  const method = input.token_endpoint_auth_method ?? 'client_secret_basic';
  if (!(AUTH_METHODS as readonly string[]).includes(method)) throw metadataError(`token_endpoint_auth_method must be one of ${AUTH_METHODS.join(', ')}`);
  const authMethod = method as OAuthClientAuthMethod;

  await enforceRegistrationLimit(context.ip);
  const tenant = await primaryTenant();
  const clientSecret = authMethod === 'none' ? undefined : randomToken(32, 'ghs_');
  const name = input.client_name?.trim() || 'Unnamed application';
  const metadata = Object.fromEntries(
    (['client_uri', 'logo_uri', 'tos_uri', 'policy_uri', 'software_id', 'software_version', 'application_type'] as const)
      .filter((key) => input[key] !== undefined)
      .map((key) => [key, input[key]]),
  );
  const client = await db().oAuthClient.create({
    data: {
      tenantId: tenant.id,
      clientId: randomToken(16, 'dyn_'),
      clientSecretHash: clientSecret ? hashSecret(clientSecret) : null,
      name,
      redirectUris,
      grantTypes,
      tokenEndpointAuthMethod: authMethod,
      trusted: false,
      origin: 'dynamic',
      registrationIp: context.ip ?? null,
      metadata,
    },
  });
  await auditOAuth({
    tenantId: tenant.id,
    type: 'admin.change',
    action: 'client.register',
    outcome: 'success',
    clientId: client.clientId,
    request: context.request,
    target: { type: 'oauth_client', id: client.clientId, name },
    attributes: { origin: 'dynamic', token_endpoint_auth_method: authMethod, redirect_uris: redirectUris.join(' ').slice(0, 4000) },
  });
  return {
    client_id: client.clientId,
    client_id_issued_at: Math.floor(client.createdAt.getTime() / 1000),
    ...(clientSecret ? { client_secret: clientSecret, client_secret_expires_at: 0 } : {}),
    client_name: name,
    redirect_uris: redirectUris,
    grant_types: grantTypes,
    response_types: ['code'],
    token_endpoint_auth_method: authMethod,
  };
}

// ---------------------------------------------------------------------------------------------
// Admin-created clients

export interface NewClient {
  name: string;
  redirectUris: string[];
  grantTypes?: GrantType[];
  /** Confidential clients get a secret (shown once) and authenticate at the token endpoint. */
  confidential?: boolean;
  authMethod?: 'client_secret_basic' | 'client_secret_post';
  /** First-party: users are not asked for consent. */
  trusted?: boolean;
  /** Defaults to a random id. */
  clientId?: string;
}

export interface CreatedClient {
  client: ClientSummary;
  /** Only for confidential clients; never stored in clear. */
  clientSecret?: string;
}

const clientIdSchema = z.string().regex(/^[A-Za-z0-9._:-]{3,100}$/, 'client ids are 3-100 of A-Z a-z 0-9 . _ : -');

export async function createClient(input: NewClient, actor: ChangeActor): Promise<CreatedClient> {
  const fail = (message: string) => new UserInputError(message);
  const name = input.name.trim();
  if (!name || name.length > 200) throw fail('name must be 1-200 characters');
  // Administrators are trusted with custom schemes; dangerous ones are still refused.
  checkRedirectUris(input.redirectUris, { customSchemes: 'any' }, fail);
  const grantTypes = checkGrantTypes(input.grantTypes ?? [AUTHORIZATION_CODE_GRANT, REFRESH_TOKEN_GRANT], input.redirectUris, fail);
  if (input.clientId !== undefined && !clientIdSchema.safeParse(input.clientId).success) throw fail('client ids are 3-100 of A-Z a-z 0-9 . _ : -');
  const clientId = input.clientId ?? randomToken(16, 'app_');
  if (await findClient(clientId)) throw fail(`a client with id ${clientId} already exists`);
  const authMethod: OAuthClientAuthMethod = input.confidential ? (input.authMethod ?? 'client_secret_basic') : 'none';
  const clientSecret = input.confidential ? randomToken(32, 'ghs_') : undefined;
  const tenant = await primaryTenant();
  const client = await db().oAuthClient.create({
    data: {
      tenantId: tenant.id,
      clientId,
      clientSecretHash: clientSecret ? hashSecret(clientSecret) : null,
      name,
      redirectUris: input.redirectUris,
      grantTypes,
      tokenEndpointAuthMethod: authMethod,
      trusted: input.trusted ?? false,
      origin: 'admin',
    },
  });
  await auditOAuth({
    tenantId: tenant.id,
    type: 'admin.change',
    action: 'client.create',
    outcome: 'success',
    actor: { userId: actor.user_id, email: actor.email, roles: actor.roles },
    callSource: actor.call_source,
    clientId,
    target: { type: 'oauth_client', id: clientId, name },
    attributes: { trusted: client.trusted, token_endpoint_auth_method: authMethod },
  });
  return { client: summarize(client), clientSecret };
}

/** Disables (or re-enables) a client; its sign-ins stop at their next refresh. */
export async function setClientDisabled(clientId: string, disabled: boolean, actor: ChangeActor): Promise<ClientSummary> {
  const existing = await findClient(clientId);
  if (!existing) throw new UserInputError(`no client with id ${clientId}`);
  const now = new Date();
  const client = await db().$transaction(async (tx) => {
    const updated = await tx.oAuthClient.update({ where: { id: existing.id }, data: { disabledAt: disabled ? now : null } });
    // Disabling ends the client's sign-ins too, so its access tokens stop within the revocation bound.
    if (disabled) {
      await tx.oAuthSession.updateMany({ where: { clientId: existing.id, revokedAt: null }, data: { revokedAt: now, revokedReason: 'client_disabled' } });
    }
    return updated;
  });
  if (disabled) invalidateRevocationCache();
  await auditOAuth({
    tenantId: client.tenantId,
    type: 'admin.change',
    action: disabled ? 'client.disable' : 'client.enable',
    outcome: 'success',
    actor: { userId: actor.user_id, email: actor.email, roles: actor.roles },
    callSource: actor.call_source,
    clientId,
    target: { type: 'oauth_client', id: clientId, name: client.name },
  });
  return summarize(client);
}
