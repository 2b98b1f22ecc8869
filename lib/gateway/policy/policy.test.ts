import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '@/lib/gateway/errors';
import { Blocklist } from './blocklist';
import { inspectContent, ScanCache } from './content';
import { readMessagesBody } from './body';
import { webDataPlaneRequest, type DataPlaneRequest } from '@/lib/http/data-plane-request';
import { ModelAccess } from './model-access';
import { findSecrets, redactSecrets } from './secrets';
import { estimateInputTokens, PromptWalk } from './prompt';

const TENANT = '00000000-0000-4000-8000-000000000001';

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

  describe('private keys in PEM form', () => {
    const ed25519 = generateKeyPairSync('ed25519').privateKey;
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const passphrase = 'correct horse battery staple';
    const keys: [string, string][] = [
      ['PKCS#8 ed25519 (64 base64 characters)', ed25519.export({ type: 'pkcs8', format: 'pem' }) as string],
      ['PKCS#8 RSA', rsa.export({ type: 'pkcs8', format: 'pem' }) as string],
      ['PKCS#8 ENCRYPTED', ed25519.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string],
      ['PKCS#1 with RFC 1421 encryption headers', rsa.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-128-cbc', passphrase }) as string],
      ['SEC1 EC', ec.export({ type: 'sec1', format: 'pem' }) as string],
    ];

    it.each(keys)('finds and redacts a %s key whole', async (_kind, pem) => {
      const text = `my key:\n${pem}\nthanks`;
      const findings = await findSecrets(text);
      expect(findings.map((finding) => finding.rule)).toContain('privatekey');
      expect(redactSecrets(text, findings)).toBe('my key:\n[REDACTED:privatekey]\n\nthanks');
    });

    it('finds a key pasted as a JSON string, and one cut off before its END line', async () => {
      const pem = keys[0]![1];
      const json = `{"private_key": ${JSON.stringify(pem)}}`;
      expect(redactSecrets(json, await findSecrets(json))).toBe('{"private_key": "[REDACTED:privatekey]\\n"}');
      const cut = `key: ${pem.slice(0, pem.indexOf('-----END'))}`;
      expect(redactSecrets(cut, await findSecrets(cut))).toBe('key: [REDACTED:privatekey]\n');
    });

    it('leaves headers without a key alone (code that parses PEM, placeholders)', async () => {
      for (const text of ["if (line === '-----BEGIN PRIVATE KEY-----') {", '-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----']) {
        expect(await findSecrets(text), text).toEqual([]);
      }
    });
  });

  describe('AWS secret access keys', () => {
    // 40 characters of the secret key alphabet; the first ends in "/", which secretlint's pattern misses.
    const secretEndingInSlash = 'Xq3Zr8Lm2Np7Vt4Ws9Yb1Cd6Ef0Gh5Jk3Mn8Pq2/';
    const secret = 'Xq3Zr8Lm2Np7Vt4Ws9Yb1Cd6Ef0Gh5Jk3Mn8Pq2R';
    const lines: [string, string, string][] = [
      ['credentials file line', `aws_secret_access_key = ${secret}\n`, 'aws_secret_access_key = [REDACTED:aws]\n'],
      ['key ending in /', `aws_secret_access_key = ${secretEndingInSlash}\n`, 'aws_secret_access_key = [REDACTED:aws]\n'],
      ['environment variable', `export AWS_SECRET_ACCESS_KEY="${secret}"`, 'export AWS_SECRET_ACCESS_KEY="[REDACTED:aws]"'],
      ['CLI flag', `aws configure --aws-secret-access-key ${secret} --profile x`, 'aws configure --aws-secret-access-key [REDACTED:aws] --profile x'],
      ['JSON from create-access-key', `{"SecretAccessKey": "${secret}"}`, '{"SecretAccessKey": "[REDACTED:aws]"}'],
      ['YAML without "access"', `aws_secret_key: ${secret}`, 'aws_secret_key: [REDACTED:aws]'],
    ];
    it.each(lines)('redacts the whole key in a %s', async (_kind, text, redacted) => {
      expect(redactSecrets(text, await findSecrets(text))).toBe(redacted);
    });

    it('lets AWS\'s documented example keys through, as secretlint does on purpose', async () => {
      expect(await findSecrets('aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')).toEqual([]);
    });
  });

  it('corrects a secretlint range that starts before the secret (its AWS rule reports the key\'s length from the key name)', async () => {
    const secret = 'Xq3Zr8Lm2Np7Vt4Ws9Yb1Cd6Ef0Gh5Jk3Mn8Pq2R';
    const text = `aws_secret_access_key = ${secret}`;
    const findings = await findSecrets(text);
    expect(findings.length).toBeGreaterThanOrEqual(1);
    for (const finding of findings) expect(text.slice(finding.start, finding.end)).toBe(secret);
  });

  it('stays linear on prompts stuffed with key headers and key names', async () => {
    const started = performance.now();
    await findSecrets(`${'-----BEGIN PRIVATE KEY-----\n'.repeat(30_000)}${' '.repeat(200_000)}x`);
    await findSecrets(`-----BEGIN PRIVATE KEY-----${' \n'.repeat(300_000)}x`);
    await findSecrets(`${'aws_secret_access_key '.repeat(20_000)}${' '.repeat(200_000)}=`);
    expect(performance.now() - started).toBeLessThan(10_000);
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
  const inspect = (body: Record<string, unknown>, secretsMode: 'block' | 'redact' = 'redact') =>
    inspectContent(new PromptWalk(body), { tenantId: TENANT, blocklist: new Blocklist([], []), secretsMode, cache: new ScanCache() });

  /** `value` nested `depth` arrays deep. */
  const nested = (depth: number, value: unknown): unknown => (depth === 0 ? value : [nested(depth - 1, value)]);

  it('reaches every string that goes upstream, at any depth the parser allows, and rewrites it in place', async () => {
    const body = {
      model: 'm',
      system: `sys ${AWS_KEY_ID}`,
      tools: [{ name: 'deploy', description: `uses ${AWS_KEY_ID}`, input_schema: { type: 'object', properties: { key: { type: 'string', default: AWS_KEY_ID, enum: [AWS_KEY_ID] } } } }],
      tool_choice: { type: 'tool', name: AWS_KEY_ID },
      metadata: { user_id: AWS_KEY_ID },
      stop_sequences: ['END', AWS_KEY_ID],
      future_field: { anything: AWS_KEY_ID },
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: `t ${AWS_KEY_ID}` },
            { type: 'image', source: { type: 'url', url: `https://img.example/${AWS_KEY_ID}.png` } },
            { type: 'search_result', source: `https://docs.example/${AWS_KEY_ID}`, title: AWS_KEY_ID, content: [{ type: 'text', text: AWS_KEY_ID }] },
            { type: 'document', title: AWS_KEY_ID, context: AWS_KEY_ID, source: { type: 'text', media_type: 'text/plain', data: AWS_KEY_ID } },
            { type: 'document', source: { type: 'content', content: [{ type: 'text', text: AWS_KEY_ID }] } },
          ],
        },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'unsigned', signature: '' }, { type: 'tool_use', id: 'x', name: 'n', input: { a: nested(100, AWS_KEY_ID) } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'x', content: [{ type: 'text', text: AWS_KEY_ID }] }] },
      ],
    };
    const verdict = await inspect(body);
    expect(verdict).toMatchObject({ kind: 'allow', redactions: [{ rule: 'aws', count: 19 }] });
    expect(JSON.stringify(body)).not.toContain(AWS_KEY_ID);
    expect(body.system).toBe('sys [REDACTED:aws]');
    expect(body.stop_sequences).toEqual(['END', '[REDACTED:aws]']);
  });

  it('leaves binary data and thinking signatures alone, reads "binary" data that is not, and renames a key that is a secret', async () => {
    // base64 that really starts like a PNG (the key sits in it as base64 characters would).
    const png = `iVBORw0KGgoAAAAN/${AWS_KEY_ID}/AA`;
    const body = {
      model: 'm',
      metadata: { [AWS_KEY_ID]: 'x', other: 'y' },
      messages: [
        { role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: `not an image: ${AWS_KEY_ID}` } }] },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'plain', signature: AWS_KEY_ID }, { type: 'redacted_thinking', data: AWS_KEY_ID }] },
        // Not base64, so not something Anthropic issued: read as text.
        { role: 'assistant', content: [{ type: 'redacted_thinking', data: `note: ${AWS_KEY_ID}` }] },
      ],
    };
    expect(await inspect(body)).toMatchObject({ kind: 'allow', redactions: [{ rule: 'aws', count: 3 }] });
    expect(Object.keys(body.metadata)).toEqual(['[REDACTED:aws]', 'other']);
    expect(body.messages[0]!.content[1]).toMatchObject({ source: { data: 'not an image: [REDACTED:aws]' } });
    // Not text: a real image's base64, a signature and redacted thinking are sent as they came.
    expect(JSON.stringify(body).split(AWS_KEY_ID)).toHaveLength(4);
  });

  it('keeps a JSON key named __proto__ when it renames a neighbouring key', async () => {
    const body = JSON.parse(`{"model": "m", "messages": [], "metadata": {"__proto__": {"x": "kept"}, "${AWS_KEY_ID}": "v"}}`) as Record<string, unknown>;
    expect(await inspect(body)).toMatchObject({ kind: 'allow', redactions: [{ rule: 'aws', count: 1 }] });
    expect(JSON.stringify(body.metadata)).toBe('{"__proto__":{"x":"kept"},"[REDACTED:aws]":"v"}');
    expect(Object.getPrototypeOf(body.metadata)).toBe(Object.prototype);
  });

  it('refuses, even in redact mode, a secret inside signed thinking, which cannot change', async () => {
    const body = { model: 'm', messages: [{ role: 'assistant', content: [{ type: 'thinking', thinking: `use ${AWS_KEY_ID}`, signature: 'EqQBCkgIAxABGAIiQL' }] }] };
    const verdict = await inspect(body);
    expect(verdict).toMatchObject({ kind: 'block', rule: 'policy.secrets.aws', message: expect.stringContaining('signed thinking block') });
    expect((verdict as { message: string }).message).toContain('messages[0].content[0].thinking');
    expect(body.messages[0]!.content[0]!.thinking).toContain(AWS_KEY_ID);
  });

  it('names where a secret is without repeating what a person typed', async () => {
    const verdict = await inspect({ model: 'm', metadata: { 'my-private-field': { deeper: AWS_KEY_ID } } }, 'block');
    expect(verdict).toMatchObject({ kind: 'block', message: expect.stringContaining('metadata.*.*') });
    expect(JSON.stringify(verdict)).not.toContain('my-private-field');
  });

  it('finds a secret split over neighbouring short strings, and redacts each part', async () => {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const body = { model: 'm', messages: [{ role: 'user', content: 'read this' }], future_field: { lines: pem.trim().split('\n') } };
    expect(await inspect(body)).toMatchObject({ kind: 'allow', redactions: [{ rule: 'privatekey' }] });
    expect(JSON.stringify(body)).not.toContain(pem.split('\n')[1]);
    expect(body.messages[0]!.content).toBe('read this');
  });

  it('refuses a body deeper than the parser allows instead of skipping what lies below', () => {
    expect(() => new PromptWalk({ model: 'm', messages: nested(200, 'x') as unknown[] })).toThrow(/levels deep/);
  });

  it('blocks in block mode without touching the body', async () => {
    const body = { model: 'm', messages: [{ role: 'user', content: `k ${AWS_KEY_ID}` }] };
    const verdict = await inspectContent(new PromptWalk(body), { tenantId: TENANT, blocklist: new Blocklist([], []), secretsMode: 'block', cache: new ScanCache() });
    expect(verdict).toMatchObject({ kind: 'block', rule: 'policy.secrets.aws' });
    expect(body.messages[0]!.content).toContain(AWS_KEY_ID);
  });

  it('remembers results per text, and still redacts a repeated text', async () => {
    const cache = new ScanCache({ units: 2 });
    for (let round = 0; round < 3; round++) {
      const body = { model: 'm', messages: [{ role: 'user', content: `${'long text '.repeat(10)} ${AWS_KEY_ID}` }] };
      await inspectContent(new PromptWalk(body), { tenantId: TENANT, blocklist: new Blocklist([], []), secretsMode: 'redact', cache });
      expect(body.messages[0]!.content).toContain('[REDACTED:aws]');
    }
  });
});

describe('readMessagesBody', () => {
  function request(body: string, headers: Record<string, string> = {}): DataPlaneRequest {
    return webDataPlaneRequest(new Request('http://gateway.test/v1/messages', { method: 'POST', body, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } }));
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
    expect(await refusal(readMessagesBody(webDataPlaneRequest(chunked), { maxBytes: 1024, requireMaxTokens: false }))).toEqual({ type: 'invalid_request_error', status: 411 });
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
  it('counts text generously, and base64 that is not the image it claims as the text it is (real images: estimate.test.ts)', () => {
    const text = estimateInputTokens({ messages: [{ role: 'user', content: 'x'.repeat(3000) }] });
    expect(text).toBeGreaterThanOrEqual(1000);
    const notAnImage = estimateInputTokens({ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(1_000_000) } }] }] });
    expect(notAnImage).toBeGreaterThanOrEqual(1_000_000 / 3);
  });
});
