import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  anthropicFailures,
  anthropicTarget,
  dispatchInput,
  openAITarget,
  readAll,
  readText,
  sdkReading,
  startFakeAnthropic,
  toolUseReply,
  type FakeAnthropic,
} from '@/lib/gateway/testing';
import { dispatch, dispatchCountTokens, resetCircuitBreakers, resetUpstreamTuning, tuneUpstreams } from '.';

const warnings: string[] = [];
let fake: FakeAnthropic;

beforeEach(async () => {
  resetCircuitBreakers();
  tuneUpstreams({ logger: { warn: (message, details) => warnings.push(`${message} ${JSON.stringify(details ?? {})}`) } });
  process.env.GATEHOUSE_TEST_ANTHROPIC_KEY = 'sk-ant-company-key';
  fake = await startFakeAnthropic({ apiKey: 'sk-ant-company-key' });
});

afterEach(async () => {
  await fake.close();
  resetUpstreamTuning();
  warnings.length = 0;
});

const target = () => anthropicTarget(fake.url, { apiKeyEnv: 'GATEHOUSE_TEST_ANTHROPIC_KEY' });

const clientHeaders = {
  authorization: 'Bearer gatehouse-user-token',
  'x-api-key': 'gatehouse-user-token',
  'anthropic-version': '2023-06-01',
  'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14',
  'anthropic-dangerous-direct-browser-access': 'true',
  'content-type': 'application/json',
  'user-agent': 'claude-cli/2.1.330 (external, sdk-cli)',
  'x-app': 'cli',
  'x-stainless-lang': 'js',
  'x-stainless-retry-count': '0',
  'x-claude-code-session-id': 'b7a1',
  cookie: 'session=secret',
};

describe('Anthropic passthrough', () => {
  it('relays the SSE stream byte for byte and records what it said', async () => {
    const reply = toolUseReply('get_weather', { city: 'Paris' }, { preamble: 'Let me check.', id: 'toolu_1', usage: { input_tokens: 40, output_tokens: 22, cache_read_input_tokens: 100, cache_creation_input_tokens: 8 } });
    fake.setBehaviour({ kind: 'reply', reply: { ...reply, id: 'msg_fixed' } });
    const body = { model: 'claude-sonnet-4-5', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'Weather?' }] };

    const direct = await readAll((await fetch(`${fake.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'sk-ant-company-key' }, body: JSON.stringify({ ...body, model: 'claude-upstream-1' }) })).body!);
    const result = await dispatch(dispatchInput([target()], { body, stream: true }));
    const relayed = await readAll(result.body);

    expect(result.status).toBe(200);
    expect(result.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(Buffer.from(relayed).equals(Buffer.from(direct))).toBe(true);
    const completion = await result.completion;
    expect(completion).toMatchObject({
      usage: { input_tokens: 40, output_tokens: 22, cache_read_input_tokens: 100, cache_creation_input_tokens: 8 },
      stopReason: 'tool_use',
      responseModel: 'claude-upstream-1',
      responseId: 'msg_fixed',
      content: [
        { type: 'text', text: 'Let me check.' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
      ],
    });
    expect(completion.error).toBeUndefined();
    expect(completion.timeToFirstByteMs).toBeGreaterThanOrEqual(0);
    expect(result.attempts).toMatchObject([{ provider: 'fake-anthropic', outcome: 'success', status: 200 }]);
  });

  it('gives the SDK the same final message as the upstream would', async () => {
    fake.setBehaviour({ kind: 'reply', reply: { ...toolUseReply('search', { q: 'x' }, { preamble: 'Searching' }), id: 'msg_same' } });
    const params = { model: 'claude-upstream-1', max_tokens: 64, messages: [{ role: 'user' as const, content: 'Go' }] };
    const direct = await sdkReading(await fetch(`${fake.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'sk-ant-company-key' }, body: JSON.stringify({ ...params, stream: true }) }).then((response) => ({ status: response.status, headers: response.headers, body: response.body! })))
      .messages.stream(params)
      .finalMessage();

    const result = await dispatch(dispatchInput([target()], { body: { ...params, stream: true }, stream: true }));
    const through = await sdkReading(result).messages.stream(params).finalMessage();
    expect(through).toEqual(direct);
  });

  it('forwards the body unchanged but for the model, the Anthropic headers, and the company key: never the user credential', async () => {
    const body = {
      model: 'claude-sonnet-4-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
      context_management: { edits: [{ type: 'clear_tool_uses_20250919' }] },
      safeguards: { mode: 'auto' },
      some_future_field: [1, { nested: true }],
    };
    await dispatch(dispatchInput([target()], { body, headers: clientHeaders }));

    const seen = fake.requests[0]!;
    expect(seen.path).toBe('/v1/messages');
    expect(seen.rawBody).toBe(JSON.stringify({ ...body, model: 'claude-upstream-1' }));
    expect(seen.headers).toMatchObject({
      'x-api-key': 'sk-ant-company-key',
      'anthropic-version': '2023-06-01',
      'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14',
      'user-agent': 'claude-cli/2.1.330 (external, sdk-cli)',
      'x-app': 'cli',
      'x-stainless-lang': 'js',
      'x-stainless-retry-count': '0',
    });
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers['x-gatehouse-user']).toBeUndefined();
    expect(seen.headers['x-trace-id']).toBeUndefined();
  });

  it('sends attribution and static headers only to providers configured for them', async () => {
    await dispatch(dispatchInput([anthropicTarget(fake.url, { apiKeyEnv: 'GATEHOUSE_TEST_ANTHROPIC_KEY', forwardAttribution: true, headers: { 'x-pool': 'blue' } })]));
    expect(fake.requests[0]?.headers).toMatchObject({
      'x-gatehouse-user': 'usr_test_alice',
      'x-gatehouse-session': 'cc-session-0001',
      'x-trace-id': 'trace-test-0001',
      'x-pool': 'blue',
    });
  });

  it('relays a non-streaming answer unchanged and drops the upstream rate-limit and account headers', async () => {
    fake.setBehaviour({ kind: 'reply', reply: { id: 'msg_json', content: [{ type: 'text', text: 'plain' }] } });
    const result = await dispatch(dispatchInput([target()]));
    const text = await readText(result.body);
    expect(JSON.parse(text)).toMatchObject({ id: 'msg_json', type: 'message', content: [{ type: 'text', text: 'plain' }], model: 'claude-upstream-1' });
    expect(result.headers.get('request-id')).toBe('req_msg_json');
    expect([...result.headers.keys()].filter((name) => name.startsWith('anthropic-ratelimit'))).toEqual([]);
    expect(await result.completion).toMatchObject({ stopReason: 'end_turn', usage: { input_tokens: 12, output_tokens: 7 } });
  });

  it('relays a "prompt is too long" 400 verbatim and hides other upstream messages behind a generic one', async () => {
    fake.setBehaviour(anthropicFailures.promptTooLong());
    const tooLong = await dispatch(dispatchInput([target()]));
    expect(tooLong.status).toBe(400);
    expect(JSON.parse(await readText(tooLong.body))).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 210345 tokens > 200000 maximum' } });
    expect(tooLong.attempts).toMatchObject([{ outcome: 'client_error', status: 400 }]);

    fake.setBehaviour({ kind: 'error', status: 404, errorType: 'not_found_error', message: 'model: claude-upstream-1 not found for org_01FAKEACCOUNT' });
    const missing = await dispatch(dispatchInput([target()]));
    const text = await readText(missing.body);
    expect(missing.status).toBe(404);
    expect(JSON.parse(text)).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect(text).not.toContain('org_01FAKEACCOUNT');
    expect(warnings.join('\n')).toContain('org_01FAKEACCOUNT'); // the operator still gets the details
    expect((await missing.completion).error?.type).toBe('not_found_error');
  });

  it('relays only the upstream messages the contract lists; every other 400/413 message is replaced, keeping its type', async () => {
    const answer = async (status: number, errorType: string, message: string) => {
      fake.setBehaviour({ kind: 'error', status, errorType, message });
      const result = await dispatch(dispatchInput([target()]));
      return { status: result.status, body: JSON.parse(await readText(result.body)) as { error: { type: string; message: string } } };
    };

    const hidden = await answer(400, 'invalid_request_error', 'messages.0.content: field required (workspace wrk_01FAKEACCOUNT)');
    expect(hidden.status).toBe(400);
    expect(hidden.body.error.type).toBe('invalid_request_error');
    expect(hidden.body.error.message).not.toContain('wrk_01FAKEACCOUNT');
    expect(hidden.body.error.message).toContain('HTTP 400');
    expect(warnings.join('\n')).toContain('wrk_01FAKEACCOUNT');
    expect(warnings.join('\n')).toContain('trace-test-0001'); // the operator finds it by the trace id

    const tooLarge = await answer(413, 'request_too_large', 'Request exceeds the maximum allowed number of bytes for org_01FAKEACCOUNT');
    expect(tooLarge).toMatchObject({ status: 413, body: { error: { type: 'request_too_large' } } });
    expect(tooLarge.body.error.message).not.toContain('org_01FAKEACCOUNT');

    const relayed: [string, string][] = [
      ['prompt is too long: 210345 tokens > 200000 maximum', 'prompt is too long: 210345 tokens > 200000 maximum'],
      ['Input is too long.', 'Input is too long.'],
      ['The request size (30037042 bytes) exceeds 30.000MB limit.', 'Input is too long.'],
      ['The message size (31000000 bytes) exceeds 30.000MB limit.', 'Input is too long.'],
    ];
    for (const [upstream, client] of relayed) {
      expect(await answer(400, 'invalid_request_error', upstream), upstream).toEqual({ status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: client } } });
    }
    // Auto mode retries without `safeguards` when the refusal names them; the upstream's own words stay in the log.
    const safeguards = await answer(400, 'invalid_request_error', 'safeguards: Extra inputs are not permitted (project proj-01FAKE)');
    expect(safeguards.body.error.message).toContain('safeguards');
    expect(safeguards.body.error.message).not.toContain('proj-01FAKE');
  });

  it('passes count_tokens through to Anthropic targets and answers 501 for others', async () => {
    const counted = await dispatchCountTokens(dispatchInput([openAITarget('http://127.0.0.1:9'), target()]));
    expect(counted.status).toBe(200);
    expect(await counted.json()).toEqual({ input_tokens: expect.any(Number) });
    expect(fake.requests[0]?.path).toBe('/v1/messages/count_tokens');
    expect((fake.requests[0]?.body as { model: string }).model).toBe('claude-upstream-1');

    const unsupported = await dispatchCountTokens(dispatchInput([openAITarget('http://127.0.0.1:9')]));
    expect(unsupported.status).toBe(501);
    expect(unsupported.headers.get('x-should-retry')).toBe('false');
    expect(await unsupported.json()).toMatchObject({ type: 'error', error: { type: 'not_supported' } });
  });
});
