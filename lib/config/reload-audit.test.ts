import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeAuditWriter } from '@/lib/audit';
import { closeDatabase, db, pool } from '@/lib/db/client';
import { recordConfigReloadAudit } from './reload-audit';
import { ConfigStore } from './store';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

describe('config.reload audit events', () => {
  it('records accepted and refused edits on the system tenant', async () => {
    const slug = `config-${randomBytes(3).toString('hex')}`;
    const tenant = await db().tenant.create({ data: { slug, name: 'Config test' } });
    const directory = await mkdtemp(path.join(tmpdir(), 'gatehouse-config-audit-'));
    const file = path.join(directory, 'gatehouse.yaml');
    const good = `tenant: { name: Config test, slug: ${slug} }\n`;
    await writeFile(file, good);
    const store = new ConfigStore({ path: file, watch: false, logger: quiet, recordReload: (record) => recordConfigReloadAudit(record, async () => tenant.id) });
    try {
      const first = store.current().policyVersion;
      await writeFile(file, `${good}policy: { secrets: { mode: block } }\n`);
      const changed = once(store, 'change');
      expect(await store.reload()).toBe('changed');
      await changed;
      const second = store.current().policyVersion;
      await writeFile(file, `${good}policy: { secrets: { mode: shout } }\n`);
      expect(await store.reload()).toBe('rejected');

      const { rows } = await pool().query<{ outcome: string; event: Record<string, unknown> }>(
        `SELECT outcome, event FROM audit_events WHERE tenant_id = $1 AND event_type = 'config.reload' ORDER BY seq`,
        [tenant.id],
      );
      expect(rows.map((row) => row.outcome)).toEqual(['success', 'failure']);
      expect(rows[0]!.event).toMatchObject({
        action: 'config.reload',
        policy_version: second,
        target: { type: 'config' },
        attributes: { previous_policy_version: first, policy_version: second },
      });
      expect(rows[1]!.event).toMatchObject({
        policy_version: second,
        error: { type: 'config_invalid', message: expect.stringMatching(/gatehouse\.yaml:2: policy\.secrets\.mode: expected one of block \| redact/) },
      });
    } finally {
      await store.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
