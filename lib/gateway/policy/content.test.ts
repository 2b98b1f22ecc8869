// The secret scan remembers what it has scanned, per tenant and policy version, so a
// conversation's history, resent whole on every turn, costs the scan only once. findSecrets and
// the content digest are wrapped (still the real ones) to see what each request makes them do.
import { describe, expect, it, vi } from 'vitest';
import { CHAIN_LINK_MEDIA_TYPE, prepareSerialisedManifest } from '@/lib/audit';
import { contentJson } from '@/lib/audit/content';
import { parseGatehouseConfig } from '@/lib/config/parse';
import { Blocklist } from './blocklist';
import { inspectContent, ScanCache, type InspectOptions } from './content';
import { compiledPolicy } from './index';
import { PromptWalk } from './prompt';

vi.mock('./secrets', async (importOriginal) => {
  const original = await importOriginal<typeof import('./secrets')>();
  return { ...original, findSecrets: vi.fn(original.findSecrets) };
});
vi.mock('@/lib/audit/digest', async (importOriginal) => {
  const original = await importOriginal<typeof import('@/lib/audit/digest')>();
  return { ...original, digestText: vi.fn(original.digestText) };
});

const { findSecrets } = await import('./secrets');
const { digestText } = await import('@/lib/audit/digest');
const scanned = vi.mocked(findSecrets);
const hashed = vi.mocked(digestText);

const AWS_KEY_ID = 'AKIAZ2X3Y4W5V6U7T8S9';
const TENANT = '00000000-0000-4000-8000-000000000001';
const OTHER_TENANT = '00000000-0000-4000-8000-000000000002';
const NO_BLOCKLIST = new Blocklist([], []);
const LONG_SYSTEM = 'You are a coding assistant in a large repository. '.repeat(40);

function turn(index: number): { role: string; content: { type: string; text: string }[] }[] {
  return [
    { role: 'user', content: [{ type: 'text', text: `question ${index}` }] },
    { role: 'assistant', content: [{ type: 'text', text: `answer ${index}` }] },
  ];
}

function options(cache: ScanCache, overrides: Partial<InspectOptions> = {}): InspectOptions {
  return { tenantId: TENANT, blocklist: NO_BLOCKLIST, secretsMode: 'redact', cache, ...overrides };
}

const scannedText = () => scanned.mock.calls.map(([text]) => text).join('');

describe('the secret scan of a resent conversation', () => {
  it('reads only the new turn once the history has been scanned, and still redacts the history', async () => {
    const cache = new ScanCache();
    const history = [...turn(1), ...turn(2), { role: 'user', content: [{ type: 'text', text: `my key ${AWS_KEY_ID}` }] }];
    const first = { model: 'm', system: 'be brief', messages: structuredClone(history) };
    expect(await inspectContent(new PromptWalk(first), options(cache))).toMatchObject({ kind: 'allow', redactions: [{ rule: 'aws' }] });

    scanned.mockClear();
    const next = { model: 'm', system: 'be brief', messages: [...structuredClone(history), { role: 'assistant', content: [{ type: 'text', text: 'noted' }] }, ...turn(3)] };
    expect(await inspectContent(new PromptWalk(next), options(cache))).toMatchObject({ kind: 'allow', redactions: [{ rule: 'aws' }] });
    expect(JSON.stringify(next)).not.toContain(AWS_KEY_ID);

    const read = scannedText();
    for (const old of ['question 1', 'answer 2', 'be brief', 'my key']) expect(read).not.toContain(old);
    for (const fresh of ['noted', 'question 3', 'answer 3']) expect(read).toContain(fresh);
  });

  it('never reuses one tenant’s results for another’s request', async () => {
    const cache = new ScanCache();
    const body = () => ({ model: 'm', system: LONG_SYSTEM, messages: [{ role: 'user', content: `deploy with ${AWS_KEY_ID}` }] });
    await inspectContent(new PromptWalk(body()), options(cache));
    scanned.mockClear();
    // The same text from another tenant is scanned afresh, and redacted on its own findings.
    const other = body();
    expect(await inspectContent(new PromptWalk(other), options(cache, { tenantId: OTHER_TENANT }))).toMatchObject({ kind: 'allow', redactions: [{ rule: 'aws', count: 1 }] });
    expect(scannedText()).toContain('deploy with');
    expect(scannedText()).toContain(LONG_SYSTEM);
    expect(other.messages[0]!.content).toBe('deploy with [REDACTED:aws]');
    // And each tenant's second request is served from its own entries.
    scanned.mockClear();
    await inspectContent(new PromptWalk(body()), options(cache, { tenantId: OTHER_TENANT }));
    await inspectContent(new PromptWalk(body()), options(cache));
    expect(scanned).not.toHaveBeenCalled();
  });

  it('keys a unit by its key order too, so the same value sent in another order is scanned as sent', async () => {
    const cache = new ScanCache();
    const message = (content: Record<string, string>) => ({ model: 'm', messages: [{ role: 'user', content: [content] }] });
    await inspectContent(new PromptWalk(message({ type: 'text', text: 'hello there' })), options(cache));
    scanned.mockClear();
    await inspectContent(new PromptWalk(message({ text: 'hello there', type: 'text' })), options(cache));
    expect(scannedText()).toContain('hello there');
  });

  it('starts afresh under a new policy version: a blocklist added by a reload applies to text scanned before', async () => {
    const yaml = (blocklist: string) => `policy:\n  blocklist: ${blocklist}\n`;
    const before = compiledPolicy(parseGatehouseConfig(yaml('{ terms: [] }'), 'gatehouse.yaml'));
    const after = compiledPolicy(parseGatehouseConfig(yaml('{ terms: [project nightjar] }'), 'gatehouse.yaml'));
    expect(after.scanCache).not.toBe(before.scanCache);
    const body = () => ({ model: 'm', system: LONG_SYSTEM, messages: [{ role: 'user', content: 'status of project nightjar?' }] });
    const run = (policy: typeof before) => inspectContent(new PromptWalk(body()), { tenantId: TENANT, blocklist: policy.blocklist, secretsMode: policy.secretsMode, cache: policy.scanCache });
    expect(await run(before)).toMatchObject({ kind: 'allow' });
    expect(await run(before)).toMatchObject({ kind: 'allow' });
    expect(await run(after)).toMatchObject({ kind: 'block', rule: 'policy.blocklist.terms[0]', message: expect.stringContaining('messages[0].content') });
  });

  it('checks only what a new message brings against the blocklist, not the keys and roles every message repeats', async () => {
    const cache = new ScanCache();
    const blocklist = new Blocklist(['nightjar'], []);
    const checked = vi.spyOn(blocklist, 'check');
    const first = [{ role: 'user', content: 'first question' }];
    await inspectContent(new PromptWalk({ model: 'm', messages: structuredClone(first) }), options(cache, { blocklist }));
    checked.mockClear();
    await inspectContent(new PromptWalk({ model: 'm', messages: [...structuredClone(first), { role: 'assistant', content: 'an answer' }] }), options(cache, { blocklist }));
    expect(checked.mock.calls.map(([text]) => text)).toEqual(['assistant', 'an answer']);
  });

  it('stays within its bound whatever the tenants, dropping the least recently used unit', async () => {
    // Each request is two units: the key `messages` and the message.
    const cache = new ScanCache({ units: 4 });
    const ask = (tenantId: string, text: string) => inspectContent(new PromptWalk({ messages: [{ role: 'user', content: text }] }), options(cache, { tenantId }));
    await ask(TENANT, 'first words');
    await ask(OTHER_TENANT, 'first words');
    scanned.mockClear();
    await ask(TENANT, 'first words');
    expect(scanned).not.toHaveBeenCalled();
    // A third unit pushes out the least recently used (the other tenant's), which is scanned again.
    await ask(TENANT, 'second words');
    scanned.mockClear();
    await ask(OTHER_TENANT, 'first words');
    expect(scannedText()).toContain('first words');
  });

  it('keeps short-text verdicts apart: many new short texts never push a unit out', async () => {
    const cache = new ScanCache({ units: 10, shortTexts: 4 });
    const blocklist = new Blocklist(['nightjar'], []);
    const ask = (content: unknown) => inspectContent(new PromptWalk({ messages: [{ role: 'user', content }] }), options(cache, { blocklist }));
    await ask('kept unit');
    await ask(Array.from({ length: 40 }, (_, index) => ({ type: 'text', text: `short ${index}` })));
    const checked = vi.spyOn(blocklist, 'check');
    await ask('kept unit');
    expect(checked).not.toHaveBeenCalled();
  });

  it('keys its entries by digests, never by text, even short text', async () => {
    const prompt = new PromptWalk({ model: 'm', [AWS_KEY_ID]: 'x', messages: [{ role: 'user', content: 'a' }] });
    const used = vi.spyOn(Map.prototype, 'set');
    await inspectContent(prompt, options(new ScanCache(), { blocklist: new Blocklist(['nightjar'], []), secretsMode: 'block' }));
    const keys = used.mock.calls.map(([key]) => String(key));
    used.mockRestore();
    expect(keys.length).toBeGreaterThan(3);
    expect(keys.join('\n')).not.toContain(AWS_KEY_ID);
  });
});

describe('one digest per prompt row', () => {
  it('hashes each stored row once: the scan cache key and the content row carry the same digest', async () => {
    const cache = new ScanCache();
    const body = {
      model: 'm',
      max_tokens: 10,
      system: [{ type: 'text', text: LONG_SYSTEM }],
      tools: [{ name: 'read_file', description: 'Reads a file', input_schema: { type: 'object', properties: { path: { type: 'string' } } } }],
      messages: [...turn(1), { role: 'user', content: 'and now?' }],
    };
    hashed.mockClear();
    const prompt = new PromptWalk(body);
    await inspectContent(prompt, options(cache));
    const document = prepareSerialisedManifest({ tenant_id: TENANT, kind: 'prompt', retention_days: 30 }, prompt.document());
    // Three links, two parts, one manifest: six rows, six digests, none computed twice.
    expect(document.content).toHaveLength(6);
    const digests = hashed.mock.results.map((result) => (result.value as { sha256: string }).sha256);
    expect(new Set(digests).size).toBe(digests.length);
    expect(digests.sort()).toEqual(document.content.map((row) => row.ref.sha256).sort());

    const units = prompt.scanUnitList();
    // The system prompt's row and the unit the scan cached it under: one digest.
    const system = document.content.find((row) => row.text === contentJson(body.system))!;
    expect(units.filter((unit) => unit.cacheKey.includes(system.ref.sha256))).toHaveLength(1);
    // Each message's link row likewise, in order.
    const links = document.content.filter((row) => row.media_type === CHAIN_LINK_MEDIA_TYPE);
    const messageUnits = units.filter((unit) => unit.cacheKey.startsWith('message:'));
    expect(messageUnits).toHaveLength(links.length);
    for (const [index, unit] of messageUnits.entries()) expect(unit.cacheKey).toContain(links[index]!.ref.sha256);
  });

  it('hashes again only what a redaction changed, and the rows still hash to their digests', async () => {
    const { digestText: realDigest } = await vi.importActual<typeof import('@/lib/audit/digest')>('@/lib/audit/digest');
    const body = { model: 'm', max_tokens: 10, system: LONG_SYSTEM, messages: [{ role: 'user', content: `key ${AWS_KEY_ID}` }, ...turn(1)] };
    const prompt = new PromptWalk(body);
    await inspectContent(prompt, options(new ScanCache()));
    hashed.mockClear();
    const document = prepareSerialisedManifest({ tenant_id: TENANT, kind: 'prompt', retention_days: 30 }, prompt.document());
    // The redacted message's link, the two links after it (their `prev` changed) and the manifest:
    // four; the system part keeps the digest the scan computed.
    expect(hashed).toHaveBeenCalledTimes(4);
    for (const row of document.content) expect(realDigest(row.text).sha256).toBe(row.ref.sha256);
    expect(document.content.map((row) => row.text).join('')).not.toContain(AWS_KEY_ID);
  });
});
