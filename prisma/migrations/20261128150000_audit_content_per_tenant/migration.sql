-- audit_content per tenant, written only through a checked store function, with retention that
-- follows the latest reference and a purge of what has expired. Hand-written like the audit
-- spine migration: Prisma cannot express functions or privileges, and audit_content is already
-- an external table in lib/db/migrations.ts (functions are not part of Prisma's schema diff).

-- The same bytes sent by two tenants are two rows, each under its own tenant's retention and
-- readable only through its own tenant's events. Existing rows keep their (unique) sha256.
ALTER TABLE audit_content DROP CONSTRAINT audit_content_pkey;
ALTER TABLE audit_content ADD PRIMARY KEY (tenant_id, sha256);

-- Stores content rows, one per array position, for the app role (which may no longer INSERT
-- into audit_content directly, and may not UPDATE it at all). Chosen over a column-level
-- `GRANT UPDATE (expires_at)`: such a grant would let the app set any expiry, including one in
-- the past that the purge then deletes, i.e. erase evidence content early. Through this function
-- the app can only add content whose sha256 really is the SHA-256 of its UTF-8 body, and can only
-- move an existing row's expiry forward (a new reference keeps the content at least as long as
-- the new reference's retention; NULL, keep for ever, wins over any date).
--
-- Expiry is rounded up to the next full hour (UTC), so a conversation re-referencing its prefix
-- every turn rewrites those rows at most once an hour instead of on every request.
CREATE FUNCTION audit_store_content(
  tenant_ids uuid[],
  sha256s bytea[],
  kinds text[],
  media_types text[],
  bodies text[],
  retention_days integer[]
) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
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

  -- One row per (tenant, sha256) even if the input repeats one (ON CONFLICT DO UPDATE may touch
  -- a row only once per statement), keeping the longest expiry; sorted so concurrent callers
  -- lock rows in the same order.
  INSERT INTO audit_content AS existing (tenant_id, sha256, kind, media_type, body, byte_size, expires_at)
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
REVOKE ALL ON FUNCTION audit_store_content(uuid[], bytea[], text[], text[], text[], integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_store_content(uuid[], bytea[], text[], text[], text[], integer[]) TO gatehouse_app;

-- Deletes up to `batch_size` rows whose expiry has passed and returns how many it deleted; the
-- worker calls it in a loop until a batch comes back short. Only the database's clock decides
-- what has expired, so the app role (which keeps no DELETE on audit_content) can remove nothing
-- that is still within its retention. Rows a concurrent store is re-referencing are skipped
-- (SKIP LOCKED) and re-checked, so a row whose expiry just moved forward survives. Events only
-- reference content by hash, so no hash chain depends on these rows.
CREATE FUNCTION audit_purge_expired_content(batch_size integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  purged integer;
BEGIN
  IF batch_size IS NULL OR batch_size < 1 OR batch_size > 100000 THEN
    RAISE EXCEPTION 'audit_purge_expired_content: batch_size must be 1..100000, got %', batch_size
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  WITH expired AS (
    SELECT tenant_id, sha256 FROM audit_content
     WHERE expires_at <= now()
     ORDER BY expires_at
     LIMIT batch_size
       FOR UPDATE SKIP LOCKED
  )
  DELETE FROM audit_content AS content
   USING expired
   WHERE content.tenant_id = expired.tenant_id AND content.sha256 = expired.sha256 AND content.expires_at <= now();
  GET DIAGNOSTICS purged = ROW_COUNT;
  RETURN purged;
END
$$;
REVOKE ALL ON FUNCTION audit_purge_expired_content(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_purge_expired_content(integer) TO gatehouse_app;

-- The functions above are now the only way the app role changes audit_content.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON audit_content FROM gatehouse_app;
GRANT SELECT ON audit_content TO gatehouse_app;
