/**
 * When a helper run must be done by (a hook: before Claude Code's own timeout kills it). Every
 * request of the run is cut short at it, so nothing it started outlives it.
 */
export class Deadline {
  /** Aborted when the deadline passes. */
  readonly expired: AbortSignal;

  constructor(readonly at: number) {
    this.expired = AbortSignal.timeout(Math.max(0, at - Date.now()));
  }

  remainingMs(): number {
    return this.at - Date.now();
  }

  /** For one request: aborted after `ms` or at the deadline, whichever comes first. */
  signal(ms: number): AbortSignal {
    return AbortSignal.any([this.expired, AbortSignal.timeout(Math.max(0, ms))]);
  }
}
