import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { closeAuditWriter, flushCountedEvents } from '@/lib/audit';
import { closeDatabase, db, pool } from '@/lib/db/client';
import { dataPlane } from '@/lib/http/data-plane';
import { serveWithWebHandler } from '@/lib/http/node-adapter';
import { approveVersion, checkServer, getServerByName, registerServer, resetUpstreamOAuth, revokeServer, type RegisteredServer, type RegistryActor } from '@/lib/mcp/registry';
import { closeProxySessions, UPSTREAM_GRANT_REQUIRED } from '@/lib/mcp/proxy';
import type { UserIdentity } from '@/lib/oauth/identity';
import { mintAccessToken } from '@/lib/oauth/mint';
import { configureTestEnvironment, createTestUser, servePublicly, sessionCookie } from '@/lib/oauth/test-harness';
import { listenOnLoopback } from '@/lib/platform/net';
import { setRevocationCacheTtl } from '@/lib/tokens/revocation';
import { superuserClient } from '@/lib/audit/testing/fixtures';
import { completeConnect, connectionsOf, disconnect, startConnect, UpstreamOAuthError, type GrantActor } from './index';
import { startFakeOAuthUpstream, type FakeOAuthUpstream } from './testing/fake-provider';
import { setUpstreamRevocationDeadline } from './revocation';
import { currentGrant, refreshGrant } from './tokens';
import { drainBackgroundTasks, pendingBackgroundTasks } from '@/lib/platform/background';
import { recordingFetch } from '@/lib/mcp/proxy/testing/recording-fetch';

const tag = randomBytes(3).toString('hex');
const SERVER = `drive-${tag}`;

let gatehouse: Server;
let baseUrl: string;
let upstream: FakeOAuthUpstream;
let admin: UserIdentity;
let alice: UserIdentity;
let bob: UserIdentity;
let adminActor: RegistryActor;
/** Everything any proxy response carried to the client (bodies and headers). */
const recorder = recordingFetch();

function actorOf(user: UserIdentity): GrantActor {
  return { userId: user.userId, tenantId: user.tenantId, email: user.email, roles: user.roles };
}

function proxyUrl(name = SERVER): string {
  return `${baseUrl}/mcp/servers/${name}`;
}

function connectUrl(name = SERVER): string {
  return `${baseUrl}/mcp-servers/connections?server=${name}`;
}

async function connectAs(user: UserIdentity): Promise<Client> {
  const minted = await mintAccessToken({ email: user.email, issuer: baseUrl, audience: proxyUrl() });
  const client = new Client({ name: 'oauth-upstream-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(proxyUrl()), { requestInit: { headers: { authorization: `Bearer ${minted.accessToken}` } }, fetch: recorder.fetch }));
  return client;
}

/**
 * The dashboard's start and the authorization server's redirect (signed in there as
 * `upstreamUser`, or declining when null): the callback URL the browser is sent back to.
 */
async function consent(user: UserIdentity, upstreamUser: string | null, name = SERVER): Promise<URL> {
  const authorization = await startConnect(actorOf(user), name);
  const redirected = await fetch(authorization, { redirect: 'manual', headers: upstreamUser ? { cookie: `as_user=${upstreamUser}` } : {} });
  expect(redirected.status).toBe(302);
  const callback = new URL(redirected.headers.get('location')!);
  expect(`${callback.origin}${callback.pathname}`).toBe(`${baseUrl}/mcp/oauth/callback`);
  return callback;
}

/** Gatehouse's callback in a browser signed in to Gatehouse as `browser`: where it sent them. */
async function callBack(callback: URL, browser: UserIdentity): Promise<URL> {
  const back = await fetch(callback, { redirect: 'manual', headers: { cookie: await sessionCookie(browser) } });
  expect(back.status).toBe(303);
  expect(back.headers.get('referrer-policy')).toBe('no-referrer');
  return new URL(back.headers.get('location')!);
}

/** A person connects their account in the browser (consent, then the callback in `browser`'s session). */
async function connectAccount(user: UserIdentity, upstreamUser: string | null, browser: UserIdentity = user, name = SERVER): Promise<URL> {
  return callBack(await consent(user, upstreamUser, name), browser);
}

async function whoami(client: Client): Promise<string> {
  const result = await client.callTool({ name: 'whoami', arguments: {} });
  return (result.content as { type: string; text: string }[])[0]!.text;
}

async function server(): Promise<RegisteredServer> {
  return (await getServerByName(admin.tenantId, SERVER))!;
}

async function grantEvents(userId: string, name = SERVER): Promise<{ action: string; outcome: string; event: { attributes?: Record<string, unknown>; error?: { type: string } } }[]> {
  const { rows } = await pool().query(`SELECT action, outcome, event FROM audit_events WHERE event_type = 'mcp.upstream_grant' AND actor_user_id = $1 AND event->'mcp'->>'server' = $2 ORDER BY seq`, [userId, name]);
  return rows;
}

/** `action:outcome:reason` of the person's grant events at the server. */
async function grantOutcomes(userId: string, name = SERVER): Promise<string[]> {
  return (await grantEvents(userId, name)).map((row) => `${row.action}:${row.outcome}:${row.event.error?.type}`);
}

beforeAll(async () => {
  configureTestEnvironment();
  setRevocationCacheTtl(0);
  gatehouse = createServer((req, res) => {
    void serveWithWebHandler(req, res, (request) => dataPlane(request) ?? Promise.resolve(new Response('not found', { status: 404 })));
  });
  baseUrl = servePublicly(await listenOnLoopback(gatehouse));
  upstream = await startFakeOAuthUpstream();
  admin = await createTestUser(['admin']);
  adminActor = { userId: admin.userId, tenantId: admin.tenantId, email: admin.email, roles: admin.roles, callSource: 'cli' };
  alice = await createTestUser(['member']);
  bob = await createTestUser(['member']);
  const registered = await registerServer(adminActor, { name: SERVER, transport: 'streamable_http', url: upstream.mcpUrl, upstreamAuth: { type: 'oauth_user' }, allowPrivateNetwork: true, scope: [{ kind: 'everyone' }] });
  // Nobody has connected yet: registration records no tool list and says how to get one.
  expect(registered.approvedVersion).toBeNull();
  expect(registered.lastCheck?.error).toContain('connect your own account');
});

afterAll(async () => {
  await closeProxySessions();
  await upstream.close();
  await new Promise<void>((resolve) => {
    gatehouse.closeAllConnections();
    gatehouse.close(() => resolve());
  });
  await closeAuditWriter();
  await closeDatabase();
});

describe('upstream auth oauth_user: people connect their own account, the proxy calls with their token', () => {
  it('lets an administrator connect (discovery, dynamic registration, PKCE, resource) and record the tools with their own grant', async () => {
    await expect(checkServer(adminActor, SERVER)).rejects.toThrow('connect your own account');
    const back = await connectAccount(admin, 'admin-upstream');
    expect(back.href).toBe(`${baseUrl}/mcp-servers/connections?server=${SERVER}&result=connected`);
    // Gatehouse registered itself once, as a confidential client, with its callback.
    expect(upstream.counts.registrations).toBe(1);
    expect(upstream.clients[0]).toMatchObject({ client_name: 'Gatehouse', redirect_uris: [`${baseUrl}/mcp/oauth/callback`], token_endpoint_auth_method: 'client_secret_post' });
    const stored = await db().mcpUpstreamClient.findUniqueOrThrow({ where: { serverId_issuer: { serverId: (await server()).id, issuer: upstream.issuer } } });
    expect(stored).toMatchObject({ issuer: upstream.issuer, resource: upstream.mcpUrl, dynamic: true, clientId: upstream.clients[0]!.client_id });
    expect(stored.sealedClientSecret).not.toContain(upstream.clients[0]!.client_secret!);

    const check = await checkServer(adminActor, SERVER);
    expect(check).toMatchObject({ ok: true, result: 'drift', tools: 2 });
    await approveVersion(adminActor, SERVER);
    // The check ran as the administrator's upstream account.
    expect(upstream.accepted.at(-1)?.user).toBe('admin-upstream');
  });

  it('refuses a person without a grant with the URL where they connect, and audits it', async () => {
    const failure = await connectAs(alice).then(
      () => null,
      (error: Error) => error,
    );
    expect(failure?.message).toContain(connectUrl());
    const received = recorder.received();
    const body = received.slice(received.lastIndexOf('{"jsonrpc"'));
    expect(JSON.parse(body.slice(0, body.indexOf('}}') + 2) + '}')).toMatchObject({ error: { code: UPSTREAM_GRANT_REQUIRED, data: { connectUrl: connectUrl(), reason: 'no_grant' } } });
    await flushCountedEvents({ all: true });
    const { rows } = await pool().query(`SELECT event FROM audit_events WHERE actor_user_id = $1 AND action = 'mcp_proxy.connect' AND event->'policy'->>'rule' = 'mcp_proxy.upstream_grant'`, [alice.userId]);
    expect(rows.length).toBeGreaterThan(0);
  });

  it('finishes a connection only in the browser of the person who started it, and records a declined consent', async () => {
    const callback = await consent(alice, 'alice-upstream');
    const stolen = await callBack(callback, bob);
    expect(stolen.searchParams.get('result')).toBe('wrong_browser');
    expect(await db().mcpUpstreamGrant.count({ where: { serverId: (await server()).id, userId: { in: [alice.userId, bob.userId] } } })).toBe(0);
    // The state was used once: the same callback again, even in Alice's own browser, is expired.
    expect((await callBack(callback, alice)).searchParams.get('result')).toBe('expired');
    expect(await db().mcpUpstreamGrant.count({ where: { serverId: (await server()).id, userId: alice.userId } })).toBe(0);
    const declined = await connectAccount(bob, null);
    expect(declined.searchParams.get('result')).toBe('denied');
    expect((await grantEvents(alice.userId)).map((row) => `${row.action}:${row.outcome}:${row.event.error?.type}`)).toContain('connect:denied:browser_session_mismatch');
    expect((await grantEvents(bob.userId)).map((row) => `${row.action}:${row.outcome}:${row.event.error?.type}`)).toContain('connect:denied:authorization_error:access_denied');
  });

  it('calls the upstream with each person’s own token once connected', async () => {
    expect((await connectAccount(alice, 'alice-upstream')).searchParams.get('result')).toBe('connected');
    expect((await connectAccount(bob, 'bob-upstream')).searchParams.get('result')).toBe('connected');
    expect(upstream.counts.registrations).toBe(1);
    const [asAlice, asBob] = await Promise.all([connectAs(alice), connectAs(bob)]);
    expect(await whoami(asAlice)).toBe('signed in upstream as alice-upstream');
    expect(await whoami(asBob)).toBe('signed in upstream as bob-upstream');
    const aliceTokens = new Set(upstream.accepted.filter((entry) => entry.user === 'alice-upstream').map((entry) => entry.token));
    const bobTokens = new Set(upstream.accepted.filter((entry) => entry.user === 'bob-upstream').map((entry) => entry.token));
    expect(aliceTokens.size).toBeGreaterThan(0);
    expect([...aliceTokens].some((token) => bobTokens.has(token))).toBe(false);
    expect((await connectionsOf([await server()], actorOf(alice)))[0]?.grant).toMatchObject({ scope: 'files:read', renewable: true });
    // An upstream that quotes the person's token back: the client gets it scrubbed.
    const echoed = await asAlice.callTool({ name: 'echo_auth', arguments: {} });
    expect(echoed.content).toEqual([{ type: 'text', text: 'I was called with Bearer [redacted by Gatehouse]' }]);
    await asAlice.close();
    await asBob.close();
  });

  it('refreshes an expired token once when two sessions need it at the same time, and on an upstream 401', async () => {
    const first = await connectAs(alice);
    const second = await connectAs(alice);
    const refreshes = upstream.counts.refreshes;
    // Expired by Gatehouse's clock and at the upstream.
    await db().mcpUpstreamGrant.update({ where: { serverId_userId: { serverId: (await server()).id, userId: alice.userId } }, data: { expiresAt: new Date(Date.now() - 60_000) } });
    upstream.expireAccessTokens('alice-upstream');
    expect(await Promise.all([whoami(first), whoami(second)])).toEqual(['signed in upstream as alice-upstream', 'signed in upstream as alice-upstream']);
    expect(upstream.counts.refreshes).toBe(refreshes + 1);
    expect(upstream.counts.refusedRefreshes).toBe(0);

    // Gatehouse thinks the token is good; the upstream answers 401: refreshed and retried once.
    upstream.expireAccessTokens('alice-upstream');
    expect(await whoami(first)).toBe('signed in upstream as alice-upstream');
    expect(upstream.counts.refreshes).toBe(refreshes + 2);
    await first.close();
    await second.close();
  });

  it('spends a rotating refresh token once when two processes refresh at the same time (the refresh lease)', async () => {
    const target = await server();
    const before = await currentGrant(target, bob.userId);
    if (!('grant' in before)) throw new Error('bob has no grant');
    const refreshes = upstream.counts.refreshes;
    // Two refreshers that both saw the same stale token, as two Gatehouse processes would.
    const [one, two] = await Promise.all([refreshGrant(target, bob.userId, before.grant.accessToken), refreshGrant(target, bob.userId, before.grant.accessToken)]);
    expect(upstream.counts.refreshes).toBe(refreshes + 1);
    expect(upstream.counts.refusedRefreshes).toBe(0);
    if (!('grant' in one) || !('grant' in two)) throw new Error('a refresh lost the grant');
    expect(one.grant.accessToken).toBe(two.grant.accessToken);
    expect(one.grant.accessToken).not.toBe(before.grant.accessToken);
  });

  it('refuses an authorization server the server names after the first connection: nothing is registered or sent there', async () => {
    const other = await startFakeOAuthUpstream();
    try {
      upstream.setResourceMetadata({ authorizationServers: [other.issuer] });
      await expect(startConnect(actorOf(bob), SERVER)).rejects.toMatchObject({ reason: 'issuer_changed' });
      expect(await grantOutcomes(bob.userId)).toContain('connect:denied:issuer_changed');
      // Bob's grant still refreshes, at the pinned authorization server only.
      const target = await server();
      const before = await currentGrant(target, bob.userId);
      if (!('grant' in before)) throw new Error('bob has no grant');
      const refreshed = await refreshGrant(target, bob.userId, before.grant.accessToken);
      expect('grant' in refreshed).toBe(true);
      expect(other.counts).toEqual({ registrations: 0, codes: 0, refreshes: 0, refusedRefreshes: 0, revocations: 0 });
      expect(await db().mcpUpstreamClient.count({ where: { serverId: target.id } })).toBe(1);
    } finally {
      upstream.setResourceMetadata(null);
      await other.close();
    }
  });

  it('sends the person back to connect when the refresh is refused, and deletes the grant', async () => {
    const session = await connectAs(alice);
    upstream.revokeRefreshTokens('alice-upstream');
    upstream.expireAccessTokens('alice-upstream');
    await expect(session.callTool({ name: 'whoami', arguments: {} })).rejects.toMatchObject({ code: UPSTREAM_GRANT_REQUIRED, data: { connectUrl: connectUrl(), reason: 'refresh_failed' } });
    expect(await db().mcpUpstreamGrant.count({ where: { serverId: (await server()).id, userId: alice.userId } })).toBe(0);
    expect((await grantEvents(alice.userId)).map((row) => `${row.action}:${row.outcome}`)).toContain('refresh:failure');
    await expect(connectAs(alice)).rejects.toThrow(connectUrl());
    await session.close();
  });

  it('disconnects: the grant is deleted, revoked at the authorization server, and open sessions stop using it', async () => {
    const session = await connectAs(bob);
    expect(await whoami(session)).toBe('signed in upstream as bob-upstream');
    const revocations = upstream.counts.revocations;
    expect(await disconnect(actorOf(bob), SERVER)).toEqual({ upstreamRevocation: 'revoked' });
    expect(upstream.counts.revocations).toBe(revocations + 2);
    expect(await db().mcpUpstreamGrant.count({ where: { serverId: (await server()).id, userId: bob.userId } })).toBe(0);
    await expect(session.callTool({ name: 'whoami', arguments: {} })).rejects.toMatchObject({ code: UPSTREAM_GRANT_REQUIRED });
    await expect(disconnect(actorOf(bob), SERVER)).rejects.toThrow(UpstreamOAuthError);
    expect((await grantEvents(bob.userId)).map((row) => `${row.action}:${row.outcome}`)).toEqual(expect.arrayContaining(['connect:success', 'disconnect:success', 'disconnect:failure']));
    await session.close();
  });

  it('applies the registry SSRF rules to the authorization server', async () => {
    const name = `metadata-${tag}`;
    await registerServer(adminActor, { name, transport: 'streamable_http', url: upstream.mcpUrl, upstreamAuth: { type: 'oauth_user', authorizationServer: 'http://169.254.169.254/' }, allowPrivateNetwork: true, scope: [{ kind: 'everyone' }] });
    await expect(startConnect(actorOf(alice), name)).rejects.toThrow(/not allowed/);
    const { rows } = await pool().query(`SELECT outcome FROM audit_events WHERE event_type = 'mcp.upstream_grant' AND actor_user_id = $1 AND event->'mcp'->>'server' = $2`, [alice.userId, name]);
    expect(rows).toEqual([{ outcome: 'denied' }]);
  });

  it('keeps every token out of what clients received, the audit trail and the table at rest', async () => {
    expect(upstream.issued.size).toBeGreaterThan(6);
    const { rows: events } = await pool().query<{ text: string }>(`SELECT event::text AS text FROM audit_events WHERE tenant_id = $1 AND event->'mcp'->>'server' = $2`, [admin.tenantId, SERVER]);
    const { rows: content } = await pool().query<{ text: string }>(`SELECT body AS text FROM audit_content WHERE tenant_id = $1`, [admin.tenantId]);
    const { rows: grants } = await pool().query<{ text: string }>(`SELECT sealed_tokens AS text FROM mcp_upstream_grants`);
    const everything = [recorder.received(), ...events.map((row) => row.text), ...content.map((row) => row.text), ...grants.map((row) => row.text)].join('\n');
    expect(events.length).toBeGreaterThan(5);
    for (const token of upstream.issued) expect(everything).not.toContain(token);
  });

  it('deletes every grant of a server an administrator revokes, and revokes them at the provider in the background', async () => {
    expect((await connectAccount(bob, 'bob-upstream')).searchParams.get('result')).toBe('connected');
    const serverId = (await server()).id;
    const holders = (await db().mcpUpstreamGrant.findMany({ where: { serverId }, select: { userId: true } })).map((row) => row.userId).sort();
    expect(holders).toHaveLength(2);
    const revocations = upstream.counts.revocations;
    await revokeServer(adminActor, SERVER, 'provider contract ended');
    expect(await db().mcpUpstreamGrant.count({ where: { serverId } })).toBe(0);
    expect(await drainBackgroundTasks(20_000)).toBe(0);
    // Each grant's refresh and access token, at the issuer that made them.
    expect(upstream.counts.revocations).toBe(revocations + 4);
    const revokes = (await grantEvents(admin.userId)).filter((row) => row.action === 'revoke');
    expect(revokes.map((row) => `${row.outcome}:${row.event.attributes?.reason}:${row.event.attributes?.grants_deleted ?? row.event.attributes?.upstream_revocation}`)).toEqual([
      'success:server_revoked:2',
      'success:server_revoked:revoked',
      'success:server_revoked:revoked',
    ]);
    expect(revokes.slice(1).map((row) => row.event.attributes?.grant_user_id).sort()).toEqual(holders);
  });
});

describe('a connection that finishes while an administrator revokes the server', () => {
  it('stores no grant when the server is revoked during the code exchange, and revokes the tokens just issued', async () => {
    const name = `race-${tag}`;
    await registerServer(adminActor, { name, transport: 'streamable_http', url: upstream.mcpUrl, upstreamAuth: { type: 'oauth_user' }, allowPrivateNetwork: true, scope: [{ kind: 'everyone' }] });
    const serverId = (await getServerByName(admin.tenantId, name))!.id;
    const callback = await consent(alice, 'alice-upstream', name);
    const release = upstream.holdCodeExchanges();
    let finishing: ReturnType<typeof completeConnect>;
    let revocations: number;
    try {
      // The callback passed its checks (the server was active) and waits for the token endpoint.
      finishing = completeConnect(callback, actorOf(alice));
      await vi.waitFor(() => expect(upstream.heldCodeExchanges).toBe(1), { timeout: 10_000 });
      revocations = upstream.counts.revocations;
      await revokeServer(adminActor, name, 'revoked during a connection');
    } finally {
      release();
    }
    expect(await finishing).toEqual({ result: 'not_allowed', serverName: name });
    expect(await db().mcpUpstreamGrant.count({ where: { serverId } })).toBe(0);
    // The refresh and access token issued for the exchange went back to the provider, in the
    // background (the person's callback did not wait for it), recorded as a revoke event.
    expect(await drainBackgroundTasks(10_000)).toBe(0);
    expect(upstream.counts.revocations).toBe(revocations + 2);
    const events = await grantEvents(alice.userId, name);
    expect(events.filter((row) => row.outcome === 'denied').map((row) => row.event.error?.type)).toEqual(['not_allowed']);
    expect(events.filter((row) => row.action === 'revoke').map((row) => `${row.outcome}:${row.event.attributes?.reason}:${row.event.attributes?.upstream_revocation}`)).toEqual(['success:connect_not_stored:revoked']);
  });
});

describe('an administrator’s revocation does not wait on a provider that does not answer', () => {
  const NAME = `down-${tag}`;

  afterAll(() => setUpstreamRevocationDeadline(null));

  it('deletes the grants at once, gives up revoking them upstream at the deadline, and records that', async () => {
    await registerServer(adminActor, { name: NAME, transport: 'streamable_http', url: upstream.mcpUrl, upstreamAuth: { type: 'oauth_user' }, allowPrivateNetwork: true, scope: [{ kind: 'everyone' }] });
    expect((await connectAccount(alice, 'alice-upstream', alice, NAME)).searchParams.get('result')).toBe('connected');
    const serverId = (await getServerByName(admin.tenantId, NAME))!.id;
    const release = upstream.holdRevocations();
    try {
      setUpstreamRevocationDeadline(500);
      const revocations = upstream.counts.revocations;
      // Returns with the provider holding every revocation request: nothing in it waited for one.
      await revokeServer(adminActor, NAME, 'provider is down');
      // The revocation is still in flight (the provider holds it, the deadline is 500 ms away).
      expect(pendingBackgroundTasks()).toBeGreaterThan(0);
      expect(await db().mcpUpstreamGrant.count({ where: { serverId } })).toBe(0);
      expect(await drainBackgroundTasks(20_000)).toBe(0);
      expect(upstream.heldRevocations).toBe(1);
      expect(upstream.counts.revocations).toBe(revocations);
      const revokes = (await grantEvents(admin.userId, NAME)).filter((row) => row.action === 'revoke');
      expect(revokes.map((row) => `${row.outcome}:${row.event.error?.type ?? ''}:${row.event.attributes?.upstream_revocation ?? ''}`)).toEqual(['success::', 'failure:upstream_revocation_timed_out:timed_out']);
      expect(revokes[1]!.event.attributes).toMatchObject({ grant_user_id: alice.userId, issuer: upstream.issuer });
    } finally {
      release();
    }
  });
});

describe('the private network reaches only origins an administrator registered, never an authorization server the upstream names', () => {
  let internal: FakeOAuthUpstream;

  beforeAll(async () => {
    internal = await startFakeOAuthUpstream();
  });

  afterAll(async () => {
    upstream.setResourceMetadata(null);
    await internal.close();
  });

  it('refuses, audited and before sending it anything, a private authorization server on another origin that the server’s metadata names', async () => {
    const name = `named-${tag}`;
    await registerServer(adminActor, { name, transport: 'streamable_http', url: upstream.mcpUrl, upstreamAuth: { type: 'oauth_user' }, allowPrivateNetwork: true, scope: [{ kind: 'everyone' }] });
    // Same address (127.0.0.1) as the registered server, another port: another origin.
    upstream.setResourceMetadata({ authorizationServers: [internal.issuer] });
    try {
      await expect(startConnect(actorOf(alice), name)).rejects.toMatchObject({ reason: 'authorization_server_refused', message: expect.stringContaining('an administrator') });
    } finally {
      upstream.setResourceMetadata(null);
    }
    expect(internal.counts).toEqual({ registrations: 0, codes: 0, refreshes: 0, refusedRefreshes: 0, revocations: 0 });
    expect(await grantOutcomes(alice.userId, name)).toEqual(['connect:denied:authorization_server_refused']);
    expect(await db().mcpUpstreamPin.count({ where: { serverId: (await getServerByName(admin.tenantId, name))!.id } })).toBe(0);
  });

  it('refuses, audited, a resource metadata URL on a private origin nobody named that the server’s 401 points at', async () => {
    const name = `challenge-${tag}`;
    let port = 0;
    const requests: string[] = [];
    // The registered server's 401 names resource metadata on localhost: the same machine, another origin.
    const pointing = createServer((req, res) => {
      requests.push(`${req.headers.host}${req.url}`);
      res.writeHead(401, { 'www-authenticate': `Bearer resource_metadata="http://localhost:${port}/.well-known/oauth-protected-resource"` }).end();
    });
    const origin = await listenOnLoopback(pointing);
    port = Number(new URL(origin).port);
    try {
      await registerServer(adminActor, { name, transport: 'streamable_http', url: `${origin}/mcp`, upstreamAuth: { type: 'oauth_user' }, allowPrivateNetwork: true, scope: [{ kind: 'everyone' }] });
      requests.length = 0;
      await expect(startConnect(actorOf(alice), name)).rejects.toMatchObject({ reason: 'authorization_server_refused' });
      expect(requests.every((request) => !request.startsWith('localhost'))).toBe(true);
      expect(await grantOutcomes(alice.userId, name)).toEqual(['connect:denied:authorization_server_refused']);
    } finally {
      await new Promise<void>((resolve) => pointing.close(() => resolve()));
    }
  });

  it('records an authorization server whose name does not resolve as a failure to reach it, without the administrator hint', async () => {
    const name = `unresolved-${tag}`;
    await registerServer(adminActor, { name, transport: 'streamable_http', url: upstream.mcpUrl, upstreamAuth: { type: 'oauth_user' }, allowPrivateNetwork: true, scope: [{ kind: 'everyone' }] });
    upstream.setResourceMetadata({ authorizationServers: ['https://gatehouse-test.invalid/'] });
    try {
      const refused = startConnect(actorOf(alice), name);
      await expect(refused).rejects.toMatchObject({ reason: 'authorization_server_unreachable' });
      await expect(refused).rejects.not.toThrow('an administrator');
    } finally {
      upstream.setResourceMetadata(null);
    }
    expect(await grantOutcomes(alice.userId, name)).toEqual(['connect:failure:authorization_server_unreachable']);
  });

  it('connects to the same private authorization server once an administrator configures it for the server', async () => {
    const name = `configured-${tag}`;
    await registerServer(adminActor, { name, transport: 'streamable_http', url: upstream.mcpUrl, upstreamAuth: { type: 'oauth_user', authorizationServer: internal.issuer }, allowPrivateNetwork: true, scope: [{ kind: 'everyone' }] });
    const authorization = await startConnect(actorOf(alice), name);
    expect(`${authorization.origin}/`).toBe(internal.issuer);
    expect(internal.counts.registrations).toBe(1);
  });
});

describe('http reaches only origins an administrator named, whatever endpoints the metadata names', () => {
  let metadataServer: Server;
  let issuer: string;
  const requests: string[] = [];

  beforeAll(async () => {
    // An administrator-named internal authorization server on http whose metadata sends tokens
    // to another, public origin over plain http.
    metadataServer = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (!req.url?.startsWith('/.well-known/oauth-authorization-server')) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          issuer,
          authorization_endpoint: `${issuer}authorize`,
          token_endpoint: 'http://tokens.example.com/token',
          registration_endpoint: `${issuer}register`,
          code_challenge_methods_supported: ['S256'],
        }),
      );
    });
    issuer = `${await listenOnLoopback(metadataServer)}/`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => metadataServer.close(() => resolve()));
  });

  it('refuses, audited and before registering, metadata whose token endpoint is http on an origin nobody named', async () => {
    const name = `cleartext-${tag}`;
    await registerServer(adminActor, { name, transport: 'streamable_http', url: upstream.mcpUrl, upstreamAuth: { type: 'oauth_user', authorizationServer: issuer }, allowPrivateNetwork: true, scope: [{ kind: 'everyone' }] });
    await expect(startConnect(actorOf(alice), name)).rejects.toMatchObject({ reason: 'insecure_authorization_server', message: expect.stringContaining('http://tokens.example.com') });
    expect(requests.every((path) => path.startsWith('/.well-known/'))).toBe(true);
    expect(requests.length).toBeGreaterThan(0);
    expect(await grantOutcomes(alice.userId, name)).toEqual(['connect:denied:insecure_authorization_server']);
  });
});

describe('the authorization server is pinned, and tokens go back only to the issuer and client they came from', () => {
  const NAME = `pinned-${tag}`;
  let other: FakeOAuthUpstream;

  async function pinned(): Promise<RegisteredServer> {
    return (await getServerByName(admin.tenantId, NAME))!;
  }

  async function asSuperuser(sql: string, values: unknown[]): Promise<void> {
    const client = await superuserClient();
    try {
      await client.query(sql, values);
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    other = await startFakeOAuthUpstream();
    await registerServer(adminActor, { name: NAME, transport: 'streamable_http', url: upstream.mcpUrl, upstreamAuth: { type: 'oauth_user' }, allowPrivateNetwork: true, scope: [{ kind: 'everyone' }] });
  });

  afterAll(async () => {
    upstream.setResourceMetadata(null);
    upstream.setIssParameter(null);
    upstream.setRefreshDelay(0);
    await other.close();
  });

  it('checks the RFC 9207 iss of the authorization response: the issuer connects, another is refused before the code is exchanged', async () => {
    upstream.setIssParameter(upstream.issuer);
    expect((await connectAccount(alice, 'alice-upstream', alice, NAME)).searchParams.get('result')).toBe('connected');
    upstream.setIssParameter(other.issuer);
    const codes = upstream.counts.codes;
    expect((await connectAccount(bob, 'bob-upstream', bob, NAME)).searchParams.get('result')).toBe('failed');
    expect(upstream.counts.codes).toBe(codes);
    expect(await db().mcpUpstreamGrant.count({ where: { serverId: (await pinned()).id, userId: bob.userId } })).toBe(0);
    expect(await grantOutcomes(bob.userId, NAME)).toContain('connect:failure:exchange_failed');
    upstream.setIssParameter(null);
  });

  it('refuses a callback whose authorization expired, or whose client is no longer the one it was made for', async () => {
    const late = await consent(bob, 'bob-upstream', NAME);
    await asSuperuser(`UPDATE mcp_upstream_authorizations SET expires_at = now() - interval '1 minute' WHERE user_id = $1`, [bob.userId]);
    expect((await callBack(late, bob)).searchParams.get('result')).toBe('expired');
    expect(await grantOutcomes(bob.userId, NAME)).toContain('connect:denied:authorization_expired');

    const codes = upstream.counts.codes;
    const reregistered = await consent(bob, 'bob-upstream', NAME);
    await asSuperuser(`UPDATE mcp_upstream_authorizations SET client_id = 'an-earlier-client' WHERE user_id = $1`, [bob.userId]);
    expect((await callBack(reregistered, bob)).searchParams.get('result')).toBe('failed');
    expect(await grantOutcomes(bob.userId, NAME)).toContain('connect:failure:client_changed');
    expect(upstream.counts.codes).toBe(codes);
  });

  it('refreshes under a short lease: no transaction or row lock is held while the token endpoint answers', async () => {
    const target = await pinned();
    const before = await currentGrant(target, alice.userId);
    if (!('grant' in before)) throw new Error('alice has no grant');
    upstream.setRefreshDelay(1500);
    const refreshes = upstream.counts.refreshes;
    const [first, second] = [refreshGrant(target, alice.userId, before.grant.accessToken), refreshGrant(target, alice.userId, before.grant.accessToken)];
    await new Promise((resolve) => setTimeout(resolve, 500));
    // The row can be locked at once (NOWAIT): nobody holds it across the HTTP call; the lease is taken.
    const { rows } = await pool().query(`SELECT refresh_lease_until > now() AS leased FROM mcp_upstream_grants WHERE server_id = $1 AND user_id = $2 FOR UPDATE NOWAIT`, [target.id, alice.userId]);
    expect(rows).toEqual([{ leased: true }]);
    const [one, two] = await Promise.all([first, second]);
    upstream.setRefreshDelay(0);
    if (!('grant' in one) || !('grant' in two)) throw new Error('a refresh lost the grant');
    expect(one.grant.accessToken).toBe(two.grant.accessToken);
    expect(upstream.counts.refreshes).toBe(refreshes + 1);
    expect((await db().mcpUpstreamGrant.findUniqueOrThrow({ where: { serverId_userId: { serverId: target.id, userId: alice.userId } } })).refreshLeaseUntil).toBeNull();
  });

  it('revokes nothing when the grant was written again while the token endpoint answered: what is stored wins and stays authorized', async () => {
    const target = await pinned();
    const where = { serverId_userId: { serverId: target.id, userId: alice.userId } };
    const before = await currentGrant(target, alice.userId);
    if (!('grant' in before)) throw new Error('alice has no grant');
    const revocations = upstream.counts.revocations;
    upstream.setRefreshDelay(1000);
    try {
      const refreshing = refreshGrant(target, alice.userId, before.grant.accessToken);
      await vi.waitFor(async () => expect((await db().mcpUpstreamGrant.findUniqueOrThrow({ where })).refreshLeaseUntil).not.toBeNull(), { timeout: 5_000 });
      // Another process's write after the lease (as a reconnect or a refresh past the lease would).
      await db().mcpUpstreamGrant.update({ where, data: { updatedAt: new Date() } });
      expect(await refreshing).toMatchObject({ grant: { accessToken: before.grant.accessToken } });
    } finally {
      upstream.setRefreshDelay(0);
    }
    expect(await drainBackgroundTasks(10_000)).toBe(0);
    expect(upstream.counts.revocations).toBe(revocations);
    expect((await grantEvents(alice.userId, NAME)).filter((row) => row.action === 'revoke')).toEqual([]);
    // A fresh grant for the tests that follow (the refresh may have rotated the stored refresh token away).
    expect((await connectAccount(alice, 'alice-upstream', alice, NAME)).searchParams.get('result')).toBe('connected');
  });

  it('refuses to refresh or revoke a grant whose issuer, client or resource differs from the client row, without calling anyone', async () => {
    const target = await pinned();
    const where = { serverId_userId: { serverId: target.id, userId: alice.userId } };
    const stale = async () => {
      const found = await currentGrant(target, alice.userId);
      if (!('grant' in found)) throw new Error('alice has no grant');
      return found.grant.accessToken;
    };
    const calls = () => upstream.counts.refreshes + upstream.counts.refusedRefreshes + upstream.counts.revocations;
    const before = calls();
    await db().mcpUpstreamGrant.update({ where, data: { issuer: other.issuer } });
    expect(await refreshGrant(target, alice.userId, await stale())).toEqual({ missing: 'refresh_failed' });
    expect(await grantOutcomes(alice.userId, NAME)).toContain('refresh:failure:issuer_changed');

    expect((await connectAccount(alice, 'alice-upstream', alice, NAME)).searchParams.get('result')).toBe('connected');
    await db().mcpUpstreamGrant.update({ where, data: { clientId: 'an-earlier-client' } });
    expect(await refreshGrant(target, alice.userId, await stale())).toEqual({ missing: 'refresh_failed' });
    expect(await grantOutcomes(alice.userId, NAME)).toContain('refresh:failure:client_changed');

    expect((await connectAccount(alice, 'alice-upstream', alice, NAME)).searchParams.get('result')).toBe('connected');
    await db().mcpUpstreamGrant.update({ where, data: { resource: `${upstream.mcpUrl}/elsewhere` } });
    expect(await disconnect(actorOf(alice), NAME)).toEqual({ upstreamRevocation: 'withheld' });
    expect(calls()).toBe(before);
    expect(other.counts).toEqual({ registrations: 0, codes: 0, refreshes: 0, refusedRefreshes: 0, revocations: 0 });
  });

  it('refuses resource metadata for a broader resource than the server (RFC 9728 §3.3 exact match)', async () => {
    upstream.setResourceMetadata({ resource: new URL(upstream.mcpUrl).origin });
    await expect(startConnect(actorOf(bob), NAME)).rejects.toMatchObject({ reason: 'resource_mismatch' });
    upstream.setResourceMetadata(null);
  });

  it('after the server names another authorization server, lets anyone connect again only once an administrator resets the pin (revoking the old grants)', async () => {
    expect((await connectAccount(alice, 'alice-upstream', alice, NAME)).searchParams.get('result')).toBe('connected');
    upstream.setResourceMetadata({ authorizationServers: [other.issuer] });
    await expect(startConnect(actorOf(alice), NAME)).rejects.toThrow(`gatehouse mcp reset-oauth ${NAME}`);
    expect(other.counts.registrations).toBe(0);
    await expect(resetUpstreamOAuth({ ...adminActor, userId: bob.userId, email: bob.email, roles: bob.roles }, NAME)).rejects.toThrow('mcp.admin');
    const revocations = upstream.counts.revocations;
    expect(await resetUpstreamOAuth(adminActor, NAME)).toEqual({ previousIssuer: upstream.issuer, grantsDeleted: 1 });
    expect(await db().mcpUpstreamGrant.count({ where: { serverId: (await pinned()).id } })).toBe(0);
    // Alice's tokens are revoked in the background where they came from, never at the newly named server.
    expect(await drainBackgroundTasks(20_000)).toBe(0);
    expect(upstream.counts.revocations).toBe(revocations + 2);
    expect(other.counts.revocations).toBe(0);
    expect((await grantEvents(admin.userId, NAME)).map((row) => `${row.action}:${row.outcome}:${row.event.attributes?.upstream_revocation ?? row.event.attributes?.grants_deleted}`)).toEqual(['revoke:success:1', 'revoke:success:revoked']);
    // The newly named one is on another private origin nobody configured: refused, though the pin is free.
    await expect(startConnect(actorOf(alice), NAME)).rejects.toMatchObject({ reason: 'authorization_server_refused' });
    expect(other.counts.registrations).toBe(0);
    upstream.setResourceMetadata(null);
    const authorization = await startConnect(actorOf(alice), NAME);
    expect(`${authorization.origin}/`).toBe(upstream.issuer);
    expect(await db().mcpUpstreamPin.findUnique({ where: { serverId: (await pinned()).id } })).toMatchObject({ issuer: upstream.issuer });
    const { rows } = await pool().query(`SELECT outcome, event->'attributes'->>'previous_issuer' AS previous FROM audit_events WHERE action = 'mcp.server.reset_oauth' AND event->'target'->>'name' = $1 ORDER BY seq`, [NAME]);
    expect(rows).toEqual([{ outcome: 'denied', previous: null }, { outcome: 'success', previous: upstream.issuer }]);
  });

  it('limits how many connections a person may start at once', async () => {
    const started: unknown[] = [];
    let refusal: unknown = null;
    for (let i = 0; i < 12 && !refusal; i += 1) {
      await startConnect(actorOf(bob), NAME).then((url) => started.push(url), (error: unknown) => (refusal = error));
    }
    expect(refusal).toMatchObject({ reason: 'rate_limited' });
    expect(started.length).toBeLessThanOrEqual(10);
    expect(await grantOutcomes(bob.userId, NAME)).toContain('connect:denied:rate_limited');
  });
});
