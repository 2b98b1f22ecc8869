// An upstream that resets the connection, never answers, or stops mid-answer (cut or silent), under
// load from a separate process: each client gets an Anthropic error within the upstream deadlines
// (never a hang, never a dropped connection), and every call the upstream saw has its request and
// response events, a ledger row when the upstream had answered 2xx, and the chain verifies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditVerify, evidenceGaps, eventually, NO_GAPS, openCallCount, startLoad, startRig, type FaultModel, type Rig } from './rig';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig();
});

afterAll(async () => {
  await rig?.close();
});

/** A short load of one model; resolves with the outcomes once every call's evidence is written. */
async function load(model: FaultModel, stream: boolean): Promise<Record<string, number>> {
  const report = await startLoad(rig, { model, stream, connections: 4, seconds: 30, maxRequests: 16, timeoutMs: 20_000 });
  expect(report.requests, JSON.stringify(report.outcomes)).toBe(16);
  // Response events are written after the answer: wait for them, then look for gaps.
  await eventually(async () => (await openCallCount(rig)) === 0, 'every call to have its response event', 30_000);
  expect(await evidenceGaps(rig)).toEqual(NO_GAPS);
  return report.outcomes;
}

/** Outcome names only: how many of each depends on when the circuit breaker opens. */
function kinds(outcomes: Record<string, number>): string[] {
  return Object.keys(outcomes).sort();
}

describe('an upstream that fails', () => {
  it('resets the connection: 502/529 in the Anthropic shape, at once', async () => {
    const outcomes = await load('claude-fault-reset', false);
    expect(kinds(outcomes).every((kind) => /^(5\d\d) (api_error|overloaded_error)$/.test(kind))).toBe(true);
    expect(rig.upstreamCalls.some((call) => call.model === 'claude-fault-reset')).toBe(true);
  });

  it('never answers: an Anthropic error once the headers deadline passes, never a client timeout', async () => {
    const outcomes = await load('claude-fault-hang', false);
    expect(kinds(outcomes).every((kind) => /^(5\d\d) (api_error|overloaded_error)$/.test(kind))).toBe(true);
  });

  it('cuts a stream mid-answer: the stream ends with an error event, and the call is in the ledger', async () => {
    expect(kinds(await load('claude-fault-cut', true))).toEqual(['200 stream api_error']);
  });

  it('cuts a non-streaming answer mid-body: 502 api_error, and the call is in the ledger', async () => {
    expect(kinds(await load('claude-fault-cut', false))).toEqual(['502 api_error']);
  });

  it('goes silent mid-stream: the stream ends with an error event after the idle limit', async () => {
    expect(kinds(await load('claude-fault-stall', true))).toEqual(['200 stream api_error']);
  });

  it('leaves an audit trail that verifies', async () => {
    const verified = await auditVerify(rig);
    expect(verified, verified.output).toMatchObject({ code: 0 });
  });
});
