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
