-- One row per priced gateway call, keyed by the call id (the inference.request event's event_id).
-- A row and its addition to the daily spend_ledger aggregate are written in one statement, and
-- only when the row is new, so the gateway's settle and the reconciler can never count a call twice.
CREATE TABLE "spend_entries" (
    "call_id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "department" TEXT,
    "model" TEXT NOT NULL,
    "upstream" TEXT,
    "trace_id" TEXT NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "day" DATE NOT NULL,
    "input_tokens" BIGINT NOT NULL DEFAULT 0,
    "output_tokens" BIGINT NOT NULL DEFAULT 0,
    "cache_creation_input_tokens" BIGINT NOT NULL DEFAULT 0,
    "cache_read_input_tokens" BIGINT NOT NULL DEFAULT 0,
    "web_search_requests" INTEGER NOT NULL DEFAULT 0,
    "cost_microdollars" BIGINT NOT NULL DEFAULT 0,
    "usage_estimated" BOOLEAN NOT NULL DEFAULT false,
    "outcome" TEXT NOT NULL,
    "recorded_by" TEXT NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "spend_entries_pkey" PRIMARY KEY ("call_id")
);

CREATE INDEX "spend_entries_tenant_id_day_idx" ON "spend_entries"("tenant_id", "day");
CREATE INDEX "spend_entries_tenant_id_user_id_day_idx" ON "spend_entries"("tenant_id", "user_id", "day");

-- How many of a day's requests were priced from an estimate (the upstream never reported usage).
ALTER TABLE "spend_ledger" ADD COLUMN "estimated_requests" INTEGER NOT NULL DEFAULT 0;

-- Where the reconciler has looked up to: request events older than this all have a response.
CREATE TABLE "gateway_reconcile_state" (
    "name" TEXT NOT NULL,
    "reconciled_until" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "gateway_reconcile_state_pkey" PRIMARY KEY ("name")
);

-- Finance reads these rows: the application adds and corrects them, it never removes them.
GRANT SELECT, INSERT, UPDATE ON "spend_entries", "gateway_reconcile_state" TO gatehouse_app;
REVOKE DELETE, TRUNCATE ON "spend_entries" FROM gatehouse_app;
