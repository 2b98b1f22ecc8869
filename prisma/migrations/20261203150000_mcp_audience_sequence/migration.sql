-- The MCP proxy checks on every request that the caller is still inside the server's scope, which
-- depends on the caller's department, status and role names. Instead of reading them on every
-- request it keeps them per tenant "audience sequence", moved here by the database itself on every
-- change that can alter anyone's audience (so no code path that edits people can forget it): a
-- user's department or status changed or the user removed, a role binding added, changed or
-- removed (also by cascade), a role renamed. Reading the one mcp_allowlist_state row then tells
-- the proxy whether what it holds is still what the database says.

ALTER TABLE "mcp_allowlist_state" ADD COLUMN "audience_sequence" BIGINT NOT NULL DEFAULT 0;

-- Statement-level, reading the statement's transition tables: each tenant's row is bumped once per
-- statement however many people it changed (a per-row trigger updated the same row once per row:
-- quadratic in the rows of one statement). Tenants are bumped in id order, so two statements
-- bumping several tenants take their rows in one order. The row stays locked to the transaction's
-- end: concurrent transactions changing people in one tenant take turns from their first such
-- statement on.
CREATE FUNCTION mcp_bump_audience_sequences(p_tenants uuid[]) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
  INSERT INTO public.mcp_allowlist_state (tenant_id, audience_sequence)
  SELECT DISTINCT tenant, 1 FROM unnest(p_tenants) AS tenant WHERE tenant IS NOT NULL ORDER BY tenant
  ON CONFLICT (tenant_id) DO UPDATE SET audience_sequence = public.mcp_allowlist_state.audience_sequence + 1;
$$;

CREATE FUNCTION mcp_audience_changed_by_user_update() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM public.mcp_bump_audience_sequences(ARRAY(
    SELECT tenant FROM changed_users_old o JOIN changed_users_new n ON n.id = o.id,
      LATERAL (VALUES (o.tenant_id), (n.tenant_id)) AS moved(tenant)
    WHERE o.department_id IS DISTINCT FROM n.department_id OR o.status IS DISTINCT FROM n.status OR o.tenant_id IS DISTINCT FROM n.tenant_id));
  RETURN NULL;
END
$$;

CREATE FUNCTION mcp_audience_changed_by_user_delete() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM public.mcp_bump_audience_sequences(ARRAY(SELECT tenant_id FROM changed_users_old));
  RETURN NULL;
END
$$;

-- Bindings carry no tenant: it is the user's, or (when the user row is the one being deleted,
-- cascading here) the role's; one of the two always still exists. An update moving a binding to
-- another user or role stays in one tenant (roles and users never move), so its new rows say it.
CREATE FUNCTION mcp_audience_changed_by_binding() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM public.mcp_bump_audience_sequences(ARRAY(
    SELECT COALESCE(u.tenant_id, r.tenant_id) FROM changed_bindings b
      LEFT JOIN public.users u ON u.id = b.user_id LEFT JOIN public.roles r ON r.id = b.role_id));
  RETURN NULL;
END
$$;

CREATE FUNCTION mcp_audience_changed_by_role() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM public.mcp_bump_audience_sequences(ARRAY(
    SELECT n.tenant_id FROM changed_roles_old o JOIN changed_roles_new n ON n.id = o.id WHERE o.name IS DISTINCT FROM n.name));
  RETURN NULL;
END
$$;

-- A trigger with transition tables takes one event and no column list.
CREATE TRIGGER users_mcp_audience_update AFTER UPDATE ON "users"
  REFERENCING OLD TABLE AS changed_users_old NEW TABLE AS changed_users_new
  FOR EACH STATEMENT EXECUTE FUNCTION mcp_audience_changed_by_user_update();
CREATE TRIGGER users_mcp_audience_delete AFTER DELETE ON "users"
  REFERENCING OLD TABLE AS changed_users_old
  FOR EACH STATEMENT EXECUTE FUNCTION mcp_audience_changed_by_user_delete();
CREATE TRIGGER role_bindings_mcp_audience_insert AFTER INSERT ON "role_bindings"
  REFERENCING NEW TABLE AS changed_bindings FOR EACH STATEMENT EXECUTE FUNCTION mcp_audience_changed_by_binding();
CREATE TRIGGER role_bindings_mcp_audience_update AFTER UPDATE ON "role_bindings"
  REFERENCING NEW TABLE AS changed_bindings FOR EACH STATEMENT EXECUTE FUNCTION mcp_audience_changed_by_binding();
CREATE TRIGGER role_bindings_mcp_audience_delete AFTER DELETE ON "role_bindings"
  REFERENCING OLD TABLE AS changed_bindings FOR EACH STATEMENT EXECUTE FUNCTION mcp_audience_changed_by_binding();
CREATE TRIGGER roles_mcp_audience AFTER UPDATE ON "roles"
  REFERENCING OLD TABLE AS changed_roles_old NEW TABLE AS changed_roles_new
  FOR EACH STATEMENT EXECUTE FUNCTION mcp_audience_changed_by_role();
