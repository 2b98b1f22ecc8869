import { publishedJwks } from '@/lib/tokens/signing-keys';
import { configuredIssuer } from '../issuer';
import { authorizationServerMetadata, openIdConfiguration } from '../metadata';
import { withCors } from './cors';

/**
 * The metadata documents are built from the configured issuer alone, so no request header can
 * change them. They are still never stored by any cache: `Vary: Host` would add nothing (the
 * host is already part of every cache key, and it is not the header a poisoned cache would
 * miss), while `no-store` guarantees no cache anywhere keeps serving an issuer other than the one
 * configured now, for example just after GATEHOUSE_PUBLIC_URL changed. Building them costs no
 * I/O, and clients fetch them once per sign-in.
 */
const METADATA_CACHE = 'no-store';

export async function handleAuthorizationServerMetadata(): Promise<Response> {
  return withCors(Response.json(authorizationServerMetadata(configuredIssuer()), { headers: { 'cache-control': METADATA_CACHE } }));
}

export async function handleOpenIdConfiguration(): Promise<Response> {
  return withCors(Response.json(openIdConfiguration(configuredIssuer()), { headers: { 'cache-control': METADATA_CACHE } }));
}

export async function handleJwks(): Promise<Response> {
  const jwks = await publishedJwks();
  // The key set is the same whatever the host (keys come from the database), so it may be shared;
  // shorter than a typical metadata cache so a client meeting a new kid after a rotation refetches soon.
  return withCors(Response.json(jwks, { headers: { 'cache-control': 'public, max-age=60', 'content-type': 'application/jwk-set+json' } }));
}
