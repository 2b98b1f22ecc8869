-- Issue 8, item 2. The installation has one tenant, decided once: the one created at first start.
-- gatehouse.yaml's tenant.name and tenant.slug rename that row; they never select or create
-- another. One row at most (id is always 1); the application role may read it and write it once,
-- never change or remove it.

-- CreateTable
CREATE TABLE "installation" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "tenant_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "installation_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "installation_single_row" CHECK ("id" = 1)
);

-- CreateIndex
CREATE UNIQUE INDEX "installation_tenant_id_key" ON "installation"("tenant_id");

-- AddForeignKey
ALTER TABLE "installation" ADD CONSTRAINT "installation_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- An existing installation's tenant is the one its first start created: the oldest. (A second
-- tenant left by copying gatehouse.example.yaml over an earlier version holds no administrator.)
INSERT INTO "installation" ("tenant_id") SELECT "id" FROM "tenants" ORDER BY "created_at", "id" LIMIT 1;

-- The default privileges of the audit_spine migration would add UPDATE and DELETE (and cover
-- only tables created by the role that ran it): state exactly what the app may do.
REVOKE ALL ON "installation" FROM gatehouse_app;
GRANT SELECT, INSERT ON "installation" TO gatehouse_app;
