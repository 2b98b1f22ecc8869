import { publishedJwks } from '@/lib/tokens/signing-keys';
import { issuerFor } from '../issuer';
import { authorizationServerMetadata, openIdConfiguration } from '../metadata';
import { withCors } from './cors';

// Short caching: the issuer follows the request origin when GATEHOUSE_PUBLIC_URL is unset.
const CACHE = 'public, max-age=300';

export async function handleAuthorizationServerMetadata(request: Request): Promise<Response> {
  return withCors(Response.json(authorizationServerMetadata(issuerFor(request)), { headers: { 'cache-control': CACHE } }));
}

export async function handleOpenIdConfiguration(request: Request): Promise<Response> {
  return withCors(Response.json(openIdConfiguration(issuerFor(request)), { headers: { 'cache-control': CACHE } }));
}

export async function handleJwks(): Promise<Response> {
  const jwks = await publishedJwks();
  // Shorter than the metadata: a client meeting a new kid after a rotation refetches soon.
  return withCors(Response.json(jwks, { headers: { 'cache-control': 'public, max-age=60', 'content-type': 'application/jwk-set+json' } }));
}
