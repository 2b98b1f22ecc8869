import { AUDIT_EVENT_TYPES, AUDIT_OUTCOMES, type AuditEventType, type AuditOutcome } from '@/lib/audit';

/**
 * The filters of the request explorer, `gatehouse audit query` and `gatehouse audit export`: one
 * parser, so the same words select the same rows everywhere. Every query is bounded in time
 * (`from` inclusive, `to` exclusive), so the indexes that end in occurred_at keep it fast however
 * many months the table holds.
 */
export interface AuditFilters {
  from: Date;
  to: Date;
  /** A user id (UUID) or an e-mail address. */
  user?: string;
  department?: string;
  model?: string;
  /** `provider/model` that answered, e.g. `anthropic/claude-sonnet-4-5`. */
  upstream?: string;
  type?: AuditEventType;
  outcome?: AuditOutcome;
  /** A policy rule, e.g. `policy.blocklist.terms[0]`; a trailing `*` matches a prefix (`policy.secrets.*`). */
  rule?: string;
  trace?: string;
  /** Free text: an event, trace, call or session id exactly, or the start of an action, rule, model, upstream or e-mail. */
  q?: string;
}

/** The filter names, as query-string parameters (`/audit?…`) and CLI options (`--user` …). */
export const FILTER_PARAMS = ['from', 'to', 'user', 'department', 'model', 'upstream', 'type', 'outcome', 'rule', 'trace', 'q'] as const;
export type FilterParam = (typeof FILTER_PARAMS)[number];

/** A filter value that cannot be used; the message says which and why, for a 400 or a CLI line. */
export class AuditFilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditFilterError';
  }
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** The explorer's default window when no `from` is given. */
export const DEFAULT_RANGE_MS = DAY_MS;
/** The widest window one query may span: the explorer's and the CLI query's. */
export const MAX_QUERY_RANGE_DAYS = 93;
/** Exports stream in pages, so they may span more. */
export const MAX_EXPORT_RANGE_DAYS = 400;

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const RELATIVE = /^(\d{1,4})([mhd])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: DAY_MS } as const;

/**
 * A time bound: an ISO-8601 timestamp, a UTC date (`2026-11-28`; as `to` it takes in that whole
 * day), or a span back from now (`90m`, `24h`, `7d`).
 */
export function parseTimeBound(name: 'from' | 'to', value: string, now: Date): Date {
  const relative = RELATIVE.exec(value);
  if (relative) return new Date(now.getTime() - Number(relative[1]) * UNIT_MS[relative[2] as keyof typeof UNIT_MS]);
  if (DATE_ONLY.test(value)) {
    const day = new Date(`${value}T00:00:00.000Z`);
    if (Number.isNaN(day.getTime())) throw new AuditFilterError(`${name} "${value}" is not a date`);
    return name === 'to' ? new Date(day.getTime() + DAY_MS) : day;
  }
  const instant = /\d{2}:\d{2}/.test(value) ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(instant.getTime())) throw new AuditFilterError(`${name} "${value}" is not a time: use an ISO-8601 timestamp, a date (2026-11-28) or a span back from now (24h, 7d)`);
  return instant;
}

function textFilter(name: string, value: string | undefined, max = 320): string | undefined {
  const trimmed = value?.trim();
  if (!trimmed) return undefined;
  if (trimmed.length > max) throw new AuditFilterError(`${name} is longer than ${max} characters`);
  return trimmed;
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  const trimmed = value?.trim();
  if (!trimmed) return undefined;
  if (!(allowed as readonly string[]).includes(trimmed)) throw new AuditFilterError(`${name} "${trimmed}" is not one of ${allowed.join(', ')}`);
  return trimmed as T;
}

export type RawFilters = Partial<Record<FilterParam, string | string[] | undefined>>;

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export interface ParseFilterOptions {
  now?: Date;
  maxRangeDays?: number;
}

/** Query-string or CLI values → filters; throws AuditFilterError naming the first bad one. */
export function parseAuditFilters(raw: RawFilters, options: ParseFilterOptions = {}): AuditFilters {
  const now = options.now ?? new Date();
  const maxRangeDays = options.maxRangeDays ?? MAX_QUERY_RANGE_DAYS;
  const toText = textFilter('to', first(raw.to), 40);
  const fromText = textFilter('from', first(raw.from), 40);
  const to = toText ? parseTimeBound('to', toText, now) : now;
  const from = fromText ? parseTimeBound('from', fromText, now) : new Date(to.getTime() - DEFAULT_RANGE_MS);
  if (from.getTime() >= to.getTime()) throw new AuditFilterError(`from (${from.toISOString()}) must be before to (${to.toISOString()})`);
  if (to.getTime() - from.getTime() > maxRangeDays * DAY_MS) throw new AuditFilterError(`the time range spans more than ${maxRangeDays} days; narrow from/to`);
  const trace = textFilter('trace', first(raw.trace), 32)?.toLowerCase();
  if (trace !== undefined && !/^[0-9a-f]{32}$/.test(trace)) throw new AuditFilterError('trace must be a trace id: 32 hexadecimal characters');
  const filters: AuditFilters = { from, to };
  const assign = <K extends keyof AuditFilters>(key: K, value: AuditFilters[K] | undefined) => {
    if (value !== undefined) filters[key] = value;
  };
  assign('user', textFilter('user', first(raw.user)));
  assign('department', textFilter('department', first(raw.department), 200));
  assign('model', textFilter('model', first(raw.model), 200));
  assign('upstream', textFilter('upstream', first(raw.upstream), 400));
  assign('type', oneOf('type', first(raw.type), AUDIT_EVENT_TYPES));
  assign('outcome', oneOf('outcome', first(raw.outcome), AUDIT_OUTCOMES));
  assign('rule', textFilter('rule', first(raw.rule), 200));
  assign('trace', trace);
  assign('q', textFilter('q', first(raw.q), 200));
  return filters;
}

/** Filters → query-string pairs (times as ISO), for links that keep the view: next page, CSV export. */
export function filterParams(filters: AuditFilters): URLSearchParams {
  const params = new URLSearchParams({ from: filters.from.toISOString(), to: filters.to.toISOString() });
  for (const name of FILTER_PARAMS) {
    if (name === 'from' || name === 'to') continue;
    const value = filters[name];
    if (value) params.set(name, value);
  }
  return params;
}
