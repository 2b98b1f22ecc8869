import { db } from '@/lib/db/client';
import { BUILT_IN_ROLES } from '@/lib/rbac/permissions';
import type { Tenant } from '@/lib/generated/prisma/client';
import { loadGatehouseConfig, type TenantConfig } from '@/lib/config';

/** The installation's organisation as gatehouse.yaml names it (defaults when there is no file). */
export function configuredTenant(): TenantConfig {
  return loadGatehouseConfig(process.env.GATEHOUSE_CONFIG ?? 'gatehouse.yaml').config.tenant;
}

/**
 * Gatehouse runs one organisation per installation today; the tenant row exists so every audit
 * chain, budget and policy is keyed on it from the start.
 */
export async function ensureTenant(tenant: TenantConfig = configuredTenant()): Promise<Tenant> {
  const row = await db().tenant.upsert({ where: { slug: tenant.slug }, create: tenant, update: {} });
  await ensureBuiltInRoles(row.id);
  return row;
}

/** The installation's tenant (created with its built-in roles on first use). */
export async function primaryTenant(): Promise<Tenant> {
  const tenant = await db().tenant.findUnique({ where: { slug: configuredTenant().slug } });
  return tenant ?? ensureTenant();
}

/** Built-in roles are kept in step with the catalogue on every start. */
export async function ensureBuiltInRoles(tenantId: string): Promise<void> {
  for (const role of BUILT_IN_ROLES) {
    await db().role.upsert({
      where: { tenantId_name: { tenantId, name: role.name } },
      create: { tenantId, name: role.name, description: role.description, permissions: [...role.permissions], builtIn: true },
      update: { description: role.description, permissions: [...role.permissions], builtIn: true },
    });
  }
}

export function slugify(value: string): string {
  return value
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export async function ensureDepartment(tenantId: string, nameOrSlug: string) {
  const slug = slugify(nameOrSlug);
  if (!slug) throw new UserInputError(`department "${nameOrSlug}" has no letters or digits`);
  return db().department.upsert({
    where: { tenantId_slug: { tenantId, slug } },
    create: { tenantId, slug, name: nameOrSlug },
    update: {},
  });
}

/** An error whose message is fit to show the operator as is. */
export class UserInputError extends Error {
  override name = 'UserInputError';
}

// Tenants are created once and never renamed: their ids and slugs are safe to keep per process.
const tenantCache = globalThis as typeof globalThis & { __gatehouseTenantSlugs?: Map<string, Promise<string | null>>; __gatehousePrimaryTenantId?: Promise<string> };

/** The id of the installation's tenant, looked up once per process (refusals with no user are recorded under it). */
export function primaryTenantId(): Promise<string> {
  tenantCache.__gatehousePrimaryTenantId ??= primaryTenant().then(
    (tenant) => tenant.id,
    (error: unknown) => {
      tenantCache.__gatehousePrimaryTenantId = undefined;
      throw error;
    },
  );
  return tenantCache.__gatehousePrimaryTenantId;
}

/** A tenant's slug (null when no such tenant), looked up once per process. */
export function tenantSlug(tenantId: string): Promise<string | null> {
  const slugs = (tenantCache.__gatehouseTenantSlugs ??= new Map());
  let slug = slugs.get(tenantId);
  if (!slug) {
    slug = db()
      .tenant.findUnique({ where: { id: tenantId }, select: { slug: true } })
      .then((row) => row?.slug ?? null);
    slug.catch(() => slugs.delete(tenantId));
    slugs.set(tenantId, slug);
  }
  return slug;
}
