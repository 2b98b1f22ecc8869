import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, pool } from '@/lib/db/client';
import { setRevocationCacheTtl } from '@/lib/tokens/revocation';
import { verifyAccessToken } from '@/lib/tokens/verify';
import { createClient, listClients } from './clients';
import type { UserIdentity } from './identity';
import { configureTestEnvironment, cookiesFrom, createTestUser, hiddenInput, postForm, sessionCookie, startOAuthServer, type TestServer } from './test-harness';

let server: TestServer;
let user: UserIdentity;
const insecure = { execute: [client.allowInsecureRequests] };

/** The browser part: follow the authorization URL with the user's session, approving consent if asked. */
async function authorizeInBrowser(url: URL, options: { expectConsent: boolean }): Promise<URL> {
  const cookie = await sessionCookie(user);
  const first = await fetch(url, { headers: { cookie }, redirect: 'manual' });
  if (!options.expectConsent) {
    expect(first.status).toBe(302);
    return new URL(first.headers.get('location')!);
  }
  expect(first.status).toBe(200);
  const html = await first.text();
  expect(html).toContain('Allow');
  expect(first.headers.get('x-frame-options')).toBe('DENY');
  const approve = await postForm(url.toString(), { csrf: hiddenInput(html, 'csrf')!, decision: 'approve' }, { cookie: `${cookie}; ${cookiesFrom(first)}` });
  expect(approve.status).toBe(302);
  return new URL(approve.headers.get('location')!);
}

beforeAll(async () => {
  configureTestEnvironment();
  setRevocationCacheTtl(0);
  server = await startOAuthServer();
  user = await createTestUser(['member', 'author']);
});

afterAll(async () => {
  await server.close();
  await closeAuditWriter();
  await closeDatabase();
});

describe('OpenID Connect with openid-client', () => {
  it('serves both discovery documents and the JWKS', async () => {
    const oauth = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    const oidc = (await (await fetch(`${server.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(oauth).toMatchObject({ issuer: server.url, code_challenge_methods_supported: ['S256'], authorization_response_iss_parameter_supported: true });
    expect(oidc).toMatchObject({ ...oauth, id_token_signing_alg_values_supported: ['ES256'], subject_types_supported: ['public'] });
    const jwks = (await (await fetch(`${server.url}/.well-known/jwks.json`)).json()) as { keys: Array<Record<string, string>> };
    expect(jwks.keys.length).toBeGreaterThan(0);
    expect(jwks.keys.every((k) => k.kty === 'EC' && k.alg === 'ES256' && !('d' in k))).toBe(true);
    const preflight = await fetch(`${server.url}/oauth/token`, { method: 'OPTIONS' });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('runs registration → authorization code + PKCE with consent → tokens → userinfo → refresh → revoke', async () => {
    const redirectUri = 'http://127.0.0.1:43123/callback';
    const config = await client.dynamicClientRegistration(
      new URL(server.url),
      { redirect_uris: [redirectUri], token_endpoint_auth_method: 'none', client_name: 'Inspector', grant_types: ['authorization_code', 'refresh_token'] },
      client.None(),
      insecure,
    );
    const clientId = config.clientMetadata().client_id;
    expect((await listClients()).find((c) => c.clientId === clientId)).toMatchObject({ origin: 'dynamic', name: 'Inspector', confidential: false });

    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid email profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const callback = await authorizeInBrowser(authorizationUrl, { expectConsent: true });
    expect(callback.origin + callback.pathname).toBe(redirectUri);
    expect(callback.searchParams.get('iss')).toBe(server.url);

    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ iss: server.url, sub: user.userId, aud: clientId, email: user.email, name: user.name, nonce });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.refresh_token).toBeTruthy();

    const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(userinfo).toMatchObject({ sub: user.userId, email: user.email, name: user.name });

    const principal = await verifyAccessToken(tokens.access_token, { audience: `${server.url}/v1` });
    expect(principal).toMatchObject({ userId: user.userId, clientId, roles: ['author', 'member'], scopes: ['openid', 'email', 'profile'] });

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    await expect(verifyAccessToken(refreshed.access_token, { audience: `${server.url}/v1` })).resolves.toMatchObject({ sessionId: principal.sessionId });

    await client.tokenRevocation(config, refreshed.refresh_token!);
    await expect(client.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(verifyAccessToken(refreshed.access_token, { audience: `${server.url}/v1` })).rejects.toMatchObject({ reason: 'revoked' });

    // A second sign-in reuses the recorded consent: straight back to the client.
    const again = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid email',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    expect((await authorizeInBrowser(again, { expectConsent: false })).searchParams.get('code')).toBeTruthy();
  });

  it('skips consent for a trusted confidential client authenticating with client_secret_basic', async () => {
    const redirectUri = 'https://portal.example.com/oauth/callback';
    const created = await createClient({ name: 'Intranet portal', redirectUris: [redirectUri], confidential: true, trusted: true }, { call_source: 'cli' });
    const config = await client.discovery(new URL(server.url), created.client.clientId, created.clientSecret, client.ClientSecretBasic(created.clientSecret), insecure);
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'xyz',
    });
    const callback = await authorizeInBrowser(url, { expectConsent: false });
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'xyz', idTokenExpected: true });
    expect(tokens.claims()?.sub).toBe(user.userId);

    // The same client with a wrong secret is refused with 401 invalid_client and a Basic challenge.
    const wrong = await client.discovery(new URL(server.url), created.client.clientId, 'wrong', client.ClientSecretBasic('wrong'), insecure);
    await expect(client.refreshTokenGrant(wrong, tokens.refresh_token!)).rejects.toMatchObject({ status: 401 });
    const raw = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, {
      authorization: `Basic ${Buffer.from(`${created.client.clientId}:wrong`).toString('base64')}`,
    });
    expect(raw.status).toBe(401);
    expect(raw.headers.get('www-authenticate')).toBe('Basic realm="gatehouse"');
    expect(await raw.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('binds the token to an RFC 8707 resource, and the verifier enforces it', async () => {
    const redirectUri = 'http://localhost:50000/cb';
    const config = await client.dynamicClientRegistration(new URL(server.url), { redirect_uris: [redirectUri], token_endpoint_auth_method: 'none' }, client.None(), insecure);
    const resource = `${server.url}/mcp/github`;
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      // RFC 8252 §7.3: a loopback redirect may use any port.
      redirect_uri: 'http://localhost:61234/cb',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      resource,
    });
    const callback = await authorizeInBrowser(url, { expectConsent: true });
    expect(callback.port).toBe('61234');
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier }, { resource });
    await expect(verifyAccessToken(tokens.access_token, { audience: resource })).resolves.toMatchObject({ audience: resource });
    await expect(verifyAccessToken(tokens.access_token, { audience: `${server.url}/v1` })).rejects.toMatchObject({ reason: 'wrong_audience' });

    const foreign = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      resource: 'https://elsewhere.example/api',
    });
    const refused = await authorizeInBrowser(foreign, { expectConsent: false });
    expect(refused.searchParams.get('error')).toBe('invalid_target');
  });

  it('records issuance, consent and registration in the audit trail', async () => {
    const { rows } = await pool().query<{ action: string }>(
      `SELECT DISTINCT action FROM audit_events WHERE actor_user_id = $1 OR event->>'action' = 'client.register'`,
      [user.userId],
    );
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['client.register', 'consent.grant', 'token.issue', 'token.refresh', 'session.revoke']));
  });
});
