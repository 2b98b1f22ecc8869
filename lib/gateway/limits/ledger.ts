import pg from 'pg';
import { pool } from '@/lib/db/client';
import type { Usage } from '@/lib/gateway/contracts';
import type { CounterScope } from './plan';
import { dayString, periodBounds } from './periods';

/** One priced call, as the ledger keeps it (one spend_entries row, added to the day's aggregate). */
export interface SpendEntry {
  /** The call id: the inference.request event's event_id. */
  callId: string;
  traceId: string;
  tenantId: string;
  userId: string;
  department: string | null;
  /** The Anthropic-style model id the client asked for. */
  model: string;
  /** `provider/model` that answered; null when not known. */
  upstream: string | null;
  /** The route that served the call (`routes[0]`, `model:…`), for the cost breakdowns; null when not known. */
  route?: string | null;
  /** When the call was admitted; its UTC day is the ledger row's, as it is the budget period's. */
  at: Date;
  /** The usage billed: reported by the upstream, or Gatehouse's estimate (usageEstimated). */
  usage: Usage | null;
  costMicrodollars: number;
  usageEstimated: boolean;
  outcome: 'success' | 'failure' | 'unknown';
  /** The gateway settling its own call, or the reconciler closing one whose end nobody saw. */
  recordedBy: 'gateway' | 'reconciler';
}

export interface RecordedSpend {
  /**
   * new: the entry was written and added to the aggregate. corrected: a reconciler's estimate was
   * replaced by the gateway's late settle. duplicate: the call was already recorded; nothing changed.
   */
  result: 'new' | 'corrected' | 'duplicate';
  /** How much the ledger's total changed, microdollars (negative when a correction lowered it). */
  addedMicrodollars: number;
}

export interface SpendScope {
  scope: CounterScope;
  tenantId: string;
  userId: string;
  department: string | null;
}

/** Where spend is recorded and summed: spend_entries and spend_ledger (PostgreSQL) in production. */
export interface SpendLedger {
  /** Records a call once, whoever records it first; a later record of the same call changes nothing (see RecordedSpend). */
  record(entry: SpendEntry): Promise<RecordedSpend>;
  /** Microdollars spent in [from, to) by the scope's subject; UTC days. */
  spent(scope: SpendScope, from: Date, to: Date): Promise<number>;
}

function whole(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? Math.trunc(value) : 0;
}

const AGGREGATED = ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens', 'cost_microdollars'] as const;

const ENTRY_COLUMNS = [
  ['call_id', 'uuid'],
  ['trace_id', 'text'],
  ['tenant_id', 'uuid'],
  ['user_id', 'uuid'],
  ['department', 'text'],
  ['model', 'text'],
  ['upstream', 'text'],
  ['occurred_at', 'timestamptz'],
  ['day', 'date'],
  ['input_tokens', 'bigint'],
  ['output_tokens', 'bigint'],
  ['cache_creation_input_tokens', 'bigint'],
  ['cache_read_input_tokens', 'bigint'],
  ['web_search_requests', 'int'],
  ['cost_microdollars', 'bigint'],
  ['usage_estimated', 'boolean'],
  ['outcome', 'text'],
  ['recorded_by', 'text'],
  ['route', 'text'],
] as const;

/**
 * A batch of entries, each with its addition to its day's aggregate, in one statement: the
 * aggregate grows only by the entries whose row is new, so no call is ever counted twice, and
 * concurrent settles of the same user and model never lose an increment. The entries arrive as
 * one array per column; the batch holds each call id at most once (see EntryBatcher). Aggregate
 * rows are upserted in key order, so two processes' batches cannot deadlock on them.
 */
const INSERT_ENTRIES = `
WITH entry AS (
  INSERT INTO spend_entries (${ENTRY_COLUMNS.map(([name]) => name).join(', ')})
  SELECT * FROM unnest(${ENTRY_COLUMNS.map(([, type], index) => `$${index + 1}::${type}[]`).join(', ')})
  ON CONFLICT (call_id) DO NOTHING
  RETURNING *
), aggregate AS (
  INSERT INTO spend_ledger AS l (tenant_id, user_id, day, model, department, requests, estimated_requests,
                                 ${AGGREGATED.join(', ')}, updated_at)
  SELECT tenant_id, user_id, day, model, (array_agg(department))[1], count(*), count(*) FILTER (WHERE usage_estimated),
         ${AGGREGATED.map((column) => `sum(${column})`).join(', ')}, now()
    FROM entry
   GROUP BY tenant_id, user_id, day, model
   ORDER BY tenant_id, user_id, day, model
  ON CONFLICT (tenant_id, user_id, day, model) DO UPDATE SET
    requests = l.requests + EXCLUDED.requests,
    estimated_requests = l.estimated_requests + EXCLUDED.estimated_requests,
    ${AGGREGATED.map((column) => `${column} = l.${column} + EXCLUDED.${column}`).join(',\n    ')},
    updated_at = now()
  RETURNING 1
)
SELECT call_id, cost_microdollars::text AS added FROM entry`;

/**
 * A call the reconciler closed at an estimate, whose real end the gateway saw after all (a call
 * that ran longer than gateway.reconcile_after_seconds): the entry takes the real figures and the
 * aggregate moves by the difference, in one statement. Only a reconciler's entry is ever replaced.
 */
const CORRECT_ENTRY = `
WITH prior AS (
  SELECT * FROM spend_entries WHERE call_id = $1 AND recorded_by = 'reconciler' FOR UPDATE
), updated AS (
  UPDATE spend_entries e SET
    upstream = $2, input_tokens = $3, output_tokens = $4, cache_creation_input_tokens = $5, cache_read_input_tokens = $6,
    web_search_requests = $7, cost_microdollars = $8, usage_estimated = $9, outcome = $10, recorded_by = 'gateway', recorded_at = now()
  FROM prior WHERE e.call_id = prior.call_id
  RETURNING e.tenant_id, e.user_id, e.day, e.model,
            (e.usage_estimated::int - prior.usage_estimated::int) AS estimated_requests,
            ${AGGREGATED.map((column) => `e.${column} - prior.${column} AS ${column}`).join(', ')}
)
UPDATE spend_ledger l SET
  estimated_requests = l.estimated_requests + u.estimated_requests,
  ${AGGREGATED.map((column) => `${column} = l.${column} + u.${column}`).join(',\n  ')},
  updated_at = now()
FROM updated u
WHERE l.tenant_id = u.tenant_id AND l.user_id = u.user_id AND l.day = u.day AND l.model = u.model
RETURNING u.cost_microdollars::text AS added`;

/** The usage and outcome columns of an entry, as INSERT_ENTRIES and CORRECT_ENTRY take them. */
function figuresOf(entry: SpendEntry): unknown[] {
  const usage = entry.usage;
  return [
    whole(usage?.input_tokens),
    whole(usage?.output_tokens),
    whole(usage?.cache_creation_input_tokens),
    whole(usage?.cache_read_input_tokens),
    whole(usage?.server_tool_use?.web_search_requests),
    whole(entry.costMicrodollars),
    entry.usageEstimated,
    entry.outcome,
  ];
}

/** Entries as INSERT_ENTRIES' parameters: one array per column. */
function entryColumns(entries: readonly SpendEntry[]): unknown[][] {
  const columns = ENTRY_COLUMNS.map((): unknown[] => []);
  for (const entry of entries) {
    const row = [entry.callId, entry.traceId, entry.tenantId, entry.userId, entry.department, entry.model, entry.upstream, entry.at, dayString(entry.at), ...figuresOf(entry), entry.recordedBy, entry.route ?? null];
    row.forEach((value, index) => columns[index]!.push(value));
  }
  return columns;
}

/**
 * A call id as PostgreSQL's uuid column gives it back (lower-case), so an entry whose id came in
 * upper-case is still found among the rows its insert returned.
 */
function callKey(callId: string): string {
  return callId.toLowerCase();
}

/** Inserts entries in one statement; the added microdollars of each call whose entry is new, by callKey. */
async function insertEntries(entries: readonly SpendEntry[]): Promise<Map<string, number>> {
  const { rows } = await pool().query<{ call_id: string; added: string }>(INSERT_ENTRIES, entryColumns(entries));
  return new Map(rows.map((row) => [row.call_id, Number(row.added)]));
}

/** After its insert found the call already recorded: a gateway's late settle may replace a reconciler's estimate. */
async function recordExisting(entry: SpendEntry): Promise<RecordedSpend> {
  if (entry.recordedBy !== 'gateway') return { result: 'duplicate', addedMicrodollars: 0 };
  const corrected = await pool().query<{ added: string }>(CORRECT_ENTRY, [entry.callId, entry.upstream, ...figuresOf(entry)]);
  if (corrected.rows.length) return { result: 'corrected', addedMicrodollars: Number(corrected.rows[0]!.added) };
  return { result: 'duplicate', addedMicrodollars: 0 };
}

async function recordAlone(entry: SpendEntry): Promise<RecordedSpend> {
  const added = (await insertEntries([entry])).get(callKey(entry.callId));
  return added === undefined ? recordExisting(entry) : { result: 'new', addedMicrodollars: added };
}

interface Waiting {
  entry: SpendEntry;
  resolve(recorded: RecordedSpend): void;
  reject(error: unknown): void;
}

const MAX_BATCH = 500;

/** The database refused the statement for its data (class 22) or a constraint (23), or it deadlocked: some entry's doing, or chance. */
function refusedForAnEntry(error: unknown): boolean {
  return error instanceof pg.DatabaseError && /^(22|23|40P01)/.test(error.code ?? '');
}

/**
 * Group commit for the ledger, as the audit writer does for events: while one insert is in
 * flight, settles queue up, and the next statement carries all of them, so a busy gateway writes
 * its ledger in a few statements a second instead of one per call. Each caller still learns
 * whether its own entry was new. A batch the database refuses is retried entry by entry, so one
 * bad entry cannot lose the others'.
 */
class EntryBatcher {
  private queue: Waiting[] = [];
  private draining = false;

  record(entry: SpendEntry): Promise<RecordedSpend> {
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) await this.commit(this.takeBatch());
    } finally {
      this.draining = false;
    }
  }

  /** Up to MAX_BATCH entries, each call at most once (a repeated call waits for the next batch). */
  private takeBatch(): Waiting[] {
    const batch: Waiting[] = [];
    const rest: Waiting[] = [];
    const calls = new Set<string>();
    for (const waiting of this.queue) {
      if (batch.length < MAX_BATCH && !calls.has(callKey(waiting.entry.callId))) {
        calls.add(callKey(waiting.entry.callId));
        batch.push(waiting);
      } else rest.push(waiting);
    }
    this.queue = rest;
    return batch;
  }

  private async commit(batch: Waiting[]): Promise<void> {
    let added: Map<string, number>;
    try {
      added = await insertEntries(batch.map((waiting) => waiting.entry));
    } catch (error) {
      if (batch.length > 1 && refusedForAnEntry(error)) {
        // One at a time: the entries that can be stored are, and only the culprit is refused.
        for (const waiting of batch) await recordAlone(waiting.entry).then(waiting.resolve, waiting.reject);
      } else for (const waiting of batch) waiting.reject(error);
      return;
    }
    for (const waiting of batch) {
      const amount = added.get(callKey(waiting.entry.callId));
      if (amount !== undefined) waiting.resolve({ result: 'new', addedMicrodollars: amount });
      // Rare (a duplicate, or a reconciler's estimate to correct): the batch does not wait for it.
      else void recordExisting(waiting.entry).then(waiting.resolve, waiting.reject);
    }
  }
}

const batcher = new EntryBatcher();

/** The spend ledger in PostgreSQL (spend_entries per call, spend_ledger per user, day and model). */
export const postgresSpendLedger: SpendLedger = {
  record(entry) {
    return batcher.record(entry);
  },

  async spent(scope, from, to) {
    const conditions = ['tenant_id = $1', 'day >= $2', 'day < $3'];
    const params: unknown[] = [scope.tenantId, dayString(from), dayString(to)];
    if (scope.scope === 'user') {
      params.push(scope.userId);
      conditions.push(`user_id = $${params.length}`);
    } else if (scope.scope === 'department') {
      params.push(scope.department);
      conditions.push(`department = $${params.length}`);
    }
    const result = await pool().query<{ spent: string | null }>(`SELECT sum(cost_microdollars)::text AS spent FROM spend_ledger WHERE ${conditions.join(' AND ')}`, params);
    return Number(result.rows[0]?.spent ?? 0);
  },
};

/** A user's own spend in the UTC day, week (from Monday) and month holding `now`, for GET /api/oauth/usage. */
export async function userSpendSummary(tenantId: string, userId: string, now: Date): Promise<{ day: number; week: number; month: number }> {
  const day = periodBounds('daily', now).start;
  const week = periodBounds('weekly', now).start;
  const month = periodBounds('monthly', now).start;
  const result = await pool().query<{ day: string | null; week: string | null; month: string | null }>(
    `SELECT sum(cost_microdollars) FILTER (WHERE day >= $4)::text AS day,
            sum(cost_microdollars) FILTER (WHERE day >= $5)::text AS week,
            sum(cost_microdollars) FILTER (WHERE day >= $6)::text AS month
       FROM spend_ledger
      WHERE tenant_id = $1 AND user_id = $2 AND day >= $3`,
    [tenantId, userId, dayString(week < month ? week : month), dayString(day), dayString(week), dayString(month)],
  );
  const row = result.rows[0];
  return { day: Number(row?.day ?? 0), week: Number(row?.week ?? 0), month: Number(row?.month ?? 0) };
}

/** The whole tenant's spend today and this UTC month (microdollars), for holders of costs.read. */
export async function tenantSpendSummary(tenantId: string, now: Date): Promise<{ day: number; month: number }> {
  const day = periodBounds('daily', now).start;
  const month = periodBounds('monthly', now).start;
  const result = await pool().query<{ day: string | null; month: string | null }>(
    `SELECT sum(cost_microdollars) FILTER (WHERE day >= $3)::text AS day,
            sum(cost_microdollars)::text                          AS month
       FROM spend_ledger
      WHERE tenant_id = $1 AND day >= $2`,
    [tenantId, dayString(month), dayString(day)],
  );
  const row = result.rows[0];
  return { day: Number(row?.day ?? 0), month: Number(row?.month ?? 0) };
}
