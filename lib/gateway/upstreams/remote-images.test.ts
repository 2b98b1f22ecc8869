// Images given by URL on their way to an upstream: fetched by Gatehouse from public addresses
// only (SSRF), refused, or forwarded, per provider setting.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  dispatchInput,
  anthropicTarget,
  openAIFailures,
  openAITarget,
  readText,
  startFakeAnthropic,
  startFakeImageServer,
  startFakeOpenAI,
  TINY_PNG,
  type FakeAnthropic,
  type FakeImageServer,
  type FakeOpenAI,
} from '@/lib/gateway/testing';
import type { RemoteImageMode } from '@/lib/config';
import { dispatch, resetCircuitBreakers, resetUpstreamTuning, tuneUpstreams } from '.';
import { resetRemoteImageTuning, tuneRemoteImages } from './remote-images';

let images: FakeImageServer;
let openai: FakeOpenAI;
let anthropic: FakeAnthropic;
let imagePort: number;

beforeAll(async () => {
  images = await startFakeImageServer();
  imagePort = Number(new URL(images.url).port);
  openai = await startFakeOpenAI();
  anthropic = await startFakeAnthropic();
});

afterAll(async () => {
  await Promise.all([images.close(), openai.close(), anthropic.close()]);
});

beforeEach(() => {
  resetCircuitBreakers();
  tuneUpstreams({ logger: { warn: () => {} } });
  // The one exception the tests need: the image server itself, 127.0.0.1 on its own port. Set in
  // code, as production never does; every other loopback address and port stays refused.
  tuneRemoteImages({ allowAddress: (address, port) => address === '127.0.0.1' && port === imagePort });
  images.requests.length = 0;
  openai.requests.length = 0;
  anthropic.requests.length = 0;
});

afterEach(() => {
  resetUpstreamTuning();
  resetRemoteImageTuning();
});

function withImage(url: string) {
  return {
    model: 'claude-sonnet-4-5',
    max_tokens: 64,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image', source: { type: 'url', url } }] }],
  };
}

const openaiTarget = (remoteImages?: RemoteImageMode) => openAITarget(openai.url, remoteImages ? { remoteImages } : {});

async function send(url: string, target = openaiTarget()) {
  const body = withImage(url);
  const result = await dispatch(dispatchInput([target], { body }));
  return { status: result.status, text: await readText(result.body), body };
}

describe('remote images for an OpenAI-compatible upstream (default: Gatehouse fetches them)', () => {
  it('fetches a public image itself and sends it inline; the client body keeps its URL', async () => {
    const sent = await send(`${images.url}/cat.png`);
    expect(sent.status).toBe(200);
    expect(images.requests).toHaveLength(1);
    expect(openai.requests[0]!.body).toMatchObject({
      messages: [{ role: 'user', content: [{ type: 'text' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${TINY_PNG.toString('base64')}` } }] }],
    });
    expect(openai.requests[0]!.rawBody).not.toContain('/cat.png');
    // What was inspected and recorded is untouched.
    expect(sent.body.messages[0]!.content[1]).toEqual({ type: 'image', source: { type: 'url', url: `${images.url}/cat.png` } });
  });

  it('follows a redirect, checking the next hop the same way', async () => {
    expect((await send(`${images.url}/redirect?to=${encodeURIComponent('/cat.png')}`)).status).toBe(200);
    expect(images.requests.map((request) => request.path)).toEqual(['/redirect', '/cat.png']);
  });

  const refused: [string, () => string, RegExp][] = [
    ['127.0.0.1 (another port: the model server itself)', () => `${openai.url}/v1/models`, /address is not public \(loopback\)/],
    ['10.x', () => 'http://10.20.30.40/cat.png', /not public \(private\)/],
    ['the cloud metadata address', () => 'http://169.254.169.254/latest/meta-data/iam/security-credentials/', /not public \(linkLocal\)/],
    ['the metadata address as IPv4-mapped IPv6', () => 'http://[::ffff:169.254.169.254]/latest/meta-data/', /not public \(linkLocal\)/],
    ["AWS's IPv6 metadata address", () => 'http://[fd00:ec2::254]/latest/meta-data/', /not public \(uniqueLocal\)/],
    ['127.0.0.1 as an IPv4-compatible IPv6 address', () => `http://[::127.0.0.1]:${imagePort}/cat.png`, /not public/],
    ['the metadata address as an IPv4-compatible IPv6 address', () => 'http://[::a9fe:a9fe]/latest/meta-data/', /not public \(outsideGlobalUnicast\)/],
    ['GCP metadata by name', () => 'http://metadata.google.internal/computeMetadata/v1/', /cloud metadata service/],
    ['[::1]', () => `http://[::1]:${imagePort}/cat.png`, /not public \(loopback\)/],
    ['a CGNAT address', () => 'http://100.64.1.2/cat.png', /not public \(carrierGradeNat\)/],
    ['a host name that resolves to loopback', () => `http://localhost:${Number(new URL(openai.url).port)}/v1/models`, /resolves to an address that is not public \(loopback\)/],
    ['the integer spelling of 127.0.0.1', () => `http://2130706433:${Number(new URL(openai.url).port)}/`, /not public \(loopback\)/],
    ['a redirect to the metadata address', () => `${images.url}/redirect?to=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`, /not public \(linkLocal\)/],
    ['a redirect to a private address', () => `${images.url}/redirect?to=${encodeURIComponent('http://192.168.1.1/admin')}`, /not public \(private\)/],
    ['a file: URL', () => 'file:///etc/passwd', /only http and https/],
    ['credentials in the URL', () => `http://user:pass@127.0.0.1:${imagePort}/cat.png`, /credentials/],
    ['too many redirects', () => `${images.url}/loop`, /redirected more than 3 times/],
    ['a page that is not an image', () => `${images.url}/page.html`, /not an image \(text\/html\)/],
    ['HTML that claims to be a PNG', () => `${images.url}/fake.png`, /not a PNG, JPEG, GIF or WebP/],
    ['a missing image', () => `${images.url}/missing.png`, /answered 404/],
  ];
  it.each(refused)('refuses %s with a 400, and the upstream never sees the request', async (_what, url, reason) => {
    const sent = await send(url());
    expect(sent.status).toBe(400);
    const error = JSON.parse(sent.text) as { error: { type: string; message: string } };
    expect(error.error.type).toBe('invalid_request_error');
    expect(error.error.message).toMatch(reason);
    expect(error.error.message).toContain('providers.fake-openai.remote_images: fetch');
    expect(openai.requests).toHaveLength(0);
  });

  it('never connects to a refused address: the fake upstream on loopback saw no image request', async () => {
    await send(`${openai.url}/cat.png`);
    expect(openai.requests).toHaveLength(0);
  });

  it('caps the size and the time', async () => {
    tuneRemoteImages({ maxBytes: 1024 });
    expect((await send(`${images.url}/big.png`)).text).toMatch(/larger than 1024 bytes/);
    tuneRemoteImages({ timeoutMs: 200 });
    const started = performance.now();
    expect((await send(`${images.url}/slow.png`)).text).toMatch(/did not arrive within 200 ms/);
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it('fetches at most maxImages images for one request, refusing one with more before fetching any', async () => {
    tuneRemoteImages({ maxImages: 2 });
    const body = withImage(`${images.url}/cat.png?1`);
    body.messages[0]!.content.push({ type: 'image', source: { type: 'url', url: `${images.url}/cat.png?2` } }, { type: 'image', source: { type: 'url', url: `${images.url}/cat.png?3` } });
    const result = await dispatch(dispatchInput([openaiTarget()], { body }));
    expect(result.status).toBe(400);
    expect(await readText(result.body)).toContain('more than 2 images by URL');
    expect(images.requests).toHaveLength(0);
    expect(openai.requests).toHaveLength(0);
  });

  it('fetches each image once, whichever targets need it', async () => {
    const failing = await startFakeOpenAI({ behaviour: openAIFailures.serverError() });
    try {
      const body = withImage(`${images.url}/cat.png`);
      const result = await dispatch(dispatchInput([openAITarget(failing.url, { provider: 'first' }), openaiTarget()], { body }));
      expect(result.status).toBe(200);
      expect(failing.requests).toHaveLength(1);
      expect(images.requests).toHaveLength(1);
    } finally {
      await failing.close();
    }
  });
});

describe('remote images by provider setting', () => {
  it('refuse: answers 400 naming the setting, fetching nothing', async () => {
    const sent = await send(`${images.url}/cat.png`, openaiTarget('refuse'));
    expect(sent.status).toBe(400);
    expect(sent.text).toContain('providers.fake-openai.remote_images: refuse');
    expect(images.requests).toHaveLength(0);
    expect(openai.requests).toHaveLength(0);
  });

  it('forward: the URL goes on as it came', async () => {
    expect((await send('https://images.example.test/cat.png', openaiTarget('forward'))).status).toBe(200);
    expect(openai.requests[0]!.rawBody).toContain('https://images.example.test/cat.png');
  });

  it('anthropic providers forward by default (Anthropic fetches from its own network), and fetch when told to', async () => {
    expect((await send('https://images.example.test/cat.png', anthropicTarget(anthropic.url))).status).toBe(200);
    expect(anthropic.requests[0]!.body).toMatchObject({ messages: [{ content: [{ type: 'text' }, { type: 'image', source: { type: 'url', url: 'https://images.example.test/cat.png' } }] }] });

    expect((await send(`${images.url}/cat.png`, anthropicTarget(anthropic.url, { remoteImages: 'fetch' }))).status).toBe(200);
    expect(anthropic.requests[1]!.body).toMatchObject({
      messages: [{ content: [{ type: 'text' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: TINY_PNG.toString('base64') } }] }],
    });
  });
});
