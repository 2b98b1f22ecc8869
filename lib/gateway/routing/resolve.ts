/**
 * The routing table: which upstream targets serve a request, from gatehouse.yaml `routes`,
 * `models` and `providers`. Compiled once per configuration snapshot (a reload replaces the
 * snapshot object, so a WeakMap keyed on it is a cache per policy version) and memoised per
 * distinct (model, department, roles, call source), so the hot path is a map lookup.
 */
import type { GatehouseConfig, ModelTarget, RouteConfig } from '@/lib/config';
import type { RouteDecision, RouteRequest, UpstreamTarget } from '@/lib/gateway/contracts';

interface CompiledRoute {
  name: string;
  match: RouteConfig['match'];
  targets: UpstreamTarget[];
  maxCostMicrodollars?: number;
}

interface CompiledTable {
  routes: CompiledRoute[];
  models: Map<string, UpstreamTarget[]>;
  memo: Map<string, RouteDecision | null>;
}

/** Distinct callers × models are few; the bound only guards against a flood of made-up model ids. */
const MEMO_LIMIT = 10_000;

const tables = new WeakMap<GatehouseConfig, CompiledTable>();

function toUpstreamTargets(config: GatehouseConfig, targets: ModelTarget[]): UpstreamTarget[] {
  return targets.flatMap((target) => {
    const provider = config.providers[target.provider];
    // The config loader refuses unknown providers; this only guards hand-built configs in tests.
    if (!provider) return [];
    const upstream: UpstreamTarget = {
      provider: target.provider,
      providerType: provider.type,
      baseUrl: provider.base_url,
      model: target.model,
      timeoutMs: provider.timeout_ms,
      nonStreamingTimeoutMs: provider.non_streaming_timeout_ms,
      idleTimeoutMs: provider.idle_timeout_ms ?? provider.timeout_ms,
      maxRetries: provider.max_retries,
      forwardAttribution: provider.forward_attribution,
      headers: provider.headers,
    };
    if (provider.api_key_env !== undefined) upstream.apiKeyEnv = provider.api_key_env;
    if (provider.api_version !== undefined) upstream.apiVersion = provider.api_version;
    if (provider.remote_images !== undefined) upstream.remoteImages = provider.remote_images;
    if (provider.region !== undefined) upstream.region = provider.region;
    if (target.api !== undefined) upstream.bedrockApi = target.api;
    if (provider.project !== undefined) upstream.project = provider.project;
    return [upstream];
  });
}

function compile(config: GatehouseConfig): CompiledTable {
  const models = new Map<string, UpstreamTarget[]>();
  for (const [id, model] of Object.entries(config.models)) models.set(id, toUpstreamTargets(config, model.targets));
  const routes = config.routes.map((route, index): CompiledRoute => {
    const targets = route.model !== undefined ? (models.get(route.model) ?? []) : toUpstreamTargets(config, route.targets ?? []);
    const compiled: CompiledRoute = { name: `routes[${index}]`, match: route.match, targets };
    if (route.max_cost_microdollars !== undefined) compiled.maxCostMicrodollars = route.max_cost_microdollars;
    return compiled;
  });
  return { routes, models, memo: new Map() };
}

/** `admin@engineering` is a department-scoped binding of `admin`: it counts for a route on `admin`. */
function hasRole(roles: string[], wanted: string): boolean {
  if (wanted.includes('@')) return roles.includes(wanted);
  return roles.some((role) => {
    const at = role.indexOf('@');
    return role === wanted || (at > 0 && role.slice(0, at) === wanted);
  });
}

function matches(match: RouteConfig['match'], request: RouteRequest): boolean {
  if (match.department !== undefined && match.department !== request.department) return false;
  if (match.model !== undefined && match.model !== request.model) return false;
  if (match.call_source !== undefined && match.call_source !== request.callSource) return false;
  if (match.role !== undefined && !hasRole(request.roles, match.role)) return false;
  return true;
}

function decide(table: CompiledTable, request: RouteRequest): RouteDecision | null {
  for (const route of table.routes) {
    if (!matches(route.match, request)) continue;
    const decision: RouteDecision = { requestedModel: request.model, routeName: route.name, targets: route.targets };
    if (route.maxCostMicrodollars !== undefined) decision.maxCostMicrodollars = route.maxCostMicrodollars;
    return decision;
  }
  const targets = table.models.get(request.model);
  return targets ? { requestedModel: request.model, routeName: `model:${request.model}`, targets } : null;
}

/**
 * The first route (top to bottom) whose every `match` condition holds decides; without one, the
 * requested model's own entry under `models`; an unknown model with no route gives null.
 * Decisions are shared between requests: treat them as read-only.
 */
export function resolveRoute(config: GatehouseConfig, request: RouteRequest): RouteDecision | null {
  let table = tables.get(config);
  if (!table) {
    table = compile(config);
    tables.set(config, table);
  }
  const key = JSON.stringify([request.model, request.department, request.callSource, request.roles]);
  const cached = table.memo.get(key);
  if (cached !== undefined) return cached;
  const decision = decide(table, request);
  if (table.memo.size >= MEMO_LIMIT) table.memo.clear();
  table.memo.set(key, decision);
  return decision;
}

/** Claude ids as Anthropic spells them (`claude-opus-4-7`, `claude-3-5-haiku-20241022`). */
const CLAUDE_ID = /^claude-/i;

/**
 * The model id a request is served under. Normally the one it names; but when nothing here serves
 * a Claude id and the administrator opted in (`gateway.map_unknown_claude_models`), the gateway's
 * `default_model`, so a client's built-in default (Claude Code asks for its own) still gets an
 * answer. Returns the route for the served id, and the id asked for when it was mapped.
 */
export function routeOrDefault(config: GatehouseConfig, request: RouteRequest): { route: RouteDecision | null; model: string; mappedFrom: string | null } {
  const route = resolveRoute(config, request);
  const served = route !== null && route.targets.length > 0;
  const { default_model: defaultModel, map_unknown_claude_models: mapUnknown } = config.gateway;
  if (served || !mapUnknown || defaultModel === undefined || defaultModel === request.model || !CLAUDE_ID.test(request.model)) {
    return { route, model: request.model, mappedFrom: null };
  }
  return { route: resolveRoute(config, { ...request, model: defaultModel }), model: defaultModel, mappedFrom: request.model };
}
