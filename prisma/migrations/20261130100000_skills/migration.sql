-- Issue 9, item 1. Skills: a SKILL.md and its extra files, owned by a user, optionally shared to a
-- department or the organisation. Every save is a new skill_versions row that is never changed.

-- CreateEnum
CREATE TYPE "SkillSharing" AS ENUM ('private', 'department', 'organisation');

-- CreateTable
CREATE TABLE "skills" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "owner_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "sharing" "SkillSharing" NOT NULL DEFAULT 'private',
    "department_id" UUID,
    "latest_version" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "skills_pkey" PRIMARY KEY ("id"),
    -- The same rule lib/skills/frontmatter.ts enforces, so no other writer can store a name a
    -- SKILL.md folder, an MCP prompt or a URL could not carry.
    CONSTRAINT "skills_name_format" CHECK ("name" ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length("name") <= 64)
);

-- CreateTable
CREATE TABLE "skill_versions" (
    "id" UUID NOT NULL,
    "skill_id" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "content" TEXT NOT NULL,
    "author_id" UUID,
    "source" TEXT NOT NULL,
    "restored_from" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "skill_versions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "skill_files" (
    "version_id" UUID NOT NULL,
    "path" TEXT NOT NULL,
    "content" BYTEA NOT NULL,

    CONSTRAINT "skill_files_pkey" PRIMARY KEY ("version_id","path")
);

-- CreateIndex
CREATE INDEX "skills_tenant_id_sharing_idx" ON "skills"("tenant_id", "sharing");

-- CreateIndex
CREATE INDEX "skills_deleted_at_idx" ON "skills"("deleted_at");

-- CreateIndex
CREATE UNIQUE INDEX "skills_owner_id_name_key" ON "skills"("owner_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "skill_versions_skill_id_version_key" ON "skill_versions"("skill_id", "version");

-- AddForeignKey
ALTER TABLE "skills" ADD CONSTRAINT "skills_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "skills" ADD CONSTRAINT "skills_owner_id_fkey" FOREIGN KEY ("owner_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "skills" ADD CONSTRAINT "skills_department_id_fkey" FOREIGN KEY ("department_id") REFERENCES "departments"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "skill_versions" ADD CONSTRAINT "skill_versions_skill_id_fkey" FOREIGN KEY ("skill_id") REFERENCES "skills"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "skill_versions" ADD CONSTRAINT "skill_versions_author_id_fkey" FOREIGN KEY ("author_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "skill_files" ADD CONSTRAINT "skill_files_version_id_fkey" FOREIGN KEY ("version_id") REFERENCES "skill_versions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Explicit, whatever role runs this migration (the audit_spine migration's default privileges
-- would add UPDATE and DELETE everywhere): versions and their files are written once and never
-- changed by the application. Purging a skill removes them through the foreign keys' cascade,
-- which PostgreSQL runs with the table owner's rights.
REVOKE ALL ON "skills", "skill_versions", "skill_files" FROM gatehouse_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON "skills" TO gatehouse_app;
GRANT SELECT, INSERT ON "skill_versions", "skill_files" TO gatehouse_app;
