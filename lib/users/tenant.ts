import { appendAuditEvent } from '@/lib/audit';
import { db, pool } from '@/lib/db/client';
import { BUILT_IN_ROLES } from '@/lib/rbac/permissions';
import type { Tenant } from '@/lib/generated/prisma/client';
import { loadGatehouseConfig, systemTenantId, type ConfigLogger, type ConfigStore, type TenantConfig } from '@/lib/config';
import { runInBackground } from '@/lib/platform/background';

/** The installation's organisation as gatehouse.yaml names it (defaults when there is no file). */
export function configuredTenant(): TenantConfig {
  return loadGatehouseConfig(process.env.GATEHOUSE_CONFIG ?? 'gatehouse.yaml').config.tenant;
}

/**
 * Tenant identity is decided once. The installation has one tenant: the one its first start
 * created, recorded in the `installation` table (which the application role may insert into but
 * never change). Everything that needs "the tenant" — seeding, the CLI, OAuth, system events —
 * asks for that row, never for "the tenant whose slug gatehouse.yaml names": a slug changed in the
 * file must not quietly select or create another tenant that the dashboard's users are not in.
 */
export async function installationTenant(): Promise<Tenant | null> {
  const id = await systemTenantId();
  return id ? db().tenant.findUnique({ where: { id } }) : null;
}

/**
 * The installation's tenant with its built-in roles, created from gatehouse.yaml's `tenant` on
 * first use (the first start, or a CLI command before it). Concurrent first uses agree on one row.
 */
export async function ensureTenant(tenant?: TenantConfig): Promise<Tenant> {
  let row = await installationTenant();
  if (!row) {
    const named = tenant ?? configuredTenant();
    const created = await db().tenant.upsert({ where: { slug: named.slug }, create: named, update: {} });
    await db().$executeRaw`INSERT INTO installation (tenant_id) VALUES (${created.id}::uuid) ON CONFLICT DO NOTHING`;
    row = await installationTenant();
    if (!row) throw new Error('the installation tenant could not be recorded');
  }
  await ensureBuiltInRoles(row.id);
  return row;
}

/** The installation's tenant (created with its built-in roles on first use). */
export async function primaryTenant(): Promise<Tenant> {
  return (await installationTenant()) ?? ensureTenant();
}

export type TenantConfigOutcome =
  | { kind: 'unchanged' }
  | { kind: 'renamed'; from: TenantConfig; to: TenantConfig }
  /** The slug is another tenant's (a row left by an earlier version): kept; a new name is still applied. */
  | { kind: 'slug_taken'; kept: TenantConfig; wanted: TenantConfig };

const UNIQUE_VIOLATION = '23505';

/**
 * Applies gatehouse.yaml's `tenant` to the installation's tenant: a changed name or slug renames
 * that row, audited as `admin.change` / `tenant.rename`. Renaming rather than refusing is safe
 * because nothing is keyed on the slug: users, roles, audit chains, budgets and tokens hold the
 * tenant's id, and the slug is only a spelling `x-tenant-id` accepts. Refusing would pin a label
 * forever. The row is locked and compared first, so of several processes applying the same edit
 * (web, worker, replicas) exactly one renames, audits and reports it.
 */
export async function applyTenantConfig(wanted: TenantConfig, retried = false): Promise<TenantConfigOutcome> {
  const tenantId = await systemTenantId();
  if (!tenantId) return { kind: 'unchanged' };
  const client = await pool().connect();
  let current: TenantConfig;
  let next: TenantConfig;
  let slugTaken: boolean;
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<TenantConfig>('SELECT name, slug FROM tenants WHERE id = $1 FOR UPDATE', [tenantId]);
    current = rows[0]!;
    const { rowCount } = await client.query('SELECT 1 FROM tenants WHERE slug = $1 AND id <> $2', [wanted.slug, tenantId]);
    slugTaken = (rowCount ?? 0) > 0;
    next = { name: wanted.name, slug: slugTaken ? current.slug : wanted.slug };
    if (next.name !== current.name || next.slug !== current.slug) {
      await client.query('UPDATE tenants SET name = $2, slug = $3 WHERE id = $1', [tenantId, next.name, next.slug]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    // Another tenant took the slug between the check and the update: the next pass sees it taken.
    if ((error as { code?: string }).code === UNIQUE_VIOLATION && !retried) return applyTenantConfig(wanted, true);
    throw error;
  } finally {
    client.release();
  }
  const changed = next.name !== current.name || next.slug !== current.slug;
  if (changed) {
    await appendAuditEvent({
      tenant_id: tenantId,
      event_type: 'admin.change',
      action: 'tenant.rename',
      outcome: 'success',
      call_source: 'system',
      target: { type: 'tenant', id: tenantId, name: next.slug },
      attributes: {
        previous_name: current.name,
        previous_slug: current.slug,
        name: next.name,
        slug: next.slug,
        ...(slugTaken ? { refused_slug: wanted.slug } : {}),
      },
    });
  }
  if (slugTaken) return { kind: 'slug_taken', kept: next, wanted };
  return changed ? { kind: 'renamed', from: current, to: next } : { kind: 'unchanged' };
}

/** One line for the operator about an applied `tenant` section; null when there is nothing to say. */
export function describeTenantOutcome(outcome: TenantConfigOutcome): string | null {
  const label = (tenant: TenantConfig) => `"${tenant.slug}" (${tenant.name})`;
  if (outcome.kind === 'renamed') return `tenant: renamed ${label(outcome.from)} to ${label(outcome.to)}`;
  if (outcome.kind === 'slug_taken') {
    return `tenant: tenant.slug "${outcome.wanted.slug}" not applied: another tenant row already has it (left by an earlier Gatehouse); this installation's tenant stays "${outcome.kept.slug}"`;
  }
  return null;
}

/**
 * Keeps the installation's tenant named as gatehouse.yaml says: now, and after every accepted
 * reload. Run by the worker (one per installation in the `npm start` layout; applyTenantConfig
 * makes extra replicas harmless).
 */
export function followTenantConfig(store: ConfigStore, logger: ConfigLogger): Promise<void> {
  const apply = async (tenant: TenantConfig) => {
    const line = describeTenantOutcome(await applyTenantConfig(tenant));
    if (line) (line.includes('not applied') ? logger.warn : logger.info).call(logger, line);
  };
  store.on('change', (next) => runInBackground('tenant: applying gatehouse.yaml tenant', () => apply(next.config.tenant)));
  return apply(store.current().config.tenant);
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

const tenantCache = globalThis as typeof globalThis & {
  __gatehouseTenantSlugs?: Map<string, { slug: Promise<string | null>; expires: number }>;
  __gatehousePrimaryTenantId?: Promise<string>;
};

/** A rename (applyTenantConfig, in the worker) reaches every web process within this long. */
const SLUG_CACHE_MS = 10_000;

/** The id of the installation's tenant, looked up once per process: it never changes. */
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

/** A tenant's slug (null when no such tenant), cached per process for SLUG_CACHE_MS (slugs can be renamed). */
export function tenantSlug(tenantId: string): Promise<string | null> {
  const slugs = (tenantCache.__gatehouseTenantSlugs ??= new Map());
  const cached = slugs.get(tenantId);
  if (cached && cached.expires > Date.now()) return cached.slug;
  const slug = db()
    .tenant.findUnique({ where: { id: tenantId }, select: { slug: true } })
    .then((row) => row?.slug ?? null);
  slug.catch(() => slugs.delete(tenantId));
  slugs.set(tenantId, { slug, expires: Date.now() + SLUG_CACHE_MS });
  return slug;
}
