-- The SECURITY DEFINER functions run with the migration role's rights on behalf of the app role,
-- so nothing the app role can create may take part in them. With `public` on their search path
-- a function or operator planted there wins overload resolution whenever it fits an argument
-- better than the built-in (convert_to(text, text) beats convert_to(text, name) for the literal
-- 'UTF8') and runs as the migration role: the app role may create in public under PostgreSQL
-- before 15, on clusters upgraded from one, or wherever `REVOKE CREATE ON SCHEMA public FROM
-- PUBLIC` was skipped. And where pg_temp is not listed it is searched first for tables, so a
-- temporary table could stand in for a partition. Only pg_catalog is searched now (pg_temp last,
-- which no function or operator lookup consults), and every object of ours is named with its
-- schema. Bodies and grants are otherwise those of 20261125030000_audit_spine and
-- 20261128150000_audit_content_per_tenant.

CREATE OR REPLACE FUNCTION audit_store_content(
  tenant_ids uuid[],
  sha256s bytea[],
  kinds text[],
  media_types text[],
  bodies text[],
  retention_days integer[]
) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  stored integer;
BEGIN
  IF cardinality(tenant_ids) IS DISTINCT FROM cardinality(sha256s)
     OR cardinality(tenant_ids) IS DISTINCT FROM cardinality(kinds)
     OR cardinality(tenant_ids) IS DISTINCT FROM cardinality(media_types)
     OR cardinality(tenant_ids) IS DISTINCT FROM cardinality(bodies)
     OR cardinality(tenant_ids) IS DISTINCT FROM cardinality(retention_days) THEN
    RAISE EXCEPTION 'audit_store_content: argument arrays differ in length' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF EXISTS (
    SELECT 1 FROM unnest(tenant_ids, sha256s, kinds, media_types, bodies, retention_days) AS input(t, s, k, m, b, r)
    WHERE t IS NULL OR k IS NULL OR m IS NULL OR b IS NULL
       OR s IS DISTINCT FROM sha256(convert_to(b, 'UTF8'))
       OR (r IS NOT NULL AND (r < 1 OR r > 36500))
  ) THEN
    RAISE EXCEPTION 'audit_store_content: a row is incomplete, has a retention outside 1..36500 days, or its sha256 is not the SHA-256 of its body'
      USING ERRCODE = 'data_exception';
  END IF;

  INSERT INTO public.audit_content AS existing (tenant_id, sha256, kind, media_type, body, byte_size, expires_at)
  SELECT DISTINCT ON (t, s) t, s, k, m, b, octet_length(convert_to(b, 'UTF8')),
         CASE WHEN r IS NULL THEN NULL
              ELSE date_trunc('hour', now() + make_interval(days => r), 'UTC') + interval '1 hour' END
    FROM unnest(tenant_ids, sha256s, kinds, media_types, bodies, retention_days) AS input(t, s, k, m, b, r)
   ORDER BY t, s, r DESC NULLS FIRST
  ON CONFLICT (tenant_id, sha256) DO UPDATE SET expires_at = EXCLUDED.expires_at
   WHERE existing.expires_at IS NOT NULL
     AND (EXCLUDED.expires_at IS NULL OR EXCLUDED.expires_at > existing.expires_at);
  GET DIAGNOSTICS stored = ROW_COUNT;
  RETURN stored;
END
$$;

CREATE OR REPLACE FUNCTION audit_purge_expired_content(batch_size integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  purged integer;
BEGIN
  IF batch_size IS NULL OR batch_size < 1 OR batch_size > 100000 THEN
    RAISE EXCEPTION 'audit_purge_expired_content: batch_size must be 1..100000, got %', batch_size
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  WITH expired AS (
    SELECT tenant_id, sha256 FROM public.audit_content
     WHERE expires_at <= now()
     ORDER BY expires_at
     LIMIT batch_size
       FOR UPDATE SKIP LOCKED
  )
  DELETE FROM public.audit_content AS content
   USING expired
   WHERE content.tenant_id = expired.tenant_id AND content.sha256 = expired.sha256 AND content.expires_at <= now();
  GET DIAGNOSTICS purged = ROW_COUNT;
  RETURN purged;
END
$$;

CREATE OR REPLACE FUNCTION audit_ensure_partition(month timestamptz) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  lower_bound timestamptz := date_trunc('month', month AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  upper_bound timestamptz := (date_trunc('month', month AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
  partition_name text := 'audit_events_' || to_char(month AT TIME ZONE 'UTC', 'YYYY_MM');
BEGIN
  IF to_regclass(format('public.%I', partition_name)) IS NULL THEN
    EXECUTE format('CREATE TABLE public.%I PARTITION OF public.audit_events FOR VALUES FROM (%L) TO (%L)',
                   partition_name, lower_bound, upper_bound);
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON public.%I FROM gatehouse_app', partition_name);
    EXECUTE format('CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON public.%I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION public.audit_refuse_change()', partition_name);
  END IF;
  RETURN partition_name;
END
$$;
