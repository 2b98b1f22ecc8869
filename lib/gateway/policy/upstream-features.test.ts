import { describe, expect, it } from 'vitest';
import { parseGatehouseConfig } from '@/lib/config';
import { UpstreamFeatures } from './upstream-features';

const features = (yaml = '') => new UpstreamFeatures(parseGatehouseConfig(`policy:\n  upstream_features: {${yaml}}\n`, 'gatehouse.yaml').policy.upstream_features);
const ask = (extra: Record<string, unknown> = {}) => ({ model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }], ...extra });

// What Claude Code 2.1.330 sent in both sign-in modes (shared contracts), plus the betas it is known to use.
const CLAUDE_CODE_BETAS = [
  'claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,per-turn-control-2026-07-01,mid-conversation-tool-changes-2026-07-01,thinking-token-count-2026-05-13,advanced-tool-use-2025-11-20,effort-2025-11-24',
  'claude-code-20250219,interleaved-thinking-2025-05-14,tool-search-tool-2025-10-19',
  'prompt-caching-2024-07-31,fine-grained-tool-streaming-2025-05-14,token-counting-2024-11-01,context-1m-2025-08-07,extended-cache-ttl-2025-04-11,oauth-2025-04-20',
];

describe('upstream features by policy', () => {
  it("lets Claude Code's usual betas and tools through by default", () => {
    const claudeCodeTools = [
      { name: 'Bash', description: 'Run a command', input_schema: { type: 'object' } },
      { type: 'custom', name: 'Read', input_schema: { type: 'object' } },
      { type: 'tool_search_tool_regex_20251119', name: 'tool_search_tool_regex' },
      { type: 'text_editor_20250728', name: 'str_replace_based_edit_tool' },
    ];
    for (const betas of CLAUDE_CODE_BETAS) expect(features().check(ask({ tools: claudeCodeTools, context_management: { edits: [] } }), betas), betas).toBeNull();
  });

  it('refuses server tools, MCP servers, containers and their betas by default, naming the field and the policy key', () => {
    const cases: [Record<string, unknown>, string | null, { field: string; rule: string }][] = [
      [ask({ tools: [{ name: 'ok', input_schema: {} }, { type: 'web_fetch_20250910', name: 'web_fetch' }] }), null, { field: 'tools[1].type', rule: 'policy.upstream_features.allow_server_tools' }],
      [ask({ tools: [{ type: 'web_search_20250305', name: 'web_search' }] }), null, { field: 'tools[0].type', rule: 'policy.upstream_features.allow_server_tools' }],
      [ask({ tools: [{ type: 'code_execution_20250825', name: 'code_execution' }] }), null, { field: 'tools[0].type', rule: 'policy.upstream_features.allow_server_tools' }],
      [ask({ tools: [{ type: 'computer_20250124', name: 'computer', display_width_px: 1024 }] }), null, { field: 'tools[0].type', rule: 'policy.upstream_features.allow_server_tools' }],
      [ask({ tools: [{ type: 'mcp_toolset', mcp_server_name: 'wiki' }] }), null, { field: 'tools[0].type', rule: 'policy.upstream_features.allow_mcp_servers' }],
      [ask({ mcp_servers: [{ type: 'url', url: 'https://mcp.example.com/sse', name: 'wiki' }] }), null, { field: 'mcp_servers', rule: 'policy.upstream_features.allow_mcp_servers' }],
      [ask({ container: 'container_011CN' }), null, { field: 'container', rule: 'policy.upstream_features.allow_server_tools' }],
      [ask(), 'claude-code-20250219,mcp-client-2025-11-20', { field: 'anthropic-beta', rule: 'policy.upstream_features.allow_betas' }],
      [ask(), 'web-fetch-2025-09-10', { field: 'anthropic-beta', rule: 'policy.upstream_features.allow_betas' }],
      [ask(), 'code-execution-2025-08-25', { field: 'anthropic-beta', rule: 'policy.upstream_features.allow_betas' }],
      [ask(), 'files-api-2025-04-14', { field: 'anthropic-beta', rule: 'policy.upstream_features.allow_betas' }],
      [ask(), 'computer-use-2025-01-24', { field: 'anthropic-beta', rule: 'policy.upstream_features.allow_betas' }],
      [ask({ anthropic_beta: ['interleaved-thinking-2025-05-14', 'skills-2025-10-02'] }), null, { field: 'anthropic_beta[1]', rule: 'policy.upstream_features.allow_betas' }],
    ];
    for (const [body, betas, expected] of cases) {
      const refusal = features().check(body, betas);
      expect(refusal, JSON.stringify([body, betas])).toMatchObject(expected);
      expect(refusal!.message).toContain(expected.rule);
      expect(refusal!.message).toContain(expected.field);
    }
  });

  it('allows what the policy lists, and only that', () => {
    const allowing = features('allow_server_tools: [web_search, web_fetch], allow_mcp_servers: ["https://mcp.corp.example/*"], allow_betas: [files-api-*]');
    expect(allowing.check(ask({ tools: [{ type: 'web_search_20250305', name: 'web_search' }, { type: 'web_fetch_20250910', name: 'web_fetch' }] }), 'web-fetch-2025-09-10')).toBeNull();
    expect(allowing.check(ask({ mcp_servers: [{ type: 'url', url: 'https://mcp.corp.example/wiki', name: 'wiki' }], tools: [{ type: 'mcp_toolset', mcp_server_name: 'wiki' }] }), 'mcp-client-2025-11-20')).toBeNull();
    expect(allowing.check(ask(), 'files-api-2025-04-14')).toBeNull();

    expect(allowing.check(ask({ tools: [{ type: 'code_execution_20250825', name: 'code_execution' }] }), null)).toMatchObject({ field: 'tools[0].type' });
    const elsewhere = allowing.check(ask({ mcp_servers: [{ type: 'url', url: 'https://evil.example/mcp?token=s3cret', name: 'x' }] }), null);
    expect(elsewhere).toMatchObject({ field: 'mcp_servers[0]', rule: 'policy.upstream_features.allow_mcp_servers' });
    // The URL can carry a token: never repeated.
    expect(elsewhere!.message).not.toContain('evil.example');

    expect(features('allow_mcp_servers: true').check(ask({ mcp_servers: [{ type: 'url', url: 'https://any.example/', name: 'a' }] }), 'mcp-client-2025-04-04')).toBeNull();
    expect(features('allow_server_tools: [code_execution]').check(ask({ container: 'c1' }), 'code-execution-2025-08-25,skills-2025-10-02')).toBeNull();
  });

  it('refuses a misspelt server tool in gatehouse.yaml at load time', () => {
    expect(() => features('allow_server_tools: [web_fetcher]')).toThrow(/allow_server_tools/);
  });
});
