import { describe, expect, it } from 'vitest';
import { GatewayError } from '@/lib/gateway/errors';
import { Blocklist } from './blocklist';
import { inspectContent, ScanCache } from './content';
import { estimateInputTokens } from './estimate';
import { readMessagesBody } from './body';
import { ModelAccess } from './model-access';
import { findSecrets, redactSecrets } from './secrets';
import { textSegments } from './segments';

const AWS_KEY_ID = 'AKIAZ2X3Y4W5V6U7T8S9';

describe('Blocklist', () => {
  const blocklist = new Blocklist(['project-nightingale', 'Straße', '機密', 'top secret'], ['\\bCUST-\\d{6}\\b', '(?i)internal[-_ ]only']);

  it('matches terms as whole words, ignoring case, width and spacing', () => {
    for (const text of ['about project-nightingale.', 'PROJECT-NIGHTINGALE', '😀project-nightingale😀', 'die Straße', 'これは機密です', 'TOP   SECRET', 'ｔｏｐ ｓｅｃｒｅｔ']) {
      expect(blocklist.check(text), text).not.toBeNull();
    }
    for (const text of ['xproject-nightingale', 'project-nightingaleé', 'die Straßen', 'topsecret', 'nothing to see']) {
      expect(blocklist.check(text), text).toBeNull();
    }
  });

  it('names the rule that fired', () => {
    expect(blocklist.check('top secret')).toEqual({ rule: 'policy.blocklist.terms[3]' });
    expect(blocklist.check('ticket CUST-123456')).toEqual({ rule: 'policy.blocklist.patterns[0]' });
    expect(blocklist.check('INTERNAL_ONLY draft')).toEqual({ rule: 'policy.blocklist.patterns[1]' });
    expect(blocklist.check('cust-123456')).toBeNull();
  });

  it('cannot be fooled by the characters it uses to spell non-ASCII text', () => {
    const accented = new Blocklist(['é'], []);
    expect(accented.check('\u0001e9\u0002')).toBeNull();
    expect(accented.check('a é b')).toEqual({ rule: 'policy.blocklist.terms[0]' });
  });

  it('scans 1 MB of non-ASCII text in linear time', () => {
    const text = '😀 Ünïcödé '.repeat(100_000) + ' top secret';
    const started = performance.now();
    expect(blocklist.check(text)).toEqual({ rule: 'policy.blocklist.terms[3]' });
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('secrets', () => {
  it('finds keys with the kind of secret, and redacts them', async () => {
    const text = `aws ${AWS_KEY_ID} gh ghp_${'A1b2'.repeat(9)} done`;
    const findings = await findSecrets(text);
    expect(findings.map(({ rule, kind }) => ({ rule, kind }))).toEqual([
      { rule: 'aws', kind: 'AWS Access Key ID' },
      { rule: 'github', kind: 'GitHub Token' },
    ]);
    expect(redactSecrets(text, findings)).toBe('aws [REDACTED:aws] gh [REDACTED:github] done');
  });

  it('ignores secretlint-disable comments in prompts', async () => {
    const findings = await findSecrets(`<!-- secretlint-disable --> ${AWS_KEY_ID}`);
    expect(findings).toHaveLength(1);
  });

  it('merges overlapping findings so nothing of either survives', () => {
    expect(redactSecrets('0123456789', [{ start: 2, end: 6, rule: 'a', kind: 'A' }, { start: 4, end: 8, rule: 'b', kind: 'B' }])).toBe('01[REDACTED:a]89');
  });

  it('stays linear on a prompt stuffed with thousands of fake tokens', async () => {
    const text = `xoxb-${'a1-'.repeat(30)}! `.repeat(11_000);
    const started = performance.now();
    const findings = await findSecrets(text);
    expect(findings.length).toBe(11_000);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('text segments and inspection', () => {
  it('reaches system, text blocks, tool results, tool inputs and text documents, and rewrites them in place', async () => {
    const body = {
      model: 'm',
      system: `sys ${AWS_KEY_ID}`,
      messages: [
        { role: 'user', content: [{ type: 'text', text: `t ${AWS_KEY_ID}` }, { type: 'image', source: { type: 'base64', data: AWS_KEY_ID } }] },
        { role: 'assistant', content: [{ type: 'thinking', thinking: AWS_KEY_ID, signature: 'sig' }, { type: 'tool_use', id: 'x', name: 'n', input: { a: [AWS_KEY_ID] } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'x', content: [{ type: 'text', text: AWS_KEY_ID }] }, { type: 'document', source: { type: 'text', media_type: 'text/plain', data: AWS_KEY_ID } }] },
      ],
    };
    expect(textSegments(body)).toHaveLength(5);
    const verdict = await inspectContent(textSegments(body), { blocklist: new Blocklist([], []), secretsMode: 'redact', cache: new ScanCache() });
    expect(verdict).toEqual({ kind: 'allow', redactions: [{ rule: 'aws', kind: 'AWS Access Key ID', count: 5 }] });
    const json = JSON.stringify(body);
    // Thinking is signed and images are not text: both are left as sent.
    expect(json.split(AWS_KEY_ID)).toHaveLength(3);
    expect(body.system).toBe('sys [REDACTED:aws]');
  });

  it('blocks in block mode without touching the body', async () => {
    const body = { model: 'm', messages: [{ role: 'user', content: `k ${AWS_KEY_ID}` }] };
    const verdict = await inspectContent(textSegments(body), { blocklist: new Blocklist([], []), secretsMode: 'block', cache: new ScanCache() });
    expect(verdict).toMatchObject({ kind: 'block', rule: 'policy.secrets.aws' });
    expect(body.messages[0]!.content).toContain(AWS_KEY_ID);
  });

  it('remembers results per text, and still redacts a repeated text', async () => {
    const cache = new ScanCache(2);
    for (let round = 0; round < 3; round++) {
      const body = { model: 'm', messages: [{ role: 'user', content: `${'long text '.repeat(10)} ${AWS_KEY_ID}` }] };
      await inspectContent(textSegments(body), { blocklist: new Blocklist([], []), secretsMode: 'redact', cache });
      expect(body.messages[0]!.content).toContain('[REDACTED:aws]');
    }
  });
});

describe('readMessagesBody', () => {
  function request(body: string, headers: Record<string, string> = {}): Request {
    return new Request('http://gateway.test/v1/messages', { method: 'POST', body, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } });
  }

  async function refusal(promise: Promise<unknown>): Promise<{ type: string; status: number }> {
    const error = await promise.catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(GatewayError);
    const response = (error as GatewayError).toResponse();
    return { type: ((await response.json()) as { error: { type: string } }).error.type, status: response.status };
  }

  it('reads a valid body and keeps unknown fields', async () => {
    const read = await readMessagesBody(request(JSON.stringify({ model: 'm', max_tokens: 1, messages: [], future_field: { x: 1 } })), { maxBytes: 1024, requireMaxTokens: true });
    expect(read.body.future_field).toEqual({ x: 1 });
  });

  it('refuses by size before reading, and without Content-Length', async () => {
    expect(await refusal(readMessagesBody(request('{}', { 'content-length': '5000' }), { maxBytes: 1024, requireMaxTokens: false }))).toEqual({ type: 'request_too_large', status: 413 });
    const chunked = new Request('http://gateway.test/v1/messages', { method: 'POST', body: '{}' });
    chunked.headers.delete('content-length');
    expect(await refusal(readMessagesBody(chunked, { maxBytes: 1024, requireMaxTokens: false }))).toEqual({ type: 'invalid_request_error', status: 411 });
  });

  it('refuses pathologically deep JSON instead of overflowing the stack later', async () => {
    const deep = `{"model":"m","messages":[${'['.repeat(100_000)}${']'.repeat(100_000)}]}`;
    expect(await refusal(readMessagesBody(request(deep), { maxBytes: 1024 * 1024, requireMaxTokens: false }))).toEqual({ type: 'invalid_request_error', status: 400 });
    const nested = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: '[[[[{{{{' }] });
    expect((await readMessagesBody(request(nested), { maxBytes: 1024, requireMaxTokens: false })).body.model).toBe('m');
  });

  it('refuses a body longer than its Content-Length', async () => {
    const lying = request('{"model":"m","messages":[]}', { 'content-length': '5' });
    expect(await refusal(readMessagesBody(lying, { maxBytes: 1024, requireMaxTokens: false }))).toEqual({ type: 'invalid_request_error', status: 400 });
  });
});

describe('ModelAccess', () => {
  const access = new ModelAccess([
    { match: {}, allow: ['claude-haiku-*'] },
    { match: { role: 'admin' }, allow: ['claude-*'] },
    { match: { department: 'research' }, allow: ['claude-opus-?-?'] },
  ]);

  it('allows a model some rule for the caller allows', () => {
    expect(access.allows('claude-haiku-4-5', { department: null, roles: ['member'] })).toBe(true);
    expect(access.allows('claude-sonnet-4-5', { department: null, roles: ['member'] })).toBe(false);
    expect(access.allows('claude-sonnet-4-5', { department: null, roles: ['admin@engineering'] })).toBe(true);
    expect(access.allows('claude-opus-4-5', { department: 'research', roles: [] })).toBe(true);
    expect(access.allows('claude-opus-4-50', { department: 'research', roles: [] })).toBe(false);
    expect(new ModelAccess([]).allows('anything', { department: null, roles: [] })).toBe(true);
  });

  it('matches globs in linear time (RE2), whatever the model id', () => {
    const stars = new ModelAccess([{ match: {}, allow: ['*a*a*a*a*a*a*a*b'] }]);
    expect(stars.allows('a'.repeat(256), { department: null, roles: [] })).toBe(false);
    expect(new ModelAccess([{ match: {}, allow: ['gpt-4.1'] }]).allows('gpt-441', { department: null, roles: [] })).toBe(false);
  });
});

describe('estimateInputTokens', () => {
  it('counts text generously and attachments at a flat rate', () => {
    const text = estimateInputTokens({ messages: [{ role: 'user', content: 'x'.repeat(3000) }] });
    expect(text).toBeGreaterThanOrEqual(1000);
    const image = estimateInputTokens({ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(1_000_000) } }] }] });
    expect(image).toBeLessThan(2_000);
  });
});
