-- Issue 7, item 13. Password sign-in is throttled per client address and per account name
-- (sign_in_throttles) instead of locking accounts (the two lockout columns go); single sign-on
-- binds IdP accounts by (issuer, subject) (user_sso_identities) instead of matching on email.

-- AlterTable
ALTER TABLE "users" DROP COLUMN "failed_sign_ins",
DROP COLUMN "locked_until";

-- CreateTable
CREATE TABLE "user_sso_identities" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "issuer" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "provider_id" TEXT NOT NULL,
    "email" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_sign_in_at" TIMESTAMPTZ(3),

    CONSTRAINT "user_sso_identities_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sign_in_throttles" (
    "key" TEXT NOT NULL,
    "score" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "sign_in_throttles_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "user_sso_identities_user_id_idx" ON "user_sso_identities"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "user_sso_identities_issuer_subject_key" ON "user_sso_identities"("issuer", "subject");

-- CreateIndex
CREATE INDEX "sign_in_throttles_updated_at_idx" ON "sign_in_throttles"("updated_at");

-- AddForeignKey
ALTER TABLE "user_sso_identities" ADD CONSTRAINT "user_sso_identities_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Explicit, whatever role runs this migration (the default privileges of the audit_spine
-- migration cover only tables created by the role that ran it).
GRANT SELECT, INSERT, UPDATE, DELETE ON sign_in_throttles, user_sso_identities TO gatehouse_app;
