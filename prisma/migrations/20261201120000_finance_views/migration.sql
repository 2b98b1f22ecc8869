-- Finance views: the route a call was served by, daily cost rollups (written by a worker job and
-- reconciled against spend_entries), dashboard-edited budgets (versioned) and budget alerts.

ALTER TABLE "spend_entries" ADD COLUMN "route" TEXT;

CREATE TABLE "cost_rollups" (
    "tenant_id" UUID NOT NULL,
    "day" DATE NOT NULL,
    "user_id" UUID NOT NULL,
    "department" TEXT NOT NULL DEFAULT '',
    "model" TEXT NOT NULL,
    "upstream" TEXT NOT NULL DEFAULT '',
    "route" TEXT NOT NULL DEFAULT '',
    "requests" INTEGER NOT NULL DEFAULT 0,
    "estimated_requests" INTEGER NOT NULL DEFAULT 0,
    "input_tokens" BIGINT NOT NULL DEFAULT 0,
    "output_tokens" BIGINT NOT NULL DEFAULT 0,
    "cache_creation_input_tokens" BIGINT NOT NULL DEFAULT 0,
    "cache_read_input_tokens" BIGINT NOT NULL DEFAULT 0,
    "web_search_requests" INTEGER NOT NULL DEFAULT 0,
    "cost_microdollars" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "cost_rollups_pkey" PRIMARY KEY ("tenant_id","day","user_id","department","model","upstream","route")
);

CREATE TABLE "cost_rollup_days" (
    "tenant_id" UUID NOT NULL,
    "day" DATE NOT NULL,
    "entries" INTEGER NOT NULL,
    "cost_microdollars" BIGINT NOT NULL,
    "last_recorded_at" TIMESTAMPTZ(3),
    "rolled_up_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "cost_rollup_days_pkey" PRIMARY KEY ("tenant_id","day")
);

CREATE TABLE "budget_versions" (
    "tenant_id" UUID NOT NULL,
    "budget_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "rule" JSONB,
    "changed_by" UUID,
    "changed_by_email" TEXT,
    "changed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "budget_versions_pkey" PRIMARY KEY ("tenant_id","budget_id","version")
);

CREATE TABLE "budget_alerts" (
    "tenant_id" UUID NOT NULL,
    "rule" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "period_start" DATE NOT NULL,
    "threshold" INTEGER NOT NULL,
    "spent_microdollars" BIGINT NOT NULL,
    "limit_microdollars" BIGINT NOT NULL,
    "alerted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "webhook_status" TEXT,

    CONSTRAINT "budget_alerts_pkey" PRIMARY KEY ("tenant_id","rule","subject","period_start","threshold")
);

-- Rollups are derived data the worker recomputes a day at a time (delete and insert in one
-- transaction); budget versions are history and are only ever added to.
REVOKE ALL ON "cost_rollups", "cost_rollup_days", "budget_versions", "budget_alerts" FROM gatehouse_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON "cost_rollups", "cost_rollup_days" TO gatehouse_app;
GRANT SELECT, INSERT ON "budget_versions" TO gatehouse_app;
GRANT SELECT, INSERT, UPDATE ON "budget_alerts" TO gatehouse_app;
