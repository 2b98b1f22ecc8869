-- Issue 10. The organisation signing key (lib/signing) and the org-plugins supply chain
-- (lib/plugins): plugins, immutable content-addressed versions, review, entitlements, marketplace
-- reviews, the per-tenant sequence signed sets carry, and what each device last synced.

-- CreateEnum
CREATE TYPE "OrgKeyStatus" AS ENUM ('active', 'retired');
CREATE TYPE "PluginStatus" AS ENUM ('active', 'revoked');
CREATE TYPE "PluginVersionStatus" AS ENUM ('pending', 'approved', 'rejected', 'withdrawn');
CREATE TYPE "PluginEntitlementKind" AS ENUM ('everyone', 'role', 'department', 'user');
CREATE TYPE "PluginRequestStatus" AS ENUM ('pending', 'approved', 'rejected');

-- CreateTable
CREATE TABLE "org_signing_keys" (
    "kid" TEXT NOT NULL,
    "public_jwk" JSONB NOT NULL,
    "encrypted_private_key" TEXT NOT NULL,
    "status" "OrgKeyStatus" NOT NULL DEFAULT 'active',
    "endorsement" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "retired_at" TIMESTAMPTZ(3),

    CONSTRAINT "org_signing_keys_pkey" PRIMARY KEY ("kid")
);

CREATE TABLE "plugins" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "owner_id" UUID NOT NULL,
    "department_id" UUID,
    "category" TEXT NOT NULL DEFAULT 'other',
    "self_install" BOOLEAN NOT NULL DEFAULT true,
    "status" "PluginStatus" NOT NULL DEFAULT 'active',
    "revoked_reason" TEXT,
    "revoked_at" TIMESTAMPTZ(3),
    "forked_from_version_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "plugins_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "plugin_versions" (
    "id" UUID NOT NULL,
    "plugin_id" UUID NOT NULL,
    "version" TEXT NOT NULL,
    "digest" TEXT NOT NULL,
    "archive_sha256" TEXT NOT NULL,
    "manifest" JSONB NOT NULL,
    "components" JSONB NOT NULL,
    "readme" TEXT,
    "changelog" TEXT NOT NULL DEFAULT '',
    "author_id" UUID NOT NULL,
    "status" "PluginVersionStatus" NOT NULL DEFAULT 'pending',
    "reviewed_by" UUID,
    "reviewed_at" TIMESTAMPTZ(3),
    "review_comment" TEXT,
    "signature" TEXT,
    "signed_kid" TEXT,
    "withdrawn_reason" TEXT,
    "withdrawn_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "plugin_versions_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "plugin_blobs" (
    "sha256" TEXT NOT NULL,
    "content" BYTEA NOT NULL,
    "size" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "plugin_blobs_pkey" PRIMARY KEY ("sha256")
);

CREATE TABLE "plugin_version_files" (
    "version_id" UUID NOT NULL,
    "path" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "size" INTEGER NOT NULL,

    CONSTRAINT "plugin_version_files_pkey" PRIMARY KEY ("version_id","path")
);

CREATE TABLE "plugin_entitlements" (
    "id" UUID NOT NULL,
    "plugin_id" UUID NOT NULL,
    "kind" "PluginEntitlementKind" NOT NULL,
    "subject" TEXT NOT NULL DEFAULT '',
    "created_by" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "plugin_entitlements_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "plugin_install_requests" (
    "id" UUID NOT NULL,
    "plugin_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "status" "PluginRequestStatus" NOT NULL DEFAULT 'pending',
    "reason" TEXT NOT NULL DEFAULT '',
    "decided_by" UUID,
    "decided_at" TIMESTAMPTZ(3),
    "comment" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "plugin_install_requests_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "plugin_ratings" (
    "id" UUID NOT NULL,
    "plugin_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "stars" INTEGER NOT NULL,
    "body" TEXT NOT NULL DEFAULT '',
    "hidden" BOOLEAN NOT NULL DEFAULT false,
    "reply" TEXT,
    "replied_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "plugin_ratings_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "plugin_ratings_stars_range" CHECK ("stars" BETWEEN 1 AND 5)
);

CREATE TABLE "plugin_catalog_state" (
    "tenant_id" UUID NOT NULL,
    "sequence" BIGINT NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "plugin_catalog_state_pkey" PRIMARY KEY ("tenant_id")
);

CREATE TABLE "plugin_device_syncs" (
    "tenant_id" UUID NOT NULL,
    "device_id" TEXT NOT NULL,
    "user_id" UUID NOT NULL,
    "sequence" BIGINT NOT NULL,
    "plugins" JSONB NOT NULL,
    "synced_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "plugin_device_syncs_pkey" PRIMARY KEY ("tenant_id","device_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "plugins_tenant_id_name_key" ON "plugins"("tenant_id", "name");
CREATE UNIQUE INDEX "plugin_versions_plugin_id_version_key" ON "plugin_versions"("plugin_id", "version");
CREATE UNIQUE INDEX "plugin_entitlements_plugin_id_kind_subject_key" ON "plugin_entitlements"("plugin_id", "kind", "subject");
CREATE INDEX "plugin_install_requests_plugin_id_status_idx" ON "plugin_install_requests"("plugin_id", "status");
CREATE UNIQUE INDEX "plugin_ratings_plugin_id_user_id_key" ON "plugin_ratings"("plugin_id", "user_id");

-- AddForeignKey
ALTER TABLE "plugins" ADD CONSTRAINT "plugins_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "plugin_versions" ADD CONSTRAINT "plugin_versions_plugin_id_fkey" FOREIGN KEY ("plugin_id") REFERENCES "plugins"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "plugin_version_files" ADD CONSTRAINT "plugin_version_files_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "plugin_versions"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "plugin_entitlements" ADD CONSTRAINT "plugin_entitlements_plugin_id_fkey" FOREIGN KEY ("plugin_id") REFERENCES "plugins"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "plugin_install_requests" ADD CONSTRAINT "plugin_install_requests_plugin_id_fkey" FOREIGN KEY ("plugin_id") REFERENCES "plugins"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "plugin_ratings" ADD CONSTRAINT "plugin_ratings_plugin_id_fkey" FOREIGN KEY ("plugin_id") REFERENCES "plugins"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- What the application may do, stated exactly (whatever role runs this migration). Versions are
-- immutable: their files and blobs are insert-only, and of a version row only the review,
-- signature and withdrawal columns may change. Nothing of the supply chain is ever deleted.
REVOKE ALL ON "org_signing_keys", "plugins", "plugin_versions", "plugin_blobs", "plugin_version_files", "plugin_entitlements",
  "plugin_install_requests", "plugin_ratings", "plugin_catalog_state", "plugin_device_syncs" FROM gatehouse_app;
GRANT SELECT, INSERT ON "plugin_blobs", "plugin_version_files" TO gatehouse_app;
GRANT SELECT, INSERT ON "plugin_versions" TO gatehouse_app;
GRANT UPDATE ("status", "reviewed_by", "reviewed_at", "review_comment", "signature", "signed_kid", "withdrawn_reason", "withdrawn_at") ON "plugin_versions" TO gatehouse_app;
GRANT SELECT, INSERT ON "org_signing_keys" TO gatehouse_app;
GRANT UPDATE ("status", "retired_at") ON "org_signing_keys" TO gatehouse_app;
GRANT SELECT, INSERT, UPDATE ON "plugins", "plugin_install_requests", "plugin_ratings", "plugin_catalog_state", "plugin_device_syncs" TO gatehouse_app;
GRANT SELECT, INSERT, DELETE ON "plugin_entitlements" TO gatehouse_app;
