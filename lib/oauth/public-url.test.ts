// Issuer and audience are configuration: a request's Host header changes neither what discovery
// advertises nor which tokens the gateway accepts. Served the way production serves them (the
// data-plane table through the Node adapter); the requests go out through node:http because
// fetch does not let a caller choose the Host header, and an attacker's client does.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, tokenFor, type GatewayHarness } from '@/lib/gateway/pipeline-tests/harness';
import { startFakeAnthropic, type FakeAnthropic } from '@/lib/gateway/testing';
import type { UserIdentity } from './identity';
import { mintAccessToken } from './mint';
import { createTestUser, randomTestIp } from './test-harness';

const EVIL = 'http://evil.example';

let upstream: FakeAnthropic;
let gateway: GatewayHarness;
let user: UserIdentity;

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request to the gateway's socket claiming to be for `host`. */
function send(path: string, host: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawAnswer> {
  const { port } = new URL(gateway.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: { host, ...options.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function askModel(token: string, host: string): Promise<RawAnswer> {
  return send('/v1/messages', host, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
  });
}

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gateway = await startGateway(
    `
providers:
  fake: { type: anthropic, base_url: ${upstream.url}, max_retries: 0, timeout_ms: 5000 }
models:
  claude-haiku-4-5:
    targets: [{ provider: fake, model: claude-haiku-4-5-upstream }]
`,
    'public-url',
  );
  user = await createTestUser(['member']);
});

afterAll(async () => {
  await upstream.close();
  await gateway.close();
});

describe('a spoofed Host header', () => {
  it('does not change the issuer discovery advertises, and discovery is never cached', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
      const answer = await send(path, 'evil.example');
      expect(answer.status, path).toBe(200);
      const metadata = JSON.parse(answer.body) as Record<string, unknown>;
      expect(metadata.issuer, path).toBe(gateway.url);
      expect(metadata.token_endpoint, path).toBe(`${gateway.url}/oauth/token`);
      expect(answer.body, path).not.toContain('evil.example');
      expect(answer.headers['cache-control'], path).toBe('no-store');
    }
  });

  it('does not make the gateway accept a token minted for the origin it names', async () => {
    const evil = await mintAccessToken({ email: user.email, issuer: EVIL });
    const before = upstream.requests.length;
    for (const host of ['evil.example', new URL(gateway.url).host]) {
      const answer = await askModel(evil.accessToken, host);
      expect(answer.status, host).toBe(401);
      expect(JSON.parse(answer.body), host).toMatchObject({ type: 'error', error: { type: 'authentication_error', message: expect.stringContaining('different Gatehouse') } });
    }
    // Nor a token with our issuer but another audience, nor on the bearer endpoints.
    const foreignAudience = await mintAccessToken({ email: user.email, issuer: gateway.url, audience: `${EVIL}/v1` });
    expect((await askModel(foreignAudience.accessToken, 'evil.example')).status).toBe(401);
    const settings = await send('/managed/settings', 'evil.example', { headers: { authorization: `Bearer ${evil.accessToken}` } });
    expect(settings.status).toBe(401);
    expect(upstream.requests.length).toBe(before);
  });

  it('does not stop a token for the configured URL from working', async () => {
    const answer = await askModel(await tokenFor(gateway, user), 'evil.example');
    expect(answer.status).toBe(200);
  });

  it('does not reach the device flow: the verification URI is the configured one', async () => {
    const answer = await send('/oauth/device_authorization', 'evil.example', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': randomTestIp() },
      body: new URLSearchParams({ surface: 'claude_code' }).toString(),
    });
    if (answer.status !== 200) throw new Error(`device authorization failed: ${answer.status} ${answer.body}`);
    const body = JSON.parse(answer.body) as { verification_uri: string };
    expect(body.verification_uri).toBe(`${gateway.url}/device`);
  });
});
