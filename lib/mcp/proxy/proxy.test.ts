import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema, type ClientCapabilities, type CreateMessageRequest } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { closeAuditWriter, flushCountedEvents, loadContent } from '@/lib/audit';
import { asSuperuser, superuserClient, withEventsRefused } from '@/lib/audit/testing/fixtures';
import { closeDatabase, db, pool } from '@/lib/db/client';
import { dataPlane } from '@/lib/http/data-plane';
import { serveWithWebHandler } from '@/lib/http/node-adapter';
import { registerServer, revokeServer, type RegistryActor } from '@/lib/mcp/registry';
import type { UserIdentity } from '@/lib/oauth/identity';
import { mintAccessToken } from '@/lib/oauth/mint';
import { configureTestEnvironment, createTestUser, servePublicly } from '@/lib/oauth/test-harness';
import { pendingBackgroundTasks } from '@/lib/platform/background';
import { listenOnLoopback } from '@/lib/platform/net';
import { signAccessToken } from '@/lib/tokens/sign';
import { setRevocationCacheTtl } from '@/lib/tokens/revocation';
import { createToolPolicyRule } from '@/lib/tool-policy';
import { closeMcpSessions } from '../index';
import { MCP_REACH_SQL } from './evidence';
import { closeProxySessions, POLICY_BLOCKED } from './index';
import { ENDLESS_TOOL, FAILING_TOOL, startFakeUpstream, type FakeUpstream } from './testing/upstream';
import { ANSWER_TOO_LARGE, MAX_UPSTREAM_MESSAGE_BYTES } from './upstream';

const tag = randomBytes(3).toString('hex');
const SECRET = `sk_live_${randomBytes(12).toString('hex')}`;
const SERVER = `payments-${tag}`;

let gatehouse: Server;
let baseUrl: string;
let upstream: FakeUpstream;
let admin: UserIdentity;
let payments: UserIdentity;
let marketing: UserIdentity;
let legal: UserIdentity;
let adminActor: RegistryActor;
/** Everything any proxy response carried to the client (bodies and headers), to look for the secret in. */
let received = '';

function proxyUrl(name = SERVER): string {
  return `${baseUrl}/mcp/servers/${name}`;
}

/** A fetch that records everything the client receives, as it streams. */
const recordingFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  received += JSON.stringify([...response.headers]);
  if (!response.body) return response;
  const decoder = new TextDecoder();
  const body = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        received += decoder.decode(chunk, { stream: true });
        controller.enqueue(chunk);
      },
    }),
  );
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
};

async function tokenFor(user: UserIdentity, options: { clientId?: string; name?: string } = {}): Promise<string> {
  const minted = await mintAccessToken({ email: user.email, issuer: baseUrl, audience: proxyUrl(options.name) });
  if (!options.clientId) return minted.accessToken;
  const signed = await signAccessToken({
    issuer: baseUrl,
    subject: { userId: user.userId, email: user.email, tenantId: user.tenantId, department: user.department, roles: user.roles },
    sessionId: minted.sessionId,
    clientId: options.clientId,
    audience: proxyUrl(options.name),
    scope: '',
    ttlSeconds: 600,
  });
  return signed.token;
}

interface ConnectOptions {
  clientId?: string;
  name?: string;
  capabilities?: ClientCapabilities;
}

/** A Streamable HTTP transport to the proxy, signed in as `user`. */
async function transportAs(user: UserIdentity, options: ConnectOptions = {}): Promise<StreamableHTTPClientTransport> {
  const token = await tokenFor(user, options);
  return new StreamableHTTPClientTransport(new URL(proxyUrl(options.name)), { requestInit: { headers: { authorization: `Bearer ${token}` } }, fetch: recordingFetch });
}

/** The real SDK client, signed in as `user`, connected through the proxy. */
async function connectAs(user: UserIdentity, options: ConnectOptions = {}): Promise<Client> {
  const client = new Client({ name: 'proxy-test', version: '1.0.0' }, { capabilities: options.capabilities ?? {} });
  await client.connect(await transportAs(user, options));
  return client;
}

interface ProxyEventRow {
  action: string;
  outcome: string;
  trace_id: string;
  event: {
    mcp?: { server: string; method: string; tool?: string; resource_uri?: string; duration_ms?: number; is_error?: boolean };
    policy?: { decision: string; rule?: string; reason?: string };
    content_refs?: { kind: string; sha256: string }[];
    attributes?: Record<string, string | number | boolean>;
    error?: { type: string; message?: string };
    event_id?: string;
    call_source?: string;
    client_id?: string;
  };
}

/** How each proxied request of the user ended (mcp.tool_call), in order. */
async function proxyEvents(userId: string, server = SERVER): Promise<ProxyEventRow[]> {
  return eventsOf(userId, 'mcp.tool_call', server);
}

/** The decision on each proxied request of the user (policy.decision mcp_proxy.authorize), in order. */
async function decisionEvents(userId: string, server = SERVER): Promise<ProxyEventRow[]> {
  return eventsOf(userId, 'policy.decision', server);
}

async function eventsOf(userId: string, eventType: string, server: string): Promise<ProxyEventRow[]> {
  const { rows } = await pool().query<ProxyEventRow>(
    `SELECT action, outcome, event->>'trace_id' AS trace_id, event FROM audit_events
      WHERE actor_user_id = $1 AND event_type = $2 AND event->'mcp'->>'server' = $3 AND action <> 'mcp_proxy.connect' ORDER BY seq`,
    [userId, eventType, server],
  );
  return rows;
}

/** The ends are recorded after the answer (background tasks): waits for them (not draining, which would close the sessions as shutdown does). */
async function settled(): Promise<void> {
  await vi.waitFor(() => expect(pendingBackgroundTasks()).toBe(0), { timeout: 20_000, interval: 20 });
}

function traceparent(traceId: string): string {
  return `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
}

async function rule(input: { tool: string; decision: 'allow' | 'ask' | 'block'; principalKind: 'everyone' | 'department'; principal?: string; conditions?: object; description: string }) {
  return createToolPolicyRule(adminActor, { server: SERVER, ...input });
}

beforeAll(async () => {
  configureTestEnvironment();
  setRevocationCacheTtl(0);
  gatehouse = createServer((req, res) => {
    void serveWithWebHandler(req, res, (request) => dataPlane(request) ?? Promise.resolve(new Response('not found', { status: 404 })));
  });
  baseUrl = servePublicly(await listenOnLoopback(gatehouse));
  upstream = await startFakeUpstream('authorization', `Bearer ${SECRET}`);
  admin = await createTestUser(['admin']);
  adminActor = { userId: admin.userId, tenantId: admin.tenantId, email: admin.email, roles: admin.roles, callSource: 'cli' };
  payments = await createTestUser(['member'], `Payments ${tag}`);
  marketing = await createTestUser(['member'], `Marketing ${tag}`);
  legal = await createTestUser(['member'], `Legal ${tag}`);
  await registerServer(adminActor, {
    name: SERVER,
    transport: 'streamable_http',
    url: upstream.url,
    upstreamAuth: { type: 'static_secret', secret: SECRET },
    allowPrivateNetwork: true,
    scope: [
      { kind: 'department', value: payments.department! },
      { kind: 'department', value: marketing.department! },
    ],
  });
  await rule({ tool: 'charge_card', decision: 'block', principalKind: 'department', principal: marketing.department!, description: 'Marketing does not charge cards' });
  await rule({ tool: 'charge_card', decision: 'block', principalKind: 'department', principal: payments.department!, conditions: { clientIds: ['unvetted-agent'] }, description: 'No charges from unvetted agents' });
  await rule({ tool: 'export_all', decision: 'ask', principalKind: 'everyone', description: 'Exports need a human' });
});

afterAll(async () => {
  await closeProxySessions();
  await closeMcpSessions();
  await upstream.close();
  await new Promise<void>((resolve) => {
    gatehouse.closeAllConnections();
    gatehouse.close(() => resolve());
  });
  await closeAuditWriter();
  await closeDatabase();
});

describe('the MCP proxy with a real upstream SDK server and the real SDK client', () => {
  it('challenges per the MCP authorization spec, with metadata for the proxied path, and refuses a token for another resource', async () => {
    const metadataUrl = `${baseUrl}/.well-known/oauth-protected-resource/mcp/servers/${SERVER}`;
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
    const post = (token: string | null) => fetch(proxyUrl(), { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(initialize) });
    const none = await post(null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${metadataUrl}"`);
    expect(await (await fetch(metadataUrl)).json()).toMatchObject({ resource: proxyUrl(), authorization_servers: [baseUrl], bearer_methods_supported: ['header'] });
    // A token for the skills server (or any other proxied server) is not one for this server.
    const skills = await mintAccessToken({ email: payments.email, issuer: baseUrl, audience: `${baseUrl}/mcp` });
    const wrong = await post(skills.accessToken);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('error="invalid_token"');
    // An unknown server: 404 in JSON-RPC shape, after authentication.
    const unknown = await fetch(proxyUrl(`nothing-${tag}`), { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${await tokenFor(payments, { name: `nothing-${tag}` })}` }, body: JSON.stringify(initialize) });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ jsonrpc: '2.0', error: { message: expect.stringContaining(`nothing-${tag}`) } });
  });

  it('lists different tools for two departments, allows and blocks per call naming the rule, and audits each call with its trace id and arguments', async () => {
    const pay = await connectAs(payments);
    const mkt = await connectAs(marketing);
    const payTools = (await pay.listTools()).tools;
    const mktTools = (await mkt.listTools()).tools;
    expect(payTools.map((tool) => tool.name).sort()).toEqual([
      'ask_the_model',
      'charge_card',
      'confirm_with_user',
      'crash_with_credentials',
      'echo_auth',
      'endless_answer',
      'export_all',
      'huge_answer',
      'list_roots',
      'long_report',
      'lookup_customer',
      'wait_for_cancel',
    ]);
    expect(mktTools.map((tool) => tool.name)).not.toContain('charge_card');
    expect(mktTools.map((tool) => tool.name)).toContain('lookup_customer');
    // `ask`: marked for confirmation, read-only hint withdrawn.
    expect(payTools.find((tool) => tool.name === 'export_all')).toMatchObject({ annotations: { readOnlyHint: false, destructiveHint: true }, _meta: { 'gatehouse/toolPolicy': 'ask' } });
    expect(payTools.find((tool) => tool.name === 'lookup_customer')?._meta).toBeUndefined();

    const traceId = randomBytes(16).toString('hex');
    const allowed = await pay.callTool({ name: 'charge_card', arguments: { amount: 42 }, _meta: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } });
    expect(allowed.content).toEqual([{ type: 'text', text: 'charged 42' }]);
    expect(await pay.callTool({ name: 'lookup_customer', arguments: { id: 'c_1' } })).toMatchObject({ content: [{ type: 'text', text: 'customer c_1: Ada' }] });

    const blocked = mkt.callTool({ name: 'charge_card', arguments: { amount: 7 } });
    await expect(blocked).rejects.toMatchObject({ code: POLICY_BLOCKED, message: expect.stringContaining('Marketing does not charge cards') });
    const ruleRow = await db().toolPolicyRule.findFirstOrThrow({ where: { server: SERVER, description: 'Marketing does not charge cards' } });
    await expect(mkt.callTool({ name: 'charge_card', arguments: { amount: 7 } })).rejects.toThrow(ruleRow.id);

    const resource = await pay.readResource({ uri: 'doc://handbook' });
    expect(resource.contents[0]).toMatchObject({ text: 'The payments handbook.' });
    const prompt = await pay.getPrompt({ name: 'brief', arguments: { topic: 'refunds' } });
    expect(prompt.messages[0]?.content).toEqual({ type: 'text', text: 'Brief me on refunds' });

    await settled();
    const paymentsEvents = await proxyEvents(payments.userId);
    expect(paymentsEvents.map((row) => [row.action, row.outcome, row.event.mcp?.tool ?? row.event.mcp?.resource_uri ?? row.event.attributes?.prompt])).toEqual([
      ['mcp_proxy.tool_call', 'success', 'charge_card'],
      ['mcp_proxy.tool_call', 'success', 'lookup_customer'],
      ['mcp_proxy.resource_read', 'success', 'doc://handbook'],
      ['mcp_proxy.prompt_get', 'success', 'brief'],
    ]);
    const charge = paymentsEvents[0]!;
    expect(charge.trace_id).toBe(traceId);
    expect(charge.event).toMatchObject({ call_source: 'mcp_proxy', policy: { decision: 'allow', rule: 'tool_policy.default' }, mcp: { server: SERVER, method: 'tools/call', is_error: false } });
    expect(charge.event.mcp?.duration_ms).toBeGreaterThanOrEqual(0);
    expect(charge.event.attributes?.result_bytes).toBeGreaterThan(0);
    // The arguments are with the decision, committed before the call went upstream; the end has none.
    expect(charge.event.content_refs).toBeUndefined();
    const decisions = await decisionEvents(payments.userId);
    expect(decisions.map((row) => [row.action, row.outcome, row.event.mcp?.method])).toEqual([
      ['mcp_proxy.authorize', 'success', 'tools/call'],
      ['mcp_proxy.authorize', 'success', 'tools/call'],
      ['mcp_proxy.authorize', 'success', 'resources/read'],
      ['mcp_proxy.authorize', 'success', 'prompts/get'],
    ]);
    const chargeDecision = decisions[0]!;
    expect(chargeDecision).toMatchObject({ trace_id: traceId, event: { policy: { decision: 'allow', rule: 'tool_policy.default' }, attributes: { call_id: chargeDecision.event.event_id } } });
    expect(charge.event.attributes?.call_id).toBe(chargeDecision.event.event_id);
    expect(decisions[2]!.event.policy).toMatchObject({ decision: 'allow', rule: 'mcp_proxy.scope' });
    const argumentsRef = chargeDecision.event.content_refs?.find((ref) => ref.kind === 'tool_arguments');
    expect(JSON.parse((await loadContent(payments.tenantId, argumentsRef!.sha256))!.body)).toEqual({ amount: 42 });
    // Without trace context in _meta or headers, each call gets a trace id of its own.
    expect(paymentsEvents[1]!.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(paymentsEvents[1]!.trace_id).not.toBe(traceId);

    // A blocked call ends with its decision: nothing ran.
    const marketingEvents = await decisionEvents(marketing.userId);
    expect(marketingEvents).toHaveLength(2);
    expect(marketingEvents[0]).toMatchObject({ action: 'mcp_proxy.authorize', outcome: 'denied', event: { policy: { decision: 'block', rule: ruleRow.id }, mcp: { tool: 'charge_card', is_error: true }, error: { type: 'policy_blocked' } } });
    expect(await proxyEvents(marketing.userId)).toEqual([]);
    await pay.close();
    await mkt.close();
  });

  it('blocks the same tool for the same department in another context (an unvetted client id)', async () => {
    const vetted = await connectAs(payments);
    const unvetted = await connectAs(payments, { clientId: 'unvetted-agent' });
    expect((await vetted.listTools()).tools.map((tool) => tool.name)).toContain('charge_card');
    expect((await unvetted.listTools()).tools.map((tool) => tool.name)).not.toContain('charge_card');
    expect(await vetted.callTool({ name: 'charge_card', arguments: { amount: 1 } })).toMatchObject({ content: [{ text: 'charged 1' }] });
    await expect(unvetted.callTool({ name: 'charge_card', arguments: { amount: 1 } })).rejects.toMatchObject({ code: POLICY_BLOCKED, message: expect.stringContaining('No charges from unvetted agents') });
    const events = await decisionEvents(payments.userId);
    expect(events.at(-1)).toMatchObject({ outcome: 'denied', event: { client_id: 'unvetted-agent', policy: { decision: 'block' } } });
    // `ask` is the client's confirmation to make: the call goes through, recorded as asked.
    expect(await vetted.callTool({ name: 'export_all', arguments: {} })).toMatchObject({ content: [{ text: 'exported' }] });
    const askRule = await db().toolPolicyRule.findFirstOrThrow({ where: { server: SERVER, description: 'Exports need a human' } });
    await settled();
    expect((await proxyEvents(payments.userId)).at(-1)).toMatchObject({ outcome: 'success', event: { mcp: { tool: 'export_all' }, policy: { decision: 'ask', rule: askRule.id } } });
    await vetted.close();
    await unvetted.close();
  });

  it('passes progress notifications to the client and cancellation to the upstream', async () => {
    const client = await connectAs(payments);
    const progress: { progress: number; total?: number; message?: string }[] = [];
    const result = await client.callTool({ name: 'long_report', arguments: { steps: 3 } }, undefined, { onprogress: (update) => progress.push(update) });
    expect(result.content).toEqual([{ type: 'text', text: 'report of 3 steps' }]);
    expect(progress).toEqual([
      { progress: 1, total: 3, message: 'step 1' },
      { progress: 2, total: 3, message: 'step 2' },
      { progress: 3, total: 3, message: 'step 3' },
    ]);

    const abort = new AbortController();
    const cancelled = client.callTool({ name: 'wait_for_cancel', arguments: {} }, undefined, { signal: abort.signal, onprogress: () => abort.abort('the user pressed stop') });
    await expect(cancelled).rejects.toThrow();
    await vi.waitFor(() => expect(upstream.cancelled).toHaveLength(1), { timeout: 20_000, interval: 100 });
    await vi.waitFor(async () => expect((await proxyEvents(payments.userId)).at(-1)).toMatchObject({ outcome: 'failure', event: { mcp: { tool: 'wait_for_cancel' }, error: { type: 'cancelled' } } }), { timeout: 20_000, interval: 200 });
    await client.close();
  });

  it('injects the upstream secret server-side: the upstream asserts it, and it reaches neither the client nor the audit trail', async () => {
    const client = await connectAs(payments);
    const listed = (await client.listTools()).tools.find((tool) => tool.name === 'echo_auth');
    expect(listed?.description).toBe('Says which credentials it got (it expects Bearer [redacted by Gatehouse])');
    const echoed = await client.callTool({ name: 'echo_auth', arguments: {} });
    expect(JSON.stringify(echoed)).toContain('I was called with Bearer [redacted by Gatehouse]');
    // An HTTP-level failure upstream (not a JSON-RPC error) quoting the credentials: a JSON-RPC error to the client, scrubbed.
    const failed = await client.callTool({ name: FAILING_TOOL, arguments: {} }).then(() => null, (error: unknown) => error);
    expect(failed).toMatchObject({ code: -32603, message: expect.stringContaining('with credentials Bearer [redacted by Gatehouse]') });
    await settled();
    expect((await proxyEvents(payments.userId)).at(-1)).toMatchObject({ outcome: 'failure', event: { mcp: { tool: FAILING_TOOL }, error: { message: expect.stringContaining('[redacted by Gatehouse]') } } });
    await client.close();

    expect(upstream.refused).toBe(0);
    expect(upstream.requests.length).toBeGreaterThan(10);
    for (const headers of upstream.requests) expect(headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(received.length).toBeGreaterThan(1000);
    expect(received).not.toContain(SECRET);
    const { rows: events } = await pool().query<{ hits: number }>(`SELECT count(*)::int AS hits FROM audit_events WHERE tenant_id = $1 AND event::text LIKE $2`, [admin.tenantId, `%${SECRET.slice(8)}%`]);
    expect(events[0]!.hits).toBe(0);
    const { rows: content } = await pool().query<{ hits: number }>(`SELECT count(*)::int AS hits FROM audit_content WHERE tenant_id = $1 AND body LIKE $2`, [admin.tenantId, `%${SECRET.slice(8)}%`]);
    expect(content[0]!.hits).toBe(0);
  });

  it('reaches an upstream that speaks the older HTTP+SSE transport the same way', async () => {
    const name = `legacy-${tag}`;
    await registerServer(adminActor, { name, transport: 'sse', url: upstream.sseUrl, upstreamAuth: { type: 'static_secret', secret: SECRET }, allowPrivateNetwork: true, scope: [{ kind: 'everyone' }] });
    const client = await connectAs(payments, { name });
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('lookup_customer');
    expect(await client.callTool({ name: 'lookup_customer', arguments: { id: 'c_9' } })).toMatchObject({ content: [{ type: 'text', text: 'customer c_9: Ada' }] });
    await client.close();
    expect(upstream.requests.some((headers) => headers.accept === 'text/event-stream' && headers.authorization === `Bearer ${SECRET}`)).toBe(true);
  });

  it('refuses a principal outside the server’s scope, audited', async () => {
    const refusal = connectAs(legal);
    await expect(refusal).rejects.toThrow(/not available to you/);
    // Nothing about whom the server is for: no department, role or address of its scope.
    await expect(refusal).rejects.not.toThrow(/department |role |user /);
    await flushCountedEvents({ all: true });
    const { rows } = await pool().query<{ event: { policy: { rule: string } } }>(`SELECT event FROM audit_events WHERE actor_user_id = $1 AND action = 'mcp_proxy.connect'`, [legal.userId]);
    expect(rows.map((row) => row.event.policy.rule)).toEqual(['mcp_proxy.scope']);
  });

  it('hides tools the upstream added since approval (drift) and refuses calling them', async () => {
    upstream.addDriftTool();
    const client = await connectAs(payments);
    expect((await client.listTools()).tools.map((tool) => tool.name)).not.toContain('wire_money');
    await expect(client.callTool({ name: 'wire_money', arguments: { to: 'x' } })).rejects.toThrow(/not in the server's approved tool list/);
    await client.close();
  });

  it('answers "which MCP servers did this agent reach, and was it allowed to" with the one query in the README', async () => {
    expect(readFileSync('README.md', 'utf8')).toContain(MCP_REACH_SQL);
    await flushCountedEvents({ all: true });
    const { rows } = await pool().query<{ server: string | null; method: string; tool: string | null; decision: string; rule: string; outcome: string; calls: string }>(MCP_REACH_SQL, [marketing.tenantId, marketing.userId, 'gatehouse-cli', new Date(Date.now() - 3600_000)]);
    const ruleRow = await db().toolPolicyRule.findFirstOrThrow({ where: { server: SERVER, description: 'Marketing does not charge cards' } });
    expect(rows.map((row) => [row.server, row.method, row.tool, row.decision, row.rule, row.outcome, Number(row.calls)])).toEqual([[SERVER, 'tools/call', 'charge_card', 'block', ruleRow.id, 'denied', 2]]);
    const outsider = await pool().query<{ server: string; method: string; decision: string; rule: string }>(MCP_REACH_SQL, [legal.tenantId, legal.userId, 'gatehouse-cli', new Date(Date.now() - 3600_000)]);
    expect(outsider.rows).toMatchObject([{ server: SERVER, method: 'connect', decision: 'deny', rule: 'mcp_proxy.scope' }]);
  });

  it('relays sampling, elicitation and roots between the upstream and the client, declaring upstream only what the client can answer, audited', async () => {
    const sampled: CreateMessageRequest['params'][] = [];
    const capabilities: ClientCapabilities = { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } };
    const client = new Client({ name: 'proxy-test', version: '1.0.0' }, { capabilities });
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      sampled.push(request.params);
      return { model: 'users-model', role: 'assistant', content: { type: 'text', text: 'forty-two' } };
    });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { ok: true } }));
    client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: 'file:///work/project', name: 'project' }] }));
    const before = upstream.clientCapabilities().length;
    await client.connect(await transportAs(payments));
    expect(upstream.clientCapabilities().slice(before)).toEqual([capabilities]);

    const traceId = randomBytes(16).toString('hex');
    const asked = await client.callTool({ name: 'ask_the_model', arguments: { question: 'What is six times seven?' }, _meta: { traceparent: traceparent(traceId) } });
    expect(asked.content).toEqual([{ type: 'text', text: 'the model said: forty-two' }]);
    // What the upstream asks the client's model passes through the redactor like its answers.
    expect(sampled).toHaveLength(1);
    expect(JSON.stringify(sampled[0])).toContain('What is six times seven? (asked with Bearer [redacted by Gatehouse])');
    expect(await client.callTool({ name: 'confirm_with_user', arguments: {} })).toMatchObject({ content: [{ type: 'text', text: 'the user chose accept: {"ok":true}' }] });
    expect(await client.callTool({ name: 'list_roots', arguments: {} })).toMatchObject({ content: [{ type: 'text', text: 'file:///work/project' }] });
    await client.sendRootsListChanged();
    await vi.waitFor(() => expect(upstream.rootsChanges).toBe(1), { timeout: 10_000, interval: 50 });

    await settled();
    const decisions = (await decisionEvents(payments.userId)).filter((row) => row.event.mcp?.method !== 'tools/call' || row.trace_id === traceId);
    const sampling = decisions.find((row) => row.event.mcp?.method === 'sampling/createMessage')!;
    // The upstream's request happened inside the client's call: same trace.
    expect(sampling).toMatchObject({ action: 'mcp_proxy.authorize', outcome: 'success', trace_id: traceId, event: { policy: { decision: 'allow', rule: 'tool_policy.default' } } });
    const prompt = sampling.event.content_refs?.find((ref) => ref.kind === 'prompt');
    expect(JSON.parse((await loadContent(payments.tenantId, prompt!.sha256))!.body)).toMatchObject({ maxTokens: 100 });
    const ends = await proxyEvents(payments.userId);
    const samplingEnd = ends.find((row) => row.action === 'mcp_proxy.sampling')!;
    expect(samplingEnd).toMatchObject({ outcome: 'success', trace_id: traceId, event: { mcp: { method: 'sampling/createMessage', is_error: false }, attributes: { call_id: sampling.event.event_id } } });
    expect(samplingEnd.event.attributes?.result_bytes).toBeGreaterThan(0);
    // Of the answer, only its size: no content reference, and not the text.
    expect(samplingEnd.event.content_refs).toBeUndefined();
    expect(JSON.stringify(samplingEnd.event)).not.toContain('forty-two');
    expect(ends.find((row) => row.action === 'mcp_proxy.elicitation')).toMatchObject({ outcome: 'success', event: { mcp: { method: 'elicitation/create' }, attributes: { elicitation_action: 'accept' } } });
    await client.close();

    // A client that cannot answer sampling: the upstream is told so, and an upstream asking anyway is refused by the proxy.
    const plain = await connectAs(payments);
    expect(upstream.clientCapabilities().at(-1)).toEqual({});
    expect(await plain.callTool({ name: 'ask_the_model', arguments: { question: 'anyone?' } })).toMatchObject({ isError: true, content: [{ text: expect.stringContaining('Method not found') }] });
    await plain.close();
  });

  it("blocks an upstream's sampling under the tool policy, naming the rule, audited", async () => {
    const blockRule = await rule({ tool: 'sampling/createMessage', decision: 'block', principalKind: 'department', principal: marketing.department!, description: "Marketing's model is not for this vendor" });
    let sampledCalls = 0;
    const client = new Client({ name: 'proxy-test', version: '1.0.0' }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async () => {
      sampledCalls += 1;
      return { model: 'm', role: 'assistant', content: { type: 'text', text: 'never' } };
    });
    await client.connect(await transportAs(marketing));
    const result = await client.callTool({ name: 'ask_the_model', arguments: { question: 'spend?' } });
    expect(result).toMatchObject({ isError: true, content: [{ text: expect.stringContaining(`blocked by tool policy rule ${blockRule.id}`) }] });
    expect(sampledCalls).toBe(0);
    const denied = (await decisionEvents(marketing.userId)).find((row) => row.event.mcp?.method === 'sampling/createMessage');
    expect(denied).toMatchObject({ outcome: 'denied', event: { policy: { decision: 'block', rule: blockRule.id }, error: { type: 'policy_blocked' } } });
    await client.close();
  });

  it('keeps the answer and the evidence failure apart: the call is refused when its decision cannot be recorded, answered when only its end cannot', async () => {
    const client = await connectAs(payments);
    const endLost = randomBytes(16).toString('hex');
    await withEventsRefused(endLost, { eventType: 'mcp.tool_call' }, async () => {
      expect(await client.callTool({ name: 'lookup_customer', arguments: { id: 'c_end' }, _meta: { traceparent: traceparent(endLost) } })).toMatchObject({ content: [{ text: 'customer c_end: Ada' }] });
      await settled();
    });
    const decided = (await decisionEvents(payments.userId)).filter((row) => row.trace_id === endLost);
    expect(decided).toMatchObject([{ outcome: 'success', event: { mcp: { tool: 'lookup_customer' } } }]);
    expect((await proxyEvents(payments.userId)).filter((row) => row.trace_id === endLost)).toEqual([]);

    const decisionLost = randomBytes(16).toString('hex');
    await withEventsRefused(decisionLost, { eventType: 'policy.decision', action: 'mcp_proxy.authorize' }, async () => {
      await expect(client.callTool({ name: 'lookup_customer', arguments: { id: 'c_unrecorded' }, _meta: { traceparent: traceparent(decisionLost) } })).rejects.toMatchObject({
        code: -32603,
        message: expect.stringContaining('could not record this request in its audit trail, so it was not sent'),
      });
    });
    expect(upstream.lookups).toContain('c_end');
    expect(upstream.lookups).not.toContain('c_unrecorded');
    await client.close();
  });

  it("caps what one upstream message may be: an oversized answer is a JSON-RPC error, audited, read no further than the cap", async () => {
    const client = await connectAs(payments);
    await expect(client.callTool({ name: 'huge_answer', arguments: {} })).rejects.toMatchObject({ code: ANSWER_TOO_LARGE, message: expect.stringContaining(`larger than ${MAX_UPSTREAM_MESSAGE_BYTES} bytes`) });
    await expect(client.callTool({ name: ENDLESS_TOOL, arguments: {} })).rejects.toMatchObject({ code: ANSWER_TOO_LARGE });
    // The endless answer stopped being read at the cap (plus what the sockets buffer), not at the writer's 512 MiB limit.
    await vi.waitFor(() => expect(upstream.endless).toHaveLength(1), { timeout: 20_000, interval: 100 });
    console.log(`endless answer: ${upstream.endless[0]} bytes written before the proxy stopped reading (cap ${MAX_UPSTREAM_MESSAGE_BYTES})`);
    expect(upstream.endless[0]).toBeGreaterThan(MAX_UPSTREAM_MESSAGE_BYTES);
    expect(upstream.endless[0]).toBeLessThan(4 * MAX_UPSTREAM_MESSAGE_BYTES);
    // The session goes on.
    expect(await client.callTool({ name: 'lookup_customer', arguments: { id: 'c_after' } })).toMatchObject({ content: [{ text: 'customer c_after: Ada' }] });
    await settled();
    const ends = await proxyEvents(payments.userId);
    expect(ends.filter((row) => row.event.mcp?.tool === 'huge_answer' || row.event.mcp?.tool === ENDLESS_TOOL)).toMatchObject([
      { outcome: 'failure', event: { error: { type: 'response_too_large' } } },
      { outcome: 'failure', event: { error: { type: 'response_too_large' } } },
    ]);
    await client.close();
  });

  it('ends the proxied session when the upstream forgot its own (restart): the client gets 404 and recovers by connecting again', async () => {
    const client = await connectAs(payments);
    expect(await client.callTool({ name: 'lookup_customer', arguments: { id: 'c_before' } })).toMatchObject({ content: [{ text: 'customer c_before: Ada' }] });
    await upstream.restart();
    // The call that finds out fails (or, when the upstream's stream already told the proxy, gets 404).
    await expect(client.callTool({ name: 'lookup_customer', arguments: { id: 'c_during' } })).rejects.toThrow(/session/);
    const gone = await client.listTools().then(() => null, (error: unknown) => error);
    expect(gone).toBeInstanceOf(StreamableHTTPError);
    expect((gone as StreamableHTTPError).code).toBe(404);
    // What an SDK client does on 404: initialize again, here with the same Client.
    await client.close();
    await client.connect(await transportAs(payments));
    expect(await client.callTool({ name: 'lookup_customer', arguments: { id: 'c_after_restart' } })).toMatchObject({ content: [{ text: 'customer c_after_restart: Ada' }] });
    await client.close();
  });

  it("reads the caller's audience once per audience sequence, which moving a person between departments moves", async () => {
    const mover = await createTestUser(['member'], `Payments ${tag}`);
    const client = await connectAs(mover);
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    const superuser = await superuserClient();
    try {
      // Changed with the database's triggers off: the sequence stands, and the proxy, which does
      // not read the person again while it does, still admits them. That is the cache at work.
      await asSuperuser(superuser, 'UPDATE users SET department_id = NULL WHERE id = $1', [mover.userId]);
      expect((await client.listTools()).tools.length).toBeGreaterThan(0);
      // An ordinary change (triggers on) moves the sequence: refused on the very next request.
      await superuser.query('UPDATE users SET department_id = (SELECT department_id FROM users WHERE id = $2) WHERE id = $1', [mover.userId, legal.userId]);
    } finally {
      await superuser.end();
    }
    await expect(client.listTools()).rejects.toThrow(/not available to you/);
    await client.close().catch(() => undefined);
  });

  it('ends a session of a revoked server on its next request and refuses new ones', async () => {
    const client = await connectAs(payments);
    await client.listTools();
    await revokeServer(adminActor, SERVER, 'vendor contract ended');
    await expect(client.callTool({ name: 'lookup_customer', arguments: { id: 'c_2' } })).rejects.toThrow(/revoked: vendor contract ended/);
    await expect(connectAs(payments)).rejects.toThrow(/revoked/);
    await client.close().catch(() => undefined);
  });
});

vi.setConfig({ testTimeout: 120_000 });
