import pg from 'pg';
import { poolConfigFromUrl } from '@/lib/db/connection';
import type { AuditEventInput } from '../event';

/** A small valid event for `tenant`; `n` lands in attributes so events differ. */
export function sampleEvent(tenant: string, n: number, overrides: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    tenant_id: tenant,
    event_type: 'inference.request',
    action: 'messages.create',
    outcome: 'success',
    call_source: 'test',
    attributes: { n },
    ...overrides,
  };
}

/** The database's login user without the app role: plays an operator with superuser rights. */
export async function superuserClient(): Promise<pg.Client> {
  const url = process.env.GATEHOUSE_TEST_SUPERUSER_URL;
  if (!url) throw new Error('GATEHOUSE_TEST_SUPERUSER_URL is not set (run through vitest)');
  const client = new pg.Client(poolConfigFromUrl(url));
  await client.connect();
  return client;
}

/**
 * Waits, when needed, until at least `marginMs` remain in the current counting window, so a test
 * that counts several occurrences into one event does not straddle two windows.
 */
export async function awayFromWindowEdge(windowMs: number, marginMs: number): Promise<void> {
  const left = windowMs - (Date.now() % windowMs);
  if (left < marginMs) await new Promise((resolve) => setTimeout(resolve, left + 10));
}
