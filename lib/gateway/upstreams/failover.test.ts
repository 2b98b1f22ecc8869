import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReplyBody } from '@/lib/http/reply';
import { UpstreamUnavailableError, type UpstreamTarget } from '@/lib/gateway/contracts';
import { anthropicFailures, anthropicTarget, dispatchInput, eventNames, inSequence, readText, startFakeAnthropic, type FakeAnthropic } from '@/lib/gateway/testing';
import { admit, reportFailure, reportSuccess } from './circuit-breaker';
import { circuitState, dispatch, resetCircuitBreakers, resetUpstreamTuning, tuneUpstreams } from '.';

let primary: FakeAnthropic;
let secondary: FakeAnthropic;

beforeEach(async () => {
  resetCircuitBreakers();
  tuneUpstreams({ retryBaseDelayMs: 1, retryMaxDelayMs: 2, logger: { warn: () => {} } });
  primary = await startFakeAnthropic();
  secondary = await startFakeAnthropic({ behaviour: { kind: 'reply', reply: { content: [{ type: 'text', text: 'from secondary' }] } } });
});

afterEach(async () => {
  await Promise.all([primary.close(), secondary.close()]);
  resetUpstreamTuning();
});

const targets = (primaryOverrides: Partial<UpstreamTarget> = {}) => [
  anthropicTarget(primary.url, { provider: 'primary', ...primaryOverrides }),
  anthropicTarget(secondary.url, { provider: 'secondary' }),
];

/** The answer's text as the client would assemble it (streamed text arrives in pieces). */
async function text(result: { body: ReplyBody; completion: Promise<{ content: unknown[] }> }): Promise<string> {
  await readText(result.body);
  return (await result.completion).content.map((block) => (block as { text?: string }).text ?? '').join('');
}

async function unavailable(promise: Promise<unknown>): Promise<UpstreamUnavailableError> {
  const error = await promise.then(
    () => null,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(UpstreamUnavailableError);
  return error as UpstreamUnavailableError;
}

describe('failover before the upstream answers 2xx', () => {
  it('serves from the secondary when the primary answers 503, after its retries', async () => {
    primary.setBehaviour(anthropicFailures.unavailable());
    const result = await dispatch(dispatchInput(targets({ maxRetries: 1 })));
    expect(await text(result)).toContain('from secondary');
    expect(result.target.provider).toBe('secondary');
    expect(result.attempts.map((attempt) => [attempt.provider, attempt.outcome, attempt.status])).toEqual([
      ['primary', 'server_error', 503],
      ['primary', 'server_error', 503],
      ['secondary', 'success', 200],
    ]);
    expect(primary.requests).toHaveLength(2);
  });

  it('gives up on a primary that does not answer within its timeout', async () => {
    primary.setBehaviour({ kind: 'hang' });
    const result = await dispatch(dispatchInput(targets({ timeoutMs: 150 }), { stream: true }));
    expect(await text(result)).toContain('from secondary');
    expect(result.attempts.map((attempt) => attempt.outcome)).toEqual(['timeout', 'success']);
    expect(await primary.requests[0]?.finished).toBe('aborted');
  });

  it('does not fail over once the upstream answered 2xx, even when its stream then dies before the first event', async () => {
    primary.setBehaviour({ kind: 'die', afterEvents: 0 });
    const result = await dispatch(dispatchInput(targets({ maxRetries: 2 }), { stream: true }));
    expect(result.status).toBe(200);
    expect(eventNames(await readText(result.body))).toEqual(['error']);
    expect((await result.completion).error?.type).toBe('api_error');
    expect(result.attempts.map((attempt) => [attempt.provider, attempt.outcome])).toEqual([['primary', 'success']]);
    expect(primary.requests).toHaveLength(1);
    expect(secondary.requests).toHaveLength(0);
  });

  it('retries a 429 on the same target after its retry-after, and moves on when retry-after is too long', async () => {
    primary.setBehaviour(inSequence(anthropicFailures.rateLimited(1), { kind: 'reply' }));
    const retried = await dispatch(dispatchInput(targets({ maxRetries: 1 })));
    expect(retried.target.provider).toBe('primary');
    expect(retried.attempts.map((attempt) => attempt.outcome)).toEqual(['rate_limited', 'success']);

    primary.setBehaviour(anthropicFailures.rateLimited(3600));
    const movedOn = await dispatch(dispatchInput(targets({ maxRetries: 3 })));
    expect(movedOn.target.provider).toBe('secondary');
    expect(movedOn.attempts.map((attempt) => attempt.outcome)).toEqual(['rate_limited', 'success']);
  });

  it('treats an upstream refusing our credential as a broken target, not as the user signing out', async () => {
    primary.setBehaviour({ kind: 'error', status: 401, errorType: 'authentication_error', message: 'invalid x-api-key' });
    const result = await dispatch(dispatchInput(targets({ maxRetries: 2 })));
    expect(result.target.provider).toBe('secondary');
    expect(result.attempts.map((attempt) => [attempt.outcome, attempt.status])).toEqual([
      ['client_error', 401],
      ['success', 200],
    ]);
  });

  it('throws UpstreamUnavailableError when every target fails: overloaded after 529, not after 500', async () => {
    primary.setBehaviour(anthropicFailures.serverError());
    secondary.setBehaviour(anthropicFailures.overloaded());
    const overloaded = await unavailable(dispatch(dispatchInput(targets())));
    expect(overloaded.overloaded).toBe(true);
    expect(overloaded.attempts.map((attempt) => attempt.status)).toEqual([500, 529]);

    resetCircuitBreakers();
    secondary.setBehaviour(anthropicFailures.serverError());
    const broken = await unavailable(dispatch(dispatchInput(targets())));
    expect(broken.overloaded).toBe(false);
    expect(broken.message).not.toContain('127.0.0.1');
  });

  it('skips a target whose credential cannot be had (its key variable unset) and uses the next one', async () => {
    delete process.env.GATEHOUSE_TEST_UNSET_BEDROCK_KEY;
    const bedrock: UpstreamTarget = { provider: 'bedrock', providerType: 'bedrock', baseUrl: 'https://bedrock.invalid', model: 'anthropic.claude-x', region: 'us-east-1', apiKeyEnv: 'GATEHOUSE_TEST_UNSET_BEDROCK_KEY' };
    const result = await dispatch(dispatchInput([bedrock, ...targets()]));
    expect(result.target.provider).toBe('primary');
    expect(result.attempts.map((attempt) => attempt.outcome)).toEqual(['client_error', 'success']);
  });

  it('fails over on a connection refused', async () => {
    const result = await dispatch(dispatchInput([anthropicTarget('http://127.0.0.1:9', { provider: 'nowhere' }), ...targets()]));
    expect(result.attempts.map((attempt) => attempt.outcome)).toEqual(['connect_error', 'success']);
  });

  it('stops at once, without failing over, when the client goes away', async () => {
    primary.setBehaviour({ kind: 'hang' });
    const controller = new AbortController();
    const pending = dispatch(dispatchInput(targets(), { signal: controller.signal })).catch((error: unknown) => error);
    while (primary.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    expect((await pending) as Error).toMatchObject({ name: 'AbortError' });
    expect(await primary.requests[0]?.finished).toBe('aborted');
    expect(secondary.requests).toHaveLength(0);
    expect(circuitState(targets()[0]!)).toBe('closed');
  });
});

describe('circuit breaker', () => {
  it('opens after consecutive failures so requests skip the target without calling it', async () => {
    tuneUpstreams({ breakerFailureThreshold: 2, breakerCooldownMs: 60_000 });
    primary.setBehaviour(anthropicFailures.serverError());
    await dispatch(dispatchInput(targets()));
    await dispatch(dispatchInput(targets()));
    expect(circuitState(targets()[0]!)).toBe('open');

    const skipped = await dispatch(dispatchInput(targets()));
    expect(skipped.attempts.map((attempt) => attempt.outcome)).toEqual(['circuit_open', 'success']);
    expect(primary.requests).toHaveLength(2);
  });

  it('lets one probe through after the cool-down; its outcome closes or reopens the circuit', () => {
    tuneUpstreams({ breakerFailureThreshold: 1, breakerCooldownMs: 1000 });
    const target = anthropicTarget('http://unused', { provider: 'probe-test' });
    reportFailure(target, 0);
    expect(admit(target, 500)).toBe('rejected');
    expect(admit(target, 1000)).toBe('probe');
    expect(admit(target, 1001)).toBe('rejected'); // only one probe at a time
    reportFailure(target, 1001);
    expect(admit(target, 1500)).toBe('rejected');
    expect(admit(target, 2001)).toBe('probe');
    reportSuccess(target);
    expect(admit(target, 2002)).toBe('closed');
  });
});
