import { z } from 'zod';

export const gatewaySection = z
  .strictObject({
    // A gateway call whose end nobody recorded (the process was killed mid-stream) is closed by the
    // worker's reconciler this long after it started: an `inference.response` with outcome
    // `unknown` and a ledger entry at the admission estimate. Budget reservations lapse after the
    // same time, so a crash never holds a budget longer. Keep it above the longest answer you
    // expect: a call still running then is closed as unknown, and corrected when it does end.
    reconcile_after_seconds: z.int().min(1).max(7 * 86_400).default(3_600),
  })
  .prefault({});

export type GatewayConfig = z.infer<typeof gatewaySection>;
