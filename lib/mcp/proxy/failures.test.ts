// What can go wrong between the client, the proxy and the upstream, and what the proxy does
// about it: evidence that cannot be written, an answer larger than it relays, an upstream that
// forgot the session, a person whose department changed.
import { randomBytes } from 'node:crypto';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { asSuperuser, superuserClient, withEventsRefused } from '@/lib/audit/testing/fixtures';
import { db } from '@/lib/db/client';
import { registerServer } from '@/lib/mcp/registry';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { settled, startProxyHarness, traceparent, type ProxyHarness } from './testing/harness';
import { ENDLESS_TOOL, type FakeUpstream } from './testing/upstream';
import { ANSWER_TOO_LARGE, MAX_UPSTREAM_MESSAGE_BYTES } from './upstream';

let h: ProxyHarness;
let upstream: FakeUpstream;
let payments: UserIdentity;
let tag: string;

beforeAll(async () => {
  h = await startProxyHarness();
  ({ upstream, payments, tag } = h);
  await registerServer(h.adminActor, { name: `legacy-${tag}`, transport: 'sse', url: upstream.sseUrl, upstreamAuth: { type: 'static_secret', secret: h.secret }, allowPrivateNetwork: true, scope: [{ kind: 'everyone' }] });
});

afterAll(async () => {
  await h.close();
});

describe('the MCP proxy when things go wrong', () => {
  it('keeps the answer and the evidence failure apart: the call is refused when its decision cannot be recorded, answered when only its end cannot', async () => {
    const client = await h.connectAs(payments);
    const endLost = randomBytes(16).toString('hex');
    await withEventsRefused(endLost, { eventType: 'mcp.tool_call' }, async () => {
      expect(await client.callTool({ name: 'lookup_customer', arguments: { id: 'c_end' }, _meta: { traceparent: traceparent(endLost) } })).toMatchObject({ content: [{ text: 'customer c_end: Ada' }] });
      await settled();
    });
    const decided = (await h.decisionEvents(payments.userId)).filter((row) => row.trace_id === endLost);
    expect(decided).toMatchObject([{ outcome: 'success', event: { mcp: { tool: 'lookup_customer' } } }]);
    expect((await h.proxyEvents(payments.userId)).filter((row) => row.trace_id === endLost)).toEqual([]);

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
    const client = await h.connectAs(payments);
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
    const ends = await h.proxyEvents(payments.userId);
    expect(ends.filter((row) => row.event.mcp?.tool === 'huge_answer' || row.event.mcp?.tool === ENDLESS_TOOL)).toMatchObject([
      { outcome: 'failure', event: { error: { type: 'response_too_large' } } },
      { outcome: 'failure', event: { error: { type: 'response_too_large' } } },
    ]);
    await client.close();
  });

  it('ends the proxied session when the upstream forgot its own (restart): the client gets 404 and recovers by connecting again', async () => {
    const client = await h.connectAs(payments);
    expect(await client.callTool({ name: 'lookup_customer', arguments: { id: 'c_before' } })).toMatchObject({ content: [{ text: 'customer c_before: Ada' }] });
    await upstream.restart();
    // The call that finds out fails (or, when the upstream's stream already told the proxy, gets 404).
    await expect(client.callTool({ name: 'lookup_customer', arguments: { id: 'c_during' } })).rejects.toThrow(/session/);
    const gone = await client.listTools().then(() => null, (error: unknown) => error);
    expect(gone).toBeInstanceOf(StreamableHTTPError);
    expect((gone as StreamableHTTPError).code).toBe(404);
    // What an SDK client does on 404: initialize again, here with the same Client.
    await client.close();
    await client.connect(await h.transportAs(payments));
    expect(await client.callTool({ name: 'lookup_customer', arguments: { id: 'c_after_restart' } })).toMatchObject({ content: [{ text: 'customer c_after_restart: Ada' }] });
    await client.close();

    // Through the older HTTP+SSE transport the session is the upstream's event stream: it breaking ends the proxied session too.
    const legacy = await h.connectAs(payments, { name: `legacy-${tag}` });
    expect(await legacy.callTool({ name: 'lookup_customer', arguments: { id: 'c_legacy' } })).toMatchObject({ content: [{ text: 'customer c_legacy: Ada' }] });
    await upstream.restart();
    await vi.waitFor(
      async () => {
        const error = await legacy.listTools().then(() => null, (thrown: unknown) => thrown);
        expect((error as StreamableHTTPError | null)?.code).toBe(404);
      },
      { timeout: 20_000, interval: 200 },
    );
    await legacy.close();
    await legacy.connect(await h.transportAs(payments, { name: `legacy-${tag}` }));
    expect(await legacy.callTool({ name: 'lookup_customer', arguments: { id: 'c_legacy_after' } })).toMatchObject({ content: [{ text: 'customer c_legacy_after: Ada' }] });
    await legacy.close();
  });

  it("reads the caller's audience once per audience sequence, which moving a person between departments moves", async () => {
    // A tenant of its own: other test files changing people in the shared one move its sequence at any time.
    const tenantId = (await db().tenant.create({ data: { slug: `proxy-moves-${tag}`, name: 'Proxy audience tests' } })).id;
    const admin = await createTestUser(['admin'], undefined, tenantId);
    const mover = await createTestUser(['member'], 'Payments', tenantId);
    const stayer = await createTestUser(['member'], 'Legal', tenantId);
    const name = `moves-${tag}`;
    await registerServer(
      { userId: admin.userId, tenantId, email: admin.email, roles: admin.roles, callSource: 'cli' },
      { name, transport: 'streamable_http', url: upstream.url, upstreamAuth: { type: 'static_secret', secret: h.secret }, allowPrivateNetwork: true, scope: [{ kind: 'department', value: mover.department! }] },
    );
    const client = await h.connectAs(mover, { name });
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
    const superuser = await superuserClient();
    try {
      // Changed with the database's triggers off: the sequence stands, and the proxy, which does
      // not read the person again while it does, still admits them. That is the cache at work.
      await asSuperuser(superuser, 'UPDATE users SET department_id = NULL WHERE id = $1', [mover.userId]);
      expect((await client.listTools()).tools.length).toBeGreaterThan(0);
      // An ordinary change (triggers on) moves the sequence: refused on the very next request.
      await superuser.query('UPDATE users SET department_id = (SELECT department_id FROM users WHERE id = $2) WHERE id = $1', [mover.userId, stayer.userId]);
    } finally {
      await superuser.end();
    }
    await expect(client.listTools()).rejects.toThrow(/not available to you/);
    await client.close().catch(() => undefined);
  });

});

vi.setConfig({ testTimeout: 120_000 });
