/**
 * "At most once per interval per key", for writes the hot path should not repeat (last-active
 * times, settings reports). Per process: a restart or a full map costs one extra write per key.
 */
export interface Throttle {
  /** True when `key` was not let through within the interval (and lets it through now). */
  due(key: string, now?: number): boolean;
}

export function createThrottle(intervalMs: number, maxKeys = 50_000): Throttle {
  const last = new Map<string, number>();
  return {
    due(key, now = Date.now()) {
      const previous = last.get(key);
      if (previous !== undefined && now - previous < intervalMs) return false;
      if (last.size >= maxKeys) last.clear();
      last.set(key, now);
      return true;
    },
  };
}
