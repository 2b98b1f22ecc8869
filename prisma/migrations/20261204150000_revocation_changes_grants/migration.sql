-- The revocation change log's privileges spelled out, as for the other hand-written tables,
-- instead of relying on the schema's default privileges: the application reads it, appends to it
-- (through the triggers, which run as the writing role) and prunes it; nothing rewrites a change.
REVOKE ALL ON "revocation_changes" FROM gatehouse_app;
GRANT SELECT, INSERT, DELETE ON "revocation_changes" TO gatehouse_app;
REVOKE ALL ON SEQUENCE "revocation_changes_id_seq" FROM gatehouse_app;
GRANT USAGE ON SEQUENCE "revocation_changes_id_seq" TO gatehouse_app;
