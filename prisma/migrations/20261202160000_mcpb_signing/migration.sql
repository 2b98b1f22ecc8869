-- Issue 12, item 7. The organisation CA and code-signing certificate that sign MCP Bundles
-- (lib/mcpb): certificates with their private keys sealed by GATEHOUSE_SECRET, created on first
-- use. One active certificate of each kind; a renewed one retires its predecessor, which is kept.

-- CreateEnum
CREATE TYPE "McpbCertificateKind" AS ENUM ('ca', 'code_signing');

-- CreateTable
CREATE TABLE "mcpb_certificates" (
    "id" UUID NOT NULL,
    "kind" "McpbCertificateKind" NOT NULL,
    "serial_number" TEXT NOT NULL,
    "certificate_pem" TEXT NOT NULL,
    "sealed_private_key" TEXT NOT NULL,
    "issuer_id" UUID,
    "status" "OrgKeyStatus" NOT NULL DEFAULT 'active',
    "not_before" TIMESTAMPTZ(3) NOT NULL,
    "not_after" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "retired_at" TIMESTAMPTZ(3),

    CONSTRAINT "mcpb_certificates_pkey" PRIMARY KEY ("id"),
    -- The root signs itself; every code-signing certificate names the CA that issued it.
    CONSTRAINT "mcpb_certificates_issuer" CHECK (("kind" = 'ca') = ("issuer_id" IS NULL))
);

-- CreateIndex
CREATE UNIQUE INDEX "mcpb_certificates_serial_number_key" ON "mcpb_certificates"("serial_number");
CREATE UNIQUE INDEX "mcpb_certificates_one_active" ON "mcpb_certificates"("kind") WHERE "status" = 'active';

-- AddForeignKey
ALTER TABLE "mcpb_certificates" ADD CONSTRAINT "mcpb_certificates_issuer_id_fkey" FOREIGN KEY ("issuer_id") REFERENCES "mcpb_certificates"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Certificates are never edited or deleted: only retired.
REVOKE ALL ON "mcpb_certificates" FROM gatehouse_app;
GRANT SELECT, INSERT ON "mcpb_certificates" TO gatehouse_app;
GRANT UPDATE ("status", "retired_at") ON "mcpb_certificates" TO gatehouse_app;
