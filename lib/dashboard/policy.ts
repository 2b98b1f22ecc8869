import { configStore } from '@/lib/config';

export interface PolicyStatus {
  /** `pv_…`, or null when no configuration could be loaded. */
  version: string | null;
  source: 'file' | 'defaults' | null;
  /** Why the file is not (or no longer) in force; the previous good version stays in force. */
  problem: string | null;
}

/** The policy version in force in this process, for the overview. Never throws: a broken config is shown, not fatal. */
export function currentPolicyStatus(): PolicyStatus {
  try {
    const store = configStore();
    const snapshot = store.current();
    return { version: snapshot.policyVersion, source: snapshot.source, problem: store.lastError ? store.lastError.message.split('\n')[0] ?? null : null };
  } catch (error) {
    return { version: null, source: null, problem: error instanceof Error ? error.message.split('\n')[0] ?? error.message : String(error) };
  }
}
