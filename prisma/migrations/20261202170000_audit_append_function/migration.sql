-- The audit writer's group commit in one round trip: one call locks the batch's chain heads (in
-- tenant order, the same in every writer, so none deadlocks another), stores the batch's content,
-- links every event to its tenant's chain and inserts them, and moves the heads. Called as one
-- statement, it is one transaction: all of the batch is stored or none of it.
--
-- hash(n) = SHA-256(hash(n-1) || '{"event":' || JCS(event) || ',"seq":' || n || '}'), the bytes of
-- RFC 8785 JCS({seq, event}) ("event" sorts before "seq"), exactly what lib/audit/canonical.ts
-- chainHash computes and verification recomputes from the stored jsonb. `events` is each event's
-- JCS text as the writer serialised it once.
--
-- SECURITY INVOKER: it does nothing the app role could not do itself (it inserts into
-- audit_events, updates audit_chain_heads and stores content through audit_store_content).
CREATE FUNCTION audit_append_events(
  tenant_ids uuid[],
  occurred_ats timestamptz[],
  event_ids uuid[],
  schema_versions smallint[],
  event_types text[],
  actions text[],
  outcomes text[],
  trace_ids text[],
  session_ids text[],
  actor_user_ids uuid[],
  cost_microdollars bigint[],
  events text[],
  content_tenant_ids uuid[],
  content_sha256s bytea[],
  content_kinds text[],
  content_media_types text[],
  content_bodies text[],
  content_retention_days integer[]
) RETURNS bigint[]
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  n integer := coalesce(cardinality(tenant_ids), 0);
  seqs bigint[];
  prev_hashes bytea[];
  hashes bytea[];
  tenant uuid;
  head_seq bigint;
  head_hash bytea;
  i integer;
BEGIN
  IF n = 0 THEN
    RETURN '{}'::bigint[];
  END IF;
  IF cardinality(occurred_ats) IS DISTINCT FROM n OR cardinality(event_ids) IS DISTINCT FROM n
     OR cardinality(schema_versions) IS DISTINCT FROM n OR cardinality(event_types) IS DISTINCT FROM n
     OR cardinality(actions) IS DISTINCT FROM n OR cardinality(outcomes) IS DISTINCT FROM n
     OR cardinality(trace_ids) IS DISTINCT FROM n OR cardinality(session_ids) IS DISTINCT FROM n
     OR cardinality(actor_user_ids) IS DISTINCT FROM n OR cardinality(cost_microdollars) IS DISTINCT FROM n
     OR cardinality(events) IS DISTINCT FROM n THEN
    RAISE EXCEPTION 'audit_append_events: argument arrays differ in length' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  seqs := array_fill(NULL::bigint, ARRAY[n]);
  prev_hashes := array_fill(NULL::bytea, ARRAY[n]);
  hashes := array_fill(NULL::bytea, ARRAY[n]);

  INSERT INTO public.audit_chain_heads (tenant_id)
  SELECT DISTINCT t FROM unnest(tenant_ids) AS t ORDER BY 1
  ON CONFLICT (tenant_id) DO NOTHING;
  PERFORM 1 FROM public.audit_chain_heads WHERE tenant_id = ANY (tenant_ids) ORDER BY tenant_id FOR UPDATE;

  -- After the head locks: two transactions storing the same tenant's content are serialised by
  -- that tenant's head, so they never wait on each other's content rows.
  IF coalesce(cardinality(content_tenant_ids), 0) > 0 THEN
    PERFORM public.audit_store_content(content_tenant_ids, content_sha256s, content_kinds, content_media_types, content_bodies, content_retention_days);
  END IF;

  FOR tenant, head_seq, head_hash IN
    SELECT tenant_id, seq, hash FROM public.audit_chain_heads WHERE tenant_id = ANY (tenant_ids) ORDER BY tenant_id
  LOOP
    IF head_seq > 0 AND head_hash IS NULL THEN
      RAISE EXCEPTION 'audit chain head for tenant % has seq % but no hash', tenant, head_seq;
    END IF;
    head_hash := coalesce(head_hash, decode(repeat('00', 32), 'hex'));
    FOR i IN 1..n LOOP
      CONTINUE WHEN tenant_ids[i] <> tenant;
      head_seq := head_seq + 1;
      prev_hashes[i] := head_hash;
      head_hash := sha256(head_hash || convert_to('{"event":' || events[i] || ',"seq":' || head_seq::text || '}', 'UTF8'));
      seqs[i] := head_seq;
      hashes[i] := head_hash;
    END LOOP;
    UPDATE public.audit_chain_heads SET seq = head_seq, hash = head_hash, updated_at = now() WHERE tenant_id = tenant;
  END LOOP;

  INSERT INTO public.audit_events (occurred_at, event_id, tenant_id, seq, schema_version, event_type, action, outcome,
    trace_id, session_id, actor_user_id, cost_microdollars, event, prev_hash, hash)
  SELECT * FROM unnest(occurred_ats, event_ids, tenant_ids, seqs, schema_versions, event_types, actions, outcomes,
    trace_ids, session_ids, actor_user_ids, cost_microdollars, events::jsonb[], prev_hashes, hashes);
  RETURN seqs;
END
$$;

REVOKE ALL ON FUNCTION audit_append_events(uuid[], timestamptz[], uuid[], smallint[], text[], text[], text[], text[], text[], uuid[], bigint[], text[], uuid[], bytea[], text[], text[], text[], integer[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_append_events(uuid[], timestamptz[], uuid[], smallint[], text[], text[], text[], text[], text[], uuid[], bigint[], text[], uuid[], bytea[], text[], text[], text[], integer[]) TO gatehouse_app;
