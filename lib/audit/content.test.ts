import { createHash, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { closeDatabase, pool } from '@/lib/db/client';
import { closeAuditWriter, appendAuditEvent } from './append';
import { loadContent, storeContent } from './content';
import { sampleEvent } from './testing/fixtures';

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('audit content', () => {
  it('stores text and returns a reference an event can carry', async () => {
    const tenant = randomUUID();
    const prompt = `Summarise the Q3 report ✓ ${randomUUID()}`;
    const ref = await storeContent({ tenant_id: tenant, kind: 'prompt', body: prompt });
    expect(ref).toEqual({ kind: 'prompt', sha256: sha256(prompt), byte_size: Buffer.byteLength(prompt) });

    const stored = await appendAuditEvent(sampleEvent(tenant, 1, { content_refs: [ref] }));
    expect(stored.content_refs).toEqual([ref]);
    expect(await loadContent(ref.sha256)).toMatchObject({
      ...ref,
      tenant_id: tenant,
      media_type: 'text/plain; charset=utf-8',
      body: prompt,
      expires_at: null,
    });
  });

  it('stores JSON canonically, so equal values share one row', async () => {
    const tenant = randomUUID();
    const nonce = randomUUID();
    const first = await storeContent({ tenant_id: tenant, kind: 'tool_arguments', body: { path: '/tmp/a', nonce, depth: 2 } });
    const second = await storeContent({ tenant_id: tenant, kind: 'tool_arguments', body: { depth: 2, nonce, path: '/tmp/a' } });
    expect(second).toEqual(first);
    const { rows } = await pool().query('SELECT count(*)::int AS n FROM audit_content WHERE sha256 = $1', [Buffer.from(first.sha256, 'hex')]);
    expect(rows[0]).toEqual({ n: 1 });
    const loaded = await loadContent(first.sha256);
    expect(loaded?.media_type).toBe('application/json');
    expect(JSON.parse(loaded!.body)).toEqual({ depth: 2, nonce, path: '/tmp/a' });
  });

  it('sets expiry from retention and hides expired content', async () => {
    const tenant = randomUUID();
    const ref = await storeContent({ tenant_id: tenant, kind: 'completion', body: `kept a week ${randomUUID()}`, retention_days: 7 });
    const loaded = await loadContent(ref.sha256);
    const days = (loaded!.expires_at!.getTime() - loaded!.created_at.getTime()) / 86_400_000;
    expect(days).toBeCloseTo(7, 3);
    expect(await loadContent(sha256(`never stored ${randomUUID()}`))).toBeNull();
  });

  it('refuses content PostgreSQL cannot hold and malformed options', async () => {
    const tenant = randomUUID();
    await expect(storeContent({ tenant_id: tenant, kind: 'prompt', body: 'a\u0000b' })).rejects.toThrow(/NUL/);
    await expect(storeContent({ tenant_id: 'nope', kind: 'prompt', body: 'x' })).rejects.toThrow(/tenant_id/);
    await expect(storeContent({ tenant_id: tenant, kind: 'prompt', body: 'x', retention_days: 0 })).rejects.toThrow(/retention_days/);
    await expect(loadContent('XYZ')).rejects.toThrow(/sha256/);
  });
});
