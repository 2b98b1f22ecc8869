-- Signed checkpoints of the audit chains (lib/audit/checkpoints.ts). The worker signs each
-- tenant's chain head with an Ed25519 key held outside the database; `gatehouse audit verify`
-- checks the chain against them with public keys pinned outside the database too. Hand-written
-- and listed as an external table, like the rest of the audit spine.

CREATE TABLE audit_checkpoints (
  tenant_id    uuid NOT NULL,
  -- 1, 2, 3 … per tenant, inside the signed statement: a deleted checkpoint leaves a gap.
  number       bigint NOT NULL,
  seq          bigint NOT NULL,
  hash         bytea NOT NULL,
  signed_at    timestamptz NOT NULL,
  key_id       text NOT NULL,
  -- The signer's public key (SubjectPublicKeyInfo DER, base64), for export; verification never
  -- trusts it, only keys pinned outside the database.
  public_key   text NOT NULL,
  -- The exact signed bytes (RFC 8785 canonical JSON of the fields above), so anyone can re-verify.
  statement    text NOT NULL,
  signature    bytea NOT NULL,
  recorded_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (tenant_id, number),
  CHECK (number > 0 AND seq > 0)
);
CREATE INDEX audit_checkpoints_seq_idx ON audit_checkpoints (tenant_id, seq);

-- Accident guards, as on audit_events; the boundary is the role's privileges below.
CREATE FUNCTION audit_checkpoints_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_checkpoints is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_checkpoints_append_only
  BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate
  BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_refuse_change();

-- The default privileges of the audit spine migration granted UPDATE and DELETE; the app may
-- only add checkpoints and read them.
GRANT SELECT, INSERT ON audit_checkpoints TO gatehouse_app;
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_checkpoints FROM gatehouse_app;

-- The migration history is the migration role's business: the app reads it (readiness), never
-- writes it. (A shadow database replaying migrations has no history table.)
DO $$
BEGIN
  IF to_regclass('_prisma_migrations') IS NOT NULL THEN
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON _prisma_migrations FROM gatehouse_app;
  END IF;
END
$$;
