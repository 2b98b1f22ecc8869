import { openSealedSecret, sealSecret } from '@/lib/platform/seal';
import { installationSecret } from '@/lib/tokens/secret';

/**
 * Upstream credentials at rest: sealed under a key of their own, bound to the server's id (a
 * sealed value copied onto another server does not open there).
 */
const STATIC_SECRET = 'mcp-upstream-secret';
const OAUTH_CLIENT_SECRET = 'mcp-upstream-oauth-client-secret';

export async function sealUpstreamSecret(plaintext: string, serverId: string): Promise<string> {
  return sealSecret(plaintext, await installationSecret(), STATIC_SECRET, serverId);
}

export async function openUpstreamSecret(sealed: string, serverId: string): Promise<string> {
  return openSealedSecret(sealed, await installationSecret(), STATIC_SECRET, serverId);
}

export async function sealOAuthClientSecret(plaintext: string, serverId: string): Promise<string> {
  return sealSecret(plaintext, await installationSecret(), OAUTH_CLIENT_SECRET, serverId);
}

export async function openOAuthClientSecret(sealed: string, serverId: string): Promise<string> {
  return openSealedSecret(sealed, await installationSecret(), OAUTH_CLIENT_SECRET, serverId);
}

/** The header value a static secret is sent as: `Bearer <secret>` in Authorization, the secret itself in any other header. */
export function secretHeaderValue(header: string, secret: string): string {
  return header.toLowerCase() === 'authorization' ? `Bearer ${secret}` : secret;
}

// oauth_user servers (lib/mcp/upstream-oauth): a person's tokens, bound to (server, user); the
// secret of a client Gatehouse registered itself, bound to the server; a PKCE verifier waiting
// for its callback, bound to its state's hash.
const USER_GRANT = 'mcp-upstream-user-grant';
const REGISTERED_CLIENT_SECRET = 'mcp-upstream-registered-client-secret';
const PKCE_VERIFIER = 'mcp-upstream-pkce-verifier';

export async function sealUserGrant(plaintext: string, serverId: string, userId: string): Promise<string> {
  return sealSecret(plaintext, await installationSecret(), USER_GRANT, `${serverId}/${userId}`);
}

export async function openUserGrant(sealed: string, serverId: string, userId: string): Promise<string> {
  return openSealedSecret(sealed, await installationSecret(), USER_GRANT, `${serverId}/${userId}`);
}

export async function sealRegisteredClientSecret(plaintext: string, serverId: string): Promise<string> {
  return sealSecret(plaintext, await installationSecret(), REGISTERED_CLIENT_SECRET, serverId);
}

export async function openRegisteredClientSecret(sealed: string, serverId: string): Promise<string> {
  return openSealedSecret(sealed, await installationSecret(), REGISTERED_CLIENT_SECRET, serverId);
}

export async function sealPkceVerifier(plaintext: string, stateHash: string): Promise<string> {
  return sealSecret(plaintext, await installationSecret(), PKCE_VERIFIER, stateHash);
}

export async function openPkceVerifier(sealed: string, stateHash: string): Promise<string> {
  return openSealedSecret(sealed, await installationSecret(), PKCE_VERIFIER, stateHash);
}
