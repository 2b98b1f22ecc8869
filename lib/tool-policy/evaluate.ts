// The tool policy decision, shared by the MCP proxy (per tools/call and for tools/list), the
// governance hooks (Claude's built-in tools) and the allowlist (Desktop's toolPolicy). Pure: the
// caller loads the rules (repository.ts) and says whether the principal is in the server's scope.
//
// Outside the server's scope: block (the registry's default deny). Inside it: the most specific
// applicable rule decides, and with no applicable rule the call is allowed — being in scope is
// the grant, rules narrow it. Specificity, compared in this order: who (user > department > role
// > everyone), tool (an exact name > a glob), server (a name > *), then the number of conditions.
// Equally specific rules that disagree: the strictest wins (block > ask > allow).
import { includes } from '@/lib/rbac/audience';
import { evaluateArgumentCondition } from './arguments';
import { globMatches, isGlob } from './glob';
import { withinTimeWindow } from './time-window';
import { ANY_SERVER, type ClientToolPermission, type FailMode, type PolicyPrincipal, type PrincipalKind, type ToolCallContext, type ToolDecision, type ToolPolicyRule, type ToolPolicyVerdict } from './types';

/** With no rule to name, a hook that cannot reach Gatehouse refuses the call. */
export const DEFAULT_FAIL_MODE: FailMode = 'closed';

/** How the audit trail and clients name the in-scope default (no rule applies), for the proxy and the hooks alike. */
export const DEFAULT_RULE = 'tool_policy.default';

/** The deciding rule's id, or DEFAULT_RULE. */
export function ruleNameOf(verdict: Pick<ToolPolicyVerdict, 'rule'>): string {
  return verdict.rule?.id ?? DEFAULT_RULE;
}

const PRINCIPAL_RANK: Record<PrincipalKind, number> = { user: 3, department: 2, role: 1, everyone: 0 };
const STRICTNESS: Record<ToolDecision, number> = { block: 2, ask: 1, allow: 0 };

export interface ToolPolicyQuery {
  rules: readonly ToolPolicyRule[];
  principal: PolicyPrincipal;
  server: string;
  tool: string;
  context: ToolCallContext;
  /** Whether the registry's scope of `server` includes the principal (true for built-in tools). */
  inScope: boolean;
}

interface Candidate {
  rule: ToolPolicyRule;
  decision: ToolDecision;
  /** Set when a condition could not be evaluated: the rule then blocks (fails closed). */
  unknownCondition?: string;
}

function conditionCount(rule: ToolPolicyRule): number {
  const { callSources, clientIds, timeWindow, arguments: args } = rule.conditions;
  return (callSources ? 1 : 0) + (clientIds ? 1 : 0) + (timeWindow ? 1 : 0) + (args?.length ?? 0);
}

function specificity(rule: ToolPolicyRule): number[] {
  return [PRINCIPAL_RANK[rule.principalKind], isGlob(rule.tool) ? 0 : 1, rule.server === ANY_SERVER ? 0 : 1, conditionCount(rule)];
}

function compareSpecificity(a: number[], b: number[]): number {
  for (let index = 0; index < a.length; index += 1) if (a[index] !== b[index]) return a[index]! - b[index]!;
  return 0;
}

type Applicability = { applies: false } | { applies: true; unknownCondition?: string; argumentConditioned: boolean; timeConditioned: boolean; clockUnknown: boolean };

/**
 * Whether the rule speaks about this call: target, principal, then each condition. `anyTime`:
 * a time window is not checked against the clock (only that it can be read), for a standing that
 * must hold whatever the time.
 */
function applicability(rule: ToolPolicyRule, query: Omit<ToolPolicyQuery, 'rules' | 'inScope'>, options: { anyTime?: boolean } = {}): Applicability {
  if (!rule.enabled) return { applies: false };
  if (rule.server !== ANY_SERVER && rule.server !== query.server) return { applies: false };
  if (!globMatches(rule.tool, query.tool)) return { applies: false };
  if (!includes({ kind: rule.principalKind, subject: rule.principal }, query.principal)) return { applies: false };
  const { callSources, clientIds, timeWindow, arguments: args } = rule.conditions;
  const { context } = query;
  if (callSources && !callSources.includes(context.callSource)) return { applies: false };
  if (clientIds && !(context.clientId && clientIds.includes(context.clientId))) return { applies: false };
  let unknownCondition: string | undefined;
  let clockUnknown = false;
  if (timeWindow) {
    let within: boolean | null;
    try {
      within = withinTimeWindow(timeWindow, context.at);
    } catch {
      within = null;
    }
    if (within === false && !options.anyTime) return { applies: false };
    if (within === null) {
      clockUnknown = true;
      unknownCondition = `its time window (time zone ${timeWindow.timeZone ?? 'UTC'})`;
    }
  }
  for (const condition of args ?? []) {
    const outcome = evaluateArgumentCondition(condition, context.arguments);
    if (outcome === 'fails') return { applies: false };
    if (outcome === 'unknown') unknownCondition ??= `its argument condition on ${condition.path} (${condition.op})`;
  }
  return { applies: true, argumentConditioned: Boolean(args?.length), timeConditioned: Boolean(timeWindow), clockUnknown, ...(unknownCondition ? { unknownCondition } : {}) };
}

const VERB: Record<ToolDecision, string> = { allow: 'allowed', ask: 'needs confirmation', block: 'blocked' };

function whoOf(rule: ToolPolicyRule): string {
  if (rule.principalKind === 'everyone') return 'everyone';
  if (rule.principalKind === 'role') return `role ${rule.principal}`;
  return `a ${rule.principalKind} rule`;
}

function ruleName(rule: ToolPolicyRule): string {
  return `tool policy rule ${rule.id}${rule.description ? ` "${rule.description}"` : ''}`;
}

function reasonFor(winner: Candidate, server: string, tool: string, tiedWith: number): string {
  const { rule } = winner;
  if (winner.unknownCondition) {
    return `${server}/${tool} blocked: ${ruleName(rule)} applies, but ${winner.unknownCondition} cannot be evaluated for this call, and a condition that cannot be evaluated blocks`;
  }
  const tie = tiedWith > 1 ? `; the strictest of ${tiedWith} equally specific rules` : '';
  return `${server}/${tool} ${VERB[winner.decision]} by ${ruleName(rule)} (${whoOf(rule)}, ${rule.server}/${rule.tool}${conditionCount(rule) ? `, ${conditionCount(rule)} condition(s)` : ''}${tie})`;
}

function verdictOf(candidates: Candidate[], server: string, tool: string): ToolPolicyVerdict {
  if (candidates.length === 0) {
    return { decision: 'allow', rule: null, reason: `${server}/${tool} allowed: in the server's scope and no tool policy rule applies`, failMode: DEFAULT_FAIL_MODE };
  }
  const ranked = candidates.map((candidate) => ({ candidate, rank: specificity(candidate.rule) }));
  const top = ranked.reduce((best, entry) => (compareSpecificity(entry.rank, best) > 0 ? entry.rank : best), ranked[0]!.rank);
  const tied = ranked.filter((entry) => compareSpecificity(entry.rank, top) === 0).map((entry) => entry.candidate);
  tied.sort(
    (a, b) =>
      STRICTNESS[b.decision] - STRICTNESS[a.decision] ||
      Number(Boolean(a.unknownCondition)) - Number(Boolean(b.unknownCondition)) ||
      (a.rule.id < b.rule.id ? -1 : a.rule.id > b.rule.id ? 1 : 0),
  );
  const winner = tied[0]!;
  return { decision: winner.decision, rule: { id: winner.rule.id, description: winner.rule.description }, reason: reasonFor(winner, server, tool, tied.length), failMode: winner.rule.failMode };
}

function outOfScope(server: string, tool: string): ToolPolicyVerdict {
  return { decision: 'block', rule: null, reason: `${server}/${tool} blocked: not in the scope of MCP server "${server}" (servers are denied to everyone outside their scope)`, failMode: DEFAULT_FAIL_MODE };
}

/** The decision for one call (or, with no arguments in the context, for a call with none). */
export function evaluateToolPolicy(query: ToolPolicyQuery): ToolPolicyVerdict {
  if (!query.inScope) return outOfScope(query.server, query.tool);
  const candidates: Candidate[] = [];
  for (const rule of query.rules) {
    const fit = applicability(rule, query);
    if (!fit.applies) continue;
    candidates.push(fit.unknownCondition ? { rule, decision: 'block', unknownCondition: fit.unknownCondition } : { rule, decision: rule.decision });
  }
  return verdictOf(candidates, query.server, query.tool);
}

/** Beyond this many argument-conditioned rules on one tool, only the extremes are tried. */
const MAX_EXHAUSTIVE_ARGUMENT_RULES = 6;

function argumentScenarios<T>(rules: T[]): T[][] {
  if (rules.length <= MAX_EXHAUSTIVE_ARGUMENT_RULES) {
    return Array.from({ length: 2 ** rules.length }, (_, mask) => rules.filter((_, index) => (mask >> index) & 1));
  }
  return [[], rules, ...rules.map((rule) => [rule])];
}

export interface ToolListQuery {
  rules: readonly ToolPolicyRule[];
  principal: PolicyPrincipal;
  server: string;
  tools: readonly string[];
  context: Omit<ToolCallContext, 'arguments'>;
  inScope: boolean;
}

/**
 * A tool's standing before any call: what tools/list and Desktop's toolPolicy show. Rules with
 * argument conditions depend on the call, and rules with a time window on when it is made — the
 * standing is kept by the client for a while (a signed allowlist for up to its lifetime, a
 * tools/list for the session), across the window's edges — so every combination of them holding
 * or not is tried: `blocked` only when every call would be blocked (the tool is hidden), `ask`
 * when some call would need confirmation or be blocked (each call is still checked), else `allow`.
 */
export function toolPermission(query: Omit<ToolListQuery, 'tools'> & { tool: string }): ClientToolPermission {
  if (!query.inScope) return 'blocked';
  const fixed: Candidate[] = [];
  const conditional: ToolPolicyRule[] = [];
  for (const rule of query.rules) {
    const fit = applicability(rule, { ...query, context: { ...query.context, arguments: undefined } }, { anyTime: true });
    if (!fit.applies) continue;
    if ((fit.argumentConditioned || fit.timeConditioned) && !fit.clockUnknown) conditional.push(rule);
    else fixed.push(fit.unknownCondition ? { rule, decision: 'block', unknownCondition: fit.unknownCondition } : { rule, decision: rule.decision });
  }
  const outcomes = new Set(argumentScenarios(conditional).map((holding) => verdictOf([...fixed, ...holding.map((rule) => ({ rule, decision: rule.decision }))], query.server, query.tool).decision));
  if (outcomes.size === 1 && outcomes.has('block')) return 'blocked';
  return outcomes.has('block') || outcomes.has('ask') ? 'ask' : 'allow';
}

/** Desktop's `toolPolicy` for one server and principal: `{ toolName: allow | ask | blocked }`. */
export function effectiveToolPolicy(query: ToolListQuery): Record<string, ClientToolPermission> {
  return Object.fromEntries(query.tools.map((tool) => [tool, toolPermission({ ...query, tool })]));
}

/** The tools tools/list shows: those not blocked for the principal. */
export function visibleTools<T extends { name: string }>(query: Omit<ToolListQuery, 'tools'> & { tools: readonly T[] }): T[] {
  return query.tools.filter((tool) => toolPermission({ ...query, tool: tool.name }) !== 'blocked');
}
