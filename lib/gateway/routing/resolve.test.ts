import { describe, expect, it } from 'vitest';
import { parseGatehouseConfig } from '@/lib/config';
import type { RouteRequest } from '@/lib/gateway/contracts';
import { resolveRoute } from '.';

const config = parseGatehouseConfig(
  `
providers:
  anthropic: { type: anthropic, base_url: https://api.anthropic.com, api_key_env: ANTHROPIC_API_KEY }
  vllm:
    type: openai_compatible
    base_url: http://vllm.internal:8000/v1
    timeout_ms: 5000
    max_retries: 0
    forward_attribution: true
    headers: { x-pool: gpu-a }
  azure: { type: azure, base_url: https://corp.openai.azure.com, api_key_env: AZURE_KEY, api_version: 2024-10-21 }
models:
  claude-sonnet-4-5:
    targets:
      - { provider: anthropic, model: claude-sonnet-4-5-20250929 }
      - { provider: vllm, model: qwen3-coder }
  claude-haiku-4-5:
    targets: [{ provider: anthropic, model: claude-haiku-4-5 }]
routes:
  - match: { department: support }
    model: claude-haiku-4-5
  - match: { role: researcher, model: claude-sonnet-4-5 }
    targets: [{ provider: azure, model: gpt-deployment }]
    max_cost_microdollars: 250000
  - match: { call_source: batch }
    targets: [{ provider: vllm, model: llama-70b }]
`,
  'gatehouse.yaml',
);

function request(overrides: Partial<RouteRequest> = {}): RouteRequest {
  return { model: 'claude-sonnet-4-5', department: 'engineering', roles: ['member'], callSource: null, ...overrides };
}

describe('resolveRoute', () => {
  it('falls back to the model entry, with provider settings on each target, primary first', () => {
    expect(resolveRoute(config, request())).toEqual({
      requestedModel: 'claude-sonnet-4-5',
      routeName: 'model:claude-sonnet-4-5',
      targets: [
        {
          provider: 'anthropic',
          providerType: 'anthropic',
          baseUrl: 'https://api.anthropic.com',
          apiKeyEnv: 'ANTHROPIC_API_KEY',
          model: 'claude-sonnet-4-5-20250929',
          timeoutMs: 60_000,
          nonStreamingTimeoutMs: 600_000,
          idleTimeoutMs: 60_000,
          maxRetries: 2,
          forwardAttribution: false,
          headers: {},
        },
        {
          provider: 'vllm',
          providerType: 'openai_compatible',
          baseUrl: 'http://vllm.internal:8000/v1',
          model: 'qwen3-coder',
          timeoutMs: 5000,
          nonStreamingTimeoutMs: 600_000,
          idleTimeoutMs: 5000,
          maxRetries: 0,
          forwardAttribution: true,
          headers: { 'x-pool': 'gpu-a' },
        },
      ],
    });
  });

  it('takes the first matching route, top to bottom, and sends it to the route model', () => {
    const decision = resolveRoute(config, request({ department: 'support', roles: ['researcher'] }));
    expect(decision?.routeName).toBe('routes[0]');
    expect(decision?.requestedModel).toBe('claude-sonnet-4-5');
    expect(decision?.targets.map((target) => target.model)).toEqual(['claude-haiku-4-5']);
  });

  it('counts a department-scoped binding for its role and carries the cost ceiling', () => {
    const scoped = resolveRoute(config, request({ roles: ['researcher@engineering'] }));
    expect(scoped?.routeName).toBe('routes[1]');
    expect(scoped?.maxCostMicrodollars).toBe(250_000);
    expect(scoped?.targets[0]).toMatchObject({ provider: 'azure', providerType: 'azure', model: 'gpt-deployment', apiVersion: '2024-10-21' });
    // Every condition must hold: the route is for claude-sonnet-4-5 only.
    expect(resolveRoute(config, request({ model: 'claude-haiku-4-5', roles: ['researcher'] }))?.routeName).toBe('model:claude-haiku-4-5');
    // A role that merely starts with the name is not the role.
    expect(resolveRoute(config, request({ roles: ['researchers'] }))?.routeName).toBe('model:claude-sonnet-4-5');
  });

  it('routes by call source even for a model with no entry, and gives null for an unknown model otherwise', () => {
    expect(resolveRoute(config, request({ model: 'anything', callSource: 'batch' }))).toMatchObject({
      routeName: 'routes[2]',
      targets: [{ provider: 'vllm', model: 'llama-70b' }],
    });
    expect(resolveRoute(config, request({ model: 'claude-opus-9' }))).toBeNull();
  });

  it('recompiles for a new configuration snapshot (a reload) and reuses decisions within one', () => {
    const first = resolveRoute(config, request());
    expect(resolveRoute(config, request())).toBe(first);
    const reloaded = parseGatehouseConfig(
      `
providers:
  anthropic: { type: anthropic, base_url: https://api.anthropic.com }
models:
  claude-sonnet-4-5:
    targets: [{ provider: anthropic, model: claude-sonnet-4-6 }]
`,
      'gatehouse.yaml',
    );
    expect(resolveRoute(reloaded, request())?.targets.map((target) => target.model)).toEqual(['claude-sonnet-4-6']);
  });
});
