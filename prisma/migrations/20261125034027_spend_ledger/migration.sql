-- CreateTable
CREATE TABLE "spend_ledger" (
    "tenant_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "day" DATE NOT NULL,
    "model" TEXT NOT NULL,
    "department" TEXT,
    "requests" INTEGER NOT NULL DEFAULT 0,
    "input_tokens" BIGINT NOT NULL DEFAULT 0,
    "output_tokens" BIGINT NOT NULL DEFAULT 0,
    "cache_creation_input_tokens" BIGINT NOT NULL DEFAULT 0,
    "cache_read_input_tokens" BIGINT NOT NULL DEFAULT 0,
    "cost_microdollars" BIGINT NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "spend_ledger_pkey" PRIMARY KEY ("tenant_id","user_id","day","model")
);

-- CreateIndex
CREATE INDEX "spend_ledger_tenant_id_day_idx" ON "spend_ledger"("tenant_id", "day");

-- CreateIndex
CREATE INDEX "spend_ledger_tenant_id_department_day_idx" ON "spend_ledger"("tenant_id", "department", "day");
