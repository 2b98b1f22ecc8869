import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, db, pool } from '@/lib/db/client';
import { setRevocationCacheTtl } from '@/lib/tokens/revocation';
import { verifyAccessToken } from '@/lib/tokens/verify';
import { formatUserCode, normalizeUserCode, USER_CODE_ALPHABET } from './device';
import type { UserIdentity } from './identity';
import { configureTestEnvironment, cookiesFrom, createTestUser, hiddenInput, postForm, randomTestIp, sessionCookie, startOAuthServer, type TestServer } from './test-harness';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const CLAUDE_UA = { 'user-agent': 'claude-code/2.1.330' };

let server: TestServer;
let user: UserIdentity;

interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

/** What Claude Code does on /login: read metadata, then ask for a code with only `surface`. */
async function startDeviceFlow(ip = randomTestIp()): Promise<{ metadata: Record<string, string>; codes: DeviceAuthorization }> {
  const metadata = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`, { headers: CLAUDE_UA })).json()) as Record<string, string>;
  const response = await postForm(metadata.device_authorization_endpoint!, { surface: 'claude_code' }, { ...CLAUDE_UA, 'x-forwarded-for': ip });
  expect(response.status).toBe(200);
  return { metadata, codes: (await response.json()) as DeviceAuthorization };
}

function poll(codes: DeviceAuthorization): Promise<Response> {
  return postForm(`${server.url}/oauth/token`, { grant_type: DEVICE_GRANT, device_code: codes.device_code }, CLAUDE_UA);
}

/** Lets the next poll through the interval check, as if the client had waited. */
async function letIntervalPass(codes: DeviceAuthorization): Promise<void> {
  await pool().query(`UPDATE oauth_device_authorizations SET last_polled_at = now() - interval '1 hour' WHERE user_code = $1`, [normalizeUserCode(codes.user_code)]);
}

/** The signed-in user opens verification_uri_complete and clicks a button. */
async function decideInBrowser(codes: DeviceAuthorization, decision: 'approve' | 'deny', ip = randomTestIp()): Promise<Response> {
  const cookie = await sessionCookie(user);
  const page = await fetch(codes.verification_uri_complete, { headers: { cookie, 'x-forwarded-for': ip }, redirect: 'manual' });
  expect(page.status).toBe(200);
  const html = await page.text();
  const csrf = hiddenInput(html, 'csrf');
  expect(csrf).toBeTruthy();
  return postForm(`${server.url}/device`, { user_code: hiddenInput(html, 'user_code')!, csrf: csrf!, decision }, { cookie: `${cookie}; ${cookiesFrom(page)}`, 'x-forwarded-for': ip });
}

beforeAll(async () => {
  configureTestEnvironment();
  setRevocationCacheTtl(0);
  server = await startOAuthServer();
  user = await createTestUser(['member']);
});

beforeEach(() => setRevocationCacheTtl(0));

afterAll(async () => {
  await server.close();
  await closeAuditWriter();
  await closeDatabase();
});

describe('device authorization grant as Claude Code runs it', () => {
  it('publishes the endpoints Claude Code reads', async () => {
    const { metadata } = await startDeviceFlow();
    expect(metadata).toMatchObject({
      issuer: server.url,
      device_authorization_endpoint: `${server.url}/oauth/device_authorization`,
      token_endpoint: `${server.url}/oauth/token`,
      revocation_endpoint: `${server.url}/oauth/revoke`,
    });
    expect(metadata.grant_types_supported).toEqual(expect.arrayContaining([DEVICE_GRANT, 'refresh_token']));
  });

  it('signs in end to end: code, pending, slow_down, approval, tokens with email, refresh, sign-out', async () => {
    const { codes } = await startDeviceFlow();
    expect(codes.device_code.length).toBeGreaterThanOrEqual(43); // ≥ 256 bits
    expect(codes.user_code).toMatch(new RegExp(`^[${USER_CODE_ALPHABET}]{4}-[${USER_CODE_ALPHABET}]{4}$`));
    expect(codes).toMatchObject({ verification_uri: `${server.url}/device`, expires_in: 600, interval: 5 });
    expect(codes.verification_uri_complete).toBe(`${server.url}/device?user_code=${codes.user_code}`);
    const stored = await db().oAuthDeviceAuthorization.findUniqueOrThrow({ where: { userCode: normalizeUserCode(codes.user_code)! } });
    expect(stored.surface).toBe('claude_code');
    expect(stored.deviceCodeHash).not.toBe(codes.device_code);

    const pending = await poll(codes);
    expect(pending.status).toBe(400);
    expect(await pending.json()).toMatchObject({ error: 'authorization_pending' });

    const tooFast = await poll(codes);
    expect(tooFast.status).toBe(400);
    expect(await tooFast.json()).toMatchObject({ error: 'slow_down' });
    expect((await db().oAuthDeviceAuthorization.findUniqueOrThrow({ where: { id: stored.id } })).pollInterval).toBe(10);

    const approved = await decideInBrowser(codes, 'approve');
    expect(approved.status).toBe(200);
    expect(await approved.text()).toContain('Device connected');

    await letIntervalPass(codes);
    const success = await poll(codes);
    expect(success.status).toBe(200);
    expect(success.headers.get('cache-control')).toBe('no-store');
    const tokens = (await success.json()) as { access_token: string; token_type: string; expires_in: number; refresh_token: string; email: string };
    expect(tokens).toMatchObject({ token_type: 'Bearer', email: user.email });
    expect(tokens.expires_in).toBeGreaterThan(0);
    expect(tokens.expires_in).toBeLessThanOrEqual(900);
    expect(tokens.refresh_token).toBeTruthy();
    const principal = await verifyAccessToken(tokens.access_token, { audience: `${server.url}/v1` });
    expect(principal).toMatchObject({ userId: user.userId, email: user.email, clientId: 'device', roles: ['member'] });

    // The device code is single-use.
    await letIntervalPass(codes);
    expect(await (await poll(codes)).json()).toMatchObject({ error: 'invalid_grant' });

    // Silent refresh, with no client_id, as Claude Code sends it.
    const refreshed = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, CLAUDE_UA);
    expect(refreshed.status).toBe(200);
    const renewed = (await refreshed.json()) as { access_token: string; refresh_token: string; token_type: string };
    expect(renewed.token_type).toBe('Bearer');
    expect(renewed.refresh_token).not.toBe(tokens.refresh_token);
    await expect(verifyAccessToken(renewed.access_token, { audience: `${server.url}/v1` })).resolves.toMatchObject({ sessionId: principal.sessionId });

    // Sign-out: the bearer, then the refresh token with a hint; both answered 200.
    const revokeAccess = await postForm(`${server.url}/oauth/revoke`, { token: renewed.access_token }, CLAUDE_UA);
    expect(revokeAccess.status).toBe(200);
    const revokeRefresh = await postForm(`${server.url}/oauth/revoke`, { token: renewed.refresh_token, token_type_hint: 'refresh_token' }, CLAUDE_UA);
    expect(revokeRefresh.status).toBe(200);
    await expect(verifyAccessToken(renewed.access_token, { audience: `${server.url}/v1` })).rejects.toMatchObject({ reason: 'revoked' });
    const afterSignOut = await postForm(`${server.url}/oauth/token`, { grant_type: 'refresh_token', refresh_token: renewed.refresh_token }, CLAUDE_UA);
    expect(afterSignOut.status).toBe(401);
    expect(await afterSignOut.json()).toMatchObject({ error: 'invalid_grant' });

    const events = await pool().query<{ action: string }>(`SELECT action FROM audit_events WHERE session_id = $1 ORDER BY seq`, [principal.sessionId]);
    expect(events.rows.map((r) => r.action)).toEqual(['token.issue', 'token.refresh', 'session.revoke']);
  });

  it('answers access_denied after the user denies', async () => {
    const { codes } = await startDeviceFlow();
    const denied = await decideInBrowser(codes, 'deny');
    expect(await denied.text()).toContain('Sign-in denied');
    const response = await poll(codes);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'access_denied' });
  });

  it('answers expired_token once the code has expired, and the page no longer offers it', async () => {
    const { codes } = await startDeviceFlow();
    await pool().query(`UPDATE oauth_device_authorizations SET expires_at = now() - interval '1 second' WHERE user_code = $1`, [normalizeUserCode(codes.user_code)]);
    expect(await (await poll(codes)).json()).toMatchObject({ error: 'expired_token' });
    const page = await fetch(codes.verification_uri_complete, { headers: { cookie: await sessionCookie(user), 'x-forwarded-for': randomTestIp() } });
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('not valid, has expired');
  });

  it('asks the user in a sentence that reads right, naming the application or saying it is unidentified', async () => {
    const named = await startDeviceFlow();
    const page = await fetch(named.codes.verification_uri_complete, { headers: { cookie: await sessionCookie(user), 'x-forwarded-for': randomTestIp() } });
    const html = await page.text();
    expect(html).toContain(`<h1>Sign in as ${user.email}?</h1>`);
    expect(html).toContain('<strong>Claude Code</strong> is asking to act as you.');

    const response = await postForm(`${server.url}/oauth/device_authorization`, {}, { 'x-forwarded-for': randomTestIp() });
    const anonymous = (await response.json()) as DeviceAuthorization;
    const unnamed = await (await fetch(anonymous.verification_uri_complete, { headers: { cookie: await sessionCookie(user), 'x-forwarded-for': randomTestIp() } })).text();
    expect(unnamed).toContain('<strong>An unidentified application</strong> is asking to act as you.');
  });

  it('answers invalid_grant for an unknown device code and invalid_request without one', async () => {
    const unknown = await poll({ device_code: 'ghd_nope' } as DeviceAuthorization);
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ error: 'invalid_grant' });
    const missing = await postForm(`${server.url}/oauth/token`, { grant_type: DEVICE_GRANT });
    expect(await missing.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('ignores parameters it does not know, and an empty form', async () => {
    const extra = await postForm(`${server.url}/oauth/device_authorization`, { surface: 'claude_code', future_param: 'x', client_version: '9' }, { 'x-forwarded-for': randomTestIp() });
    expect(extra.status).toBe(200);
    const empty = await fetch(`${server.url}/oauth/device_authorization`, { method: 'POST', headers: { 'x-forwarded-for': randomTestIp() } });
    expect(empty.status).toBe(200);
    const odd = await postForm(`${server.url}/oauth/device_authorization`, { surface: '<script>' }, { 'x-forwarded-for': randomTestIp() });
    expect(odd.status).toBe(200);
  });
});

describe('the /device verification page', () => {
  it('sends a signed-out visitor to sign in and back', async () => {
    const response = await fetch(`${server.url}/device?user_code=BCDF-GHJK`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(`/signin?callbackUrl=${encodeURIComponent('/device?user_code=BCDF-GHJK')}`);
  });

  it('shows a pre-filled code for confirmation and never submits it by itself', async () => {
    const { codes } = await startDeviceFlow();
    const page = await fetch(codes.verification_uri_complete, { headers: { cookie: await sessionCookie(user), 'x-forwarded-for': randomTestIp() } });
    const html = await page.text();
    expect(html).toContain(codes.user_code);
    expect(html).toContain('Claude Code');
    expect(html).toContain('name="decision" value="approve"');
    expect(html).not.toMatch(/<script|onload|http-equiv="refresh"/i);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    // Nothing was decided by viewing it.
    expect((await db().oAuthDeviceAuthorization.findUniqueOrThrow({ where: { userCode: normalizeUserCode(codes.user_code)! } })).status).toBe('pending');
  });

  it('refuses a POST without the CSRF token, or with another user\'s', async () => {
    const { codes } = await startDeviceFlow();
    const cookie = await sessionCookie(user);
    const noToken = await postForm(`${server.url}/device`, { user_code: codes.user_code, decision: 'approve' }, { cookie, 'x-forwarded-for': randomTestIp() });
    expect(noToken.status).toBe(403);

    const other = await createTestUser();
    const otherPage = await fetch(codes.verification_uri_complete, { headers: { cookie: await sessionCookie(other), 'x-forwarded-for': randomTestIp() } });
    const otherCsrf = hiddenInput(await otherPage.text(), 'csrf')!;
    const stolen = await postForm(
      `${server.url}/device`,
      { user_code: codes.user_code, decision: 'approve', csrf: otherCsrf },
      { cookie: `${cookie}; ${cookiesFrom(otherPage)}`, 'x-forwarded-for': randomTestIp() },
    );
    expect(stolen.status).toBe(403);

    const page = await fetch(codes.verification_uri_complete, { headers: { cookie, 'x-forwarded-for': randomTestIp() } });
    const csrf = hiddenInput(await page.text(), 'csrf')!;
    const crossSite = await postForm(
      `${server.url}/device`,
      { user_code: codes.user_code, decision: 'approve', csrf },
      { cookie: `${cookie}; ${cookiesFrom(page)}`, origin: 'https://evil.example', 'x-forwarded-for': randomTestIp() },
    );
    expect(crossSite.status).toBe(403);
    expect((await db().oAuthDeviceAuthorization.findUniqueOrThrow({ where: { userCode: normalizeUserCode(codes.user_code)! } })).status).toBe('pending');
  });

  it('limits code entry per address', async () => {
    const ip = randomTestIp();
    const cookie = await sessionCookie(user);
    const statuses: number[] = [];
    // Ten entries a minute are allowed. Entries stop at the first refusal; twenty-one always reach
    // one, even if a minute boundary restarts the count midway.
    for (let i = 0; i < 21 && !statuses.includes(429); i += 1) {
      const response = await fetch(`${server.url}/device?user_code=BBBB-BBB${USER_CODE_ALPHABET[i % 20]}`, { headers: { cookie, 'x-forwarded-for': ip } });
      statuses.push(response.status);
    }
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.length).toBeGreaterThanOrEqual(11);
    expect(statuses.slice(0, -1).every((s) => s === 400)).toBe(true);
    // Another address is unaffected.
    const elsewhere = await fetch(`${server.url}/device?user_code=BBBB-BBBB`, { headers: { cookie, 'x-forwarded-for': randomTestIp() } });
    expect(elsewhere.status).toBe(400);
  });
});

describe('user codes', () => {
  it('normalises what people type', () => {
    expect(normalizeUserCode('wdjb-mjht')).toBe('WDJBMJHT');
    expect(normalizeUserCode(' WDJB MJHT ')).toBe('WDJBMJHT');
    expect(normalizeUserCode('WDJB-MJHA')).toBeNull(); // vowel
    expect(normalizeUserCode('WDJB-MJH')).toBeNull();
    expect(normalizeUserCode('')).toBeNull();
    expect(formatUserCode('WDJBMJHT')).toBe('WDJB-MJHT');
  });
});
