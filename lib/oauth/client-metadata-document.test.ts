import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, db } from '@/lib/db/client';
import { handleProtectedResourceMetadata } from '@/lib/mcp/resource';
import { startLoopbackTlsServer, type LoopbackTlsServer } from '@/lib/testing/loopback-tls';
import { AccessTokenError } from '@/lib/tokens/errors';
import { setRevocationCacheTtl } from '@/lib/tokens/revocation';
import { verifyAccessToken } from '@/lib/tokens/verify';
import { resetClientMetadataTuning, tuneClientMetadataDocuments } from './client-metadata-document';
import type { UserIdentity } from './identity';
import { s256 } from './pkce';
import { configureTestEnvironment, cookiesFrom, createTestUser, hiddenInput, postForm, randomTestIp, sessionCookie, startOAuthServer, type TestServer } from './test-harness';

const REDIRECT_URI = 'http://127.0.0.1:47321/callback';

let server: TestServer;
let documents: LoopbackTlsServer;
let user: UserIdentity;
/** What the document server answers, per path. */
const served = new Map<string, { status?: number; type?: string; headers?: Record<string, string>; body: string }>();
const fetches = new Map<string, number>();

function serveDocument(req: IncomingMessage, res: ServerResponse): void {
  const path = req.url ?? '/';
  fetches.set(path, (fetches.get(path) ?? 0) + 1);
  const answer = served.get(path);
  if (!answer) {
    res.statusCode = 404;
    res.end();
    return;
  }
  res.writeHead(answer.status ?? 200, { 'content-type': answer.type ?? 'application/json', ...answer.headers });
  res.end(answer.body);
}

/** A fresh document path on the loopback https server, serving `document` (client_id filled in). */
function publish(document: Record<string, unknown> = {}, options: { type?: string; headers?: Record<string, string>; status?: number } = {}): string {
  const path = `/clients/${randomBytes(6).toString('hex')}.json`;
  const clientId = `${documents.url}${path}`;
  served.set(path, { ...options, body: JSON.stringify({ client_id: clientId, client_name: 'Metadata Inspector', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', ...document }) });
  return clientId;
}

const verifier = randomBytes(32).toString('base64url');

function authorizeUrl(clientId: string, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT_URI, code_challenge: s256(verifier), code_challenge_method: 'S256', state: 's1', resource: `${server.url}/mcp`, ...extra });
  return `${server.url}/oauth/authorize?${params.toString()}`;
}

/** The browser step: the signed-in user opens the authorization URL and approves. */
async function approve(url: string): Promise<URL> {
  const cookie = await sessionCookie(user);
  const page = await fetch(url, { headers: { cookie }, redirect: 'manual' });
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('Metadata Inspector');
  // Self-described: the consent page says where the description came from, unverified.
  expect(html).toContain(`describes itself at <strong>${new URL(documents.url).host}</strong>`);
  const decision = await postForm(url, { csrf: hiddenInput(html, 'csrf')!, decision: 'approve' }, { cookie: `${cookie}; ${cookiesFrom(page)}` });
  expect(decision.status).toBe(302);
  return new URL(decision.headers.get('location')!);
}

async function errorPageFor(clientId: string): Promise<string> {
  const response = await fetch(authorizeUrl(clientId), { headers: { cookie: await sessionCookie(user), 'x-forwarded-for': randomTestIp() }, redirect: 'manual' });
  expect(response.status).toBe(400);
  return response.text();
}

beforeAll(async () => {
  configureTestEnvironment();
  setRevocationCacheTtl(0);
  server = await startOAuthServer();
  documents = await startLoopbackTlsServer(serveDocument);
  user = await createTestUser(['member']);
});

beforeEach(() => {
  resetClientMetadataTuning();
  tuneClientMetadataDocuments({ allowLoopback: true, ca: documents.certificate });
});

afterAll(async () => {
  resetClientMetadataTuning();
  await documents.close();
  await server.close();
  await closeAuditWriter();
  await closeDatabase();
});

describe('Client ID Metadata Documents', () => {
  it('is advertised, and the MCP server publishes its protected resource metadata naming this issuer', async () => {
    const metadata = (await (await fetch(`${server.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({ client_id_metadata_document_supported: true, code_challenge_methods_supported: ['S256'] });
    const resource = (await (await handleProtectedResourceMetadata(new Request(`${server.url}/.well-known/oauth-protected-resource/mcp`))).json()) as Record<string, unknown>;
    expect(resource).toMatchObject({ resource: `${server.url}/mcp`, authorization_servers: [server.url], bearer_methods_supported: ['header'] });
  });

  it('signs a user in to a client known only by its document URL, with a token for the MCP resource alone', async () => {
    const clientId = publish();
    const callback = await approve(authorizeUrl(clientId));
    expect(callback.searchParams.get('iss')).toBe(server.url);
    const code = callback.searchParams.get('code')!;
    const token = await postForm(`${server.url}/oauth/token`, { grant_type: 'authorization_code', code, client_id: clientId, redirect_uri: REDIRECT_URI, code_verifier: verifier, resource: `${server.url}/mcp` });
    expect(token.status).toBe(200);
    const body = (await token.json()) as { access_token: string };
    await expect(verifyAccessToken(body.access_token, { audience: `${server.url}/mcp` })).resolves.toMatchObject({ userId: user.userId, clientId });
    await expect(verifyAccessToken(body.access_token, { audience: `${server.url}/v1` })).rejects.toBeInstanceOf(AccessTokenError);

    const row = await db().oAuthClient.findUnique({ where: { clientId } });
    expect(row).toMatchObject({ origin: 'metadata_document', name: 'Metadata Inspector', redirectUris: [REDIRECT_URI], tokenEndpointAuthMethod: 'none' });
    // Cached: the token request and this second authorization did not fetch it again.
    await fetch(authorizeUrl(clientId), { headers: { cookie: await sessionCookie(user) }, redirect: 'manual' });
    expect(fetches.get(new URL(clientId).pathname)).toBe(1);
  });

  it('fetches the document again once its cache lifetime is over, taking its changes', async () => {
    const clientId = publish({}, { headers: { 'cache-control': 'max-age=600' } });
    expect((await fetch(authorizeUrl(clientId), { headers: { cookie: await sessionCookie(user) }, redirect: 'manual' })).status).toBe(200);
    const row = await db().oAuthClient.findUniqueOrThrow({ where: { clientId } });
    expect(row.metadataExpiresAt!.getTime() - Date.now()).toBeGreaterThan(500_000);
    const path = new URL(clientId).pathname;
    served.set(path, { body: JSON.stringify({ client_id: clientId, client_name: 'Renamed Inspector', redirect_uris: ['http://127.0.0.1:47321/other'] }) });
    await db().oAuthClient.update({ where: { clientId }, data: { metadataExpiresAt: new Date(Date.now() - 1000) } });
    const html = await errorPageFor(clientId);
    expect(html).toContain('not one registered');
    expect(fetches.get(path)).toBe(2);
    expect(await db().oAuthClient.findUniqueOrThrow({ where: { clientId } })).toMatchObject({ name: 'Renamed Inspector', redirectUris: ['http://127.0.0.1:47321/other'] });
  });

  it('refuses documents that do not describe the client they were fetched for, or ask for secrets', async () => {
    expect(await errorPageFor(publish({ client_id: 'https://elsewhere.example/client.json' }))).toContain('different client_id');
    expect(await errorPageFor(publish({ token_endpoint_auth_method: 'client_secret_basic' }))).toContain('not supported');
    expect(await errorPageFor(publish({ redirect_uris: ['http://evil.example/cb'] }))).toContain('loopback');
    expect(await errorPageFor(publish({ redirect_uris: 'nope' }))).toContain('not valid client metadata');
    expect(await errorPageFor(publish({}, { type: 'text/html' }))).toContain('not JSON');
    expect(await errorPageFor(publish({ client_name: 'x'.repeat(6000) }))).toContain('larger than');
    expect(await errorPageFor(publish({}, { status: 302, headers: { location: '/elsewhere' } }))).toContain('redirects are not followed');
    expect(await errorPageFor(`${documents.url}/missing.json`)).toContain('answered 404');
  });

  it('never fetches from private addresses or over http, and checks the URL itself', async () => {
    resetClientMetadataTuning();
    const clientId = publish();
    expect(await errorPageFor(clientId)).toContain('not public');
    expect(fetches.get(new URL(clientId).pathname)).toBeUndefined();
    for (const [url, reason] of [
      ['https://10.0.0.8/client.json', 'not public'],
      ['https://169.254.169.254/latest/meta-data', 'not public'],
      ['https://metadata.google.internal/client.json', 'metadata service'],
      ['https://app.example', 'must have a path'],
      ['https://app.example/a/../client.json', 'path segments'],
      ['https://user:pw@app.example/client.json', 'user information'],
    ]) {
      expect(await errorPageFor(url!), url).toContain(reason);
    }
    // http is no client id URL at all: an unknown client.
    expect(await errorPageFor(`http://127.0.0.1:1/client.json`)).toContain('not registered');
  });

  it('limits how many new documents one address can make Gatehouse fetch', async () => {
    process.env.GATEHOUSE_CLIENT_METADATA_FETCHES_PER_IP_PER_MINUTE = '2';
    try {
      const ip = randomTestIp();
      const open = async (clientId: string) => fetch(authorizeUrl(clientId), { headers: { cookie: await sessionCookie(user), 'x-forwarded-for': ip }, redirect: 'manual' });
      expect((await open(publish())).status).toBe(200);
      expect((await open(publish())).status).toBe(200);
      const third = publish();
      const refused = await open(third);
      expect(refused.status).toBe(400);
      expect(await refused.text()).toContain('too many new client metadata documents');
      expect(fetches.get(new URL(third).pathname)).toBeUndefined();
    } finally {
      delete process.env.GATEHOUSE_CLIENT_METADATA_FETCHES_PER_IP_PER_MINUTE;
    }
  });

  it('accepts the Claude connector callbacks by dynamic registration', async () => {
    const response = await fetch(`${server.url}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': randomTestIp() },
      body: JSON.stringify({ client_name: 'Claude', redirect_uris: ['https://claude.ai/api/mcp/auth_callback', 'https://claude.com/api/mcp/auth_callback'], token_endpoint_auth_method: 'none' }),
    });
    expect(response.status).toBe(201);
  });
});
