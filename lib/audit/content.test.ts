import { createHash, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { closeDatabase, pool } from '@/lib/db/client';
import { closeAuditWriter, appendAuditEvent } from './append';
import { ContentIntegrityError, loadContent, storeContent } from './content';
import { sampleEvent, superuserClient } from './testing/fixtures';

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const DAY_MS = 86_400_000;

async function rowsOf(hash: string): Promise<{ tenant_id: string; expires_at: Date | null }[]> {
  const { rows } = await pool().query<{ tenant_id: string; expires_at: Date | null }>(
    'SELECT tenant_id::text AS tenant_id, expires_at FROM audit_content WHERE sha256 = $1 ORDER BY tenant_id',
    [Buffer.from(hash, 'hex')],
  );
  return rows;
}

function daysFromNow(date: Date | null | undefined): number {
  return (date!.getTime() - Date.now()) / DAY_MS;
}

describe('audit content', () => {
  it('stores text and returns a reference an event can carry', async () => {
    const tenant = randomUUID();
    const prompt = `Summarise the Q3 report ✓ ${randomUUID()}`;
    const ref = await storeContent({ tenant_id: tenant, kind: 'prompt', body: prompt });
    expect(ref).toEqual({ kind: 'prompt', sha256: sha256(prompt), byte_size: Buffer.byteLength(prompt) });

    const stored = await appendAuditEvent(sampleEvent(tenant, 1, { content_refs: [ref] }));
    expect(stored.content_refs).toEqual([ref]);
    expect(await loadContent(tenant, ref.sha256)).toMatchObject({
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
    expect(await rowsOf(first.sha256)).toHaveLength(1);
    const loaded = await loadContent(tenant, first.sha256);
    expect(loaded?.media_type).toBe('application/json');
    expect(JSON.parse(loaded!.body)).toEqual({ depth: 2, nonce, path: '/tmp/a' });
  });

  it('sets expiry from retention (rounded up to the hour) and hides expired content', async () => {
    const tenant = randomUUID();
    const ref = await storeContent({ tenant_id: tenant, kind: 'completion', body: `kept a week ${randomUUID()}`, retention_days: 7 });
    const loaded = await loadContent(tenant, ref.sha256);
    const days = daysFromNow(loaded!.expires_at);
    expect(days).toBeGreaterThanOrEqual(7);
    expect(days).toBeLessThanOrEqual(7 + 1 / 24);
    expect(await loadContent(tenant, sha256(`never stored ${randomUUID()}`))).toBeNull();

    const admin = await superuserClient();
    try {
      await admin.query("UPDATE audit_content SET expires_at = now() - interval '1 minute' WHERE tenant_id = $1", [tenant]);
    } finally {
      await admin.end();
    }
    expect(await loadContent(tenant, ref.sha256)).toBeNull();
  });

  it('keeps content per tenant: the same text from two tenants is two rows, each readable only by its tenant', async () => {
    const [first, second] = [randomUUID(), randomUUID()].sort();
    const text = `the same words from two tenants ${randomUUID()}`;
    await storeContent({ tenant_id: first!, kind: 'prompt', body: text, retention_days: 7 });
    const ref = await storeContent({ tenant_id: second!, kind: 'prompt', body: text, retention_days: 365 });

    const rows = await rowsOf(ref.sha256);
    expect(rows.map((row) => row.tenant_id)).toEqual([first, second]);
    // Each tenant's copy lives under that tenant's retention, not the first writer's.
    expect(daysFromNow(rows[0]!.expires_at)).toBeLessThan(8);
    expect(daysFromNow(rows[1]!.expires_at)).toBeGreaterThan(364);
    expect((await loadContent(second!, ref.sha256))?.tenant_id).toBe(second);
    expect(await loadContent(randomUUID(), ref.sha256)).toBeNull();
  });

  it('moves expiry forward when content is referenced again, never back', async () => {
    const tenant = randomUUID();
    const text = `referenced again ${randomUUID()}`;
    const ref = await storeContent({ tenant_id: tenant, kind: 'prompt', body: text, retention_days: 7 });
    await storeContent({ tenant_id: tenant, kind: 'prompt', body: text, retention_days: 30 });
    expect(daysFromNow((await rowsOf(ref.sha256))[0]!.expires_at)).toBeGreaterThan(29.9);

    // A later reference under a shorter retention does not cut short what an earlier one promised.
    await storeContent({ tenant_id: tenant, kind: 'prompt', body: text, retention_days: 1 });
    expect(daysFromNow((await rowsOf(ref.sha256))[0]!.expires_at)).toBeGreaterThan(29.9);

    // Keep-for-ever wins over any date, and stays.
    await storeContent({ tenant_id: tenant, kind: 'prompt', body: text });
    await storeContent({ tenant_id: tenant, kind: 'prompt', body: text, retention_days: 3 });
    expect((await rowsOf(ref.sha256))[0]!.expires_at).toBeNull();
  });

  it('leaves a row that is already kept long enough untouched: not locked, not rewritten', async () => {
    const tenant = randomUUID();
    const text = `stored once ${randomUUID()}`;
    const ref = await storeContent({ tenant_id: tenant, kind: 'prompt', body: text, retention_days: 30 });
    // xmax is set on a row some later transaction locked or updated; a row nothing touched keeps 0.
    const version = async () =>
      (await pool().query<{ xmin: string; xmax: string }>('SELECT xmin::text, xmax::text FROM audit_content WHERE tenant_id = $1 AND sha256 = $2', [tenant, Buffer.from(ref.sha256, 'hex')])).rows[0];
    const stored = await version();
    expect(stored!.xmax).toBe('0');
    await storeContent({ tenant_id: tenant, kind: 'prompt', body: text, retention_days: 30 });
    await storeContent({ tenant_id: tenant, kind: 'prompt', body: text, retention_days: 1 });
    expect(await version()).toEqual(stored);
    // A write that moves the expiry forward still does.
    await storeContent({ tenant_id: tenant, kind: 'prompt', body: text, retention_days: 90 });
    expect(daysFromNow((await rowsOf(ref.sha256))[0]!.expires_at)).toBeGreaterThan(89.9);
  });

  it('lets the app role change audit_content only through the checked store function', async () => {
    const tenant = randomUUID();
    const ref = await storeContent({ tenant_id: tenant, kind: 'prompt', body: `guarded ${randomUUID()}`, retention_days: 7 });
    const key = [tenant, Buffer.from(ref.sha256, 'hex')];
    await expect(
      pool().query("INSERT INTO audit_content (sha256, tenant_id, kind, body, byte_size) VALUES ($2, $1, 'prompt', 'forged', 6)", [tenant, Buffer.alloc(32, 7)]),
    ).rejects.toThrow(/permission denied/);
    await expect(pool().query("UPDATE audit_content SET expires_at = now() WHERE tenant_id = $1 AND sha256 = $2", key)).rejects.toThrow(/permission denied/);
    await expect(pool().query('DELETE FROM audit_content WHERE tenant_id = $1 AND sha256 = $2', key)).rejects.toThrow(/permission denied/);
    // A row whose hash is not the SHA-256 of its body is refused.
    await expect(
      pool().query("SELECT audit_store_content(ARRAY[$1::uuid], ARRAY[$2::bytea], ARRAY['prompt'], ARRAY['text/plain'], ARRAY['forged body'], ARRAY[7])", [tenant, Buffer.from(sha256('the real body'), 'hex')]),
    ).rejects.toMatchObject({ code: '22000' });
    expect(await loadContent(tenant, ref.sha256)).not.toBeNull();
  });

  it('names content that was edited after it was stored', async () => {
    const tenant = randomUUID();
    const ref = await storeContent({ tenant_id: tenant, kind: 'prompt', body: `original ${randomUUID()}` });
    const admin = await superuserClient();
    try {
      await admin.query("UPDATE audit_content SET body = 'rewritten' WHERE tenant_id = $1", [tenant]);
    } finally {
      await admin.end();
    }
    await expect(loadContent(tenant, ref.sha256)).rejects.toBeInstanceOf(ContentIntegrityError);
  });

  it('refuses content PostgreSQL cannot hold and malformed options', async () => {
    const tenant = randomUUID();
    await expect(storeContent({ tenant_id: tenant, kind: 'prompt', body: 'a\u0000b' })).rejects.toThrow(/NUL/);
    await expect(storeContent({ tenant_id: 'nope', kind: 'prompt', body: 'x' })).rejects.toThrow(/tenant_id/);
    await expect(storeContent({ tenant_id: tenant, kind: 'prompt', body: 'x', retention_days: 0 })).rejects.toThrow(/retention_days/);
    await expect(loadContent(tenant, 'XYZ')).rejects.toThrow(/sha256/);
  });

  it('stores JSON holding a lone surrogate, and gives the exact value back', async () => {
    const tenant = randomUUID();
    const value = { text: `half a pair \ud800 ${randomUUID()}` };
    const ref = await storeContent({ tenant_id: tenant, kind: 'prompt', body: value });
    expect(JSON.parse((await loadContent(tenant, ref.sha256))!.body)).toEqual(value);
  });
});
