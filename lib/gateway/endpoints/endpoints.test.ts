import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import canonicalize from 'canonicalize';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { db, pool } from '@/lib/db/client';
import { gatewayLimits, unixSeconds, periodBounds } from '@/lib/gateway/limits';
import { testCaller, testDecision, testPrincipal } from '@/lib/gateway/limits/testing/fixtures';
import { startGateway, type GatewayHarness } from '@/lib/gateway/pipeline-tests/harness';
import type { UserIdentity } from '@/lib/oauth/identity';
import { mintAccessToken } from '@/lib/oauth/mint';
import { createTestUser } from '@/lib/oauth/test-harness';
import { awayFromWindowEdge } from '@/lib/audit/testing/fixtures';
import { drainBackgroundTasks } from '@/lib/platform/background';
import { TELEMETRY_SUMMARY_WINDOW_MS } from './index';

// Departments of this file only: other test files share the tenant.
const suffix = randomBytes(3).toString('hex');
const CAPPED = `capped-${suffix}`;
const DEVS = `devs-${suffix}`;

const CONFIG = `
providers:
  anthropic: { type: anthropic, base_url: 'http://127.0.0.1:9' }
models:
  claude-test:
    targets: [{ provider: anthropic, model: claude-sonnet-4-5 }]
    price: { input_per_mtok_microdollars: 1000000, output_per_mtok_microdollars: 1000000 }
limits:
  budgets:
    - { scope: user, match: { department: ${CAPPED} }, period: monthly, limit_microdollars: 500000000 }
    - { scope: user, match: { department: ${CAPPED} }, period: daily, limit_microdollars: 1000000000 }
managed_settings:
  - match: { role: member }
    settings:
      env: { CLAUDE_CODE_ENABLE_TELEMETRY: "1", OTEL_METRICS_EXPORTER: otlp }
      permissions: { deny: ["Bash(rm:*)"] }
  - match: { department: ${DEVS} }
    settings:
      permissions: { deny: ["WebFetch", "Bash(rm:*)"], allow: ["Read"] }
      model: claude-sonnet-4-5
      companyAnnouncements: ["Grüße – ünïcödé"]
      cleanupPeriodDays: 30
`;

let gateway: GatewayHarness;
let baseUrl: string;

async function tokenFor(user: UserIdentity): Promise<string> {
  return (await mintAccessToken({ email: user.email, issuer: baseUrl })).accessToken;
}

function get(pathname: string, token: string | null, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${baseUrl}${pathname}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
}

function post(pathname: string, token: string, body: Uint8Array | string, headers: Record<string, string>): Promise<Response> {
  // A copy on a plain ArrayBuffer: what fetch's BodyInit type accepts.
  return fetch(`${baseUrl}${pathname}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, ...headers }, body: typeof body === 'string' ? body : new Uint8Array(body) });
}

/** Spends `microdollars` for a user through the limits, as the pipeline's settle would. */
async function spend(user: UserIdentity, microdollars: number): Promise<void> {
  const principal = testPrincipal({ userId: user.userId, tenantId: user.tenantId, department: user.department, roles: user.roles, email: user.email });
  const admission = await gatewayLimits().admit({ caller: testCaller(principal), model: 'claude-test', estimatedInputTokens: 10, maxOutputTokens: 10, decision: testDecision({ requestedModel: 'claude-test' }) });
  if (!admission.ok) throw new Error(`spend refused: ${admission.rule}`);
  await admission.reservation.settle({ costMicrodollars: microdollars, usage: { input_tokens: 10, output_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } });
}

// The managed-settings tests' own tenant: once a tenant registers MCP servers (other test files
// do, in the shared one) its members' settings also carry their MCP allowlist.
let settingsTenant: string;

beforeAll(async () => {
  gateway = await startGateway(CONFIG, 'endpoints');
  baseUrl = gateway.url;
  settingsTenant = (await db().tenant.create({ data: { slug: `endpoints-${suffix}`, name: 'Managed settings tests' } })).id;
});

afterAll(() => gateway.close());

describe('GET /managed/settings', () => {
  it('serves the merged settings with the client-computed checksum as ETag', async () => {
    const user = await createTestUser(['member'], DEVS, settingsTenant);
    const response = await get('/managed/settings', await tokenFor(user));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { uuid: string; checksum: string; settings: Record<string, unknown> };
    expect(body.settings).toEqual({
      env: { CLAUDE_CODE_ENABLE_TELEMETRY: '1', OTEL_METRICS_EXPORTER: 'otlp' },
      permissions: { deny: ['Bash(rm:*)', 'WebFetch'], allow: ['Read'] },
      model: 'claude-sonnet-4-5',
      companyAnnouncements: ['Grüße – ünïcödé'],
      cleanupPeriodDays: 30,
    });
    // Independently: RFC 8785 canonical JSON (keys sorted at every level, no whitespace).
    const expected = `sha256:${createHash('sha256').update(canonicalize(body.settings)!).digest('hex')}`;
    expect(body.checksum).toBe(expected);
    expect(response.headers.get('etag')).toBe(`"${expected}"`);
    expect(body.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Never both x-cc-gateway-version and no-store: that pair changes what 404 and 304 mean.
    expect(response.headers.has('x-cc-gateway-version')).toBe(false);
    expect(response.headers.get('cache-control')).not.toContain('no-store');
  });

  it('answers 304 only to an If-None-Match naming the checksum, and treats * as no header', async () => {
    const user = await createTestUser(['member'], undefined, settingsTenant);
    const token = await tokenFor(user);
    const first = await get('/managed/settings', token);
    const { checksum } = (await first.json()) as { checksum: string };

    const revalidated = await get('/managed/settings', token, { 'if-none-match': `"${checksum}"` });
    expect(revalidated.status).toBe(304);
    expect(revalidated.headers.get('etag')).toBe(`"${checksum}"`);
    expect(await revalidated.text()).toBe('');
    expect((await get('/managed/settings', token, { 'if-none-match': `"sha256:stale", W/"${checksum}"` })).status).toBe(304);

    const stale = await get('/managed/settings', token, { 'if-none-match': '"sha256:0000"' });
    expect(stale.status).toBe(200);
    const probe = await get('/managed/settings', token, { 'if-none-match': '*' });
    expect(probe.status).toBe(200);
    expect(((await probe.json()) as { checksum: string }).checksum).toBe(checksum);
  });

  it('answers 404 when no managed policy applies, and 401 without a valid token', async () => {
    // author holds inference.invoke, and no entry matches it.
    const author = await createTestUser(['author'], undefined, settingsTenant);
    const none = await get('/managed/settings', await tokenFor(author));
    expect(none.status).toBe(404);
    expect(await none.json()).toEqual({ type: 'error', error: { type: 'not_found_error', message: 'no managed settings apply to you' } });

    const anonymous = await get('/managed/settings', null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('x-should-retry')).toBe('false');
    expect(((await anonymous.json()) as { error: { type: string } }).error.type).toBe('authentication_error');
    // x-api-key carries the same token (Claude Code with an apiKeyHelper).
    const member = await createTestUser(['member'], undefined, settingsTenant);
    expect((await fetch(`${baseUrl}/managed/settings`, { headers: { 'x-api-key': await tokenFor(member) } })).status).toBe(200);
  });
});

describe('GET /api/oauth/usage', () => {
  it('describes the fullest cap in cents and whole percents, resetting when the headers say', async () => {
    const user = await createTestUser(['member'], CAPPED);
    await spend(user, 271_400_000);
    const response = await get('/api/oauth/usage', await tokenFor(user));
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const now = new Date();
    const monthEnd = periodBounds('monthly', now).end.toISOString();
    const dayEnd = periodBounds('daily', now).end.toISOString();
    expect(await response.json()).toEqual({
      extra_usage: { is_enabled: true, monthly_limit: 50000, used_credits: 27140, utilization: 54, currency: 'USD' },
      limits: [
        { kind: 'spend', group: 'monthly', percent: 54, resets_at: monthEnd, severity: 'normal', is_active: true },
        { kind: 'spend', group: 'daily', percent: 27, resets_at: dayEnd, severity: 'normal', is_active: false },
      ],
    });
    // The usage headers on the next request describe the same cap, resetting at the same second.
    const principal = testPrincipal({ userId: user.userId, tenantId: user.tenantId, department: user.department, roles: user.roles });
    const admission = await gatewayLimits().admit({ caller: testCaller(principal), model: 'claude-test', estimatedInputTokens: 1, maxOutputTokens: 1, decision: testDecision({ requestedModel: 'claude-test' }) });
    if (!admission.ok) throw new Error('expected admission');
    await admission.reservation.release();
    expect(admission.headers.get('anthropic-ratelimit-unified-overage-utilization')).toBe('0.54');
    expect(admission.headers.get('anthropic-ratelimit-unified-overage-reset')).toBe(String(unixSeconds(new Date(monthEnd))));
  });

  it("gives a user with no cap this month's, day's and week's spend from the ledger", async () => {
    const user = await createTestUser(['member'], DEVS);
    await spend(user, 12_400_000);
    await spend(user, 5_000);
    const response = await get('/api/oauth/usage', await tokenFor(user));
    expect(await response.json()).toEqual({
      extra_usage: {
        is_enabled: true,
        monthly_limit: null,
        used_credits: 1241,
        utilization: null,
        currency: 'USD',
        daily: { limit: null, used_credits: 1241, utilization: null },
        weekly: { limit: null, used_credits: 1241, utilization: null },
      },
      limits: [],
    });
  });
});

// The official OTLP definitions (opentelemetry-proto), with the fields a real exporter fills.
const OFFICIAL_PROTO = `
syntax = "proto3";
package opentelemetry.proto;
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
message Metric { string name = 1; string description = 2; string unit = 3; oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; } }
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; int32 aggregation_temporality = 2; bool is_monotonic = 3; }
message Histogram { repeated HistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message NumberDataPoint { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3; oneof value { double as_double = 4; sfixed64 as_int = 6; } uint32 flags = 8; }
message HistogramDataPoint { repeated KeyValue attributes = 9; fixed64 time_unix_nano = 3; fixed64 count = 4; optional double sum = 5; repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7; }
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; }
message ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; }
message LogRecord { fixed64 time_unix_nano = 1; int32 severity_number = 2; string severity_text = 3; AnyValue body = 5; repeated KeyValue attributes = 6; string event_name = 12; }
message Status { int32 code = 1; string message = 2; }
`;
const official = protobuf.parse(OFFICIAL_PROTO, { keepCase: true }).root;

const attribute = (key: string, value: string) => ({ key, value: { string_value: value } });

/** The user's telemetry summary events, once every counted export has been written. */
async function telemetryEvents(userId: string): Promise<Record<string, unknown>[]> {
  await drainBackgroundTasks();
  const result = await pool().query<{ event: Record<string, unknown> }>(
    `SELECT event FROM audit_events WHERE actor_user_id = $1 AND event_type = 'system.housekeeping' AND action = 'telemetry.ingest' ORDER BY seq`,
    [userId],
  );
  return result.rows.map((row) => row.event);
}

describe('OTLP telemetry', () => {
  it('accepts a protobuf metrics export, attributes it to the bearer and counts it into a summary event', async () => {
    const user = await createTestUser(['member'], DEVS);
    const type = official.lookupType('opentelemetry.proto.ExportMetricsServiceRequest');
    const point = (value: number) => ({ time_unix_nano: 1_790_000_000_000_000_000n.toString(), as_double: value, attributes: [attribute('model', 'claude-sonnet-4-5')] });
    const message = type.fromObject({
      resource_metrics: [
        {
          resource: { attributes: [attribute('service.name', 'claude-code'), attribute('service.version', '2.1.330'), attribute('user.id', 'someone-else'), attribute('session.id', 'sess-1')] },
          scope_metrics: [
            {
              scope: { name: 'com.anthropic.claude_code', version: '2.1.330' },
              metrics: [
                { name: 'claude_code.cost.usage', unit: 'USD', sum: { data_points: [point(0.25), point(0.5)], aggregation_temporality: 1, is_monotonic: true } },
                { name: 'claude_code.token.usage', sum: { data_points: [point(100), point(200), point(300)] } },
                { name: 'claude_code.session.count', histogram: { data_points: [{ count: 1, sum: 1, bucket_counts: [1], explicit_bounds: [] }] } },
              ],
            },
          ],
        },
      ],
    });
    const body = type.encode(message).finish();
    const response = await post('/v1/metrics', await tokenFor(user), body, { 'content-type': 'application/x-protobuf' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-protobuf');
    expect((await response.arrayBuffer()).byteLength).toBe(0);

    const [event, ...others] = await telemetryEvents(user.userId);
    expect(others).toEqual([]);
    expect(event).toMatchObject({
      tenant_id: user.tenantId,
      event_type: 'system.housekeeping',
      action: 'telemetry.ingest',
      outcome: 'success',
      session_id: 'sess-1',
      actor: { user_id: user.userId, email: user.email, department: DEVS },
      attributes: {
        count: 1,
        'telemetry.signals': 'metrics:1',
        'telemetry.encodings': 'protobuf:1',
        'telemetry.bytes': body.byteLength,
        'telemetry.resources': 1,
        'telemetry.items': 6,
        'telemetry.names': 'claude_code.cost.usage:1,claude_code.token.usage:1,claude_code.session.count:1',
        'telemetry.sessions': 'sess-1:1',
        'service.name': 'claude-code',
        'service.version': '2.1.330',
        'telemetry.claimed_user_ids': 'someone-else:1',
      },
    });
  });

  it('accepts OTLP/JSON logs (gzipped too) and answers an empty JSON response', async () => {
    const user = await createTestUser(['member']);
    const token = await tokenFor(user);
    const logs = {
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'claude-code' } }, { key: 'user.id', value: { stringValue: user.userId } }] },
          scopeLogs: [
            {
              scope: { name: 'com.anthropic.claude_code.events' },
              logRecords: [
                { timeUnixNano: '1790000000000000000', body: { stringValue: 'claude_code.user_prompt' }, attributes: [{ key: 'event.name', value: { stringValue: 'user_prompt' } }] },
                { timeUnixNano: '1790000000000000001', eventName: 'claude_code.api_request', attributes: [] },
              ],
            },
          ],
        },
      ],
    };
    await awayFromWindowEdge(TELEMETRY_SUMMARY_WINDOW_MS, 5_000);
    const plain = await post('/v1/logs', token, JSON.stringify(logs), { 'content-type': 'application/json' });
    expect(plain.status).toBe(200);
    expect(await plain.json()).toEqual({});
    const zipped = await post('/v1/logs', token, gzipSync(JSON.stringify(logs)), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    expect(zipped.status).toBe(200);

    // Both exports land in one summary event.
    const [event, ...others] = await telemetryEvents(user.userId);
    expect(others).toEqual([]);
    expect(event!.attributes).toEqual({
      count: 2,
      first_seen: expect.any(String),
      last_seen: expect.any(String),
      'telemetry.signals': 'logs:2',
      'telemetry.encodings': 'json:2',
      'telemetry.bytes': 2 * JSON.stringify(logs).length,
      'telemetry.resources': 2,
      'telemetry.items': 4,
      'telemetry.names': 'user_prompt:2,claude_code.api_request:2',
      'service.name': 'claude-code',
    });
  });

  it('accepts traces, refuses malformed bodies with 400 and missing tokens with 401, never 404', async () => {
    const user = await createTestUser(['member']);
    const token = await tokenFor(user);
    const traces = await post('/v1/traces', token, JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'claude_code.turn' }, { name: 'claude_code.tool' }] }] }] }), { 'content-type': 'application/json' });
    expect(traces.status).toBe(200);
    expect((await telemetryEvents(user.userId))[0]!.attributes).toMatchObject({ 'telemetry.signals': 'traces:1', 'telemetry.items': 2, 'telemetry.names': 'claude_code.turn:1,claude_code.tool:1' });

    const notJson = await post('/v1/metrics', token, '{"resourceMetrics": [', { 'content-type': 'application/json' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ code: 3, message: expect.stringContaining('not an OTLP metrics export') });
    const wrongShape = await post('/v1/metrics', token, JSON.stringify({ resourceMetrics: 'nope' }), { 'content-type': 'application/json' });
    expect(wrongShape.status).toBe(400);

    const garbage = await post('/v1/metrics', token, new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), { 'content-type': 'application/x-protobuf' });
    expect(garbage.status).toBe(400);
    const status = official.lookupType('opentelemetry.proto.Status').decode(new Uint8Array(await garbage.arrayBuffer())) as unknown as { code: number; message: string };
    expect(status.code).toBe(3);
    expect(status.message).toContain('protobuf');

    const anonymous = await fetch(`${baseUrl}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { type: string } }).error.type).toBe('authentication_error');
    expect((await get('/v1/metrics', token)).status).toBe(405);
    expect((await telemetryEvents(user.userId)).length).toBe(1);
  });
});
