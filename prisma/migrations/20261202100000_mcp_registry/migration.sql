-- Issue 12. The MCP registry (lib/mcp/registry): servers, their tool-list versions (drift held
-- for approval), scopes, users' upstream OAuth grants and the per-tenant allowlist sequence; and
-- the per-principal tool policy rules (lib/tool-policy) the MCP proxy and governance hooks share.

-- CreateEnum
CREATE TYPE "McpTransport" AS ENUM ('streamable_http', 'sse', 'stdio');
CREATE TYPE "McpUpstreamAuth" AS ENUM ('none', 'static_secret', 'oauth_user');
CREATE TYPE "McpServerStatus" AS ENUM ('active', 'revoked');
CREATE TYPE "McpServerVersionStatus" AS ENUM ('pending', 'approved', 'rejected', 'superseded');
CREATE TYPE "McpPrincipalKind" AS ENUM ('everyone', 'role', 'department', 'user');
CREATE TYPE "ToolPolicyDecision" AS ENUM ('allow', 'ask', 'block');
CREATE TYPE "ToolPolicyFailMode" AS ENUM ('open', 'closed');

-- CreateTable
CREATE TABLE "mcp_servers" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "owner_id" UUID NOT NULL,
    "transport" "McpTransport" NOT NULL,
    "url" TEXT,
    "command" TEXT,
    "args" JSONB NOT NULL DEFAULT '[]',
    "env" JSONB NOT NULL DEFAULT '{}',
    "upstream_auth" "McpUpstreamAuth" NOT NULL DEFAULT 'none',
    "secret_header" TEXT,
    "sealed_secret" TEXT,
    "oauth_config" JSONB,
    "allow_private_network" BOOLEAN NOT NULL DEFAULT false,
    "status" "McpServerStatus" NOT NULL DEFAULT 'active',
    "revoked_reason" TEXT,
    "revoked_at" TIMESTAMPTZ(3),
    "revoked_by" UUID,
    "approved_version_id" UUID,
    "last_checked_at" TIMESTAMPTZ(3),
    "last_check_ok" BOOLEAN,
    "last_check_error" TEXT,
    "last_check_latency_ms" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "mcp_servers_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "mcp_servers_name_format" CHECK ("name" ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    CONSTRAINT "mcp_servers_target" CHECK (("transport" = 'stdio' AND "command" IS NOT NULL) OR ("transport" <> 'stdio' AND "url" IS NOT NULL))
);

CREATE TABLE "mcp_server_versions" (
    "id" UUID NOT NULL,
    "server_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "tools" JSONB NOT NULL,
    "tools_digest" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "status" "McpServerVersionStatus" NOT NULL DEFAULT 'pending',
    "reviewed_by" UUID,
    "reviewed_at" TIMESTAMPTZ(3),
    "review_comment" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "mcp_server_versions_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "mcp_server_scopes" (
    "id" UUID NOT NULL,
    "server_id" UUID NOT NULL,
    "kind" "McpPrincipalKind" NOT NULL,
    "subject" TEXT NOT NULL DEFAULT '',
    "created_by" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "mcp_server_scopes_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "mcp_upstream_grants" (
    "server_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "sealed_tokens" TEXT NOT NULL,
    "scope" TEXT NOT NULL DEFAULT '',
    "expires_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "mcp_upstream_grants_pkey" PRIMARY KEY ("server_id","user_id")
);

CREATE TABLE "mcp_allowlist_state" (
    "tenant_id" UUID NOT NULL,
    "sequence" BIGINT NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "mcp_allowlist_state_pkey" PRIMARY KEY ("tenant_id")
);

CREATE TABLE "tool_policy_rules" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "server" TEXT NOT NULL,
    "tool" TEXT NOT NULL,
    "principal_kind" "McpPrincipalKind" NOT NULL,
    "principal" TEXT NOT NULL DEFAULT '',
    "conditions" JSONB NOT NULL DEFAULT '{}',
    "decision" "ToolPolicyDecision" NOT NULL,
    "fail_mode" "ToolPolicyFailMode" NOT NULL DEFAULT 'closed',
    "description" TEXT NOT NULL DEFAULT '',
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_by" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tool_policy_rules_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "mcp_servers_tenant_id_name_key" ON "mcp_servers"("tenant_id", "name");
CREATE UNIQUE INDEX "mcp_server_versions_server_id_version_key" ON "mcp_server_versions"("server_id", "version");
CREATE UNIQUE INDEX "mcp_server_scopes_server_id_kind_subject_key" ON "mcp_server_scopes"("server_id", "kind", "subject");
CREATE INDEX "tool_policy_rules_tenant_id_server_idx" ON "tool_policy_rules"("tenant_id", "server");

-- AddForeignKey
ALTER TABLE "mcp_servers" ADD CONSTRAINT "mcp_servers_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "mcp_server_versions" ADD CONSTRAINT "mcp_server_versions_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "mcp_servers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "mcp_server_scopes" ADD CONSTRAINT "mcp_server_scopes_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "mcp_servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "mcp_upstream_grants" ADD CONSTRAINT "mcp_upstream_grants_server_id_fkey" FOREIGN KEY ("server_id") REFERENCES "mcp_servers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "tool_policy_rules" ADD CONSTRAINT "tool_policy_rules_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- What the application may do. Versions are insert-only apart from their review; servers are
-- revoked, never deleted, so the audit trail keeps naming them.
REVOKE ALL ON "mcp_servers", "mcp_server_versions", "mcp_server_scopes", "mcp_upstream_grants", "mcp_allowlist_state", "tool_policy_rules" FROM gatehouse_app;
GRANT SELECT, INSERT, UPDATE ON "mcp_servers", "mcp_allowlist_state" TO gatehouse_app;
GRANT SELECT, INSERT ON "mcp_server_versions" TO gatehouse_app;
GRANT UPDATE ("status", "reviewed_by", "reviewed_at", "review_comment") ON "mcp_server_versions" TO gatehouse_app;
GRANT SELECT, INSERT, DELETE ON "mcp_server_scopes" TO gatehouse_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON "mcp_upstream_grants", "tool_policy_rules" TO gatehouse_app;
