import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { closeDatabase, pool } from '@/lib/db/client';
import { appendAuditEvent, closeAuditWriter } from './append';
import { ContentIntegrityError } from './content';
import { CHAIN_LINK_MEDIA_TYPE, loadDocument, MANIFEST_MEDIA_TYPE, prepareSerialisedManifest, serialiseDocument, type SplitPlan } from './manifest';
import { sampleEvent, superuserClient } from './testing/fixtures';

afterAll(async () => {
  await closeAuditWriter();
  await closeDatabase();
});

const PLAN: SplitPlan = { chains: ['messages'], parts: ['system', 'tools'] };

/** Stores `body` as a manifest with its event, as the gateway does; returns the manifest's sha256. */
async function store(tenant: string, body: Record<string, unknown>): Promise<string> {
  const document = prepareSerialisedManifest({ tenant_id: tenant, kind: 'prompt', retention_days: 30 }, serialiseDocument(body, PLAN));
  await appendAuditEvent(sampleEvent(tenant, 1, { content_refs: [document.ref] }), { content: document.content });
  return document.ref.sha256;
}

async function superuser(sql: string, values: unknown[]): Promise<void> {
  const admin = await superuserClient();
  try {
    await admin.query(sql, values);
  } finally {
    await admin.end();
  }
}

describe('content manifests', () => {
  it('reassemble exactly the JSON value that was split', async () => {
    const tenant = randomUUID();
    const body = JSON.parse(
      JSON.stringify({
        model: 'claude-sonnet-5-5',
        max_tokens: 1024,
        temperature: 0.25,
        metadata: { user_id: 'u-1' },
        system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
        tools: [{ name: 'read_file', description: 'Reads a file', input_schema: { type: 'object', properties: { path: { type: 'string' } } } }],
        messages: [
          { role: 'user', content: `é ✓ 😀 half a pair \ud800 ${randomUUID()}` },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'read_file', input: { path: '/etc/hosts', n: 1e21, x: -0.5 } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'null\u0000byte' }] },
        ],
      }),
    ) as Record<string, unknown>;
    // JSON.parse keeps a field named __proto__ as an ordinary property; so must the round trip.
    const withProto = JSON.parse(`{"__proto__": {"polluted": true}, ${JSON.stringify(body).slice(1)}`) as Record<string, unknown>;
    const sha256 = await store(tenant, withProto);
    const loaded = await loadDocument(tenant, sha256);
    expect(loaded).toEqual(withProto);
    expect(Object.keys(loaded as object)).toContain('__proto__');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    // Without the split fields, or with an empty conversation, the value still comes back as it was.
    for (const other of [{ model: 'm', messages: [] }, { model: 'm' }, { model: 'm', messages: 'not an array', system: 'plain' }]) {
      expect(await loadDocument(tenant, await store(tenant, other))).toEqual(other);
    }
  });

  it('share the rows of a common prefix between requests, and branch after it', async () => {
    const tenant = randomUUID();
    const prefix = Array.from({ length: 5 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i} ${randomUUID()}` }));
    const left = [...prefix, { role: 'user', content: 'left' }];
    const right = [...prefix, { role: 'user', content: 'right' }];
    const [leftSha, rightSha] = [await store(tenant, { model: 'm', messages: left }), await store(tenant, { model: 'm', messages: right })];
    const { rows } = await pool().query<{ media_type: string; n: number }>(
      'SELECT media_type, count(*)::int AS n FROM audit_content WHERE tenant_id = $1 GROUP BY 1 ORDER BY 1',
      [tenant],
    );
    // 5 shared links, one own link each, and two manifests.
    expect(rows).toEqual([
      { media_type: CHAIN_LINK_MEDIA_TYPE, n: 7 },
      { media_type: MANIFEST_MEDIA_TYPE, n: 2 },
    ]);
    expect(await loadDocument(tenant, leftSha)).toEqual({ model: 'm', messages: left });
    expect(await loadDocument(tenant, rightSha)).toEqual({ model: 'm', messages: right });
  });

  it('name a part that was edited or removed behind the store', async () => {
    const tenant = randomUUID();
    const messages = [
      { role: 'user', content: `first ${randomUUID()}` },
      { role: 'assistant', content: 'second' },
      { role: 'user', content: 'third' },
    ];
    const sha256 = await store(tenant, { model: 'm', messages });
    await superuser(`UPDATE audit_content SET body = replace(body, 'second', 'SECOND') WHERE tenant_id = $1 AND body LIKE '%"second"%'`, [tenant]);
    await expect(loadDocument(tenant, sha256)).rejects.toBeInstanceOf(ContentIntegrityError);

    const other = randomUUID();
    const otherSha = await store(other, { model: 'm', messages });
    await superuser(`DELETE FROM audit_content WHERE tenant_id = $1 AND body LIKE '%"second"%'`, [other]);
    await expect(loadDocument(other, otherSha)).rejects.toThrow(/chain ending at .* is broken/);
  });

  it('give null once the manifest has expired', async () => {
    const tenant = randomUUID();
    const sha256 = await store(tenant, { model: 'm', messages: [{ role: 'user', content: 'soon gone' }] });
    await superuser("UPDATE audit_content SET expires_at = now() - interval '1 second' WHERE tenant_id = $1", [tenant]);
    expect(await loadDocument(tenant, sha256)).toBeNull();
  });
});
