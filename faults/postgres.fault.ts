// PostgreSQL restarted (a fast shutdown, a few seconds down, started again on the same port) in the
// middle of load from a separate process. While it is down, requests fail closed — an Anthropic
// error within the client's timeout, nothing sent upstream without its request event — and once it
// is back Gatehouse serves again without being restarted. Calls whose response event could not be
// written while it was down are closed by the reconciler; the chain verifies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditVerify, evidenceGaps, eventually, NO_GAPS, openCallCount, startLoad, startRig, type Rig } from './rig';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig();
});

afterAll(async () => {
  await rig?.close();
});

describe('PostgreSQL restarted under load', () => {
  it('fails closed while it is down and recovers without a restart of Gatehouse', async () => {
    const loading = startLoad(rig, { model: 'claude-fault-ok', stream: false, connections: 8, seconds: 30, timeoutMs: 15_000 });
    await eventually(() => rig.upstreamCalls.length >= 20, 'load to reach the upstream', 240_000);
    const callsBefore = rig.upstreamCalls.length;
    await rig.restartPostgres(3_000);
    const report = await loading;
    const failures = Object.keys(report.outcomes).filter((kind) => kind !== 'ok');
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.filter((kind) => !/^(500 api_error|529 overloaded_error)$/.test(kind))).toEqual([]);
    // Served again after the restart, by the same processes.
    expect(rig.upstreamCalls.length).toBeGreaterThan(callsBefore);
    const after = await startLoad(rig, { model: 'claude-fault-ok', stream: true, connections: 2, seconds: 30, maxRequests: 10, timeoutMs: 15_000 });
    expect(after.outcomes).toEqual({ ok: 10 });
    expect([rig.web.child.exitCode, rig.worker.child.exitCode]).toEqual([null, null]);
  });

  it('leaves no call without its evidence, and an audit trail that verifies', async () => {
    // Responses lost with the connection are the reconciler's (reconcile_after_seconds, then its next pass).
    await eventually(async () => (await openCallCount(rig)) === 0, 'every open call to be closed', 150_000);
    expect(await evidenceGaps(rig)).toEqual(NO_GAPS);
    const verified = await auditVerify(rig);
    expect(verified, verified.output).toMatchObject({ code: 0 });
  });
});
