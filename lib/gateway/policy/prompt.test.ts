// The one walk of a request body: what it hands the evidence must be exactly what serialising
// the body as it goes upstream would give, before and after redactions, with every digest true.
import { describe, expect, it } from 'vitest';
import { CHAIN_LINK_MEDIA_TYPE, digestText, MANIFEST_MEDIA_TYPE, prepareSerialisedManifest, serialiseDocument } from '@/lib/audit';
import { contentJson } from '@/lib/audit/content';
import { Blocklist } from './blocklist';
import { inspectContent, ScanCache } from './content';
import { estimateInputTokens, PromptWalk, PROMPT_SPLIT } from './prompt';
import { walkValue } from './segments';

const TENANT = '00000000-0000-4000-8000-000000000001';
const AWS_KEY_ID = 'AKIAZ2X3Y4W5V6U7T8S9';
const OPTIONS = { tenant_id: TENANT, kind: 'prompt' as const, retention_days: 30 };

/** A body with what canonical JSON has to get right: unsorted keys, unknown fields, odd text. */
function body(): Record<string, unknown> {
  const parsed = JSON.parse(
    JSON.stringify({
      model: 'm',
      max_tokens: 100,
      stream: false,
      zeta: { b: 1, a: [true, null, 2.5e-7] },
      system: [{ type: 'text', text: 'be brief \u00e9\u{1F600}', cache_control: { type: 'ephemeral' } }],
      messages: [
        { role: 'user', content: 'first \u2028 line' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'read', input: { path: 'a', Z: 'upper', é: 'accent' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok' }] },
      ],
      alpha: 'unknown field',
      tools: [{ name: 'read', input_schema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } }],
      metadata: { user_id: 'u-1' },
    }),
  ) as Record<string, unknown>;
  // Keys JSON.parse keeps as own properties, and a lone surrogate the evidence stores escaped.
  (parsed.messages as { content: unknown }[])[0]!.content = 'lone \ud800 surrogate';
  return JSON.parse(JSON.stringify(parsed).replace('"alpha"', '"__proto__":{"x":1},"alpha"')) as Record<string, unknown>;
}

async function redact(value: Record<string, unknown>): Promise<PromptWalk> {
  const prompt = new PromptWalk(value);
  const verdict = await inspectContent(prompt, { tenantId: TENANT, blocklist: new Blocklist([], []), secretsMode: 'redact', cache: new ScanCache() });
  expect(verdict.kind).toBe('allow');
  return prompt;
}

/**
 * Every row hashes to its digest, and link and manifest rows are exactly contentJson of what they
 * hold, as they were written before their texts were templated (so stored rows still dedupe).
 */
function expectTrueDigests(document: ReturnType<PromptWalk['document']>): void {
  const prepared = prepareSerialisedManifest(OPTIONS, document);
  for (const row of prepared.content) {
    expect(row.ref).toMatchObject({ sha256: digestText(row.text).sha256, byte_size: Buffer.byteLength(row.text) });
    if (row.media_type === CHAIN_LINK_MEDIA_TYPE || row.media_type === MANIFEST_MEDIA_TYPE) expect(row.text).toBe(contentJson(JSON.parse(row.text)));
  }
  expect(prepared.content.filter((row) => row.media_type === MANIFEST_MEDIA_TYPE)).toHaveLength(1);
}

/** The manifest's ref as splitting the body now, without the walk, gives it. */
function freshRef(value: Record<string, unknown>) {
  return prepareSerialisedManifest(OPTIONS, serialiseDocument(value, PROMPT_SPLIT)).ref;
}

describe('the prompt walk', () => {
  it('serialises the body as the content store would, row for row', () => {
    const value = body();
    const prompt = new PromptWalk(value);
    prompt.scanUnitList();
    const document = prompt.document();
    const { chains, parts, fields } = serialiseDocument(value, PROMPT_SPLIT);
    expect(document.fields).toBe(fields);
    expect(document.chains.messages!.map((link) => link.item)).toEqual(chains.messages!.map((link) => link.item));
    expect(Object.fromEntries(Object.entries(document.parts).map(([name, part]) => [name, part.json]))).toEqual(Object.fromEntries(Object.entries(parts).map(([name, part]) => [name, part.json])));
    expect(prepareSerialisedManifest(OPTIONS, document).ref).toEqual(freshRef(value));
    expectTrueDigests(document);
  });

  it('serialises and estimates the body as redacted, values and keys alike', async () => {
    const value = body();
    (value.messages as unknown[]).splice(1, 0, { role: 'user', content: [{ type: 'text', text: `key ${AWS_KEY_ID}` }] });
    (value.zeta as Record<string, unknown>)[AWS_KEY_ID] = 'a key as a key';
    const prompt = await redact(value);
    expect(JSON.stringify(value)).not.toContain(AWS_KEY_ID);
    const document = prompt.document();
    expect(prepareSerialisedManifest(OPTIONS, document).ref).toEqual(freshRef(value));
    expectTrueDigests(document);
    expect(prompt.estimatedInputTokens()).toBe(estimateInputTokens(structuredClone(value)));
    expect(prompt.estimatedInputTokens()).toBeLessThan(estimateInputTokens(body()) + 20);
  });

  // A key and its value share one slot: renaming the key first must not bring the old key (the
  // secret itself) back when the value is rewritten next.
  it.each([
    ['a top-level key', (secret: unknown) => ({ [AWS_KEY_ID]: secret }), (value: Record<string, unknown>) => value],
    ['a nested key', (secret: unknown) => ({ zeta: { [AWS_KEY_ID]: secret } }), (value: Record<string, unknown>) => value.zeta],
    ['a key in a message', (secret: unknown) => ({ messages: [{ role: 'user', content: [{ type: 'tool_use', id: 't', name: 'n', input: { [AWS_KEY_ID]: secret } }] }] }), (value: Record<string, unknown>) => ((value.messages as { content: { input: unknown }[] }[])[0]!.content[0]!.input)],
  ])('redacts a secret that is both %s and its value, leaving neither', async (_, shape, owner) => {
    for (const secret of [AWS_KEY_ID, { nested: AWS_KEY_ID }, [AWS_KEY_ID]]) {
      const value = { model: 'm', max_tokens: 1, messages: [], ...shape(structuredClone(secret)) } as Record<string, unknown>;
      const prompt = await redact(value);
      const redacted = JSON.parse(JSON.stringify(secret).replaceAll(AWS_KEY_ID, '[REDACTED:aws]')) as unknown;
      expect(owner(value)).toMatchObject({ '[REDACTED:aws]': redacted });
      expect(JSON.stringify(value)).not.toContain(AWS_KEY_ID);
      const document = prompt.document();
      expect(JSON.stringify(document)).not.toContain(AWS_KEY_ID);
      const fresh = serialiseDocument(value, PROMPT_SPLIT);
      expect(document.fields).toBe(fresh.fields);
      expectTrueDigests(document);
    }
  });

  it('fails under test when the body changed other than through its segments after the walk', () => {
    const value = body();
    const prompt = new PromptWalk(value);
    (value.messages as { content: unknown }[])[1]!.content = 'changed behind the walk';
    expect(() => prompt.document()).toThrow(/no longer matches the body \(messages\[1\]\)/);
    const other = body();
    const walked = new PromptWalk(other);
    other.extra = 1;
    expect(() => walked.document()).toThrow(/no longer matches the body \(fields\)/);
  });

  it('writes exactly the canonical JSON contentJson writes, for random values', () => {
    let seed = 42;
    const random = (below: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % below;
    };
    const texts = ['', 'a', 'Z', 'é', '\u{1F600}', '\ud800', '\u2028', '"', '\\', '\n', '__proto__', 'b', 'aa', 'A', '\u0001'];
    const text = () => Array.from({ length: random(3) + 1 }, () => texts[random(texts.length)]).join('');
    const value = (depth: number): unknown => {
      switch (random(depth > 3 ? 5 : 8)) {
        case 0: return text();
        case 1: return [0, -0, 1.5, -2e-7, 1e21, 123456789012345680000, Number.MAX_SAFE_INTEGER][random(7)];
        case 2: return random(2) === 0;
        case 3: return null;
        case 4: return random(4) === 0 ? undefined : text();
        case 5: return Array.from({ length: random(4) }, () => value(depth + 1));
        default: {
          const object: Record<string, unknown> = {};
          for (let index = random(5); index > 0; index--) Object.defineProperty(object, text(), { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
          return object;
        }
      }
    };
    for (let round = 0; round < 500; round++) {
      const owner = { value: value(0) };
      if (owner.value === undefined) continue;
      expect(walkValue({ owner, key: 'value' }, { path: 'value', depth: 1, counted: true, order: true }).json).toBe(contentJson(owner.value));
    }
  });

  it('estimates what it walked: strings in UTF-8 bytes, keys, numbers and booleans, only in system, messages and tools', () => {
    const text = 'x'.repeat(3000);
    expect(estimateInputTokens({ model: 'm'.repeat(3000), messages: [{ role: 'user', content: text }] })).toBe(16 + Math.ceil((4 + 4 + 7 + 3000) / 3));
    expect(estimateInputTokens({ model: 'm', messages: [], system: '\u00e9', tools: [{ n: 1, b: true }] })).toBe(16 + Math.ceil((2 + 1 + 4 + 1 + 4) / 3));
  });
});
