import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, db, pool } from '@/lib/db/client';
import { setRevocationCacheTtl } from '@/lib/tokens/revocation';
import { verifyAccessToken } from '@/lib/tokens/verify';
import { revokeUser } from '@/lib/users/revoke';
import type { UserIdentity } from './identity';
import { s256 } from './pkce';
import { hashSecret, randomToken } from './secrets';
import { configureTestEnvironment, cookiesFrom, createTestUser, hiddenInput, postForm, randomTestIp, sessionCookie, startOAuthServer, type TestServer } from './test-harness';

const REDIRECT_URI = 'http://127.0.0.1:43123/callback';

let server: TestServer;
let user: UserIdentity;

interface TokenBody {
  access_token: string;
  refresh_token: string;
  token_type: string;
  error?: string;
}

async function register(body: Record<string, unknown>, ip = randomTestIp()): Promise<Response> {
  return fetch(`${server.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip }, body: JSON.stringify(body) });
}

async function publicClient(): Promise<string> {
  const response = await register({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', client_name: 'Attack target' });
  expect(response.status).toBe(201);
  return ((await response.json()) as { client_id: string }).client_id;
}

function authorizeUrl(params: Record<string, string>): string {
  return `${server.url}/oauth/authorize?${new URLSearchParams(params).toString()}`;
}

async function asUser(url: string, who: UserIdentity = user): Promise<Response> {
  return fetch(url, { headers: { cookie: await sessionCookie(who) }, redirect: 'manual' });
}

/** A code for `clientId` with consent approved; returns the code and the verifier. */
async function obtainCode(clientId: string, who: UserIdentity = user): Promise<{ code: string; verifier: string }> {
  const verifier = randomToken(32);
  const url = authorizeUrl({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT_URI, code_challenge: s256(verifier), code_challenge_method: 'S256', state: 's1' });
  const cookie = await sessionCookie(who);
  let response = await fetch(url, { headers: { cookie }, redirect: 'manual' });
  if (response.status === 200) {
    const html = await response.text();
    response = await postForm(url, { csrf: hiddenInput(html, 'csrf')!, decision: 'approve' }, { cookie: `${cookie}; ${cookiesFrom(response)}` });
  }
  expect(response.status).toBe(302);
  const code = new URL(response.headers.get('location')!).searchParams.get('code');
  expect(code).toBeTruthy();
  return { code: code!, verifier };
}

function exchange(clientId: string, code: string, verifier: string, extra: Record<string, string> = {}): Promise<Response> {
  return postForm(`${server.url}/oauth/token`, { grant_type: 'authorization_code', client_id: clientId, code, code_verifier: verifier, redirect_uri: REDIRECT_URI, ...extra });
}

function refresh(clientId: string, refreshToken: string): Promise<Response> {
  return postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', client_id: clientId, refresh_token: refreshToken });
}

async function signIn(clientId: string, who: UserIdentity = user): Promise<TokenBody> {
  const { code, verifier } = await obtainCode(clientId, who);
  const response = await exchange(clientId, code, verifier);
  expect(response.status).toBe(200);
  return (await response.json()) as TokenBody;
}

async function oauthError(response: Response): Promise<string | undefined> {
  return ((await response.json()) as { error?: string }).error;
}

beforeAll(async () => {
  configureTestEnvironment();
  server = await startOAuthServer();
  user = await createTestUser();
});

beforeEach(() => setRevocationCacheTtl(0));

afterEach(() => {
  delete process.env.GATEHOUSE_OAUTH_REDIRECT_SCHEMES;
  delete process.env.GATEHOUSE_DCR_MAX_PER_IP_PER_HOUR;
});

afterAll(async () => {
  await server.close();
  await closeAuditWriter();
  await closeDatabase();
});

describe('authorization code attacks', () => {
  it('refuses a replayed code and revokes what the first exchange issued', async () => {
    const clientId = await publicClient();
    const { code, verifier } = await obtainCode(clientId);
    const first = await exchange(clientId, code, verifier);
    expect(first.status).toBe(200);
    const tokens = (await first.json()) as TokenBody;
    const replay = await exchange(clientId, code, verifier);
    expect(replay.status).toBe(400);
    expect(await oauthError(replay)).toBe('invalid_grant');
    await expect(verifyAccessToken(tokens.access_token, { audience: `${server.url}/v1` })).rejects.toMatchObject({ reason: 'revoked' });
    expect((await refresh(clientId, tokens.refresh_token)).status).toBe(401);
  });

  it('refuses a wrong or missing PKCE verifier, and the code is spent by the attempt', async () => {
    const clientId = await publicClient();
    const { code, verifier } = await obtainCode(clientId);
    const wrong = await exchange(clientId, code, randomToken(32));
    expect(wrong.status).toBe(400);
    expect(await oauthError(wrong)).toBe('invalid_grant');
    expect(await oauthError(await exchange(clientId, code, verifier))).toBe('invalid_grant');

    const second = await obtainCode(clientId);
    const missing = await postForm(`${server.url}/oauth/token`, { grant_type: 'authorization_code', client_id: clientId, code: second.code, redirect_uri: REDIRECT_URI });
    expect(await oauthError(missing)).toBe('invalid_grant');
  });

  it('refuses the plain PKCE method and requests without PKCE, reporting to the redirect URI', async () => {
    const clientId = await publicClient();
    const cases: Array<Record<string, string>> = [
      { code_challenge: randomToken(32), code_challenge_method: 'plain' },
      { code_challenge: s256(randomToken(32)) },
      {},
    ];
    for (const pkce of cases) {
      const response = await asUser(authorizeUrl({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT_URI, state: 'st', ...pkce }));
      expect(response.status).toBe(302);
      const location = new URL(response.headers.get('location')!);
      expect(location.origin + location.pathname).toBe(REDIRECT_URI);
      expect(location.searchParams.get('error')).toBe('invalid_request');
      expect(location.searchParams.get('state')).toBe('st');
      expect(location.searchParams.get('iss')).toBe(server.url);
      expect(location.searchParams.get('code')).toBeNull();
    }
  });

  it('never redirects to an unregistered URI: open-redirect attempts get an error page', async () => {
    const clientId = await publicClient();
    const attempts = [
      'https://evil.example/callback',
      'http://127.0.0.1.evil.example/callback',
      'http://127.0.0.1@evil.example/callback',
      'http://localhost:43123/callback',
      'http://127.0.0.1:43123/callback/../evil',
      'http://127.0.0.1:43123/callback#x',
      'http://127.0.0.1:43123/callback?next=https://evil.example',
      'http://127.0.0.1:43123/Callback',
      'javascript:alert(1)',
      '//evil.example/callback',
    ];
    for (const redirectUri of attempts) {
      const response = await asUser(
        authorizeUrl({ response_type: 'code', client_id: clientId, redirect_uri: redirectUri, code_challenge: s256(randomToken(32)), code_challenge_method: 'S256' }),
      );
      expect(response.status, redirectUri).toBe(400);
      expect(response.headers.get('location'), redirectUri).toBeNull();
      expect(await response.text()).toContain('not one registered for this application');
    }
    for (const params of [{ client_id: 'dyn_unknown' }, {}, { client_id: clientId, redirect_uri: REDIRECT_URI } as Record<string, string>]) {
      const url = authorizeUrl({ response_type: 'code', redirect_uri: 'https://evil.example/cb', ...params });
      const response = await asUser(url);
      const isValidRequest = params.redirect_uri === REDIRECT_URI;
      // Only the registered URI ever receives a redirect, and only then.
      if (isValidRequest) expect(new URL(response.headers.get('location')!).origin).toBe('http://127.0.0.1:43123');
      else expect(response.headers.get('location')).toBeNull();
    }
  });

  it('refuses an expired code', async () => {
    const clientId = await publicClient();
    const { code, verifier } = await obtainCode(clientId);
    await db().oAuthAuthorizationCode.update({ where: { codeHash: hashSecret(code) }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const response = await exchange(clientId, code, verifier);
    expect(response.status).toBe(400);
    expect(await oauthError(response)).toBe('invalid_grant');
  });

  it('refuses a code presented by another client or with another redirect URI', async () => {
    const clientId = await publicClient();
    const otherClient = await publicClient();
    const { code, verifier } = await obtainCode(clientId);
    expect(await oauthError(await exchange(otherClient, code, verifier))).toBe('invalid_grant');
    const second = await obtainCode(clientId);
    expect(await oauthError(await exchange(clientId, second.code, second.verifier, { redirect_uri: 'http://127.0.0.1:43123/other' }))).toBe('invalid_grant');
  });

  it('reports a denied consent to the client, and refuses a consent POST without the CSRF token', async () => {
    const clientId = await publicClient();
    const url = authorizeUrl({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT_URI, code_challenge: s256(randomToken(32)), code_challenge_method: 'S256', state: 'abc', scope: 'openid email' });
    const cookie = await sessionCookie(user);
    const page = await fetch(url, { headers: { cookie }, redirect: 'manual' });
    const html = await page.text();
    expect(html).toContain('registered itself');
    const forged = await postForm(url, { decision: 'approve' }, { cookie });
    expect(forged.status).toBe(403);
    expect(forged.headers.get('location')).toBeNull();
    const denied = await postForm(url, { csrf: hiddenInput(html, 'csrf')!, decision: 'deny' }, { cookie: `${cookie}; ${cookiesFrom(page)}` });
    const location = new URL(denied.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('state')).toBe('abc');
  });

  it('sends signed-out users to sign in, or answers login_required for prompt=none', async () => {
    const clientId = await publicClient();
    const params = { response_type: 'code', client_id: clientId, redirect_uri: REDIRECT_URI, code_challenge: s256(randomToken(32)), code_challenge_method: 'S256' };
    const signedOut = await fetch(authorizeUrl(params), { redirect: 'manual' });
    expect(signedOut.status).toBe(302);
    expect(signedOut.headers.get('location')).toMatch(/^\/signin\?callbackUrl=%2Foauth%2Fauthorize%3F/);
    const silent = await fetch(authorizeUrl({ ...params, prompt: 'none', state: 'q' }), { redirect: 'manual' });
    expect(new URL(silent.headers.get('location')!).searchParams.get('error')).toBe('login_required');
  });

  it('ignores parameters it does not know', async () => {
    const clientId = await publicClient();
    const verifier = randomToken(32);
    const cookie = await sessionCookie(user);
    const url = authorizeUrl({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT_URI, code_challenge: s256(verifier), code_challenge_method: 'S256', brand_new_param: '1', ui_locales: 'de' });
    const page = await fetch(url, { headers: { cookie }, redirect: 'manual' });
    const approved = await postForm(url, { csrf: hiddenInput(await page.text(), 'csrf')!, decision: 'approve' }, { cookie: `${cookie}; ${cookiesFrom(page)}` });
    const code = new URL(approved.headers.get('location')!).searchParams.get('code')!;
    const response = await exchange(clientId, code, verifier, { another_unknown: 'x' });
    expect(response.status).toBe(200);
  });
});

describe('refresh token rotation', () => {
  it('revokes the whole family when a spent refresh token is presented again', async () => {
    const clientId = await publicClient();
    const tokens = await signIn(clientId);
    const rotated = (await (await refresh(clientId, tokens.refresh_token)).json()) as TokenBody;
    expect(rotated.refresh_token).toBeTruthy();
    const reuse = await refresh(clientId, tokens.refresh_token);
    expect(reuse.status).toBe(401);
    expect(await oauthError(reuse)).toBe('invalid_grant');
    // The legitimate holder's newer token dies with the family, and so do the access tokens.
    expect((await refresh(clientId, rotated.refresh_token)).status).toBe(401);
    await expect(verifyAccessToken(rotated.access_token, { audience: `${server.url}/v1` })).rejects.toMatchObject({ reason: 'revoked' });
    const principal = await verifyAccessToken(tokens.access_token, { audience: `${server.url}/v1` }).catch((e: { reason: string }) => e.reason);
    expect(principal).toBe('revoked');
    const { rows } = await pool().query(`SELECT outcome, event->'attributes'->>'reason' AS reason FROM audit_events WHERE action = 'session.revoke' AND event->'attributes'->>'reason' = 'refresh_token_reuse'`);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0].outcome).toBe('denied');
  });

  it('refuses a refresh token presented by another client', async () => {
    const clientId = await publicClient();
    const tokens = await signIn(clientId);
    expect((await refresh(await publicClient(), tokens.refresh_token)).status).toBe(401);
    expect((await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token })).status).toBe(401);
  });
});

describe('deprovisioning', () => {
  it('a disabled user fails the next refresh with 401 invalid_grant and their access token stops working', async () => {
    const victim = await createTestUser();
    const clientId = await publicClient();
    const tokens = await signIn(clientId, victim);
    await db().user.update({ where: { id: victim.userId }, data: { status: 'disabled' } });
    const response = await refresh(clientId, tokens.refresh_token);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_grant' });
    await expect(verifyAccessToken(tokens.access_token, { audience: `${server.url}/v1` })).rejects.toMatchObject({ reason: 'user_disabled' });
  });

  it('revokeUser disables the account and ends every sign-in in one step, with an audit event', async () => {
    const victim = await createTestUser();
    const clientId = await publicClient();
    const first = await signIn(clientId, victim);
    const second = await signIn(clientId, victim);
    const result = await revokeUser(victim.email.toUpperCase(), { call_source: 'cli' });
    expect(result).toMatchObject({ userId: victim.userId, sessionsRevoked: 2 });
    expect((await db().user.findUniqueOrThrow({ where: { id: victim.userId } })).status).toBe('disabled');
    expect(await db().oAuthSession.count({ where: { userId: victim.userId, revokedAt: null } })).toBe(0);
    for (const tokens of [first, second]) {
      expect((await refresh(clientId, tokens.refresh_token)).status).toBe(401);
      await expect(verifyAccessToken(tokens.access_token, { audience: `${server.url}/v1` })).rejects.toMatchObject({ reason: 'user_disabled' });
    }
    const { rows } = await pool().query(`SELECT 1 FROM audit_events WHERE action = 'user.revoke' AND event->'target'->>'id' = $1`, [victim.userId]);
    expect(rows).toHaveLength(1);
    // The browser session of a disabled user no longer counts as signed in either.
    const page = await asUser(`${server.url}/device`, victim);
    expect(page.status).toBe(302);
  });
});

describe('dynamic client registration rules', () => {
  it('allows https, http loopback and only listed custom schemes', async () => {
    expect((await register({ redirect_uris: ['https://claude.ai/api/mcp/auth_callback'], token_endpoint_auth_method: 'none' })).status).toBe(201);
    for (const uri of ['http://app.example.com/cb', 'cursor://anysphere.cursor-retrieval/oauth/callback', 'javascript:alert(1)', 'https://app.example/cb#frag', 'not a uri']) {
      const response = await register({ redirect_uris: [uri], token_endpoint_auth_method: 'none' });
      expect(response.status, uri).toBe(400);
      expect(await oauthError(response)).toBe('invalid_redirect_uri');
    }
    process.env.GATEHOUSE_OAUTH_REDIRECT_SCHEMES = 'cursor, javascript';
    expect((await register({ redirect_uris: ['cursor://anysphere.cursor-retrieval/oauth/callback'], token_endpoint_auth_method: 'none' })).status).toBe(201);
    expect((await register({ redirect_uris: ['javascript:alert(1)'], token_endpoint_auth_method: 'none' })).status).toBe(400);
  });

  it('gives a client that asks for client_secret_post (Claude connectors do) a secret it must then use', async () => {
    const response = await register({ redirect_uris: ['https://claude.ai/api/mcp/auth_callback'], token_endpoint_auth_method: 'client_secret_post', grant_types: ['authorization_code', 'refresh_token'], client_name: 'Claude' });
    expect(response.status).toBe(201);
    const registered = (await response.json()) as { client_id: string; client_secret: string; token_endpoint_auth_method: string };
    expect(registered.token_endpoint_auth_method).toBe('client_secret_post');
    expect(registered.client_secret).toMatch(/^ghs_/);
    const stored = await db().oAuthClient.findUniqueOrThrow({ where: { clientId: registered.client_id } });
    expect(stored.clientSecretHash).not.toBe(registered.client_secret);
    const noSecret = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', client_id: registered.client_id, refresh_token: 'x' });
    expect(noSecret.status).toBe(401);
    expect(await oauthError(noSecret)).toBe('invalid_client');
    const withSecret = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', client_id: registered.client_id, client_secret: registered.client_secret, refresh_token: 'x' });
    expect(await oauthError(withSecret)).toBe('invalid_grant');
  });

  it('limits registrations per address per hour', async () => {
    process.env.GATEHOUSE_DCR_MAX_PER_IP_PER_HOUR = '2';
    const ip = randomTestIp();
    const body = { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' };
    expect((await register(body, ip)).status).toBe(201);
    expect((await register(body, ip)).status).toBe(201);
    const third = await register(body, ip);
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBeTruthy();
    expect((await register(body, randomTestIp())).status).toBe(201);
  });

  it('rejects malformed registrations with invalid_client_metadata', async () => {
    for (const body of ['not json', '[]', JSON.stringify({ redirect_uris: 'https://x/cb' }), JSON.stringify({ redirect_uris: [REDIRECT_URI], grant_types: ['password'] }), JSON.stringify({ redirect_uris: [] })]) {
      const response = await fetch(`${server.url}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': randomTestIp() }, body });
      expect(response.status, body).toBe(400);
      expect(await oauthError(response), body).toBe('invalid_client_metadata');
    }
  });
});

describe('bad input is a clear OAuth error, never a 500', () => {
  it('token endpoint', async () => {
    const token = `${server.url}/oauth/token`;
    const cases: Array<[RequestInit, number, string]> = [
      [{ method: 'POST' }, 400, 'invalid_request'],
      [{ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"refresh_token"}' }, 400, 'invalid_request'],
      [{ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=password&username=a&password=b' }, 400, 'unsupported_grant_type'],
      [{ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token&grant_type=refresh_token&refresh_token=x' }, 400, 'invalid_request'],
      [{ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token' }, 400, 'invalid_request'],
      [{ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=authorization_code&code=x' }, 400, 'invalid_request'],
      [{ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=authorization_code&client_id=nope&code=x' }, 401, 'invalid_client'],
      [{ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic !!!' }, body: 'grant_type=refresh_token&refresh_token=x' }, 401, 'invalid_client'],
      [{ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic bm9jb2xvbg==' }, body: 'grant_type=refresh_token&refresh_token=x' }, 401, 'invalid_client'],
      [{ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=refresh_token&refresh_token=${'x'.repeat(70_000)}` }, 413, 'invalid_request'],
      [{ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token&refresh_token=%E0%A4%A' }, 401, 'invalid_grant'],
      [{ method: 'GET' }, 405, 'invalid_request'],
    ];
    for (const [init, status, error] of cases) {
      const response = await fetch(token, init);
      expect(response.status, JSON.stringify(init).slice(0, 200)).toBe(status);
      expect(await oauthError(response)).toBe(error);
    }
  });

  it('revocation, userinfo and device authorization', async () => {
    expect((await postForm(`${server.url}/oauth/revoke`, { token: 'unknown-token' })).status).toBe(200);
    expect((await postForm(`${server.url}/oauth/revoke`, { token: 'a.b.c' })).status).toBe(200);
    expect(await oauthError(await postForm(`${server.url}/oauth/revoke`, {}))).toBe('invalid_request');

    const noToken = await fetch(`${server.url}/oauth/userinfo`);
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get('www-authenticate')).toBe('Bearer');
    const badToken = await fetch(`${server.url}/oauth/userinfo`, { headers: { authorization: 'Bearer abc.def.ghi' } });
    expect(badToken.status).toBe(401);
    expect(badToken.headers.get('www-authenticate')).toContain('error="invalid_token"');

    const deviceScope = await postForm(`${server.url}/oauth/device_authorization`, { scope: 'admin:everything' }, { 'x-forwarded-for': randomTestIp() });
    expect(deviceScope.status).toBe(400);
    expect(await oauthError(deviceScope)).toBe('invalid_scope');
    const deviceResource = await postForm(`${server.url}/oauth/device_authorization`, { resource: 'https://elsewhere.example/' }, { 'x-forwarded-for': randomTestIp() });
    expect(await oauthError(deviceResource)).toBe('invalid_target');
    const deviceClient = await postForm(`${server.url}/oauth/device_authorization`, { client_id: 'nope' }, { 'x-forwarded-for': randomTestIp() });
    expect(deviceClient.status).toBe(401);
  });

  it('authorization endpoint with garbage parameters', async () => {
    const clientId = await publicClient();
    const base = { client_id: clientId, redirect_uri: REDIRECT_URI, code_challenge: s256(randomToken(32)), code_challenge_method: 'S256' };
    const cases: Array<[Record<string, string>, string]> = [
      [{ ...base, response_type: 'token' }, 'unsupported_response_type'],
      [{ ...base, response_type: 'code', scope: 'openid admin' }, 'invalid_scope'],
      [{ ...base, response_type: 'code', code_challenge: 'short' }, 'invalid_request'],
      [{ ...base, response_type: 'code', resource: 'not a url' }, 'invalid_target'],
      [{ ...base, response_type: 'code', prompt: 'none login' }, 'invalid_request'],
    ];
    for (const [params, error] of cases) {
      const response = await asUser(authorizeUrl(params));
      expect(response.status).toBe(302);
      expect(new URL(response.headers.get('location')!).searchParams.get('error')).toBe(error);
    }
    const duplicated = await asUser(`${authorizeUrl({ ...base, response_type: 'code' })}&client_id=${clientId}`);
    expect(duplicated.status).toBe(400);
  });
});
