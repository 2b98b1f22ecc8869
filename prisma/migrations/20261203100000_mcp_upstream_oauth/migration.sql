-- Issue 12, item 1: upstream auth "oauth_user". A person connects their own account at a
-- registered server's authorization server (OAuth 2.1 code flow with PKCE, lib/mcp/upstream-oauth);
-- the proxy then calls the server with that person's token. Tokens and client secrets are sealed
-- with GATEHOUSE_SECRET; only hashes of `state` are stored.

-- Nothing wrote mcp_upstream_grants before this migration, so the new NOT NULL columns need no backfill.
DELETE FROM "mcp_upstream_grants";
ALTER TABLE "mcp_upstream_grants" ADD COLUMN "tenant_id" UUID NOT NULL;
-- The OAuth client the tokens were issued to: a grant from another (re-registered) client cannot be refreshed.
ALTER TABLE "mcp_upstream_grants" ADD COLUMN "client_id" TEXT NOT NULL;
-- The authorization server that issued the tokens and the resource they are for: they are only
-- ever sent back (refresh, revocation) to that issuer, through its own client row.
ALTER TABLE "mcp_upstream_grants" ADD COLUMN "issuer" TEXT NOT NULL;
ALTER TABLE "mcp_upstream_grants" ADD COLUMN "resource" TEXT NOT NULL;
CREATE INDEX "mcp_upstream_grants_tenant_id_user_id_idx" ON "mcp_upstream_grants"("tenant_id", "user_id");
ALTER TABLE "mcp_upstream_grants" ADD CONSTRAINT "mcp_upstream_grants_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "mcp_upstream_grants" ADD CONSTRAINT "mcp_upstream_grants_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Per oauth_user server and authorization server: that server's metadata as last discovered and
-- the client Gatehouse is there (configured by an administrator, or registered by Dynamic Client
-- Registration). Keyed by issuer so that one authorization server's row never describes another.
CREATE TABLE "mcp_upstream_clients" (
    "server_id" UUID NOT NULL,
    "issuer" TEXT NOT NULL,
    -- RFC 8707 resource indicator sent on every authorization and token request.
    "resource" TEXT NOT NULL,
    -- RFC 8414 authorization server metadata, as discovered.
    "metadata" JSONB NOT NULL,
    "client_id" TEXT NOT NULL,
    "sealed_client_secret" TEXT,
    "dynamic" BOOLEAN NOT NULL,
    "redirect_uri" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "mcp_upstream_clients_pkey" PRIMARY KEY ("server_id", "issuer")
);
ALTER TABLE "mcp_upstream_clients" ADD CONSTRAINT "mcp_upstream_clients_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "mcp_servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Authorization requests on their way through the upstream's consent page (minutes), keyed by
-- the SHA-256 of their `state`; consumed (deleted) by the callback.
CREATE TABLE "mcp_upstream_authorizations" (
    "state_hash" TEXT NOT NULL,
    "tenant_id" UUID NOT NULL,
    "server_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "client_id" TEXT NOT NULL,
    "issuer" TEXT NOT NULL,
    "resource" TEXT NOT NULL,
    "sealed_verifier" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "mcp_upstream_authorizations_pkey" PRIMARY KEY ("state_hash")
);
CREATE INDEX "mcp_upstream_authorizations_expires_at_idx" ON "mcp_upstream_authorizations"("expires_at");
ALTER TABLE "mcp_upstream_authorizations" ADD CONSTRAINT "mcp_upstream_authorizations_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "mcp_upstream_authorizations" ADD CONSTRAINT "mcp_upstream_authorizations_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "mcp_servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "mcp_upstream_authorizations" ADD CONSTRAINT "mcp_upstream_authorizations_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE INDEX "mcp_upstream_authorizations_tenant_id_user_id_idx" ON "mcp_upstream_authorizations"("tenant_id", "user_id");

-- The authorization server an oauth_user server's people sign in to, pinned by the first
-- connection: a server whose metadata later names another one is refused until an administrator
-- resets the pin (gatehouse mcp reset-oauth), so nobody's tokens or the client secret go to it.
CREATE TABLE "mcp_upstream_pins" (
    "server_id" UUID NOT NULL,
    "issuer" TEXT NOT NULL,
    "pinned_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "mcp_upstream_pins_pkey" PRIMARY KEY ("server_id")
);
ALTER TABLE "mcp_upstream_pins" ADD CONSTRAINT "mcp_upstream_pins_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "mcp_servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- A refresh in flight, per grant: taken and released in short statements (the token endpoint is
-- called outside any transaction); one that outlives refresh_lease_until is abandoned.
ALTER TABLE "mcp_upstream_grants" ADD COLUMN "refresh_lease_until" TIMESTAMPTZ(3);

REVOKE ALL ON "mcp_upstream_clients", "mcp_upstream_authorizations", "mcp_upstream_pins" FROM gatehouse_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON "mcp_upstream_clients" TO gatehouse_app;
GRANT SELECT, INSERT, DELETE ON "mcp_upstream_authorizations" TO gatehouse_app;
GRANT SELECT, INSERT, DELETE ON "mcp_upstream_pins" TO gatehouse_app;
