// Redis (limits and queues) stopped and started again under load from a separate process. Limits
// fail closed while it is down — 429 billing_error with the fetch_error reason, nothing sent
// upstream — and Gatehouse serves again once it is back, without a restart; no call loses its
// evidence (that lives in PostgreSQL) and the chain verifies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditVerify, evidenceGaps, eventually, NO_GAPS, openCallCount, startLoad, startRig, type Rig } from './rig';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig({ redis: true });
});

afterAll(async () => {
  await rig?.close();
});

describe('Redis stopped and started under load', () => {
  it('fails closed while it is down and recovers without a restart of Gatehouse', async () => {
    const loading = startLoad(rig, { model: 'claude-fault-ok', stream: false, connections: 8, seconds: 30, timeoutMs: 15_000 });
    await eventually(() => rig.upstreamCalls.length >= 20, 'load to reach the upstream', 240_000);
    await rig.redis!.stop();
    const callsWhileDown = rig.upstreamCalls.length;
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    // Calls admitted before the stop may still arrive; none admitted after it.
    const reachedWhileDown = rig.upstreamCalls.length - callsWhileDown;
    await rig.redis!.start();
    const report = await loading;
    expect(reachedWhileDown).toBeLessThanOrEqual(8);
    expect(Object.keys(report.outcomes).sort()).toEqual(['429 billing_error', 'ok']);
    const after = await startLoad(rig, { model: 'claude-fault-ok', stream: true, connections: 2, seconds: 30, maxRequests: 10, timeoutMs: 15_000 });
    // Served again; a loaded machine may still see a command pass Redis's 1 s deadline (refused the same way).
    expect(after.outcomes.ok).toBeGreaterThan(0);
    expect(Object.keys(after.outcomes).filter((kind) => kind !== 'ok' && kind !== '429 billing_error')).toEqual([]);
    expect([rig.web.child.exitCode, rig.worker.child.exitCode]).toEqual([null, null]);
  });

  it('leaves no call without its evidence, and an audit trail that verifies', async () => {
    await eventually(async () => (await openCallCount(rig)) === 0, 'every open call to be closed', 150_000);
    expect(await evidenceGaps(rig)).toEqual(NO_GAPS);
    const verified = await auditVerify(rig);
    expect(verified, verified.output).toMatchObject({ code: 0 });
  });
});
