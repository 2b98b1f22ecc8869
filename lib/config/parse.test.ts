import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors';
import { loadGatehouseConfig } from './load';
import { parseGatehouseConfig } from './parse';

/** The formatted issue lines for a broken file. */
function problems(text: string): string[] {
  try {
    parseGatehouseConfig(text, 'gatehouse.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  throw new Error('expected the file to be rejected');
}

describe('parseGatehouseConfig', () => {
  it('gives every section its defaults for an empty file', () => {
    expect(parseGatehouseConfig('# nothing yet\n', 'gatehouse.yaml')).toEqual({
      tenant: { name: 'Default', slug: 'default' },
      audit: { content_retention_days: 30, partitions_ahead: 2 },
      providers: {},
      models: {},
      routes: [],
      policy: {
        blocklist: { terms: [], patterns: [] },
        secrets: { mode: 'redact' },
        model_access: [],
        upstream_features: { allow_server_tools: [], allow_mcp_servers: false, allow_betas: [] },
        max_body_bytes: 32 * 1024 * 1024,
      },
      limits: { rate: [], budgets: [], budget_alerts: {}, count_tokens_per_minute: 120, mcp_requests_per_minute: 600 },
      gateway: { reconcile_after_seconds: 3600, map_unknown_claude_models: false },
      managed_settings: [],
      sso: { providers: [] },
      siem: { sinks: [] },
    });
  });

  it('loads the documented example shipped at the repository root', () => {
    const snapshot = loadGatehouseConfig('gatehouse.example.yaml');
    expect(snapshot.source).toBe('file');
    expect(snapshot.policyVersion).toMatch(/^pv_[0-9a-f]{16}$/);
    expect(snapshot.config.tenant.slug).toBe('example');
    // Works out of the box: every model is served by the demo upstream, free; real providers are commented out.
    expect(Object.keys(snapshot.config.providers)).toEqual(['demo', 'demo-openai']);
    expect(Object.values(snapshot.config.models).flatMap((model) => model.targets.map((t) => t.provider))).toEqual(['demo', 'demo', 'demo-openai']);
    expect(Object.values(snapshot.config.models).map((model) => model.price)).toEqual(Array(3).fill({ input_per_mtok_microdollars: 0, output_per_mtok_microdollars: 0 }));
    expect(snapshot.config.routes).toHaveLength(3);
    expect(snapshot.config.gateway).toMatchObject({ default_model: 'claude-sonnet-4-5', map_unknown_claude_models: true });
    // Claude Code exports nothing without the protocol; it starts on a model the gateway serves.
    expect(snapshot.config.managed_settings[0]?.settings).toMatchObject({ model: 'claude-sonnet-4-5', env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', CLAUDE_CODE_ENABLE_TELEMETRY: '1' } });
    expect(snapshot.config.sso.providers).toEqual([]);
    expect(readFileSync('gatehouse.example.yaml', 'utf8')).toContain('# ');
  });

  it('treats a missing file as all defaults', () => {
    const snapshot = loadGatehouseConfig('does-not-exist/gatehouse.yaml');
    expect(snapshot.source).toBe('defaults');
    expect(snapshot.config.audit.partitions_ahead).toBe(2);
  });

  it('names the line and field of wrong types, unknown fields and bad values', () => {
    expect(
      problems(
        [
          'tenant:', //                                   1
          '  name: Acme', //                              2
          '  slgu: acme', //                              3
          'audit:', //                                    4
          '  partitions_ahead: "3"', //                   5
          'routes:', //                                   6
          '  - match: { department: support }', //        7
          '    model: 12', //                             8
          'policy:', //                                   9
          '  secrets: { mode: warn }', //                 10
        ].join('\n'),
      ),
    ).toEqual([
      'gatehouse.yaml:3: tenant.slgu: unknown field',
      'gatehouse.yaml:5: audit.partitions_ahead: expected number, got string "3"',
      'gatehouse.yaml:8: routes[0].model: expected string, got 12',
      'gatehouse.yaml:10: policy.secrets.mode: expected one of block | redact',
    ]);
  });

  it('reports a missing required field at its parent mapping', () => {
    expect(problems(['providers:', '  anthropic:', '    type: anthropic', '    api_key_env: ANTHROPIC_API_KEY'].join('\n'))).toEqual([
      'gatehouse.yaml:3: providers.anthropic.base_url: required',
    ]);
  });

  it('derives a cloud provider\'s endpoint from its region and needs what the cloud needs', () => {
    const config = parseGatehouseConfig(
      ['providers:', '  aws: { type: bedrock, region: eu-west-1 }', '  gcp: { type: vertex, region: global, project: my-project-1 }', '  ai: { type: gemini, api_key_env: GEMINI_API_KEY }'].join('\n'),
      'gatehouse.yaml',
    );
    expect(config.providers.aws?.base_url).toBe('https://bedrock-runtime.eu-west-1.amazonaws.com');
    expect(config.providers.gcp?.base_url).toBe('https://aiplatform.googleapis.com');
    expect(config.providers.ai?.base_url).toBe('https://generativelanguage.googleapis.com');
    expect(problems(['providers:', '  aws: { type: bedrock }', '  gcp: { type: vertex, region: us-east5 }', '  az: { type: foundry, api_key_env: FOUNDRY_KEY }'].join('\n'))).toEqual([
      'gatehouse.yaml:2: providers.aws.region: required for type bedrock',
      'gatehouse.yaml:3: providers.gcp.project: required for type vertex',
      'gatehouse.yaml:4: providers.az.base_url: required',
    ]);
  });

  it('checks provider and model fields', () => {
    expect(
      problems(
        [
          'providers:', //                                1
          '  main:', //                                   2
          '    type: openrouter', //                      3
          '    base_url: ftp://example.com', //           4
          '    api_key_env: my-key', //                   5
          'models:', //                                   6
          '  sonnet:', //                                 7
          '    targets: []', //                           8
          '    price:', //                                9
          '      input_per_mtok_microdollars: -1', //     10
          '      output_per_mtok_microdollars: 1.5', //   11
        ].join('\n'),
      ),
    ).toEqual([
      'gatehouse.yaml:3: providers.main.type: expected one of anthropic | openai | bedrock | vertex | gemini | foundry | azure | groq | openai_compatible',
      'gatehouse.yaml:4: providers.main.base_url: must be an http(s) URL',
      'gatehouse.yaml:5: providers.main.api_key_env: must be an environment variable name like ANTHROPIC_API_KEY',
      'gatehouse.yaml:8: models.sonnet.targets: needs at least 1 item',
      'gatehouse.yaml:10: models.sonnet.price.input_per_mtok_microdollars: must be ≥ 0',
      'gatehouse.yaml:11: models.sonnet.price.output_per_mtok_microdollars: expected whole number, got 1.5',
    ]);
  });

  it('rejects routes and models that name undefined models or providers, at their line', () => {
    expect(
      problems(
        [
          'providers:', //                                             1
          '  anthropic: { type: anthropic, base_url: https://api.anthropic.com }', // 2
          'models:', //                                                3
          '  sonnet:', //                                              4
          '    targets:', //                                           5
          '      - { provider: anthropic, model: claude-sonnet-4-5 }', // 6
          '      - { provider: bedrock, model: claude-sonnet }', //    7
          'routes:', //                                                8
          '  - match: { role: admin }', //                             9
          '    model: opus', //                                        10
          '  - match: {}', //                                          11
          '    targets:', //                                           12
          '      - provider: openai', //                               13
          '        model: gpt-5', //                                   14
        ].join('\n'),
      ),
    ).toEqual([
      'gatehouse.yaml:7: models.sonnet.targets[1].provider: unknown provider "bedrock" (define it under providers)',
      'gatehouse.yaml:10: routes[0].model: unknown model "opus" (define it under models)',
      'gatehouse.yaml:13: routes[1].targets[0].provider: unknown provider "openai" (define it under providers)',
    ]);
  });

  it('takes `api` on a Bedrock target only', () => {
    const yaml = (type: string) =>
      ['providers:', `  cloud: { type: ${type}, region: us-east-1, base_url: https://example.com }`, 'models:', '  profile:', '    targets:', '      - { provider: cloud, model: "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2", api: invoke }'].join('\n');
    expect(parseGatehouseConfig(yaml('bedrock'), 'gatehouse.yaml').models.profile!.targets[0]!.api).toBe('invoke');
    expect(problems(yaml('anthropic'))).toEqual(['gatehouse.yaml:6: models.profile.targets[0].api: `api` chooses between Bedrock APIs: only for a provider of type bedrock']);
  });

  it('requires a route to say where requests go, and checks blocklist patterns compile', () => {
    expect(
      problems(['routes:', '  - match: { department: legal }', 'policy:', '  blocklist:', "    patterns: ['(unclosed']"].join('\n')),
    ).toEqual([
      'gatehouse.yaml:2: routes[0]: a route needs either `model` or `targets`',
      'gatehouse.yaml:5: policy.blocklist.patterns[0]: not a valid RE2 regular expression (error parsing regexp: missing closing ): `(unclosed`)',
    ]);
  });

  it('reports YAML syntax errors and duplicate keys with their line', () => {
    expect(problems('tenant:\n  name: Acme\n  name: Again\n')).toEqual(['gatehouse.yaml:3: YAML syntax: Map keys must be unique']);
    expect(problems('tenant:\n  name: Acme\n slug: acme\naudit: {}\n')).toEqual([
      'gatehouse.yaml:3: YAML syntax: All mapping items must start at the same column',
    ]);
    expect(problems('tenant:\n  name: Acme\n\tslug: acme\n')[0]).toBe('gatehouse.yaml:3: YAML syntax: Tabs are not allowed as indentation');
  });

  it('rejects a file that is not a mapping of sections', () => {
    expect(problems('- tenant\n- audit\n')).toEqual(['gatehouse.yaml:1: (top level): expected a mapping, got a list']);
  });
});
