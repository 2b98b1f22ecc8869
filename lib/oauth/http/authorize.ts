import { signInPath } from '@/lib/auth/callback-url';
import type { OAuthClient } from '@/lib/generated/prisma/client';
import { auditOAuth, countClientMetadataRefusal } from '../audit';
import { signedInUser } from '../browser-session';
import { clientAllowsGrant } from '../clients';
import { ClientMetadataDocumentError, lookupClient } from '../client-metadata-document';
import { createAuthorizationCode } from '../codes';
import { hasConsent, recordConsent } from '../consent';
import { checkCsrf, csrfTokenFor } from '../csrf';
import { OAuthError } from '../errors';
import { AUTHORIZATION_CODE_GRANT } from '../grants';
import { consentPage } from '../html/consent';
import { errorPage } from '../html/layout';
import type { UserIdentity } from '../identity';
import { configuredIssuer } from '../issuer';
import { isValidS256Challenge } from '../pkce';
import { matchRedirectUri } from '../redirect-uris';
import { resolveAudience } from '../resource';
import { formatScope, parseScope } from '../scopes';
import { readForm, single } from './body';

/** A validated authorization request. */
interface AuthorizationRequest {
  client: OAuthClient;
  /** Where the response goes (the requested URI, or the client's only one). */
  redirectUri: string;
  /** The redirect_uri parameter as sent, or null; the token request must repeat it. */
  requestedRedirectUri: string | null;
  state: string | undefined;
  codeChallenge: string;
  scopes: string[];
  audience: string;
  nonce: string | null;
  prompts: Set<string>;
}

const MAX_STATE_LENGTH = 2000;
const MAX_NONCE_LENGTH = 500;

/** Why the request cannot even be answered by redirect: shown to the user instead. */
class UntrustedRedirect extends Error {}

/**
 * Step one: the client and redirect URI. Until both are known good, nothing may be sent to the
 * redirect URI (RFC 6749 §4.1.2.1), or the endpoint would be an open redirector.
 */
async function identifyClient(params: URLSearchParams, request: Request): Promise<{ client: OAuthClient; redirectUri: string; requested: string | null }> {
  const first = (name: string) => {
    const values = params.getAll(name);
    if (values.length > 1) throw new UntrustedRedirect(`The ${name} parameter was sent more than once.`);
    return values[0] || undefined;
  };
  const clientId = first('client_id');
  if (!clientId) throw new UntrustedRedirect('The request does not say which application is asking (client_id is missing).');
  let client: OAuthClient | null;
  try {
    client = await lookupClient(clientId, request);
  } catch (error) {
    if (!(error instanceof ClientMetadataDocumentError)) throw error;
    await countClientMetadataRefusal(request, clientId, error);
    throw new UntrustedRedirect(`The application identified itself by ${clientId.slice(0, 200)}, but Gatehouse cannot use it: ${error.message}.`);
  }
  if (!client || client.disabledAt) throw new UntrustedRedirect('The application asking to sign you in is not registered with Gatehouse, or has been disabled.');
  const requested = first('redirect_uri') ?? null;
  if (requested === null) {
    if (client.redirectUris.length !== 1) throw new UntrustedRedirect('The request does not say where to return to (redirect_uri is missing).');
    return { client, redirectUri: client.redirectUris[0]!, requested };
  }
  const matched = matchRedirectUri(client.redirectUris, requested);
  if (!matched) throw new UntrustedRedirect('The return address in the request is not one registered for this application, so Gatehouse will not send you there.');
  return { client, redirectUri: matched, requested };
}

/** Step two: everything else; failures are reported to the (now trusted) redirect URI. */
function validateRequest(params: URLSearchParams, issuer: string, client: OAuthClient): Omit<AuthorizationRequest, 'client' | 'redirectUri' | 'requestedRedirectUri' | 'state'> {
  const responseType = single(params, 'response_type');
  if (responseType !== 'code') throw new OAuthError('unsupported_response_type', 'only response_type=code is supported');
  if (!clientAllowsGrant(client, AUTHORIZATION_CODE_GRANT)) throw new OAuthError('unauthorized_client', 'this client may not use the authorization code grant');
  const codeChallenge = single(params, 'code_challenge');
  const method = single(params, 'code_challenge_method');
  if (!codeChallenge) throw new OAuthError('invalid_request', 'PKCE is required: send code_challenge with code_challenge_method=S256');
  if (method !== 'S256') throw new OAuthError('invalid_request', 'code_challenge_method must be S256 (plain is not accepted)');
  if (!isValidS256Challenge(codeChallenge)) throw new OAuthError('invalid_request', 'code_challenge must be a base64url SHA-256 value (43 characters)');
  const scopes = parseScope(single(params, 'scope'));
  const audience = resolveAudience(params.getAll('resource'), issuer);
  const nonce = single(params, 'nonce') ?? null;
  if (nonce && nonce.length > MAX_NONCE_LENGTH) throw new OAuthError('invalid_request', 'nonce is too long');
  const prompts = new Set((single(params, 'prompt') ?? '').split(' ').filter(Boolean));
  if (prompts.has('none') && prompts.size > 1) throw new OAuthError('invalid_request', 'prompt=none cannot be combined with other prompts');
  return { codeChallenge, scopes, audience, nonce, prompts };
}

function redirectWith(redirectUri: string, values: Record<string, string | undefined>): Response {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(values)) if (value !== undefined) url.searchParams.append(name, value);
  return new Response(null, { status: 302, headers: { location: url.toString(), 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' } });
}

function errorRedirect(request: AuthorizationRequest | { redirectUri: string; state: string | undefined }, issuer: string, error: OAuthError): Response {
  return redirectWith(request.redirectUri, { error: error.code, error_description: error.description, state: request.state, iss: issuer });
}

async function issueCode(request: AuthorizationRequest, user: UserIdentity, issuer: string): Promise<Response> {
  const code = await createAuthorizationCode({
    client: request.client,
    userId: user.userId,
    redirectUri: request.requestedRedirectUri,
    codeChallenge: request.codeChallenge,
    scope: formatScope(request.scopes),
    audience: request.audience,
    nonce: request.nonce,
    authTime: new Date(),
  });
  // RFC 9207: `iss` lets the client check which server answered (mix-up attacks).
  return redirectWith(request.redirectUri, { code, state: request.state, iss: issuer });
}

async function parseRequest(request: Request, url: URL, issuer: string): Promise<AuthorizationRequest | Response> {
  let identified;
  try {
    identified = await identifyClient(url.searchParams, request);
  } catch (error) {
    if (error instanceof UntrustedRedirect) return errorPage('Cannot sign in to this application', error.message);
    throw error;
  }
  const rawState = url.searchParams.get('state') ?? undefined;
  const state = rawState && rawState.length <= MAX_STATE_LENGTH ? rawState : undefined;
  const base = { client: identified.client, redirectUri: identified.redirectUri, requestedRedirectUri: identified.requested, state };
  if (rawState && !state) return errorRedirect(base, issuer, new OAuthError('invalid_request', 'state is too long'));
  try {
    return { ...base, ...validateRequest(url.searchParams, issuer, identified.client) };
  } catch (error) {
    if (error instanceof OAuthError) return errorRedirect(base, issuer, error);
    throw error;
  }
}

/**
 * GET /oauth/authorize (and the consent form's POST back to the same URL): authorization code
 * with mandatory PKCE S256, exact redirect URI matching, consent for third-party clients.
 */
export async function handleAuthorize(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const issuer = configuredIssuer();
  const parsed = await parseRequest(request, url, issuer);
  if (parsed instanceof Response) return parsed;

  const user = await signedInUser(request);
  if (!user) {
    if (parsed.prompts.has('none')) return errorRedirect(parsed, issuer, new OAuthError('login_required', 'the user is not signed in'));
    return new Response(null, { status: 302, headers: { location: signInPath(`${url.pathname}${url.search}`), 'cache-control': 'no-store' } });
  }

  if (request.method === 'POST') {
    const form = await readForm(request).catch(() => new URLSearchParams());
    if (!(await checkCsrf(request, form.get('csrf') ?? undefined, user.userId, issuer))) {
      return errorPage('This form has expired', 'Go back to the application and start signing in again.', 403);
    }
    const approved = form.get('decision') === 'approve';
    await auditOAuth({
      tenantId: user.tenantId,
      type: 'auth.sign_in',
      action: approved ? 'consent.grant' : 'consent.deny',
      outcome: approved ? 'success' : 'denied',
      actor: { userId: user.userId, email: user.email, department: user.department, roles: user.roles },
      clientId: parsed.client.clientId,
      request,
      attributes: { scope: formatScope(parsed.scopes), audience: parsed.audience },
    });
    if (!approved) return errorRedirect(parsed, issuer, new OAuthError('access_denied', 'the user denied the request'));
    await recordConsent(user.userId, parsed.client.id, parsed.scopes);
    return issueCode(parsed, user, issuer);
  }

  const needsConsent = !parsed.client.trusted && (parsed.prompts.has('consent') || !(await hasConsent(user.userId, parsed.client.id, parsed.scopes)));
  if (!needsConsent) return issueCode(parsed, user, issuer);
  if (parsed.prompts.has('none')) return errorRedirect(parsed, issuer, new OAuthError('consent_required', 'the user has not approved this application'));
  const csrf = await csrfTokenFor(request, user.userId, issuer.startsWith('https://'));
  return consentPage({
    clientName: parsed.client.name,
    unverified: parsed.client.origin !== 'admin',
    describedAt: parsed.client.origin === 'metadata_document' ? parsed.client.clientId : undefined,
    scopes: parsed.scopes,
    audience: parsed.audience,
    redirectUri: parsed.redirectUri,
    userEmail: user.email,
    formAction: `${url.pathname}${url.search}`,
    csrfToken: csrf.token,
    setCookie: csrf.setCookie,
  });
}
