import type { OAuthClient } from '@/lib/generated/prisma/client';
import { ClientMetadataDocumentError, lookupClient } from './client-metadata-document';
import { countClientMetadataRefusal } from './audit';
import { OAuthError } from './errors';
import { constantTimeEqual, hashSecret } from './secrets';

export interface ClientCredentials {
  clientId?: string;
  clientSecret?: string;
  /** How the secret arrived, if one did. */
  method: 'client_secret_basic' | 'client_secret_post' | 'none';
}

function decodeBasicPart(value: string): string {
  // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw new OAuthError('invalid_client', 'malformed Basic credentials', { headers: { 'www-authenticate': 'Basic realm="gatehouse"' } });
  }
}

/** Client credentials from the Authorization header or the form, whichever the client used. */
export function readClientCredentials(request: Request, form: URLSearchParams): ClientCredentials {
  const formClientId = form.get('client_id') || undefined;
  const formSecret = form.get('client_secret') || undefined;
  const header = request.headers.get('authorization');
  const basic = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (header && /^Basic\b/i.test(header) && !basic) {
    throw new OAuthError('invalid_client', 'malformed Basic credentials', { headers: { 'www-authenticate': 'Basic realm="gatehouse"' } });
  }
  if (basic) {
    if (formSecret) throw new OAuthError('invalid_request', 'use one client authentication method, not several');
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthError('invalid_client', 'malformed Basic credentials', { headers: { 'www-authenticate': 'Basic realm="gatehouse"' } });
    const clientId = decodeBasicPart(decoded.slice(0, colon));
    if (formClientId && formClientId !== clientId) throw new OAuthError('invalid_request', 'client_id in the form differs from the authenticated client');
    return { clientId, clientSecret: decodeBasicPart(decoded.slice(colon + 1)), method: 'client_secret_basic' };
  }
  if (formSecret) return { clientId: formClientId, clientSecret: formSecret, method: 'client_secret_post' };
  return { clientId: formClientId, method: 'none' };
}

/**
 * The client making the request, or null when none was named (Claude Code's device flow and
 * refresh send no client_id). Confidential clients must prove their secret.
 */
export async function authenticateClient(credentials: ClientCredentials, request?: Request): Promise<OAuthClient | null> {
  if (!credentials.clientId) {
    if (credentials.clientSecret) throw new OAuthError('invalid_client', 'client_secret without client_id');
    return null;
  }
  const challenge = credentials.method === 'client_secret_basic' ? { 'www-authenticate': 'Basic realm="gatehouse"' } : undefined;
  let client: OAuthClient | null;
  try {
    client = await lookupClient(credentials.clientId, request);
  } catch (error) {
    if (!(error instanceof ClientMetadataDocumentError)) throw error;
    if (request) await countClientMetadataRefusal(request, credentials.clientId, error);
    throw new OAuthError('invalid_client', `client_id ${error.message}`);
  }
  if (!client || client.disabledAt) throw new OAuthError('invalid_client', 'unknown or disabled client', { headers: challenge });
  if (client.tokenEndpointAuthMethod === 'none') return client; // public: nothing to prove
  if (!credentials.clientSecret || !client.clientSecretHash || !constantTimeEqual(hashSecret(credentials.clientSecret), client.clientSecretHash)) {
    throw new OAuthError('invalid_client', 'client authentication failed', { headers: challenge });
  }
  return client;
}
