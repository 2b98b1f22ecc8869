import { z } from 'zod';
import { appendAuditEvent, type AuditOutcome } from '@/lib/audit';
import type { SsoProviderConfig } from '@/lib/config/schema/sso';
import { db } from '@/lib/db/client';
import { Prisma } from '@/lib/generated/prisma/client';
import { invalidatePermissionCache } from '@/lib/rbac/cache';
import { ensureDepartment, primaryTenant, slugify } from '@/lib/users/tenant';
import { userProfile, withDepartmentAndRoles } from '@/lib/users/with-roles';
import type { SignedInUser, SignInOrigin } from './local-sign-in';
import type { SsoIdentity } from './sso-claims';

export type SsoRefusalReason = 'no_email' | 'email_unverified' | 'domain_not_allowed' | 'disabled';

export type SsoSignInResult =
  | { ok: true; user: SignedInUser; created: boolean; rolesAdded: string[]; rolesRemoved: string[]; unknownRoles: string[] }
  | { ok: false; reason: SsoRefusalReason };

export interface ProvisionOptions {
  origin?: SignInOrigin;
  /** Where new users are created; the installation's tenant by default. */
  tenantId?: string;
}

/**
 * The roles a user should hold according to the IdP, and the roles this provider manages at all:
 * a managed role the IdP no longer grants is taken away, any other binding (given by an
 * administrator, or scoped to a department) is left alone.
 */
export function ssoRoleNames(provider: SsoProviderConfig, groups: readonly string[]): { desired: string[]; managed: string[] } {
  const mapped = groups.flatMap((group) => (Object.hasOwn(provider.role_map, group) ? [provider.role_map[group]!] : []));
  return {
    desired: [...new Set([...provider.default_roles, ...mapped])].sort(),
    managed: [...new Set([...provider.default_roles, ...Object.values(provider.role_map)])].sort(),
  };
}

/** The department slug the IdP places the user in, or null to leave the department as it is. */
export function ssoDepartmentSlug(provider: SsoProviderConfig, value: string | null): string | null {
  if (!value) return null;
  if (provider.department_map) return Object.hasOwn(provider.department_map, value) ? provider.department_map[value]! : null;
  return slugify(value) || null;
}

function refusalFor(provider: SsoProviderConfig, identity: SsoIdentity): SsoRefusalReason | null {
  if (!identity.email || !identity.email.includes('@')) return 'no_email';
  // Users are matched by email, so an address the IdP has not verified could take over an account.
  if (!identity.emailVerified) return 'email_unverified';
  const domain = identity.email.slice(identity.email.lastIndexOf('@') + 1);
  if (provider.allowed_domains && !provider.allowed_domains.includes(domain)) return 'domain_not_allowed';
  return null;
}

const ipSchema = z.union([z.ipv4(), z.ipv6()]);

/** Only well-formed values are recorded: a bad forwarded header must not fail the sign-in. */
function auditOrigin(origin: SignInOrigin | undefined) {
  const ip = ipSchema.safeParse(origin?.ip).success ? origin?.ip : undefined;
  const userAgent = origin?.userAgent?.slice(0, 1000) || undefined;
  return ip || userAgent ? { ip, user_agent: userAgent } : undefined;
}

async function recordRefusal(provider: SsoProviderConfig, identity: SsoIdentity, reason: SsoRefusalReason, options: ProvisionOptions, user?: { id: string; tenantId: string }) {
  const tenantId = user?.tenantId ?? options.tenantId ?? (await primaryTenant()).id;
  const outcome: AuditOutcome = reason === 'disabled' || reason === 'domain_not_allowed' ? 'denied' : 'failure';
  await appendAuditEvent({
    tenant_id: tenantId,
    event_type: 'auth.sign_in',
    action: 'session.create',
    outcome,
    actor: { user_id: user?.id, email: identity.email ?? undefined, roles: [] },
    call_source: 'dashboard',
    ...(user ? { target: { type: 'user', id: user.id, name: identity.email ?? undefined } } : {}),
    origin: auditOrigin(options.origin),
    attributes: { method: 'sso', provider: provider.id, reason, idp_subject: identity.subject },
  });
}

function findUser(email: string) {
  return db().user.findUnique({ where: { email }, include: { department: true } });
}

interface SyncResult {
  userId: string;
  created: boolean;
  departmentChanged: boolean;
  rolesAdded: string[];
  rolesRemoved: string[];
}

/** Creates or updates the user and brings the provider-managed bindings in line, in one transaction. */
async function syncUser(provider: SsoProviderConfig, identity: SsoIdentity & { email: string }, tenantId: string, existing: { id: string; departmentId: string | null } | null): Promise<SyncResult & { unknownRoles: string[] }> {
  const { desired, managed } = ssoRoleNames(provider, identity.groups);
  const roles = await db().role.findMany({ where: { tenantId, name: { in: managed } } });
  const unknownRoles = desired.filter((name) => !roles.some((role) => role.name === name));
  const desiredIds = new Set(roles.filter((role) => desired.includes(role.name)).map((role) => role.id));
  const managedIds = new Set(roles.map((role) => role.id));
  const departmentSlug = ssoDepartmentSlug(provider, identity.departmentValue);
  const department = departmentSlug ? await ensureDepartment(tenantId, provider.department_map ? departmentSlug : identity.departmentValue!) : null;
  const now = new Date();

  const result = await db().$transaction(async (tx): Promise<SyncResult> => {
    const user = existing
      ? await tx.user.update({
          where: { id: existing.id },
          data: { lastSignInAt: now, ...(identity.name ? { name: identity.name } : {}), ...(department ? { departmentId: department.id } : {}) },
        })
      : await tx.user.create({
          data: { tenantId, email: identity.email, name: identity.name ?? identity.email.split('@')[0]!, departmentId: department?.id ?? null, lastSignInAt: now },
        });
    const bindings = await tx.roleBinding.findMany({ where: { userId: user.id, departmentId: null }, include: { role: { select: { name: true } } } });
    const stale = bindings.filter((binding) => managedIds.has(binding.roleId) && !desiredIds.has(binding.roleId));
    const held = new Set(bindings.map((binding) => binding.roleId));
    const missing = roles.filter((role) => desiredIds.has(role.id) && !held.has(role.id));
    if (stale.length > 0) await tx.roleBinding.deleteMany({ where: { id: { in: stale.map((binding) => binding.id) } } });
    if (missing.length > 0) await tx.roleBinding.createMany({ data: missing.map((role) => ({ userId: user.id, roleId: role.id })) });
    return {
      userId: user.id,
      created: existing === null,
      departmentChanged: existing !== null && department !== null && existing.departmentId !== department.id,
      rolesAdded: missing.map((role) => role.name).sort(),
      rolesRemoved: [...new Set(stale.map((binding) => binding.role.name))].sort(),
    };
  });
  return { ...result, unknownRoles };
}

async function signedInUser(userId: string): Promise<SignedInUser> {
  return userProfile(await db().user.findUniqueOrThrow({ where: { id: userId }, include: withDepartmentAndRoles }));
}

async function recordSync(provider: SsoProviderConfig, identity: SsoIdentity, user: SignedInUser, sync: SyncResult & { unknownRoles: string[] }, options: ProvisionOptions) {
  const actor = { user_id: user.id, email: user.email, department: user.departmentSlug ?? undefined, roles: user.roles };
  const target = { type: 'user', id: user.id, name: user.email };
  if (sync.created || sync.departmentChanged || sync.rolesAdded.length > 0 || sync.rolesRemoved.length > 0) {
    // Changes made on the IdP's word are recorded as admin changes by the system, like the CLI's.
    await appendAuditEvent({
      tenant_id: user.tenantId,
      event_type: 'admin.change',
      action: sync.created ? 'user.create' : 'user.sso_sync',
      outcome: 'success',
      call_source: 'sso',
      target,
      attributes: {
        provider: provider.id,
        department: user.departmentSlug ?? '',
        roles_added: sync.rolesAdded.join(','),
        roles_removed: sync.rolesRemoved.join(','),
      },
    });
  }
  await appendAuditEvent({
    tenant_id: user.tenantId,
    event_type: 'auth.sign_in',
    action: 'session.create',
    outcome: 'success',
    actor,
    call_source: 'dashboard',
    target,
    origin: auditOrigin(options.origin),
    attributes: {
      method: 'sso',
      provider: provider.id,
      reason: 'signed_in',
      jit_created: sync.created,
      idp_subject: identity.subject,
      ...(sync.unknownRoles.length > 0 ? { unknown_roles: sync.unknownRoles.join(',') } : {}),
    },
  });
}

/**
 * Signs in a user vouched for by an upstream OpenID provider: matched by email, created on first
 * sign-in (just in time), and on every sign-in placed in the IdP's department and given the
 * provider-managed roles the IdP's groups map to. Disabled users are refused. Every attempt is an
 * `auth.sign_in` audit event.
 */
export async function provisionSsoUser(provider: SsoProviderConfig, identity: SsoIdentity, options: ProvisionOptions = {}): Promise<SsoSignInResult> {
  const refusal = refusalFor(provider, identity);
  if (refusal) {
    await recordRefusal(provider, identity, refusal, options);
    return { ok: false, reason: refusal };
  }
  const email = identity.email!;
  for (let attempt = 0; ; attempt += 1) {
    const existing = await findUser(email);
    if (existing && existing.status !== 'active') {
      await recordRefusal(provider, identity, 'disabled', options, existing);
      return { ok: false, reason: 'disabled' };
    }
    const tenantId = existing?.tenantId ?? options.tenantId ?? (await primaryTenant()).id;
    try {
      const sync = await syncUser(provider, { ...identity, email }, tenantId, existing);
      invalidatePermissionCache(sync.userId);
      const user = await signedInUser(sync.userId);
      await recordSync(provider, identity, user, sync, options);
      return { ok: true, user, created: sync.created, rolesAdded: sync.rolesAdded, rolesRemoved: sync.rolesRemoved, unknownRoles: sync.unknownRoles };
    } catch (error) {
      // Two first sign-ins at once: the loser finds the winner's row on its second pass.
      const duplicate = error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
      if (!duplicate || attempt > 0) throw error;
    }
  }
}
