/**
 * gatehouse.yaml `policy.upstream_features`: request fields and anthropic-beta values that make
 * the model provider act on its own (fetch a URL, search the web, run code, drive a computer,
 * connect to an MCP server, read files stored with the provider) are refused unless the policy
 * allows them. Everything else passes untouched, unknown fields and betas included: Claude Code
 * adds new ones in any release (interleaved-thinking, context-management, effort, tool search…).
 */
import type { RE2JS } from 're2js';
import type { ServerTool, UpstreamFeaturesConfig } from '@/lib/config/schema/policy';
import { isRecord } from '@/lib/platform/json';
import { globToRegExp } from './glob';

/** Why a request was refused: the field at fault and the policy key that would allow it. */
export interface FeatureRefusal {
  /** Where, e.g. `tools[2].type`, `mcp_servers`, `anthropic-beta`. */
  field: string;
  /** The policy key, e.g. `policy.upstream_features.allow_server_tools`. */
  rule: string;
  message: string;
}

type Json = Record<string, unknown>;

const RULE = {
  serverTools: 'policy.upstream_features.allow_server_tools',
  mcpServers: 'policy.upstream_features.allow_mcp_servers',
  betas: 'policy.upstream_features.allow_betas',
} as const;

/** tools[] `type` → the server tool it is (`web_fetch_20250910` → web_fetch). */
function serverToolOf(type: string): ServerTool | 'mcp_toolset' | null {
  const match = /^(web_search|web_fetch|code_execution|computer)(?:_|$)/.exec(type);
  if (match) return match[1] as ServerTool;
  return type === 'mcp_toolset' ? 'mcp_toolset' : null;
}

/**
 * Beta families that switch on something reaching out, and what in the policy, besides
 * `allow_betas`, allows them (allowing web_fetch allows its beta too).
 */
const GATED_BETAS: { prefix: string; tool?: ServerTool; mcp?: true }[] = [
  { prefix: 'mcp-client-', mcp: true },
  { prefix: 'web-fetch-', tool: 'web_fetch' },
  { prefix: 'web-search-', tool: 'web_search' },
  { prefix: 'code-execution-', tool: 'code_execution' },
  // Skills run in the code execution container.
  { prefix: 'skills-', tool: 'code_execution' },
  { prefix: 'computer-use-', tool: 'computer' },
  // File ids name files stored with the provider account, which every user of it shares.
  { prefix: 'files-api-' },
];

/** Beta values from the anthropic-beta header (comma-separated) and a Bedrock-style body field. */
function betasOf(header: string | null, body: Json): { value: string; field: string }[] {
  const values = (header ?? '')
    .split(',')
    .map((value) => value.trim())
    .filter(Boolean)
    .map((value) => ({ value, field: 'anthropic-beta' }));
  if (Array.isArray(body.anthropic_beta)) {
    body.anthropic_beta.forEach((value, index) => {
      if (typeof value === 'string') values.push({ value: value.trim(), field: `anthropic_beta[${index}]` });
    });
  }
  return values;
}

export class UpstreamFeatures {
  private readonly tools: ReadonlySet<ServerTool>;
  private readonly mcp: boolean | RE2JS[];
  private readonly betas: RE2JS[];

  constructor(config: UpstreamFeaturesConfig) {
    this.tools = new Set(config.allow_server_tools);
    this.mcp = Array.isArray(config.allow_mcp_servers) ? config.allow_mcp_servers.map(globToRegExp) : config.allow_mcp_servers;
    this.betas = config.allow_betas.map(globToRegExp);
  }

  private get mcpAllowed(): boolean {
    return this.mcp !== false && (this.mcp === true || this.mcp.length > 0);
  }

  /** The first thing in the request the policy does not allow, or null. */
  check(body: Json, betaHeader: string | null): FeatureRefusal | null {
    return this.checkTools(body) ?? this.checkMcpServers(body) ?? this.checkContainer(body) ?? this.checkBetas(betaHeader, body);
  }

  private checkTools(body: Json): FeatureRefusal | null {
    if (!Array.isArray(body.tools)) return null;
    for (const [index, tool] of body.tools.entries()) {
      if (!isRecord(tool) || typeof tool.type !== 'string') continue;
      const kind = serverToolOf(tool.type);
      if (kind === null) continue;
      const field = `tools[${index}].type`;
      if (kind === 'mcp_toolset') {
        if (this.mcpAllowed) continue;
        return { field, rule: RULE.mcpServers, message: `${field} is an MCP toolset, which the provider connects to itself; this gateway's policy does not allow it (${RULE.mcpServers})` };
      }
      if (this.tools.has(kind)) continue;
      return {
        field,
        rule: RULE.serverTools,
        message: `${field} is the server tool ${tool.type.slice(0, 60)}, which the provider runs on its own; this gateway's policy does not allow it (${RULE.serverTools}: ${kind})`,
      };
    }
    return null;
  }

  private checkMcpServers(body: Json): FeatureRefusal | null {
    const servers = body.mcp_servers;
    if (servers === undefined || servers === null || (Array.isArray(servers) && servers.length === 0)) return null;
    const refusal = (field: string): FeatureRefusal => ({
      field,
      rule: RULE.mcpServers,
      message: `${field} would make the provider connect to an MCP server that this gateway's policy does not allow (${RULE.mcpServers})`,
    });
    if (this.mcp === true) return null;
    if (this.mcp === false || !Array.isArray(servers)) return refusal('mcp_servers');
    for (const [index, server] of servers.entries()) {
      const url = isRecord(server) ? server.url : undefined;
      // The URL is never repeated in the message: it can carry a token.
      if (typeof url !== 'string' || !(this.mcp as RE2JS[]).some((glob) => glob.test(url))) return refusal(`mcp_servers[${index}]`);
    }
    return null;
  }

  private checkContainer(body: Json): FeatureRefusal | null {
    if (body.container === undefined || body.container === null || this.tools.has('code_execution')) return null;
    return {
      field: 'container',
      rule: RULE.serverTools,
      message: `container names a code execution sandbox the provider runs; this gateway's policy does not allow it (${RULE.serverTools}: code_execution)`,
    };
  }

  private checkBetas(header: string | null, body: Json): FeatureRefusal | null {
    for (const { value, field } of betasOf(header, body)) {
      const family = GATED_BETAS.find((gated) => value.toLowerCase().startsWith(gated.prefix));
      if (!family) continue;
      if ((family.tool && this.tools.has(family.tool)) || (family.mcp && this.mcpAllowed)) continue;
      if (this.betas.some((glob) => glob.test(value))) continue;
      return {
        field,
        rule: RULE.betas,
        message: `${field} value ${value.slice(0, 80)} switches on a provider feature that reaches outside this gateway; its policy does not allow it (${RULE.betas})`,
      };
    }
    return null;
  }
}
