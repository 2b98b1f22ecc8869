import { configStore, type GatehouseConfig, type ModelTarget } from '@/lib/config';
import type { UpstreamTarget } from '@/lib/gateway/contracts';
import { priceBookFor } from '@/lib/gateway/pricing';
import { circuitState } from '@/lib/gateway/upstreams/circuit-breaker';

export interface PolicyStatus {
  /** `pv_…`, or null when no configuration could be loaded. */
  version: string | null;
  source: 'file' | 'defaults' | null;
  /** Why the file is not (or no longer) in force; the previous good version stays in force. */
  problem: string | null;
}

/** The policy version in force in this process, for the overview. Never throws: a broken config is shown, not fatal. */
export function currentPolicyStatus(): PolicyStatus {
  try {
    const store = configStore();
    const snapshot = store.current();
    return { version: snapshot.policyVersion, source: snapshot.source, problem: store.lastError ? store.lastError.message.split('\n')[0] ?? null : null };
  } catch (error) {
    return { version: null, source: null, problem: error instanceof Error ? error.message.split('\n')[0] ?? error.message : String(error) };
  }
}

export interface TargetView {
  /** `provider/model`. */
  name: string;
  providerType: string;
  /** This process's circuit breaker for the target: open means requests skip it now. */
  circuit: 'closed' | 'open' | 'half_open';
}

export interface PriceView {
  source: 'config' | 'snapshot';
  id: string;
  /** Microdollars per million tokens (the price book's picodollars per token). */
  input: number;
  output: number;
  cacheWrite: number;
  cacheRead: number;
}

export interface ModelView {
  id: string;
  targets: TargetView[];
  price: PriceView | null;
}

export interface RouteView {
  name: string;
  /** The match conditions in words, e.g. `department = support, model = claude-sonnet-4-5`; "every request" when empty. */
  match: string;
  /** `model claude-haiku-4-5` or `targets`. */
  destination: string;
  targets: TargetView[];
  maxCostMicrodollars: number | null;
}

/** What the gateway enforces right now, as the policy page shows it. */
export interface EffectivePolicy {
  status: PolicyStatus;
  terms: string[];
  patterns: string[];
  secretsMode: 'block' | 'redact';
  modelAccess: { match: string; allow: string[] }[];
  upstreamFeatures: { serverTools: string[]; mcpServers: string; betas: string[] };
  maxBodyBytes: number;
  models: ModelView[];
  routes: RouteView[];
}

function targetView(config: GatehouseConfig, target: ModelTarget): TargetView {
  const providerType = config.providers[target.provider]?.type ?? 'unknown';
  return { name: `${target.provider}/${target.model}`, providerType, circuit: circuitState({ provider: target.provider, model: target.model }) };
}

function priceView(config: GatehouseConfig, id: string, first: ModelTarget | undefined): PriceView | null {
  const provider = first ? config.providers[first.provider] : undefined;
  // The book reads only the target's model name and provider type.
  const target = first && provider ? ({ provider: first.provider, providerType: provider.type, baseUrl: provider.base_url, model: first.model } as UpstreamTarget) : undefined;
  const price = priceBookFor(config).priceFor(id, target);
  return price ? { source: price.source, id: price.id, input: price.input, output: price.output, cacheWrite: price.cacheWrite, cacheRead: price.cacheRead } : null;
}

function describeMatch(match: Record<string, string | undefined>): string {
  const parts = Object.entries(match)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key} = ${value}`);
  return parts.length ? parts.join(', ') : 'every request';
}

/** The configuration in force in this process, for the policy page; null when none could be loaded. */
export function effectivePolicy(): EffectivePolicy | null {
  const status = currentPolicyStatus();
  let config: GatehouseConfig;
  try {
    config = configStore().current().config;
  } catch {
    return null;
  }
  const { policy } = config;
  return {
    status,
    terms: [...policy.blocklist.terms],
    patterns: [...policy.blocklist.patterns],
    secretsMode: policy.secrets.mode,
    modelAccess: policy.model_access.map((rule) => ({ match: describeMatch(rule.match), allow: [...rule.allow] })),
    upstreamFeatures: {
      serverTools: [...policy.upstream_features.allow_server_tools],
      mcpServers: policy.upstream_features.allow_mcp_servers === true ? 'any' : policy.upstream_features.allow_mcp_servers === false ? 'none' : policy.upstream_features.allow_mcp_servers.join(', '),
      betas: [...policy.upstream_features.allow_betas],
    },
    maxBodyBytes: policy.max_body_bytes,
    models: Object.entries(config.models).map(([id, model]) => ({ id, targets: model.targets.map((target) => targetView(config, target)), price: priceView(config, id, model.targets[0]) })),
    routes: config.routes.map((route, index) => ({
      name: `routes[${index}]`,
      match: describeMatch(route.match),
      destination: route.model !== undefined ? `model ${route.model}` : 'targets',
      targets: (route.model !== undefined ? (config.models[route.model]?.targets ?? []) : (route.targets ?? [])).map((target) => targetView(config, target)),
      maxCostMicrodollars: route.max_cost_microdollars ?? null,
    })),
  };
}
