// The MCP proxy end to end: the real SDK client through Gatehouse to a real SDK server upstream
// (testing/harness.ts): sign-in, scope, tool policy per call, drift, the injected secret, the
// evidence of each call, revocation. What the upstream asks of the client: relay.test.ts; what
// can go wrong on the way (evidence, sizes, lost sessions, stale audiences): failures.test.ts.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { flushCountedEvents, loadContent } from '@/lib/audit';
import { db, pool } from '@/lib/db/client';
import { registerServer, revokeServer, type RegistryActor } from '@/lib/mcp/registry';
import type { UserIdentity } from '@/lib/oauth/identity';
import { mintAccessToken } from '@/lib/oauth/mint';
import { MCP_REACH_SQL } from './evidence';
import { POLICY_BLOCKED } from './index';
import { settled, startProxyHarness, traceparent, type ProxyHarness } from './testing/harness';
import { FAILING_TOOL, type FakeUpstream } from './testing/upstream';

let h: ProxyHarness;
let tag: string;
let SECRET: string;
let SERVER: string;
let baseUrl: string;
let upstream: FakeUpstream;
let admin: UserIdentity;
let payments: UserIdentity;
let marketing: UserIdentity;
let legal: UserIdentity;
let adminActor: RegistryActor;

beforeAll(async () => {
  h = await startProxyHarness();
  ({ tag, secret: SECRET, server: SERVER, baseUrl, upstream, admin, payments, marketing, legal, adminActor } = h);
});

afterAll(async () => {
  await h.close();
});

describe('the MCP proxy with a real upstream SDK server and the real SDK client', () => {
  it('challenges per the MCP authorization spec, with metadata for the proxied path, and refuses a token for another resource', async () => {
    const metadataUrl = `${baseUrl}/.well-known/oauth-protected-resource/mcp/servers/${SERVER}`;
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
    const post = (token: string | null) => fetch(h.proxyUrl(), { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(initialize) });
    const none = await post(null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${metadataUrl}"`);
    expect(await (await fetch(metadataUrl)).json()).toMatchObject({ resource: h.proxyUrl(), authorization_servers: [baseUrl], bearer_methods_supported: ['header'] });
    // A token for the skills server (or any other proxied server) is not one for this server.
    const skills = await mintAccessToken({ email: payments.email, issuer: baseUrl, audience: `${baseUrl}/mcp` });
    const wrong = await post(skills.accessToken);
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('error="invalid_token"');
    // An unknown server: 404 in JSON-RPC shape, after authentication.
    const unknown = await fetch(h.proxyUrl(`nothing-${tag}`), { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${await h.tokenFor(payments, { name: `nothing-${tag}` })}` }, body: JSON.stringify(initialize) });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ jsonrpc: '2.0', error: { message: expect.stringContaining(`nothing-${tag}`) } });
  });

  it('lists different tools for two departments, allows and blocks per call naming the rule, and audits each call with its trace id and arguments', async () => {
    const pay = await h.connectAs(payments);
    const mkt = await h.connectAs(marketing);
    const payTools = (await pay.listTools()).tools;
    const mktTools = (await mkt.listTools()).tools;
    expect(payTools.map((tool) => tool.name).sort()).toEqual([
      'ask_the_model',
      'ask_the_model_later',
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
    const allowed = await pay.callTool({ name: 'charge_card', arguments: { amount: 42 }, _meta: { traceparent: traceparent(traceId) } });
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
    const paymentsEvents = await h.proxyEvents(payments.userId);
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
    const decisions = await h.decisionEvents(payments.userId);
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
    const marketingEvents = await h.decisionEvents(marketing.userId);
    expect(marketingEvents).toHaveLength(2);
    expect(marketingEvents[0]).toMatchObject({ action: 'mcp_proxy.authorize', outcome: 'denied', event: { policy: { decision: 'block', rule: ruleRow.id }, mcp: { tool: 'charge_card', is_error: true }, error: { type: 'policy_blocked' } } });
    expect(await h.proxyEvents(marketing.userId)).toEqual([]);
    await pay.close();
    await mkt.close();
  });

  it('blocks the same tool for the same department in another context (an unvetted client id)', async () => {
    const vetted = await h.connectAs(payments);
    const unvetted = await h.connectAs(payments, { clientId: 'unvetted-agent' });
    expect((await vetted.listTools()).tools.map((tool) => tool.name)).toContain('charge_card');
    expect((await unvetted.listTools()).tools.map((tool) => tool.name)).not.toContain('charge_card');
    expect(await vetted.callTool({ name: 'charge_card', arguments: { amount: 1 } })).toMatchObject({ content: [{ text: 'charged 1' }] });
    await expect(unvetted.callTool({ name: 'charge_card', arguments: { amount: 1 } })).rejects.toMatchObject({ code: POLICY_BLOCKED, message: expect.stringContaining('No charges from unvetted agents') });
    const events = await h.decisionEvents(payments.userId);
    expect(events.at(-1)).toMatchObject({ outcome: 'denied', event: { client_id: 'unvetted-agent', policy: { decision: 'block' } } });
    // `ask` is the client's confirmation to make: the call goes through, recorded as asked.
    expect(await vetted.callTool({ name: 'export_all', arguments: {} })).toMatchObject({ content: [{ text: 'exported' }] });
    const askRule = await db().toolPolicyRule.findFirstOrThrow({ where: { server: SERVER, description: 'Exports need a human' } });
    await settled();
    expect((await h.proxyEvents(payments.userId)).at(-1)).toMatchObject({ outcome: 'success', event: { mcp: { tool: 'export_all' }, policy: { decision: 'ask', rule: askRule.id } } });
    await vetted.close();
    await unvetted.close();
  });

  it('passes progress notifications to the client and cancellation to the upstream', async () => {
    const client = await h.connectAs(payments);
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
    await vi.waitFor(async () => expect((await h.proxyEvents(payments.userId)).at(-1)).toMatchObject({ outcome: 'failure', event: { mcp: { tool: 'wait_for_cancel' }, error: { type: 'cancelled' } } }), { timeout: 20_000, interval: 200 });
    await client.close();
  });

  it('injects the upstream secret server-side: the upstream asserts it, and it reaches neither the client nor the audit trail', async () => {
    const client = await h.connectAs(payments);
    const listed = (await client.listTools()).tools.find((tool) => tool.name === 'echo_auth');
    expect(listed?.description).toBe('Says which credentials it got (it expects Bearer [redacted by Gatehouse])');
    const echoed = await client.callTool({ name: 'echo_auth', arguments: {} });
    expect(JSON.stringify(echoed)).toContain('I was called with Bearer [redacted by Gatehouse]');
    // An HTTP-level failure upstream (not a JSON-RPC error) quoting the credentials: a JSON-RPC error to the client, scrubbed.
    const failed = await client.callTool({ name: FAILING_TOOL, arguments: {} }).then(() => null, (error: unknown) => error);
    expect(failed).toMatchObject({ code: -32603, message: expect.stringContaining('with credentials Bearer [redacted by Gatehouse]') });
    await settled();
    expect((await h.proxyEvents(payments.userId)).at(-1)).toMatchObject({ outcome: 'failure', event: { mcp: { tool: FAILING_TOOL }, error: { message: expect.stringContaining('[redacted by Gatehouse]') } } });
    await client.close();

    expect(upstream.refused).toBe(0);
    expect(upstream.requests.length).toBeGreaterThan(10);
    for (const headers of upstream.requests) expect(headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(h.received().length).toBeGreaterThan(1000);
    expect(h.received()).not.toContain(SECRET);
    const { rows: events } = await pool().query<{ hits: number }>(`SELECT count(*)::int AS hits FROM audit_events WHERE tenant_id = $1 AND event::text LIKE $2`, [admin.tenantId, `%${SECRET.slice(8)}%`]);
    expect(events[0]!.hits).toBe(0);
    const { rows: content } = await pool().query<{ hits: number }>(`SELECT count(*)::int AS hits FROM audit_content WHERE tenant_id = $1 AND body LIKE $2`, [admin.tenantId, `%${SECRET.slice(8)}%`]);
    expect(content[0]!.hits).toBe(0);
  });

  it('reaches an upstream that speaks the older HTTP+SSE transport the same way', async () => {
    const name = `legacy-${tag}`;
    await registerServer(adminActor, { name, transport: 'sse', url: upstream.sseUrl, upstreamAuth: { type: 'static_secret', secret: SECRET }, allowPrivateNetwork: true, scope: [{ kind: 'everyone' }] });
    const client = await h.connectAs(payments, { name });
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('lookup_customer');
    expect(await client.callTool({ name: 'lookup_customer', arguments: { id: 'c_9' } })).toMatchObject({ content: [{ type: 'text', text: 'customer c_9: Ada' }] });
    await client.close();
    expect(upstream.requests.some((headers) => headers.accept === 'text/event-stream' && headers.authorization === `Bearer ${SECRET}`)).toBe(true);
  });

  it('refuses a principal outside the server’s scope, audited', async () => {
    const refusal = h.connectAs(legal);
    await expect(refusal).rejects.toThrow(/not available to you/);
    // Nothing about whom the server is for: no department, role or address of its scope.
    await expect(refusal).rejects.not.toThrow(/department |role |user /);
    await flushCountedEvents({ all: true });
    const { rows } = await pool().query<{ event: { policy: { rule: string } } }>(`SELECT event FROM audit_events WHERE actor_user_id = $1 AND action = 'mcp_proxy.connect'`, [legal.userId]);
    expect(rows.map((row) => row.event.policy.rule)).toEqual(['mcp_proxy.scope']);
  });

  it('hides tools the upstream added since approval (drift) and refuses calling them', async () => {
    upstream.addDriftTool();
    const client = await h.connectAs(payments);
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

  it('ends a session of a revoked server on its next request and refuses new ones', async () => {
    const client = await h.connectAs(payments);
    await client.listTools();
    await revokeServer(adminActor, SERVER, 'vendor contract ended');
    await expect(client.callTool({ name: 'lookup_customer', arguments: { id: 'c_2' } })).rejects.toThrow(/revoked: vendor contract ended/);
    await expect(h.connectAs(payments)).rejects.toThrow(/revoked/);
    await client.close().catch(() => undefined);
  });
});

vi.setConfig({ testTimeout: 120_000 });
