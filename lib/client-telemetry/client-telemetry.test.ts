// Claude Code's OTLP exports as it sends them (resource attributes, metric and event names,
// delta and cumulative sums, JSON and protobuf) stored per user and shown beside the gateway's figures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTLP_SIGNALS } from '@/lib/gateway/endpoints/otlp-schema';
import { startGateway, tokenFor, type GatewayHarness } from '@/lib/gateway/pipeline-tests/harness';
import { pool } from '@/lib/db/client';
import type { UserIdentity } from '@/lib/oauth/identity';
import { createTestUser } from '@/lib/oauth/test-harness';
import { drainBackgroundTasks } from '@/lib/platform/background';
import { clientVersusGateway } from './repository';

let gateway: GatewayHarness;
let user: UserIdentity;
let token: string;

beforeAll(async () => {
  gateway = await startGateway('{}\n', 'client-telemetry');
  user = await createTestUser(['member']);
  token = await tokenFor(gateway, user);
});

afterAll(async () => {
  await gateway.close();
});

const nowNanos = () => `${BigInt(Date.now()) * 1_000_000n}`;
const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

function resource(user: UserIdentity) {
  return {
    attributes: [
      str('service.name', 'claude-code'),
      str('service.version', '2.1.330'),
      str('identity.source', 'gateway-oidc'),
      str('user.id', user.userId),
      str('user.email', user.email),
      str('session.id', 'session-1'),
      str('terminal.type', 'vscode'),
    ],
  };
}

function sum(name: string, unit: string, temporality: number, points: { attributes: ReturnType<typeof str>[]; value: number; start?: string }[]) {
  return {
    name,
    unit,
    sum: {
      aggregationTemporality: temporality,
      isMonotonic: true,
      dataPoints: points.map((point) => ({ attributes: point.attributes, startTimeUnixNano: point.start ?? nowNanos(), timeUnixNano: nowNanos(), asDouble: point.value })),
    },
  };
}

function metricsExport(metrics: unknown[]) {
  return { resourceMetrics: [{ resource: resource(user), scopeMetrics: [{ scope: { name: 'com.anthropic.claude_code', version: '2.1.330' }, metrics }] }] };
}

function logsExport(records: { name: string; attributes: ReturnType<typeof str>[] }[]) {
  return {
    resourceLogs: [
      {
        resource: resource(user),
        scopeLogs: [
          {
            scope: { name: 'com.anthropic.claude_code.events', version: '2.1.330' },
            logRecords: records.map((record) => ({
              timeUnixNano: nowNanos(),
              observedTimeUnixNano: nowNanos(),
              body: { stringValue: `claude_code.${record.name}` },
              attributes: [str('event.name', record.name), str('event.timestamp', new Date().toISOString()), ...record.attributes],
            })),
          },
        ],
      },
    ],
  };
}

async function post(path: '/v1/metrics' | '/v1/logs', body: object, protobuf = false): Promise<Response> {
  const signal = path === '/v1/metrics' ? 'metrics' : 'logs';
  const type = OTLP_SIGNALS[signal].request;
  const payload = protobuf ? Buffer.from(type.encode(type.fromObject(body)).finish()) : JSON.stringify(body);
  return fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': protobuf ? 'application/x-protobuf' : 'application/json' },
    body: payload,
  });
}

describe('Claude Code telemetry intake', () => {
  it('stores token counts, cost, active time, API requests and tool decisions per user, from JSON and protobuf', async () => {
    const model = str('model', 'claude-sonnet-4-5');
    // Delta sums in JSON (Claude Code's default temporality).
    const delta = await post(
      '/v1/metrics',
      metricsExport([
        sum('claude_code.token.usage', 'tokens', 1, [
          { attributes: [model, str('type', 'input')], value: 1200 },
          { attributes: [model, str('type', 'output')], value: 340 },
          { attributes: [model, str('type', 'cacheRead')], value: 5000 },
          { attributes: [model, str('type', 'cacheCreation')], value: 100 },
        ]),
        sum('claude_code.cost.usage', 'USD', 1, [{ attributes: [model], value: 0.0123 }]),
        sum('claude_code.session.count', 'count', 1, [{ attributes: [], value: 1 }]),
      ]),
    );
    expect(delta.status).toBe(200);
    // Cumulative sums in protobuf: the second export counts only its increase.
    const start = nowNanos();
    for (const value of [30, 42.5]) {
      const cumulative = await post('/v1/metrics', metricsExport([sum('claude_code.active_time.total', 's', 2, [{ attributes: [str('type', 'user')], value, start }])]), true);
      expect(cumulative.status).toBe(200);
    }
    const logs = await post(
      '/v1/logs',
      logsExport([
        { name: 'tool_decision', attributes: [str('tool_name', 'Bash'), str('decision', 'accept'), str('source', 'config')] },
        { name: 'tool_decision', attributes: [str('tool_name', 'Edit'), str('decision', 'accept'), str('source', 'user_temporary')] },
        { name: 'tool_decision', attributes: [str('tool_name', 'Bash'), str('decision', 'reject'), str('source', 'user_reject')] },
        { name: 'api_request', attributes: [model, str('cost_usd', '0.0123'), str('input_tokens', '1200')] },
        { name: 'user_prompt', attributes: [str('prompt_length', '12')] },
      ]),
      true,
    );
    expect(logs.status).toBe(200);
    await drainBackgroundTasks();

    const today = new Date().toISOString().slice(0, 10);
    const rows = await clientVersusGateway(pool(), user.tenantId, today, today);
    expect(rows.find((row) => row.userId === user.userId)).toMatchObject({
      email: user.email,
      clientInputTokens: 1200,
      clientOutputTokens: 340,
      clientCacheTokens: 5100,
      clientCostMicrodollars: 12_300,
      activeSeconds: 42.5,
      clientApiRequests: 1,
      toolAccepts: 2,
      toolRejects: 1,
      gatewayRequests: 0,
    });
  });

  it('refuses an export without a valid bearer', async () => {
    const response = await fetch(`${gateway.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(401);
  });
});
