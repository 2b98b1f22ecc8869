/**
 * Test support for the proxy's test files: Gatehouse's data plane on loopback, the fake upstream
 * (testing/upstream.ts) registered as a server scoped to a payments and a marketing department
 * (a legal department outside it), three tool policy rules, the real SDK client signed in as
 * any of those people, and readers of the audit events the proxy writes.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { expect, vi } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, pool } from '@/lib/db/client';
import { dataPlane } from '@/lib/http/data-plane';
import { serveWithWebHandler } from '@/lib/http/node-adapter';
import { registerServer, type RegistryActor } from '@/lib/mcp/registry';
import type { UserIdentity } from '@/lib/oauth/identity';
import { mintAccessToken } from '@/lib/oauth/mint';
import { configureTestEnvironment, createTestUser, servePublicly } from '@/lib/oauth/test-harness';
import { pendingBackgroundTasks } from '@/lib/platform/background';
import { listenOnLoopback } from '@/lib/platform/net';
import { signAccessToken } from '@/lib/tokens/sign';
import { setRevocationCacheTtl } from '@/lib/tokens/revocation';
import { createToolPolicyRule } from '@/lib/tool-policy';
import { closeMcpSessions } from '../../index';
import { closeProxySessions } from '../index';
import { startFakeUpstream, type FakeUpstream } from './upstream';
import { recordingFetch } from './recording-fetch';

export interface ConnectOptions {
  clientId?: string;
  /** The proxied server's name (the harness's server when not given). */
  name?: string;
  capabilities?: ClientCapabilities;
}

export interface ProxyEventRow {
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

type RuleInput = { tool: string; decision: 'allow' | 'ask' | 'block'; principalKind: 'everyone' | 'department'; principal?: string; conditions?: object; description: string };

export interface ProxyHarness {
  tag: string;
  /** The upstream's static secret, injected by the proxy. */
  secret: string;
  /** The registered server's name. */
  server: string;
  baseUrl: string;
  upstream: FakeUpstream;
  admin: UserIdentity;
  adminActor: RegistryActor;
  payments: UserIdentity;
  marketing: UserIdentity;
  legal: UserIdentity;
  /** Everything any proxy response carried to the client (bodies and headers), to look for the secret in. */
  received(): string;
  proxyUrl(name?: string): string;
  tokenFor(user: UserIdentity, options?: ConnectOptions): Promise<string>;
  /** A Streamable HTTP transport to the proxy, signed in as `user`. */
  transportAs(user: UserIdentity, options?: ConnectOptions): Promise<StreamableHTTPClientTransport>;
  /** The real SDK client, signed in as `user`, connected through the proxy. */
  connectAs(user: UserIdentity, options?: ConnectOptions): Promise<Client>;
  rule(input: RuleInput): ReturnType<typeof createToolPolicyRule>;
  /** How each proxied request of the user ended (mcp.tool_call), in order. */
  proxyEvents(userId: string, server?: string): Promise<ProxyEventRow[]>;
  /** The decision on each proxied request of the user (policy.decision mcp_proxy.authorize), in order. */
  decisionEvents(userId: string, server?: string): Promise<ProxyEventRow[]>;
  close(): Promise<void>;
}

/** The ends are recorded after the answer (background tasks): waits for them (not draining, which would close the sessions as shutdown does). */
export async function settled(): Promise<void> {
  await vi.waitFor(() => expect(pendingBackgroundTasks()).toBe(0), { timeout: 20_000, interval: 20 });
}

export function traceparent(traceId: string): string {
  return `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
}

async function eventsOf(userId: string, eventType: string, server: string): Promise<ProxyEventRow[]> {
  const { rows } = await pool().query<ProxyEventRow>(
    `SELECT action, outcome, event->>'trace_id' AS trace_id, event FROM audit_events
      WHERE actor_user_id = $1 AND event_type = $2 AND event->'mcp'->>'server' = $3 AND action <> 'mcp_proxy.connect' ORDER BY seq`,
    [userId, eventType, server],
  );
  return rows;
}

export async function startProxyHarness(): Promise<ProxyHarness> {
  const tag = randomBytes(3).toString('hex');
  const secret = `sk_live_${randomBytes(12).toString('hex')}`;
  const server = `payments-${tag}`;
  configureTestEnvironment();
  setRevocationCacheTtl(0);
  const gatehouse: Server = createServer((req, res) => {
    void serveWithWebHandler(req, res, (request) => dataPlane(request) ?? Promise.resolve(new Response('not found', { status: 404 })));
  });
  const baseUrl = servePublicly(await listenOnLoopback(gatehouse));
  const upstream = await startFakeUpstream('authorization', `Bearer ${secret}`);
  const admin = await createTestUser(['admin']);
  const adminActor: RegistryActor = { userId: admin.userId, tenantId: admin.tenantId, email: admin.email, roles: admin.roles, callSource: 'cli' };
  const payments = await createTestUser(['member'], `Payments ${tag}`);
  const marketing = await createTestUser(['member'], `Marketing ${tag}`);
  const legal = await createTestUser(['member'], `Legal ${tag}`);
  const recorder = recordingFetch();

  const proxyUrl = (name = server) => `${baseUrl}/mcp/servers/${name}`;
  const tokenFor = async (user: UserIdentity, options: ConnectOptions = {}) => {
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
  };
  const transportAs = async (user: UserIdentity, options: ConnectOptions = {}) =>
    new StreamableHTTPClientTransport(new URL(proxyUrl(options.name)), { requestInit: { headers: { authorization: `Bearer ${await tokenFor(user, options)}` } }, fetch: recorder.fetch });
  const rule = (input: RuleInput) => createToolPolicyRule(adminActor, { server, ...input });

  await registerServer(adminActor, {
    name: server,
    transport: 'streamable_http',
    url: upstream.url,
    upstreamAuth: { type: 'static_secret', secret },
    allowPrivateNetwork: true,
    scope: [
      { kind: 'department', value: payments.department! },
      { kind: 'department', value: marketing.department! },
    ],
  });
  await rule({ tool: 'charge_card', decision: 'block', principalKind: 'department', principal: marketing.department!, description: 'Marketing does not charge cards' });
  await rule({ tool: 'charge_card', decision: 'block', principalKind: 'department', principal: payments.department!, conditions: { clientIds: ['unvetted-agent'] }, description: 'No charges from unvetted agents' });
  await rule({ tool: 'export_all', decision: 'ask', principalKind: 'everyone', description: 'Exports need a human' });

  return {
    tag,
    secret,
    server,
    baseUrl,
    upstream,
    admin,
    adminActor,
    payments,
    marketing,
    legal,
    received: recorder.received,
    proxyUrl,
    tokenFor,
    transportAs,
    connectAs: async (user, options = {}) => {
      const client = new Client({ name: 'proxy-test', version: '1.0.0' }, { capabilities: options.capabilities ?? {} });
      await client.connect(await transportAs(user, options));
      return client;
    },
    rule,
    proxyEvents: (userId, name = server) => eventsOf(userId, 'mcp.tool_call', name),
    decisionEvents: (userId, name = server) => eventsOf(userId, 'policy.decision', name),
    close: async () => {
      await closeProxySessions();
      await closeMcpSessions();
      await upstream.close();
      await new Promise<void>((resolve) => {
        gatehouse.closeAllConnections();
        gatehouse.close(() => resolve());
      });
      await closeAuditWriter();
      await closeDatabase();
    },
  };
}
