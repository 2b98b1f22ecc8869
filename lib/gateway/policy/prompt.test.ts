// The one walk of a request body: what it hands the evidence must be exactly what serialising
// the body as it goes upstream would give, before and after redactions, with every digest true.
import { describe, expect, it } from 'vitest';
import { digestText, prepareManifest, prepareSerialisedManifest, serialiseDocument } from '@/lib/audit';
import { Blocklist } from './blocklist';
import { inspectContent, ScanCache } from './content';
import { estimateInputTokens, PromptWalk, PROMPT_SPLIT } from './prompt';

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

function expectTrueDigests(document: ReturnType<PromptWalk['document']>): void {
  const prepared = prepareSerialisedManifest(OPTIONS, document);
  for (const row of prepared.content) expect(row.ref).toMatchObject({ sha256: digestText(row.text).sha256, byte_size: Buffer.byteLength(row.text) });
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
    expect(prepareSerialisedManifest(OPTIONS, document).ref).toEqual(prepareManifest({ ...OPTIONS, body: value }, PROMPT_SPLIT).ref);
    expectTrueDigests(document);
  });

  it('serialises and estimates the body as redacted, values and keys alike', async () => {
    const value = body();
    (value.messages as unknown[]).splice(1, 0, { role: 'user', content: [{ type: 'text', text: `key ${AWS_KEY_ID}` }] });
    (value.zeta as Record<string, unknown>)[AWS_KEY_ID] = 'a key as a key';
    const prompt = await redact(value);
    expect(JSON.stringify(value)).not.toContain(AWS_KEY_ID);
    const document = prompt.document();
    expect(prepareSerialisedManifest(OPTIONS, document).ref).toEqual(prepareManifest({ ...OPTIONS, body: value }, PROMPT_SPLIT).ref);
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

  it('estimates what it walked: strings in UTF-8 bytes, keys, numbers and booleans, only in system, messages and tools', () => {
    const text = 'x'.repeat(3000);
    expect(estimateInputTokens({ model: 'm'.repeat(3000), messages: [{ role: 'user', content: text }] })).toBe(16 + Math.ceil((4 + 4 + 7 + 3000) / 3));
    expect(estimateInputTokens({ model: 'm', messages: [], system: '\u00e9', tools: [{ n: 1, b: true }] })).toBe(16 + Math.ceil((2 + 1 + 4 + 1 + 4) / 3));
  });
});
