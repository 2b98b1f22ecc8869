-- Every process checks access tokens against its own copy of the disabled users and the revoked
-- sign-ins (lib/tokens/revocation.ts). After one full read it only applies what changed since:
-- the database itself notes every change that can move someone into or out of those sets (so no
-- code path that disables or enables a user or ends a sign-in can forget to), and wakes the
-- listening processes with NOTIFY when the change commits. A row says who changed, not how:
-- readers look at the current row. `tx` is the writing transaction's id, so a reader can ask for
-- everything its previous read could not see yet (tx at or after that read's snapshot xmin),
-- however long a writer took to commit. Rows are pruned by housekeeping after a day.
CREATE TABLE "revocation_changes" (
  "id" BIGSERIAL PRIMARY KEY,
  "tx" XID8 NOT NULL DEFAULT pg_current_xact_id(),
  "subject" TEXT NOT NULL CHECK ("subject" IN ('user', 'session')),
  "subject_id" UUID NOT NULL,
  "changed_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX "revocation_changes_tx_idx" ON "revocation_changes" ("tx");
CREATE INDEX "revocation_changes_changed_at_idx" ON "revocation_changes" ("changed_at");

-- The application appends (through the triggers) and prunes; nothing rewrites a noted change.
REVOKE UPDATE ON "revocation_changes" FROM gatehouse_app;

-- Row triggers with a WHEN condition: the function runs only for rows whose status or
-- revocation actually changed, so the frequent updates of last_active_at / last_used_at cost
-- nothing here. PostgreSQL folds identical notifications of one transaction into one.
CREATE FUNCTION revocation_note_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  changed_id uuid;
BEGIN
  IF TG_OP = 'DELETE' THEN changed_id := OLD.id; ELSE changed_id := NEW.id; END IF;
  INSERT INTO public.revocation_changes (subject, subject_id) VALUES (TG_ARGV[0], changed_id);
  PERFORM pg_notify('gatehouse_revocations', '');
  RETURN NULL;
END
$$;

CREATE TRIGGER users_revocation_update AFTER UPDATE OF "status" ON "users"
  FOR EACH ROW WHEN (OLD."status" IS DISTINCT FROM NEW."status") EXECUTE FUNCTION revocation_note_change('user');
CREATE TRIGGER users_revocation_insert AFTER INSERT ON "users"
  FOR EACH ROW WHEN (NEW."status" = 'disabled') EXECUTE FUNCTION revocation_note_change('user');
CREATE TRIGGER users_revocation_delete AFTER DELETE ON "users"
  FOR EACH ROW WHEN (OLD."status" = 'disabled') EXECUTE FUNCTION revocation_note_change('user');
CREATE TRIGGER oauth_sessions_revocation_update AFTER UPDATE OF "revoked_at" ON "oauth_sessions"
  FOR EACH ROW WHEN (OLD."revoked_at" IS DISTINCT FROM NEW."revoked_at") EXECUTE FUNCTION revocation_note_change('session');
CREATE TRIGGER oauth_sessions_revocation_insert AFTER INSERT ON "oauth_sessions"
  FOR EACH ROW WHEN (NEW."revoked_at" IS NOT NULL) EXECUTE FUNCTION revocation_note_change('session');
CREATE TRIGGER oauth_sessions_revocation_delete AFTER DELETE ON "oauth_sessions"
  FOR EACH ROW WHEN (OLD."revoked_at" IS NOT NULL) EXECUTE FUNCTION revocation_note_change('session');
