// The secret scan remembers what it has scanned, so a conversation's history, resent whole on
// every turn, costs the scan only once. findSecrets is wrapped (still the real one) to see what
// each request makes it read.
import { describe, expect, it, vi } from 'vitest';
import { Blocklist } from './blocklist';
import { inspectContent, ScanCache } from './content';
import { textSegments } from './segments';

vi.mock('./secrets', async (importOriginal) => {
  const original = await importOriginal<typeof import('./secrets')>();
  return { ...original, findSecrets: vi.fn(original.findSecrets) };
});

const { findSecrets } = await import('./secrets');
const scanned = vi.mocked(findSecrets);

const AWS_KEY_ID = 'AKIAZ2X3Y4W5V6U7T8S9';
const NO_BLOCKLIST = new Blocklist([], []);

function turn(index: number): { role: string; content: { type: string; text: string }[] }[] {
  return [
    { role: 'user', content: [{ type: 'text', text: `question ${index}` }] },
    { role: 'assistant', content: [{ type: 'text', text: `answer ${index}` }] },
  ];
}

describe('the secret scan of a resent conversation', () => {
  it('reads only the new turn once the history has been scanned, and still redacts the history', async () => {
    const cache = new ScanCache();
    const history = [...turn(1), ...turn(2), { role: 'user', content: [{ type: 'text', text: `my key ${AWS_KEY_ID}` }] }];
    const first = { model: 'm', system: 'be brief', messages: structuredClone(history) };
    expect(await inspectContent(textSegments(first), { blocklist: NO_BLOCKLIST, secretsMode: 'redact', cache })).toMatchObject({ kind: 'allow', redactions: [{ rule: 'aws' }] });

    scanned.mockClear();
    const next = { model: 'm', system: 'be brief', messages: [...structuredClone(history), { role: 'assistant', content: [{ type: 'text', text: 'noted' }] }, ...turn(3)] };
    expect(await inspectContent(textSegments(next), { blocklist: NO_BLOCKLIST, secretsMode: 'redact', cache })).toMatchObject({ kind: 'allow', redactions: [{ rule: 'aws' }] });
    expect(JSON.stringify(next)).not.toContain(AWS_KEY_ID);

    const read = scanned.mock.calls.map(([text]) => text).join('');
    for (const old of ['question 1', 'answer 2', 'be brief', 'my key']) expect(read).not.toContain(old);
    for (const fresh of ['noted', 'question 3', 'answer 3']) expect(read).toContain(fresh);
  });
});
