-- The audit spine: append-only, hash-chained, partitioned by month on occurred_at.
-- Hand-written because Prisma cannot express partitions, triggers or privileges; the three
-- tables are listed as external tables in lib/db/migrations.ts so schema diffs ignore them.

-- The role the application runs as (lib/db/pool.ts sets it on every connection). It may read
-- and append audit rows, never change or remove them.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gatehouse_app') THEN
    CREATE ROLE gatehouse_app NOLOGIN;
  END IF;
  BEGIN
    EXECUTE format('GRANT gatehouse_app TO %I', current_user);
  EXCEPTION WHEN OTHERS THEN
    -- Already a member, or a superuser that needs no membership.
    NULL;
  END;
END
$$;

GRANT USAGE ON SCHEMA public TO gatehouse_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO gatehouse_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO gatehouse_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO gatehouse_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO gatehouse_app;

-- One row per tenant chain. Appenders lock it (SELECT ... FOR UPDATE) so seq stays gapless and
-- every event's prev_hash is the hash of the event before it, across any number of processes.
CREATE TABLE audit_chain_heads (
  tenant_id   uuid PRIMARY KEY,
  seq         bigint NOT NULL DEFAULT 0,
  hash        bytea,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_events (
  occurred_at       timestamptz NOT NULL,
  event_id          uuid NOT NULL,
  tenant_id         uuid NOT NULL,
  seq               bigint NOT NULL,
  schema_version    smallint NOT NULL,
  event_type        text NOT NULL,
  action            text NOT NULL,
  outcome           text NOT NULL,
  trace_id          text NOT NULL,
  session_id        text,
  actor_user_id     uuid,
  cost_microdollars bigint,
  -- The whole event as validated by lib/audit/event.ts; the hash covers exactly this document.
  event             jsonb NOT NULL,
  prev_hash         bytea NOT NULL,
  hash              bytea NOT NULL,
  recorded_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (occurred_at, event_id)
) PARTITION BY RANGE (occurred_at);

CREATE INDEX audit_events_chain_idx ON audit_events (tenant_id, seq);
CREATE INDEX audit_events_trace_idx ON audit_events (trace_id);
CREATE INDEX audit_events_type_time_idx ON audit_events (tenant_id, event_type, occurred_at);

-- Prompts, completions and tool arguments: kept apart from the chain with their own retention.
-- Events reference them by SHA-256, so deleting expired content never breaks the chain.
CREATE TABLE audit_content (
  sha256       bytea PRIMARY KEY,
  tenant_id    uuid NOT NULL,
  kind         text NOT NULL,
  media_type   text NOT NULL DEFAULT 'application/json',
  body         text NOT NULL,
  byte_size    integer NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz
);
CREATE INDEX audit_content_expiry_idx ON audit_content (expires_at) WHERE expires_at IS NOT NULL;

-- Guards against accidents (a stray UPDATE in a console, a buggy migration). They are not the
-- security boundary: the role's privileges are, and the hash chain detects what a superuser does.
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused on %', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_events_append_only
  BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_events_no_truncate
  BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Creates the monthly partition holding `month` (any timestamp in it), with UTC bounds, the
-- truncate guard (statement triggers do not propagate to partitions) and the same privileges as
-- the parent. SECURITY DEFINER so the worker, running as gatehouse_app, may call it.
CREATE FUNCTION audit_ensure_partition(month timestamptz) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
  lower_bound timestamptz := date_trunc('month', month AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  upper_bound timestamptz := (date_trunc('month', month AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
  partition_name text := 'audit_events_' || to_char(month AT TIME ZONE 'UTC', 'YYYY_MM');
BEGIN
  IF to_regclass(partition_name) IS NULL THEN
    EXECUTE format('CREATE TABLE %I PARTITION OF audit_events FOR VALUES FROM (%L) TO (%L)',
                   partition_name, lower_bound, upper_bound);
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %I FROM gatehouse_app', partition_name);
    EXECUTE format('CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON %I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()', partition_name);
  END IF;
  RETURN partition_name;
END
$$;
REVOKE ALL ON FUNCTION audit_ensure_partition(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_ensure_partition(timestamptz) TO gatehouse_app;

-- A safety net for clocks far off or a housekeeping job that has not run: events are never lost.
CREATE TABLE audit_events_default PARTITION OF audit_events DEFAULT;
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events_default
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

SELECT audit_ensure_partition(now());
SELECT audit_ensure_partition(now() + interval '1 month');

GRANT SELECT, INSERT ON audit_events, audit_content TO gatehouse_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events, audit_events_default, audit_content FROM gatehouse_app;
GRANT SELECT, INSERT, UPDATE ON audit_chain_heads TO gatehouse_app;
REVOKE DELETE, TRUNCATE ON audit_chain_heads FROM gatehouse_app;
