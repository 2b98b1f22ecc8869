-- Device rollout (issue 13): the Rollout page's settings, the managed-settings checksums Gatehouse
-- issued, and what Claude Code sessions report running under.
CREATE TABLE "rollout_settings" (
    "tenant_id" UUID NOT NULL REFERENCES "tenants"("id") ON DELETE RESTRICT,
    "settings" JSONB NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "updated_by" UUID,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "rollout_settings_pkey" PRIMARY KEY ("tenant_id")
);

CREATE TABLE "managed_settings_checksums" (
    "tenant_id" UUID NOT NULL REFERENCES "tenants"("id") ON DELETE RESTRICT,
    "checksum" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "first_issued_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_issued_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "managed_settings_checksums_pkey" PRIMARY KEY ("tenant_id", "checksum")
);

CREATE TABLE "client_settings_reports" (
    "tenant_id" UUID NOT NULL REFERENCES "tenants"("id") ON DELETE RESTRICT,
    "user_id" UUID NOT NULL REFERENCES "users"("id") ON DELETE CASCADE,
    "session_key" TEXT NOT NULL,
    "checksum" TEXT NOT NULL,
    "client" TEXT,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "client_settings_reports_pkey" PRIMARY KEY ("tenant_id", "user_id", "session_key", "checksum")
);
CREATE INDEX "client_settings_reports_tenant_id_last_seen_at_idx" ON "client_settings_reports"("tenant_id", "last_seen_at");
