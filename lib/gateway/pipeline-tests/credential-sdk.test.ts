// A cloud credential SDK that fails to load (a damaged install) is that target's credential error:
// the route fails over to its next target, and the log names the package. The import is made to
// fail with vi.mock; everything else is real (gateway, fake upstreams, SDK client).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { resetCircuitBreakers, resetUpstreamTuning, tuneUpstreams } from '@/lib/gateway/upstreams';
import { resetAwsCredentials } from '@/lib/gateway/upstreams/bedrock/signing';
import { FAKE_AWS_CREDENTIALS, startFakeAnthropic, startFakeBedrock, textReply, type FakeAnthropic, type FakeBedrock } from '@/lib/gateway/testing';
import { createTestUser } from '@/lib/oauth/test-harness';
import { newTestTraceId, startGateway, tokenFor, type GatewayHarness } from './harness';
import { sdkClient } from './cloud';

const importAttempts = vi.hoisted(() => ({ count: 0 }));
vi.mock('@aws-sdk/credential-provider-node', () => {
  importAttempts.count++;
  throw new Error("Cannot find module '@aws-sdk/credential-provider-node'");
});

let bedrock: FakeBedrock;
let anthropic: FakeAnthropic;
let gateway: GatewayHarness;
let token: string;
const warnings: string[] = [];

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = FAKE_AWS_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = FAKE_AWS_CREDENTIALS.secretAccessKey;
  resetAwsCredentials();
  bedrock = await startFakeBedrock();
  anthropic = await startFakeAnthropic();
  gateway = await startGateway(
    `
providers:
  aws: { type: bedrock, region: us-east-1, base_url: ${bedrock.url}, max_retries: 0, timeout_ms: 3000 }
  anthropic: { type: anthropic, base_url: ${anthropic.url}, max_retries: 0, timeout_ms: 3000 }
models:
  claude-sonnet-4-5:
    targets: [{ provider: aws, model: "anthropic.claude-sonnet-4-5-20250929-v1:0" }, { provider: anthropic, model: claude-sonnet-4-5 }]
    price: { input_per_mtok_microdollars: 3000000, output_per_mtok_microdollars: 15000000 }
`,
    'credential-sdk',
  );
  token = await tokenFor(gateway, await createTestUser(['member']));
  tuneUpstreams({ logger: { warn: (message, details) => warnings.push(`${message} ${JSON.stringify(details ?? {})}`) } });
});

afterAll(async () => {
  await bedrock.close();
  await anthropic.close();
  await gateway.close();
  resetUpstreamTuning();
});

describe('a credential SDK that fails to load', () => {
  it('fails a Bedrock → Anthropic route over to Anthropic, naming the package in the log, and tries the import again next time', async () => {
    anthropic.setBehaviour({ kind: 'reply', reply: textReply('Served by the second target.') });
    for (const attempt of [1, 2]) {
      resetCircuitBreakers();
      const message = await sdkClient(gateway, token, newTestTraceId()).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] });
      expect(message.content).toEqual([{ type: 'text', text: 'Served by the second target.' }]);
      expect(warnings.filter((line) => line.startsWith('upstream credential unavailable') && line.includes('@aws-sdk/credential-provider-node'))).toHaveLength(attempt);
    }
    expect(bedrock.requests).toHaveLength(0);
    expect(importAttempts.count).toBe(2);
  });
});
