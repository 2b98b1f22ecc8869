/**
 * A value loaded once, on first use (typically a dynamic import of a large optional SDK, so it is
 * not resident in every process whether it is used or not). Concurrent first calls share one load;
 * a load that fails is forgotten, so the next call tries again instead of failing forever (a
 * missing file fixed by a reinstall, a transient I/O error).
 */
export interface Lazy<T> {
  (): Promise<T>;
  /** Forgets the loaded value: the next call loads again (tests change the environment). */
  reset(): void;
}

export function lazy<T>(load: () => Promise<T>): Lazy<T> {
  let loading: Promise<T> | null = null;
  const get = (): Promise<T> => {
    if (loading) return loading;
    const attempt = load();
    loading = attempt;
    attempt.catch(() => {
      if (loading === attempt) loading = null;
    });
    return attempt;
  };
  return Object.assign(get, {
    reset: () => {
      loading = null;
    },
  });
}
