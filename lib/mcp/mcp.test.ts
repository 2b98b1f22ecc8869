import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { UnauthorizedError, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { PromptListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, db, pool } from '@/lib/db/client';
import { dataPlane } from '@/lib/http/data-plane';
import { serveWithWebHandler } from '@/lib/http/node-adapter';
import { resetClientMetadataTuning, tuneClientMetadataDocuments } from '@/lib/oauth/client-metadata-document';
import type { UserIdentity } from '@/lib/oauth/identity';
import { mintAccessToken } from '@/lib/oauth/mint';
import { revokeSession } from '@/lib/oauth/sessions';
import { configureTestEnvironment, cookiesFrom, createTestUser, hiddenInput, postForm, servePublicly, sessionCookie } from '@/lib/oauth/test-harness';
import { listenOnLoopback } from '@/lib/platform/net';
import { createSkill, shareSkill, skillsChangesReady, type SkillActor } from '@/lib/skills';
import { startLoopbackTlsServer, type LoopbackTlsServer } from '@/lib/testing/loopback-tls';
import { signAccessToken } from '@/lib/tokens/sign';
import { setRevocationCacheTtl } from '@/lib/tokens/revocation';
import { closeMcpSessions } from './index';

const run = promisify(execFile);
const REDIRECT_URI = 'http://127.0.0.1:47655/callback';
const tag = randomBytes(3).toString('hex');

let server: Server;
let baseUrl: string;
let documents: LoopbackTlsServer;
let alice: UserIdentity;
let bob: UserIdentity;
let aliceActor: SkillActor;
let standupId: string;

function actorOf(user: UserIdentity): SkillActor {
  return { tenantId: user.tenantId, userId: user.userId, email: user.email, roles: user.roles, callSource: 'cli' };
}

function skillMd(name: string, body: string, extra = ''): string {
  return `---\nname: ${name}\ndescription: The ${name} skill.\n${extra}---\n\n${body}\n`;
}

/**
 * The SDK's OAuth client provider, kept in memory; the browser step is the signed-in user
 * opening the authorization URL and approving the consent page, as a browser would.
 */
class TestProvider implements OAuthClientProvider {
  private information: OAuthClientInformationMixed | undefined;
  private saved: OAuthTokens | undefined;
  private verifier = '';
  authorizationUrl: URL | undefined;
  code: string | undefined;

  constructor(
    private readonly user: UserIdentity,
    readonly clientMetadataUrl?: string,
  ) {}

  get redirectUrl(): string {
    return REDIRECT_URI;
  }

  get clientMetadata(): OAuthClientMetadata {
    return { client_name: 'SDK test client', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }

  clientInformation() {
    return this.information;
  }

  saveClientInformation(information: OAuthClientInformationMixed) {
    this.information = information;
  }

  tokens() {
    return this.saved;
  }

  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }

  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }

  codeVerifier() {
    return this.verifier;
  }

  async redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
    const cookie = await sessionCookie(this.user);
    const page = await fetch(url, { headers: { cookie }, redirect: 'manual' });
    expect(page.status).toBe(200);
    const html = await page.text();
    const decision = await postForm(url.toString(), { csrf: hiddenInput(html, 'csrf')!, decision: 'approve' }, { cookie: `${cookie}; ${cookiesFrom(page)}` });
    expect(decision.status).toBe(302);
    const callback = new URL(decision.headers.get('location')!);
    expect(callback.searchParams.get('iss')).toBe(baseUrl);
    this.code = callback.searchParams.get('code') ?? undefined;
  }
}

/** What a client holding only the URL does: connect, get challenged, sign in, connect again. */
async function connect(provider: TestProvider): Promise<Client> {
  const url = new URL(`${baseUrl}/mcp`);
  const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
  await expect(new Client({ name: 'sdk-test', version: '1.0.0' }).connect(first)).rejects.toBeInstanceOf(UnauthorizedError);
  expect(provider.code).toBeTruthy();
  await first.finishAuth(provider.code!);
  const client = new Client({ name: 'sdk-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
  return client;
}

async function mcpPost(token: string | null): Promise<Response> {
  return fetch(`${baseUrl}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
  });
}

async function skillAudit(userId: string) {
  const { rows } = await pool().query<{ action: string; outcome: string; event: { target?: { name?: string }; attributes?: { skill_version?: number }; mcp?: { method: string; session_id?: string }; client_id?: string; trace_id: string } }>(
    `SELECT action, outcome, event FROM audit_events WHERE actor_user_id = $1 AND event_type = 'mcp.tool_call' ORDER BY seq`,
    [userId],
  );
  return rows;
}

beforeAll(async () => {
  configureTestEnvironment();
  setRevocationCacheTtl(0);
  server = createServer((req, res) => {
    void serveWithWebHandler(req, res, (request) => dataPlane(request) ?? Promise.resolve(new Response('not found', { status: 404 })));
  });
  baseUrl = servePublicly(await listenOnLoopback(server));
  documents = await startLoopbackTlsServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ client_id: `${documents.url}${req.url}`, client_name: 'Metadata SDK client', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' }));
  });
  alice = await createTestUser(['member', 'author']);
  bob = await createTestUser(['member']);
  aliceActor = actorOf(alice);
  const standup = await createSkill(aliceActor, { content: skillMd(`standup-${tag}`, 'Write the standup for $team about {{ topic }}.', 'arguments:\n  - name: team\n    description: Which team\n    required: true\n  - name: topic\n') });
  standupId = standup.id;
  const shared = await createSkill(aliceActor, { content: skillMd(`shared-${tag}`, 'Shared with everyone.') });
  await shareSkill(aliceActor, shared.id, { sharing: 'organisation' });
  await createSkill(actorOf(bob), { content: skillMd(`secret-${tag}`, 'Bob only.') });
  await skillsChangesReady();
});

afterAll(async () => {
  resetClientMetadataTuning();
  await closeMcpSessions();
  await documents.close();
  await new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  await closeAuditWriter();
  await closeDatabase();
});

describe('the skills MCP server with the real SDK client', () => {
  it('connects from only the URL (discovery, registration, browser approval, token) and serves the user’s skills as prompts, resources and a tool; an edit in another process signals list_changed', async () => {
    const provider = new TestProvider(alice);
    const client = await connect(provider);
    // Discovery went through the protected resource metadata to this issuer, with the MCP resource.
    expect(provider.authorizationUrl?.origin).toBe(baseUrl);
    expect(provider.authorizationUrl?.searchParams.get('resource')).toBe(`${baseUrl}/mcp`);
    expect(String(provider.clientInformation()?.client_id)).toMatch(/^dyn_/);

    const { prompts } = await client.listPrompts();
    const names = prompts.map((prompt) => prompt.name);
    expect(names).toEqual(expect.arrayContaining([`standup-${tag}`, `shared-${tag}`]));
    expect(names).not.toContain(`secret-${tag}`);
    expect(prompts.find((prompt) => prompt.name === `standup-${tag}`)).toMatchObject({
      description: `The standup-${tag} skill.`,
      arguments: [
        { name: 'team', description: 'Which team', required: true },
        { name: 'topic', required: false },
      ],
    });

    const got = await client.getPrompt({ name: `standup-${tag}`, arguments: { team: 'Platform', topic: 'the release' } });
    expect(got.messages).toEqual([{ role: 'user', content: { type: 'text', text: 'Write the standup for Platform about the release.\n' } }]);
    await expect(client.getPrompt({ name: `standup-${tag}`, arguments: { topic: 'x' } })).rejects.toThrow(/team/);

    const resource = await client.readResource({ uri: `skill://standup-${tag}/SKILL.md` });
    expect(resource.contents[0]).toMatchObject({ mimeType: 'text/markdown', text: expect.stringContaining(`name: standup-${tag}`) });
    expect((await client.listResources()).resources.map((r) => r.uri)).toContain(`skill://shared-${tag}/SKILL.md`);
    const tool = await client.callTool({ name: 'get_skill', arguments: { name: `shared-${tag}` } });
    expect(tool).toMatchObject({ content: [{ type: 'text', text: 'Shared with everyone.\n' }] });

    // Another user's private skill: neither listed nor fetchable by any path.
    await expect(client.getPrompt({ name: `secret-${tag}` })).rejects.toThrow(/no skill named/);
    await expect(client.readResource({ uri: `skill://secret-${tag}/SKILL.md` })).rejects.toThrow(/no skill named/);
    expect(await client.callTool({ name: 'get_skill', arguments: { name: `secret-${tag}` } })).toMatchObject({ isError: true });

    const changed = new Promise<void>((resolve) => client.setNotificationHandler(PromptListChangedNotificationSchema, () => resolve()));
    const edit = JSON.stringify({ actor: aliceActor, skillId: standupId, content: skillMd(`standup-${tag}`, 'Standup v2 for $team.', 'arguments:\n  - name: team\n    required: true\n'), baseVersion: 1 });
    const child = await run(process.execPath, ['--import', 'tsx', 'lib/mcp/testing/edit-skill.ts', edit], { env: process.env, timeout: 120_000 });
    expect(JSON.parse(child.stdout.trim().split('\n').at(-1)!)).toMatchObject({ version: 2 });
    await changed;
    const again = await client.getPrompt({ name: `standup-${tag}`, arguments: { team: 'Platform' } });
    expect(again.messages[0]?.content).toEqual({ type: 'text', text: 'Standup v2 for Platform.\n' });

    const events = await skillAudit(alice.userId);
    const served = events.filter((row) => row.outcome === 'success').map((row) => [row.action, row.event.target?.name, row.event.attributes?.skill_version]);
    expect(served).toEqual([
      ['skill.prompt_get', `standup-${tag}`, 1],
      ['skill.resource_read', `standup-${tag}`, 1],
      ['skill.tool_call', `shared-${tag}`, 1],
      ['skill.prompt_get', `standup-${tag}`, 2],
    ]);
    const success = events.find((row) => row.outcome === 'success')!;
    expect(success.event.client_id).toBe(provider.clientInformation()?.client_id);
    expect(success.event.mcp?.session_id).toBeTruthy();
    expect(success.event.trace_id).toMatch(/^[0-9a-f]{32}$/);
    await client.close();
  });

  it('signs in a client known only by its Client ID Metadata Document', async () => {
    tuneClientMetadataDocuments({ allowLoopback: true, ca: documents.certificate });
    const clientId = `${documents.url}/sdk-client-${tag}.json`;
    const provider = new TestProvider(bob, clientId);
    const client = await connect(provider);
    expect(provider.clientInformation()?.client_id).toBe(clientId);
    expect(provider.authorizationUrl?.searchParams.get('client_id')).toBe(clientId);
    expect(await db().oAuthClient.findUnique({ where: { clientId } })).toMatchObject({ origin: 'metadata_document', name: 'Metadata SDK client' });
    const names = (await client.listPrompts()).prompts.map((prompt) => prompt.name);
    expect(names).toEqual(expect.arrayContaining([`secret-${tag}`, `shared-${tag}`]));
    expect(names).not.toContain(`standup-${tag}`);
    await client.close();
  });

  it('challenges a request without a token, with an expired one, and with a token for another resource', async () => {
    const metadataUrl = `${baseUrl}/.well-known/oauth-protected-resource/mcp`;
    const none = await mcpPost(null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${metadataUrl}"`);

    const gateway = await mintAccessToken({ email: alice.email, issuer: baseUrl });
    const wrong = await mcpPost(gateway.accessToken);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(new RegExp(`^Bearer error="invalid_token", error_description="[^"]*different service", resource_metadata="${metadataUrl}"$`));

    const minted = await mintAccessToken({ email: alice.email, issuer: baseUrl, audience: `${baseUrl}/mcp` });
    const session = await db().oAuthSession.findUniqueOrThrow({ where: { id: minted.sessionId } });
    const expired = await signAccessToken({
      issuer: baseUrl,
      subject: { userId: alice.userId, email: alice.email, tenantId: alice.tenantId, department: alice.department, roles: alice.roles },
      sessionId: session.id,
      clientId: 'gatehouse-cli',
      audience: `${baseUrl}/mcp`,
      scope: '',
      ttlSeconds: 60,
      now: new Date(Date.now() - 3600_000),
    });
    const late = await mcpPost(expired.token);
    expect(late.status).toBe(401);
    expect(late.headers.get('www-authenticate')).toMatch(new RegExp(`^Bearer error="invalid_token", error_description="[^"]*expired[^"]*", resource_metadata="${metadataUrl}"$`));

    // The MCP token itself works here, and is refused by the gateway.
    expect((await mcpPost(minted.accessToken)).status).toBe(200);
    const atGateway = await fetch(`${baseUrl}/v1/models`, { headers: { authorization: `Bearer ${minted.accessToken}` } });
    expect(atGateway.status).toBe(401);

    const metadata = (await (await fetch(metadataUrl)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({ resource: `${baseUrl}/mcp`, authorization_servers: [baseUrl] });
    expect(await (await fetch(`${baseUrl}/.well-known/oauth-protected-resource`)).json()).toEqual(metadata);
  });

  it('closes the notification stream of a sign-in that was revoked instead of signalling it', async () => {
    const minted = await mintAccessToken({ email: alice.email, issuer: baseUrl, audience: `${baseUrl}/mcp` });
    const opened = await mcpPost(minted.accessToken);
    expect(opened.status).toBe(200);
    await opened.text();
    const sessionId = opened.headers.get('mcp-session-id')!;
    const headers = { authorization: `Bearer ${minted.accessToken}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' };
    const initialized = await fetch(`${baseUrl}/mcp`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    expect(initialized.status).toBe(202);
    const stream = await fetch(`${baseUrl}/mcp`, { headers: { ...headers, accept: 'text/event-stream' } });
    expect(stream.status).toBe(200);

    await revokeSession(minted.sessionId, 'admin_revoked');
    await createSkill(aliceActor, { content: skillMd(`after-revoke-${tag}`, 'New.') });
    // The stream ends without carrying the change.
    const received = await stream.text();
    expect(received).not.toContain('list_changed');
  });

  it('refuses a user whose roles do not grant skills.read', async () => {
    const finance = await createTestUser(['finance']);
    const minted = await mintAccessToken({ email: finance.email, issuer: baseUrl, audience: `${baseUrl}/mcp` });
    const response = await mcpPost(minted.accessToken);
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: { message: expect.stringContaining('skills.read') } });
  });
});

vi.setConfig({ testTimeout: 180_000 });
