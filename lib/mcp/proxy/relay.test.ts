// What an upstream asks of the client through the proxy (relay.ts): sampling, elicitation and
// roots reach the real SDK client and its answers the real SDK server, under the tool policy and
// in the audit trail.
import { randomBytes } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema, type ClientCapabilities, type CreateMessageRequest } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { flushCountedEvents, loadContent } from '@/lib/audit';
import { registerServer, revokeServer, updateServerScope } from '@/lib/mcp/registry';
import type { UserIdentity } from '@/lib/oauth/identity';
import { pool } from '@/lib/db/client';
import { settled, startProxyHarness, traceparent, type ProxyHarness } from './testing/harness';
import { ASK_LATER_TOOL, type FakeUpstream } from './testing/upstream';

let h: ProxyHarness;
let upstream: FakeUpstream;
let payments: UserIdentity;
let marketing: UserIdentity;

beforeAll(async () => {
  h = await startProxyHarness();
  ({ upstream, payments, marketing } = h);
});

afterAll(async () => {
  await h.close();
});

describe('what an upstream asks of the client, through the proxy', () => {
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
    await client.connect(await h.transportAs(payments));
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
    const decisions = (await h.decisionEvents(payments.userId)).filter((row) => row.event.mcp?.method !== 'tools/call' || row.trace_id === traceId);
    const sampling = decisions.find((row) => row.event.mcp?.method === 'sampling/createMessage')!;
    // The upstream's request happened inside the client's call: same trace.
    expect(sampling).toMatchObject({ action: 'mcp_proxy.authorize', outcome: 'success', trace_id: traceId, event: { policy: { decision: 'allow', rule: 'tool_policy.default' } } });
    const prompt = sampling.event.content_refs?.find((ref) => ref.kind === 'prompt');
    expect(JSON.parse((await loadContent(payments.tenantId, prompt!.sha256))!.body)).toMatchObject({ maxTokens: 100 });
    const ends = await h.proxyEvents(payments.userId);
    const samplingEnd = ends.find((row) => row.action === 'mcp_proxy.sampling')!;
    expect(samplingEnd).toMatchObject({ outcome: 'success', trace_id: traceId, event: { mcp: { method: 'sampling/createMessage', is_error: false }, attributes: { call_id: sampling.event.event_id } } });
    expect(samplingEnd.event.attributes?.result_bytes).toBeGreaterThan(0);
    // Of the answer, only its size: no content reference, and not the text.
    expect(samplingEnd.event.content_refs).toBeUndefined();
    expect(JSON.stringify(samplingEnd.event)).not.toContain('forty-two');
    expect(ends.find((row) => row.action === 'mcp_proxy.elicitation')).toMatchObject({ outcome: 'success', event: { mcp: { method: 'elicitation/create' }, attributes: { elicitation_action: 'accept' } } });
    await client.close();

    // A client that cannot answer sampling: the upstream is told so, and an upstream asking anyway is refused by the proxy.
    const plain = await h.connectAs(payments);
    expect(upstream.clientCapabilities().at(-1)).toEqual({});
    expect(await plain.callTool({ name: 'ask_the_model', arguments: { question: 'anyone?' } })).toMatchObject({ isError: true, content: [{ text: expect.stringContaining('Method not found') }] });
    await plain.close();
  });

  it("blocks an upstream's sampling under the tool policy, naming the rule only in the audit trail, audited", async () => {
    const blockRule = await h.rule({ tool: 'sampling/createMessage', decision: 'block', principalKind: 'department', principal: marketing.department!, description: "Marketing's model is not for this vendor" });
    let sampledCalls = 0;
    const client = new Client({ name: 'proxy-test', version: '1.0.0' }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async () => {
      sampledCalls += 1;
      return { model: 'm', role: 'assistant', content: { type: 'text', text: 'never' } };
    });
    await client.connect(await h.transportAs(marketing));
    const result = await client.callTool({ name: 'ask_the_model', arguments: { question: 'spend?' } });
    // What the upstream was told (its tool quotes it): no, without the rule or whom it is for.
    expect(result).toMatchObject({ isError: true, content: [{ text: expect.stringContaining("sampling/createMessage was refused by the client's organisation") }] });
    expect(JSON.stringify(result)).not.toMatch(new RegExp(`${blockRule.id}|Marketing|${marketing.department!}`));
    expect(sampledCalls).toBe(0);
    const denied = (await h.decisionEvents(marketing.userId)).find((row) => row.event.mcp?.method === 'sampling/createMessage');
    expect(denied).toMatchObject({ outcome: 'denied', event: { policy: { decision: 'block', rule: blockRule.id }, error: { type: 'policy_blocked' } } });
    await client.close();
  });

  /**
   * A session whose access ends while its client sends nothing: the upstream, still answering a
   * call from before, asks for sampling. `change` takes the access away.
   */
  async function samplingAfter(name: string, change: () => Promise<unknown>) {
    await registerServer(h.adminActor, { name, transport: 'streamable_http', url: upstream.url, upstreamAuth: { type: 'static_secret', secret: h.secret }, allowPrivateNetwork: true, scope: [{ kind: 'department', value: payments.department! }] });
    let sampledCalls = 0;
    const client = new Client({ name: 'proxy-test', version: '1.0.0' }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async () => {
      sampledCalls += 1;
      return { model: 'm', role: 'assistant', content: { type: 'text', text: 'spent' } };
    });
    const transport = await h.transportAs(payments, { name });
    await client.connect(transport);
    const held = upstream.holdSampling();
    const call = client.callTool({ name: ASK_LATER_TOOL, arguments: {} }).then(
      (result) => JSON.stringify(result),
      (error: Error) => error.message,
    );
    await held.started;
    await change();
    held.open();
    const answered = await call;
    return { client, transport, sampledCalls: () => sampledCalls, answered };
  }

  it("refuses sampling asked after the server was revoked and ends the session, audited", async () => {
    const name = `revoked-${h.tag}`;
    const { client, sampledCalls, answered } = await samplingAfter(name, () => revokeServer(h.adminActor, name, 'vendor contract ended'));
    expect(sampledCalls()).toBe(0);
    // The call in flight ends at once saying the session ended (the upstream's failed tool, or the
    // proxy once the upstream connection closed), not when the client gives up waiting.
    expect(answered).toMatch(/the client session ended|access to this server was withdrawn/);
    await flushCountedEvents({ all: true });
    const { rows } = await pool().query<{ rule: string }>(
      `SELECT event->'policy'->>'rule' AS rule FROM audit_events WHERE actor_user_id = $1 AND action = 'mcp_proxy.connect' AND event->'mcp'->>'server' = $2`,
      [payments.userId, name],
    );
    expect(rows.map((row) => row.rule)).toEqual(['mcp_proxy.revoked']);
    await client.close().catch(() => undefined);
  });

  it('refuses sampling asked after the person left the server’s scope and ends the session: back in scope, it is gone', async () => {
    const name = `rescoped-${h.tag}`;
    const { client, sampledCalls, answered } = await samplingAfter(name, () => updateServerScope(h.adminActor, name, [{ kind: 'department', value: marketing.department! }]));
    expect(sampledCalls()).toBe(0);
    expect(answered).toMatch(/the client session ended|access to this server was withdrawn/);
    await updateServerScope(h.adminActor, name, [{ kind: 'department', value: payments.department! }]);
    // The session ended when the sampling was refused, not on this request: the client must start a new one.
    await expect(client.listTools()).rejects.toThrow(/session ended: access to this server was withdrawn; initialize a new one/);
    await client.close().catch(() => undefined);
  });
});

vi.setConfig({ testTimeout: 120_000 });
