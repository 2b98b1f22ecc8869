import type { Queryable } from '@/lib/audit/queryable';

export interface GenerateOptions {
  tenantId: string;
  count: number;
  /** Events are spread evenly over [from, to). */
  from: Date;
  to: Date;
  /** Users the events are attributed to, in turn: ids and e-mails of real users rows. */
  users: readonly { id: string; email: string; department: string }[];
  /** First seq to use; the chain is NOT valid (hashes are placeholders): for reading tests and benchmarks only. */
  firstSeq?: number;
}

/**
 * Writes `count` audit events of a realistic mix straight into audit_events (as the schema owner:
 * the writer's hash chain would take minutes for a million): requests, responses with cost and
 * upstream (every tenth failed over), blocklist blocks and secret redactions, admin changes.
 * Partitions for every month of the range are made first, so nothing lands in the default one.
 */
export async function generateAuditEvents(owner: Queryable, options: GenerateOptions): Promise<void> {
  const span = options.to.getTime() - options.from.getTime();
  for (let month = new Date(options.from); month < options.to; month = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1))) {
    await owner.query('SELECT audit_ensure_partition($1)', [month]);
  }
  await owner.query('SELECT audit_ensure_partition($1)', [options.to]);
  const chunk = 50_000;
  for (let start = 0; start < options.count; start += chunk) {
    const size = Math.min(chunk, options.count - start);
    await owner.query(
      `WITH g AS (
         SELECT i, $3::timestamptz + make_interval(secs => ($4::float8 * i / $5) / 1000.0) AS at,
                (i % 10) AS kind, ($6::uuid[])[1 + i % array_length($6::uuid[], 1)] AS user_id,
                ($7::text[])[1 + i % array_length($7::text[], 1)] AS email,
                ($8::text[])[1 + i % array_length($8::text[], 1)] AS department,
                (ARRAY['claude-sonnet-4-5','claude-haiku-4-5','claude-opus-4-1'])[1 + (i / 7) % 3] AS model,
                lpad(to_hex(i), 32, '0') AS trace, gen_random_uuid() AS id
           FROM generate_series($1::bigint, $1::bigint + $2::bigint - 1) AS i
       ), shaped AS (
         SELECT g.*,
                CASE WHEN kind IN (0,1,2,3) THEN 'inference.request' WHEN kind IN (4,5,6,7) THEN 'inference.response'
                     WHEN kind = 8 THEN 'policy.decision' ELSE 'admin.change' END AS event_type,
                CASE WHEN kind = 8 AND i % 20 = 8 THEN 'denied' WHEN kind = 7 AND i % 40 = 7 THEN 'failure' ELSE 'success' END AS outcome,
                CASE WHEN kind IN (4,5,6,7) THEN 1000 + (i % 997) * 37 END AS cost,
                CASE WHEN i % 30 = 4 THEN 'bedrock/' || model ELSE 'anthropic/' || model END AS upstream
           FROM g
       ), acted AS (
         SELECT shaped.*, CASE event_type WHEN 'inference.request' THEN 'messages.create' WHEN 'inference.response' THEN 'messages.complete'
                                          WHEN 'policy.decision' THEN 'content.inspect' ELSE 'user.update' END AS action
           FROM shaped
       )
       INSERT INTO audit_events (occurred_at, event_id, tenant_id, seq, schema_version, event_type, action, outcome, trace_id,
                                 actor_user_id, cost_microdollars, event, prev_hash, hash)
       SELECT at, id, $9::uuid, $10::bigint + i, 1, event_type, action, outcome, trace, user_id, cost,
              jsonb_strip_nulls(jsonb_build_object(
                'schema_version', 1, 'event_id', id, 'event_type', event_type, 'action', action, 'outcome', outcome, 'trace_id', trace, 'tenant_id', $9::text,
                'occurred_at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                'policy_version', 'pv_generated000000',
                'actor', jsonb_build_object('user_id', user_id, 'email', email, 'department', department, 'roles', jsonb_build_array('member')),
                'gen_ai', CASE WHEN event_type <> 'admin.change' THEN jsonb_build_object('operation', 'chat', 'provider', split_part(upstream, '/', 1), 'request_model', model) END,
                'cost', CASE WHEN cost IS NOT NULL THEN jsonb_build_object('microdollars', cost, 'currency', 'USD') END,
                'policy', CASE WHEN event_type = 'policy.decision' AND outcome = 'denied'
                                 THEN jsonb_build_object('decision', 'block', 'rule', 'policy.blocklist.terms[0]', 'reason', 'this request contains text blocked by policy (policy.blocklist.terms[0]) in messages[0].content')
                               WHEN event_type = 'policy.decision'
                                 THEN jsonb_build_object('decision', 'redact', 'rule', 'policy.secrets.aws', 'reason', '1 × AWS Access Key ID replaced before the request left Gatehouse') END,
                'attributes', CASE WHEN event_type = 'inference.response'
                                     THEN jsonb_build_object('upstream', upstream, 'failover', i % 10 = 4,
                                          'attempts', CASE WHEN i % 10 = 4 THEN 'anthropic/' || model || ':server_error:529:120ms, ' ELSE '' END || upstream || ':success:200:900ms') END
              )),
              '\\x00'::bytea, '\\x00'::bytea
         FROM acted`,
      [start, size, options.from, span, options.count, options.users.map((u) => u.id), options.users.map((u) => u.email), options.users.map((u) => u.department), options.tenantId, options.firstSeq ?? 1_000_000_000],
    );
  }
}
