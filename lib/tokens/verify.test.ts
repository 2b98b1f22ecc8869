import { randomUUID } from 'node:crypto';
import { base64url, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, db } from '@/lib/db/client';
import { configureTestEnvironment, createTestUser, servePublicly } from '@/lib/oauth/test-harness';
import type { UserIdentity } from '@/lib/oauth/identity';
import { AccessTokenError, type AccessTokenFailure } from './errors';
import { decryptPrivateKey } from './key-encryption';
import { anthropicAuthenticationError, bearerChallenge, bearerChallengeResponse, bearerToken } from './responses';
import { setRevocationCacheTtl } from './revocation';
import { signAccessToken } from './sign';
import { activeSigningKey, clearSigningKeyCache, publishedJwks, rotateSigningKey } from './signing-keys';
import { verifyAccessToken } from './verify';

const ISSUER = 'http://gatehouse.test';
const AUDIENCE = `${ISSUER}/v1`;

let user: UserIdentity;

async function sessionFor(identity: UserIdentity): Promise<string> {
  const session = await db().oAuthSession.create({
    data: {
      tenantId: identity.tenantId,
      userId: identity.userId,
      grantType: 'cli',
      scope: '',
      audience: AUDIENCE,
      authTime: new Date(),
      expiresAt: new Date(Date.now() + 3600_000),
    },
  });
  return session.id;
}

async function mint(identity: UserIdentity, overrides: { issuer?: string; audience?: string; ttlSeconds?: number; now?: Date } = {}) {
  return signAccessToken({
    issuer: overrides.issuer ?? ISSUER,
    subject: identity,
    sessionId: await sessionFor(identity),
    clientId: 'test-client',
    audience: overrides.audience ?? AUDIENCE,
    scope: 'openid',
    ttlSeconds: overrides.ttlSeconds ?? 300,
    now: overrides.now,
  });
}

async function refusal(token: string | null, audience = AUDIENCE): Promise<AccessTokenFailure> {
  try {
    await verifyAccessToken(token, { audience });
  } catch (error) {
    if (error instanceof AccessTokenError) return error.reason;
    throw error;
  }
  throw new Error('token was accepted');
}

/** A token carrying our claims and header shape, signed by a key Gatehouse never saw. */
async function foreignToken(kid: string, alg: 'ES256' | 'RS256' = 'ES256'): Promise<string> {
  const { privateKey } = await generateKeyPair(alg);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: user.userId, aud: AUDIENCE, iss: ISSUER, iat: now, exp: now + 300, jti: randomUUID(), client_id: 'x', scope: '', sid: randomUUID(), email: user.email, tenant: user.tenantId, department: null, roles: [] })
    .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
    .sign(privateKey);
}

beforeAll(async () => {
  configureTestEnvironment();
  servePublicly(ISSUER);
  user = await createTestUser(['member'], 'research');
});

beforeEach(() => setRevocationCacheTtl(0));

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

describe('verifyAccessToken', () => {
  it('accepts a token it signed and returns the principal', async () => {
    const minted = await mint(user);
    const principal = await verifyAccessToken(minted.token, { audience: AUDIENCE });
    expect(principal).toMatchObject({
      userId: user.userId,
      email: user.email,
      tenantId: user.tenantId,
      department: 'research',
      roles: ['member'],
      clientId: 'test-client',
      audience: AUDIENCE,
      scopes: ['openid'],
      issuer: ISSUER,
      tokenId: minted.tokenId,
    });
    expect(principal.expiresAt.getTime()).toBe(minted.expiresAt.getTime());
  });

  it('refuses missing and malformed tokens', async () => {
    expect(await refusal(null)).toBe('missing');
    expect(await refusal('')).toBe('missing');
    expect(await refusal('not-a-jwt')).toBe('malformed');
    expect(await refusal('a.b.c')).toBe('malformed');
    const minted = await mint(user);
    const [header, payload] = minted.token.split('.');
    expect(await refusal(`${header}.${payload}.`)).toBe('bad_signature');
  });

  it('refuses a token for another audience', async () => {
    const minted = await mint(user, { audience: `${ISSUER}/mcp/github` });
    expect(await refusal(minted.token)).toBe('wrong_audience');
    await expect(verifyAccessToken(minted.token, { audience: [AUDIENCE, `${ISSUER}/mcp/github`] })).resolves.toBeTruthy();
    await expect(verifyAccessToken(minted.token, { audience: { origin: ISSUER } })).resolves.toBeTruthy();
    await expect(verifyAccessToken(minted.token, { audience: `${ISSUER}/mcp/github`, issuer: 'https://other.example' })).rejects.toMatchObject({ reason: 'wrong_issuer' });
  });

  it('refuses a token another issuer signed with our key, even for the audience asked for', async () => {
    // What a Host-following issuer used to mint: iss and aud naming an origin the caller chose.
    const evil = await mint(user, { issuer: 'http://evil.example', audience: 'http://evil.example/v1' });
    expect(await refusal(evil.token, 'http://evil.example/v1')).toBe('wrong_issuer');
    const foreignIssuer = await mint(user, { issuer: 'http://evil.example', audience: AUDIENCE });
    expect(await refusal(foreignIssuer.token)).toBe('wrong_issuer');
    // Only the configured public URL counts.
    servePublicly('http://evil.example');
    try {
      await expect(verifyAccessToken(evil.token, { audience: 'http://evil.example/v1' })).resolves.toBeTruthy();
    } finally {
      servePublicly(ISSUER);
    }
  });

  it('refuses expired tokens', async () => {
    const minted = await mint(user, { ttlSeconds: 60, now: new Date(Date.now() - 3600_000) });
    expect(await refusal(minted.token)).toBe('expired');
  });

  it('refuses a token signed by an unknown key, and a forged signature under a known kid', async () => {
    expect(await refusal(await foreignToken('no-such-key'))).toBe('unknown_key');
    const { kid } = await activeSigningKey();
    expect(await refusal(await foreignToken(kid))).toBe('bad_signature');
  });

  it('refuses alg none and other algorithms before touching a key', async () => {
    const { kid } = await activeSigningKey();
    const now = Math.floor(Date.now() / 1000);
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid }));
    const payload = base64url.encode(JSON.stringify({ sub: user.userId, aud: AUDIENCE, iat: now, exp: now + 60 }));
    expect(await refusal(`${header}.${payload}.`)).toBe('alg_not_allowed');
    expect(await refusal(await foreignToken(kid, 'RS256'))).toBe('alg_not_allowed');
    const hsHeader = base64url.encode(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid }));
    expect(await refusal(`${hsHeader}.${payload}.c2ln`)).toBe('alg_not_allowed');
  });

  it('refuses an id_token presented as an access token', async () => {
    const { kid, privateKey } = await activeSigningKey();
    const idToken = await new SignJWT({ sub: user.userId }).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' }).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(privateKey);
    expect(await refusal(idToken)).toBe('malformed');
  });

  it('refuses tokens of a revoked session', async () => {
    const minted = await mint(user);
    const principal = await verifyAccessToken(minted.token, { audience: AUDIENCE });
    await db().oAuthSession.update({ where: { id: principal.sessionId }, data: { revokedAt: new Date(), revokedReason: 'admin_revoked' } });
    expect(await refusal(minted.token)).toBe('revoked');
  });

  it('refuses tokens of a user disabled elsewhere once the change reaches this process', async () => {
    const victim = await createTestUser();
    const minted = await mint(victim);
    setRevocationCacheTtl(5_000);
    await verifyAccessToken(minted.token, { audience: AUDIENCE }); // loads the view
    // Disabled without telling this process's cache: as another process would.
    await db().user.update({ where: { id: victim.userId }, data: { status: 'disabled' } });
    await vi.waitFor(async () => expect(await refusal(minted.token)).toBe('user_disabled'), { timeout: 10_000, interval: 20 });
  });
});

describe('signing keys', () => {
  it('stores private keys encrypted under GATEHOUSE_SECRET', async () => {
    const { kid } = await activeSigningKey();
    const row = await db().signingKey.findUniqueOrThrow({ where: { kid } });
    expect(row.encryptedPrivateKey.startsWith('v1.')).toBe(true);
    expect(row.encryptedPrivateKey).not.toContain('"d"');
    expect(JSON.parse(decryptPrivateKey(row.encryptedPrivateKey, process.env.GATEHOUSE_SECRET!, kid))).toHaveProperty('d');
    expect(() => decryptPrivateKey(row.encryptedPrivateKey, 'another-secret-of-at-least-32-chars!!', kid)).toThrow(/cannot be decrypted/);
    expect(() => decryptPrivateKey(row.encryptedPrivateKey, process.env.GATEHOUSE_SECRET!, 'another-kid')).toThrow(/cannot be decrypted/);
    // The published key is public only.
    const jwks = await publishedJwks();
    const published = jwks.keys.find((k) => k.kid === kid);
    expect(published).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(published).not.toHaveProperty('d');
  });

  it('keeps verifying tokens of the old key after a rotation, and signs with the new one', async () => {
    const before = await mint(user);
    const oldKid = (await activeSigningKey()).kid;
    const rotated = await rotateSigningKey();
    expect(rotated.kid).not.toBe(oldKid);
    expect(rotated.retired).toContain(oldKid);
    clearSigningKeyCache();
    await expect(verifyAccessToken(before.token, { audience: AUDIENCE })).resolves.toMatchObject({ userId: user.userId });
    const after = await mint(user);
    // Normally rotated.kid; a test file running alongside may have rotated once more since.
    expect(JSON.parse(Buffer.from(after.token.split('.')[0]!, 'base64url').toString()).kid).not.toBe(oldKid);
    await expect(verifyAccessToken(after.token, { audience: AUDIENCE })).resolves.toBeTruthy();
    const kids = (await publishedJwks()).keys.map((k) => k.kid);
    expect(kids).toEqual(expect.arrayContaining([oldKid, rotated.kid]));
  });

  it('stops publishing and accepting a retired key after its verification window', async () => {
    // A key retired long ago, made here so that no other test process can be signing with it.
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = `expired-${randomUUID()}`;
    await db().signingKey.create({
      data: {
        kid,
        algorithm: 'ES256',
        publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' },
        encryptedPrivateKey: 'v1.unused',
        status: 'retired',
        retiredAt: new Date(Date.now() - 2 * 86_400_000),
        verifyUntil: new Date(Date.now() - 1000),
      },
    });
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ sub: user.userId, aud: AUDIENCE, iss: ISSUER, iat: now, exp: now + 300, jti: randomUUID(), client_id: 'x', scope: '', sid: randomUUID(), email: user.email, tenant: user.tenantId, department: null, roles: [] })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .sign(privateKey);
    expect((await publishedJwks()).keys.map((k) => k.kid)).not.toContain(kid);
    expect(await refusal(token)).toBe('unknown_key');
  });
});

describe('refusal responses', () => {
  it('answers /v1/* with the Anthropic envelope and x-should-retry: false', async () => {
    const response = anthropicAuthenticationError(new AccessTokenError('expired'));
    expect(response.status).toBe(401);
    expect(response.headers.get('x-should-retry')).toBe('false');
    expect(await response.json()).toEqual({ type: 'error', error: { type: 'authentication_error', message: 'the access token has expired; sign in again' } });
  });

  it('answers other resources with an RFC 6750 challenge naming the resource metadata', async () => {
    const response = bearerChallengeResponse(new AccessTokenError('revoked'), { resourceMetadata: 'https://gw.example/.well-known/oauth-protected-resource/mcp' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer error="invalid_token", error_description="this sign-in has been revoked; sign in again", resource_metadata="https://gw.example/.well-known/oauth-protected-resource/mcp"',
    );
    expect(bearerChallenge(new AccessTokenError('missing'), { resourceMetadata: 'https://x/m' })).toBe('Bearer resource_metadata="https://x/m"');
    expect(bearerChallenge(new AccessTokenError('malformed', 'say "hi" \\'))).toBe('Bearer error="invalid_token", error_description="say \\"hi\\" \\\\"');
  });

  it('reads only well-formed Bearer headers', () => {
    const with_ = (value: string) => new Request('http://x/', { headers: { authorization: value } });
    expect(bearerToken(with_('Bearer abc.def.ghi'))).toBe('abc.def.ghi');
    expect(bearerToken(with_('bearer abc'))).toBe('abc');
    expect(bearerToken(with_('Basic abc'))).toBeNull();
    expect(bearerToken(with_('Bearer a b'))).toBeNull();
    expect(bearerToken(new Request('http://x/'))).toBeNull();
  });
});

