-- The MCP proxy checks on every request that the caller is still inside the server's scope, which
-- depends on the caller's department, status and role names. Instead of reading them on every
-- request it keeps them per tenant "audience sequence", moved here by the database itself on every
-- change that can alter anyone's audience (so no code path that edits people can forget it): a
-- user's department or status changed or the user removed, a role binding added, changed or
-- removed (also by cascade), a role renamed. Reading the one mcp_allowlist_state row then tells
-- the proxy whether what it holds is still what the database says.

ALTER TABLE "mcp_allowlist_state" ADD COLUMN "audience_sequence" BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION mcp_bump_audience_sequence(p_tenant uuid) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
  INSERT INTO public.mcp_allowlist_state (tenant_id, audience_sequence) VALUES (p_tenant, 1)
  ON CONFLICT (tenant_id) DO UPDATE SET audience_sequence = public.mcp_allowlist_state.audience_sequence + 1;
$$;

CREATE FUNCTION mcp_audience_changed_by_user() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM public.mcp_bump_audience_sequence(OLD.tenant_id);
  ELSE
    PERFORM public.mcp_bump_audience_sequence(NEW.tenant_id);
    IF OLD.tenant_id IS DISTINCT FROM NEW.tenant_id THEN PERFORM public.mcp_bump_audience_sequence(OLD.tenant_id); END IF;
  END IF;
  RETURN NULL;
END
$$;

-- Bindings carry no tenant: it is the user's, or (when the user row is the one being deleted,
-- cascading here) the role's; one of the two always still exists.
CREATE FUNCTION mcp_audience_changed_by_binding() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  binding public.role_bindings;
  tenant uuid;
BEGIN
  IF TG_OP = 'DELETE' THEN binding := OLD; ELSE binding := NEW; END IF;
  -- An update moving a binding to another user or role: both are in one tenant (roles and users never move).
  SELECT tenant_id INTO tenant FROM public.users WHERE id = binding.user_id;
  IF tenant IS NULL THEN SELECT tenant_id INTO tenant FROM public.roles WHERE id = binding.role_id; END IF;
  IF tenant IS NOT NULL THEN PERFORM public.mcp_bump_audience_sequence(tenant); END IF;
  RETURN NULL;
END
$$;

CREATE FUNCTION mcp_audience_changed_by_role() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  PERFORM public.mcp_bump_audience_sequence(NEW.tenant_id);
  RETURN NULL;
END
$$;

-- Deferred to commit: the tenant's row is then locked last and briefly, after every row the
-- transaction edits, so two transactions editing people cannot deadlock on it.
CREATE CONSTRAINT TRIGGER users_mcp_audience_update AFTER UPDATE OF department_id, status, tenant_id ON "users"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.department_id IS DISTINCT FROM NEW.department_id OR OLD.status IS DISTINCT FROM NEW.status OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
  EXECUTE FUNCTION mcp_audience_changed_by_user();
CREATE CONSTRAINT TRIGGER users_mcp_audience_delete AFTER DELETE ON "users"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION mcp_audience_changed_by_user();
CREATE CONSTRAINT TRIGGER role_bindings_mcp_audience AFTER INSERT OR UPDATE OR DELETE ON "role_bindings"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION mcp_audience_changed_by_binding();
CREATE CONSTRAINT TRIGGER roles_mcp_audience AFTER UPDATE OF name ON "roles"
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
  EXECUTE FUNCTION mcp_audience_changed_by_role();
