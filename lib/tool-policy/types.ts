// Plain data shared by the evaluator, the repository, the dashboard and the CLI (no server imports).

export const TOOL_DECISIONS = ['allow', 'ask', 'block'] as const;
export type ToolDecision = (typeof TOOL_DECISIONS)[number];

export const FAIL_MODES = ['open', 'closed'] as const;
/** What a governance hook does for a call this rule covers when Gatehouse cannot be reached. */
export type FailMode = (typeof FAIL_MODES)[number];

export const PRINCIPAL_KINDS = ['everyone', 'role', 'department', 'user'] as const;
export type PrincipalKind = (typeof PRINCIPAL_KINDS)[number];

export const CALL_SOURCES = ['proxy', 'hook'] as const;
/** Who asks: the MCP proxy for a remote server's call, or a governance hook on the device. */
export type CallSource = (typeof CALL_SOURCES)[number];

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export const ARGUMENT_OPS = ['eq', 'neq', 'in', 'matches', 'exists'] as const;
export type ArgumentOp = (typeof ARGUMENT_OPS)[number];

/** The server name rules use for the client's built-in tools (Bash, Edit, WebFetch …). */
export const BUILT_IN_SERVER = 'claude';
/** Any server, built-in tools included. */
export const ANY_SERVER = '*';

export interface ArgumentCondition {
  /** `/a/b/0` (JSON Pointer) or `a.b.0`. */
  path: string;
  op: ArgumentOp;
  /** eq/neq: any JSON value; in: an array; matches: a glob; exists: true (present) or false (absent). */
  value?: unknown;
}

export interface TimeWindow {
  days?: Weekday[];
  /** HH:MM, inclusive. */
  from?: string;
  /** HH:MM, exclusive; earlier than `from` means the window runs past midnight. */
  to?: string;
  /** IANA zone; UTC when absent. */
  timeZone?: string;
}

/** Every condition given must hold for the rule to apply. */
export interface ToolPolicyConditions {
  callSources?: CallSource[];
  clientIds?: string[];
  timeWindow?: TimeWindow;
  arguments?: ArgumentCondition[];
}

export interface ToolPolicyRule {
  id: string;
  server: string;
  tool: string;
  principalKind: PrincipalKind;
  /** Role name, department id or user id by kind; '' for everyone (lib/rbac/audience decides who is in it). */
  principal: string;
  conditions: ToolPolicyConditions;
  decision: ToolDecision;
  failMode: FailMode;
  description: string;
  enabled: boolean;
}

export interface PolicyPrincipal {
  userId: string;
  /** Role names or labels as tokens carry them (`author@research` counts as the role `author`). */
  roles: readonly string[];
  departmentId: string | null;
}

export interface ToolCallContext {
  callSource: CallSource;
  clientId?: string | null;
  at: Date;
  /** The call's arguments; undefined when there is no call (tools/list, the allowlist). */
  arguments?: unknown;
}

export interface ToolPolicyVerdict {
  decision: ToolDecision;
  /** The rule that decided, or null for the scope check and the in-scope default. */
  rule: { id: string; description: string } | null;
  reason: string;
  failMode: FailMode;
}

/** Claude Desktop's `toolPolicy` values. */
export type ClientToolPermission = 'allow' | 'ask' | 'blocked';
