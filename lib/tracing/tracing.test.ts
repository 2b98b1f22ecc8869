// Data-plane spans exported to a fake OTLP collector: the request span and the inference span
// carry the audit trace id, and the inference span the GenAI attributes.
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTestTraceId, startGateway, tokenFor, waitForEvents, type GatewayHarness } from '@/lib/gateway/pipeline-tests/harness';
import { startFakeAnthropic, type FakeAnthropic } from '@/lib/gateway/testing';
import { createTestUser } from '@/lib/oauth/test-harness';
import { listenOnLoopback } from '@/lib/platform/net';
import { flushTracing, registerTracing } from './register';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
}

const UPSTREAM_KEY = `sk-upstream-${randomUUID()}`;
process.env.GATEHOUSE_TEST_TRACING_KEY = UPSTREAM_KEY;

let collector: Server;
const spans: ExportedSpan[] = [];
const problems: string[] = [];
let upstream: FakeAnthropic;
let gateway: GatewayHarness;
let token: string;

beforeAll(async () => {
  // A fake OTLP/HTTP collector: JSON trace exports at /v1/traces.
  collector = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url !== '/v1/traces' || !String(request.headers['content-type']).startsWith('application/json')) problems.push(`${request.url} ${request.headers['content-type']}`);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans: { scopeSpans: { spans: ExportedSpan[] }[] }[] };
      for (const resource of body.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = await listenOnLoopback(collector);
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  registerTracing('gatehouse-test');

  upstream = await startFakeAnthropic({ apiKey: UPSTREAM_KEY });
  gateway = await startGateway(
    `
providers:
  fake: { type: anthropic, base_url: ${upstream.url}, api_key_env: GATEHOUSE_TEST_TRACING_KEY, max_retries: 0 }
models:
  claude-sonnet-4-5:
    targets: [{ provider: fake, model: claude-sonnet-4-5-upstream }]
    price: { input_per_mtok_microdollars: 3000000, output_per_mtok_microdollars: 15000000 }
`,
    'tracing',
  );
  token = await tokenFor(gateway, await createTestUser(['member']));
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
  collector.closeAllConnections();
  collector.close();
});

function attribute(span: ExportedSpan, key: string): unknown {
  const value = span.attributes.find((entry) => entry.key === key)?.value;
  return value ? Object.values(value)[0] : undefined;
}

async function spansOf(traceId: string, count: number): Promise<ExportedSpan[]> {
  for (let tries = 0; tries < 100; tries++) {
    await flushTracing();
    const found = spans.filter((span) => span.traceId === traceId);
    if (found.length >= count) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return spans.filter((span) => span.traceId === traceId);
}

describe('data-plane tracing', () => {
  it('exports a request span and a GenAI inference span whose trace id is the audit trace id', async () => {
    upstream.setBehaviour({ kind: 'reply' });
    const client = new Anthropic({ baseURL: gateway.url, apiKey: token, maxRetries: 0 });
    const { response } = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hello, tracing' }] }).withResponse();
    // The client sent no trace id: the span chose it, and the gateway and the audit trail adopted it.
    const traceId = response.headers.get('x-trace-id')!;
    const events = await waitForEvents(traceId, ['inference.request', 'inference.response']);
    expect(events.every((event) => event.trace_id === traceId)).toBe(true);

    const [server, inference] = await Promise.all([
      spansOf(traceId, 2).then((found) => found.find((span) => span.kind === 2)),
      spansOf(traceId, 2).then((found) => found.find((span) => span.kind === 3 && span.name.startsWith('chat '))),
    ]);
    expect(problems).toEqual([]);
    expect(server).toMatchObject({ name: 'POST /v1/messages' });
    expect(attribute(server!, 'http.response.status_code')).toBe(200);
    expect(inference).toMatchObject({ name: 'chat claude-sonnet-4-5', parentSpanId: server!.spanId });
    expect(attribute(inference!, 'gen_ai.operation.name')).toBe('chat');
    expect(attribute(inference!, 'gen_ai.provider.name')).toBe('fake');
    expect(attribute(inference!, 'gen_ai.request.model')).toBe('claude-sonnet-4-5');
    const response_event = events.find((event) => event.event_type === 'inference.response')!;
    expect(Number(attribute(inference!, 'gen_ai.usage.input_tokens'))).toBe(response_event.gen_ai!.input_tokens);
    expect(Number(attribute(inference!, 'gen_ai.usage.output_tokens'))).toBe(response_event.gen_ai!.output_tokens);
    // Trace context is not handed to the model provider (forward_attribution decides what goes upstream).
    expect(upstream.requests.at(-1)!.headers.traceparent).toBeUndefined();
  });

  it('uses the trace id the client sent, and traces refusals too', async () => {
    const traceId = newTestTraceId();
    const refused = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'not-a-token', 'content-type': 'application/json', 'x-trace-id': traceId },
      body: '{}',
    });
    expect(refused.status).toBe(401);
    const [server] = await spansOf(traceId, 1);
    expect(server).toMatchObject({ name: 'POST /v1/messages', kind: 2 });
    expect(attribute(server!, 'http.response.status_code')).toBe(401);
  });
});
