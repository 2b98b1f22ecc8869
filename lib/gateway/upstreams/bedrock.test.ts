import { describe, expect, it } from 'vitest';
import { exceptionFrame } from '@/lib/gateway/testing';
import { acceptedBetas } from './betas';
import { eventStreamFrames } from './bedrock/event-stream';
import { invokeBody } from './bedrock/invoke';
import { isClaudeOnBedrock } from './bedrock/adapter';
import { dispatchInput } from '@/lib/gateway/testing';
import type { UpstreamTarget } from '@/lib/gateway/contracts';

const target: UpstreamTarget = { provider: 'aws', providerType: 'bedrock', baseUrl: 'http://127.0.0.1:9', model: 'anthropic.claude-sonnet-4-5-20250929-v1:0', region: 'us-east-1' };

function streamOf(bytes: Uint8Array, pieceSize: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + pieceSize));
      at += pieceSize;
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>) {
  const groups = [];
  for await (const frames of eventStreamFrames(stream)) groups.push(frames);
  return groups;
}

describe('Bedrock event-stream decoding', () => {
  it('reassembles messages split across network chunks, whatever the boundaries', async () => {
    const bytes = Buffer.concat([exceptionFrame('throttlingException', 'slow down'), exceptionFrame('modelStreamErrorException', 'broke')]);
    for (const size of [1, 5, 13, bytes.length]) {
      const frames = (await collect(streamOf(bytes, size))).flat();
      expect(frames, `chunks of ${size}`).toEqual([
        { kind: 'exception', type: 'throttlingException', message: 'slow down' },
        { kind: 'exception', type: 'modelStreamErrorException', message: 'broke' },
      ]);
    }
  });

  it('refuses a corrupt frame and a stream that stops inside a message', async () => {
    const corrupt = Buffer.from(exceptionFrame('throttlingException', 'slow down'));
    corrupt[corrupt.length - 6]! ^= 0xff;
    await expect(collect(streamOf(corrupt, 64))).rejects.toThrow(/checksum/i);
    const cut = exceptionFrame('throttlingException', 'slow down').slice(0, 20);
    await expect(collect(streamOf(cut, 64))).rejects.toThrow(/inside a message/);
  });
});

describe('InvokeModel body', () => {
  it('drops model, stream and tags, adds the Bedrock version and moves accepted betas into the body', () => {
    const input = dispatchInput([target], {
      body: { model: 'claude-sonnet-4-5', stream: true, tags: { team: 'x' }, max_tokens: 5, messages: [], anthropic_beta: ['context-1m-2025-08-07'] },
      headers: { 'anthropic-beta': 'claude-code-20250219, advanced-tool-use-2025-11-20, made-up-2099-01-01' },
    });
    expect(invokeBody(input, target)).toEqual({
      anthropic_version: 'bedrock-2023-05-31',
      max_tokens: 5,
      messages: [],
      anthropic_beta: ['claude-code-20250219', 'tool-search-tool-2025-10-19', 'context-1m-2025-08-07'],
    });
  });

  it('passes every beta to upstreams without an allowlist', () => {
    expect(acceptedBetas({ ...target, providerType: 'anthropic' }, 'made-up-2099-01-01,claude-code-20250219')).toEqual(['made-up-2099-01-01', 'claude-code-20250219']);
  });

  it('tells Claude model ids and profiles from other Bedrock models', () => {
    expect(isClaudeOnBedrock(target)).toBe(true);
    expect(isClaudeOnBedrock({ ...target, model: 'us.anthropic.claude-opus-4-1-20250805-v1:0' })).toBe(true);
    expect(isClaudeOnBedrock({ ...target, model: 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0' })).toBe(true);
    expect(isClaudeOnBedrock({ ...target, model: 'meta.llama3-3-70b-instruct-v1:0' })).toBe(false);
    expect(isClaudeOnBedrock({ ...target, model: 'amazon.nova-pro-v1:0' })).toBe(false);
    // An application inference profile names no model: the YAML's `api` says which it is.
    const profile = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6';
    expect(isClaudeOnBedrock({ ...target, model: profile })).toBe(false);
    expect(isClaudeOnBedrock({ ...target, model: profile, bedrockApi: 'invoke' })).toBe(true);
    expect(isClaudeOnBedrock({ ...target, model: 'anthropic.claude-opus-4-1-20250805-v1:0', bedrockApi: 'converse' })).toBe(false);
  });
});
