-- SIEM forwarding (lib/siem): sinks with their cursors over the audit chain, and the outbox of
-- seq ranges workers claim with FOR UPDATE SKIP LOCKED. Claude Code's own telemetry per user and day.
CREATE TABLE "siem_sinks" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "origin" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "definition" JSONB NOT NULL DEFAULT '{}',
    "sealed_secret" TEXT,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "event_cursor" BIGINT NOT NULL DEFAULT 0,
    "checkpoint_cursor" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "siem_sinks_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "siem_sinks_tenant_id_name_key" ON "siem_sinks"("tenant_id", "name");

CREATE TABLE "siem_batches" (
    "id" BIGSERIAL NOT NULL,
    "sink_id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "from_seq" BIGINT NOT NULL,
    "to_seq" BIGINT NOT NULL,
    "delivered_through" BIGINT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "claim_token" UUID,
    "lease_until" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "replay" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "delivered_at" TIMESTAMPTZ(3),

    CONSTRAINT "siem_batches_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "siem_batches_status_next_attempt_at_idx" ON "siem_batches"("status", "next_attempt_at");
CREATE INDEX "siem_batches_sink_id_status_idx" ON "siem_batches"("sink_id", "status");

ALTER TABLE "siem_batches" ADD CONSTRAINT "siem_batches_sink_id_fkey" FOREIGN KEY ("sink_id") REFERENCES "siem_sinks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "client_telemetry_daily" (
    "tenant_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "day" DATE NOT NULL,
    "model" TEXT NOT NULL DEFAULT '',
    "input_tokens" BIGINT NOT NULL DEFAULT 0,
    "output_tokens" BIGINT NOT NULL DEFAULT 0,
    "cache_read_tokens" BIGINT NOT NULL DEFAULT 0,
    "cache_creation_tokens" BIGINT NOT NULL DEFAULT 0,
    "cost_microdollars" BIGINT NOT NULL DEFAULT 0,
    "active_seconds" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "api_requests" INTEGER NOT NULL DEFAULT 0,
    "tool_accepts" INTEGER NOT NULL DEFAULT 0,
    "tool_rejects" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "client_telemetry_daily_pkey" PRIMARY KEY ("tenant_id","user_id","day","model")
);

CREATE INDEX "client_telemetry_daily_tenant_id_day_idx" ON "client_telemetry_daily"("tenant_id", "day");

CREATE TABLE "client_telemetry_series" (
    "tenant_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "series_key" TEXT NOT NULL,
    "value" DOUBLE PRECISION NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "client_telemetry_series_pkey" PRIMARY KEY ("tenant_id","user_id","series_key")
);

CREATE INDEX "client_telemetry_series_updated_at_idx" ON "client_telemetry_series"("updated_at");

GRANT SELECT, INSERT, UPDATE, DELETE ON "siem_sinks", "siem_batches", "client_telemetry_daily", "client_telemetry_series" TO gatehouse_app;
GRANT USAGE, SELECT ON SEQUENCE "siem_batches_id_seq" TO gatehouse_app;
