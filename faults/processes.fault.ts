// Gatehouse's own processes killed (SIGKILL: no shutdown, no drain) under load from a separate
// process. The web process, with calls in flight at the upstream: those clients see the
// connection drop, the next start serves again, and the calls it never finished are closed by
// the worker's reconciler as `unknown`, billed the estimate. The worker, in the middle of that
// reconciling batch: the next worker finishes the batch, closing each call exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditVerify, evidenceGaps, eventually, NO_GAPS, openCallCount, query, RECONCILE_AFTER_SECONDS, startLoad, startRig, type Rig } from './rig';

let rig: Rig;

beforeAll(async () => {
  rig = await startRig();
});

afterAll(async () => {
  await rig?.close();
});

const IN_FLIGHT = 40;

function kill(running: Rig['web']): Promise<number | null> {
  running.child.kill('SIGKILL');
  return running.exited;
}

describe('processes killed', () => {
  let openAfterWebKill = 0;

  it('the web process, with requests in flight: those connections drop, a restart serves again', async () => {
    // Slow answers (10 s) keep IN_FLIGHT calls at the upstream when the web process dies.
    // The load ends by itself a while after the kill, its clients refused meanwhile.
    const loading = startLoad(rig, { model: 'claude-fault-slow', stream: false, connections: IN_FLIGHT, seconds: 30, timeoutMs: 60_000 });
    await eventually(() => rig.upstreamCalls.length >= IN_FLIGHT, `${IN_FLIGHT} calls at the upstream`, 240_000);
    await kill(rig.web);
    // No worker until the next test: its scheduled pass must not close these calls before then.
    await kill(rig.worker);
    openAfterWebKill = await openCallCount(rig);
    const report = await loading;
    // In flight: the connection ends without an answer; then: refused. Never an answer that is not one.
    expect(Object.keys(report.outcomes).filter((kind) => !/^transport (ECONNRESET|ECONNREFUSED|socket hang up|aborted)$/.test(kind))).toEqual([]);
    expect(report.requests).toBeGreaterThan(IN_FLIGHT);
    expect(openAfterWebKill).toBeGreaterThanOrEqual(IN_FLIGHT);

    await rig.startWeb();
    const after = await startLoad(rig, { model: 'claude-fault-ok', stream: false, connections: 2, seconds: 30, maxRequests: 6, timeoutMs: 15_000 });
    expect(after.outcomes).toEqual({ ok: 6 });
  });

  it('the worker, mid-batch while closing those calls: the next worker closes the rest, each once', async () => {
    // Old enough for the reconciler (the worker has been down since the web process was killed)...
    await new Promise((resolve) => setTimeout(resolve, (RECONCILE_AFTER_SECONDS + 1) * 1000));
    const openBefore = await openCallCount(rig);
    expect(openBefore).toBeGreaterThan(0);
    // ...then a fresh worker, whose start-up pass closes them, killed once it has closed a first one.
    await rig.startWorker();
    let openAtKill = openBefore;
    await eventually(
      async () => {
        openAtKill = await openCallCount(rig);
        return openAtKill < openBefore;
      },
      'the reconciler to close a first call',
      120_000,
    );
    await kill(rig.worker);
    expect(openAtKill).toBeGreaterThan(0);

    await rig.startWorker();
    await eventually(async () => (await openCallCount(rig)) === 0, 'the next worker to close the rest', 150_000);
    expect(await evidenceGaps(rig)).toEqual(NO_GAPS);
    const closed = await query<{ outcome: string; n: number }>(
      rig,
      `SELECT s.outcome, count(*)::int AS n FROM audit_events s
        WHERE s.event_type = 'inference.response' AND s.event->'attributes'->>'recorded_by' = 'reconciler' GROUP BY 1`,
    );
    expect(closed).toEqual([{ outcome: 'unknown', n: openAfterWebKill }]);
  }, 330_000);

  it('leaves an audit trail that verifies', async () => {
    const verified = await auditVerify(rig);
    expect(verified, verified.output).toMatchObject({ code: 0 });
  });
});
