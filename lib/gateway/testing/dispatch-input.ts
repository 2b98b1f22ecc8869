/**
 * Builds the DispatchInput the request pipeline would hand to `dispatch`, for tests of the
 * upstream side on their own: a caller, a route decision over the given targets, a request body.
 */
import type { DispatchInput, GatewayCaller, UpstreamTarget } from '@/lib/gateway/contracts';

export function testCaller(overrides: Partial<GatewayCaller> = {}): GatewayCaller {
  const now = Date.now();
  return {
    principal: {
      userId: 'usr_test_alice',
      email: 'alice@example.test',
      tenantId: 'ten_test',
      department: 'engineering',
      roles: ['member'],
      sessionId: 'ses_test_1',
      clientId: 'claude-code',
      audience: 'http://127.0.0.1/v1',
      scopes: ['inference'],
      tokenId: 'jti_test_1',
      issuer: 'http://127.0.0.1',
      issuedAt: new Date(now - 1000),
      expiresAt: new Date(now + 3_600_000),
    },
    traceId: 'trace-test-0001',
    sessionId: 'cc-session-0001',
    callSource: 'claude_code',
    clientId: 'claude-code',
    policyVersion: 'pv_0000000000000000',
    ...overrides,
  };
}

export function anthropicTarget(baseUrl: string, overrides: Partial<UpstreamTarget> = {}): UpstreamTarget {
  return { provider: 'fake-anthropic', providerType: 'anthropic', baseUrl, model: 'claude-upstream-1', maxRetries: 0, timeoutMs: 5_000, ...overrides };
}

export function openAITarget(baseUrl: string, overrides: Partial<UpstreamTarget> = {}): UpstreamTarget {
  return { provider: 'fake-openai', providerType: 'openai_compatible', baseUrl, model: 'fake-llm', maxRetries: 0, timeoutMs: 5_000, ...overrides };
}

export interface TestDispatchOptions {
  body?: Record<string, unknown>;
  stream?: boolean;
  headers?: HeadersInit;
  signal?: AbortSignal;
  caller?: GatewayCaller;
  requestedModel?: string;
}

export function dispatchInput(targets: UpstreamTarget[], options: TestDispatchOptions = {}): DispatchInput {
  const stream = options.stream ?? false;
  const requestedModel = options.requestedModel ?? 'claude-sonnet-4-5';
  return {
    body: options.body ?? { model: requestedModel, max_tokens: 256, messages: [{ role: 'user', content: 'Hello' }], ...(stream ? { stream: true } : {}) },
    stream,
    headers: new Headers(options.headers ?? { 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }),
    decision: { requestedModel, routeName: 'test', targets },
    caller: options.caller ?? testCaller(),
    signal: options.signal ?? new AbortController().signal,
  };
}
