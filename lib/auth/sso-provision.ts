import { appendAuditEvent, type AuditOutcome } from '@/lib/audit';
import type { SsoProviderConfig } from '@/lib/config/schema/sso';
import { db } from '@/lib/db/client';
import { Prisma } from '@/lib/generated/prisma/client';
import { invalidatePermissionCache } from '@/lib/rbac/cache';
import { ensureDepartment, primaryTenant, slugify } from '@/lib/users/tenant';
import { userProfile, withDepartmentAndRoles } from '@/lib/users/with-roles';
import type { SignedInUser } from './local-sign-in';
import { auditOrigin, type SignInOrigin } from './sign-in-audit';
import type { SsoIdentity } from './sso-claims';
import { findSsoBinding, linkCommand } from './sso-identities';

export type SsoRefusalReason = 'no_subject' | 'no_email' | 'email_unverified' | 'domain_not_allowed' | 'disabled' | 'account_exists';

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
  if (!identity.subject) return 'no_subject';
  if (!identity.email || !identity.email.includes('@')) return 'no_email';
  // A new user gets the IdP's address, and a bound user's address follows it: an address the IdP
  // has not vouched for could squat on someone else's before they ever sign in.
  if (!identity.emailVerified) return 'email_unverified';
  const domain = identity.email.slice(identity.email.lastIndexOf('@') + 1);
  if (provider.allowed_domains && !provider.allowed_domains.includes(domain)) return 'domain_not_allowed';
  return null;
}

async function recordRefusal(provider: SsoProviderConfig, identity: SsoIdentity, reason: SsoRefusalReason, options: ProvisionOptions, user?: { id: string; tenantId: string; email: string }) {
  const tenantId = user?.tenantId ?? options.tenantId ?? (await primaryTenant()).id;
  const outcome: AuditOutcome = reason === 'disabled' || reason === 'domain_not_allowed' || reason === 'account_exists' ? 'denied' : 'failure';
  // What the administrator runs to bind this IdP account to the existing user, if they want to.
  const link: Record<string, string> = reason === 'account_exists' && user ? { link_command: linkCommand({ email: user.email, issuer: identity.issuer, subject: identity.subject, providerId: provider.id }) } : {};
  await appendAuditEvent({
    tenant_id: tenantId,
    event_type: 'auth.sign_in',
    action: 'session.create',
    outcome,
    actor: { user_id: user?.id, email: identity.email ?? undefined, roles: [] },
    call_source: 'dashboard',
    ...(user ? { target: { type: 'user', id: user.id, name: identity.email ?? undefined } } : {}),
    origin: auditOrigin(options.origin),
    attributes: { method: 'sso', provider: provider.id, reason, idp_issuer: identity.issuer, idp_subject: identity.subject, ...link },
  });
}

function findUser(email: string) {
  return db().user.findUnique({ where: { email }, include: { department: true, _count: { select: { ssoIdentities: true } } } });
}

interface SyncResult {
  userId: string;
  created: boolean;
  /** The IdP account was bound to the user by this sign-in. */
  bound: boolean;
  departmentChanged: boolean;
  /** The address before this sign-in, when the IdP's changed and the user's followed it. */
  previousEmail: string | null;
  /** The IdP's new address belongs to another user, so this user kept theirs. */
  emailConflict: boolean;
  rolesAdded: string[];
  rolesRemoved: string[];
}

/** The user a sign-in lands on: bound earlier, bound now (`bind`), or created now (null). */
interface Target {
  user: { id: string; tenantId: string; email: string; departmentId: string | null };
  bind: boolean;
}

/**
 * Creates or updates the user, binds the IdP account when it is not yet, follows an email the
 * IdP changed (when no other user holds it) and brings the provider-managed roles in line, in
 * one transaction.
 */
async function syncUser(provider: SsoProviderConfig, identity: SsoIdentity & { email: string }, tenantId: string, target: Target | null): Promise<SyncResult & { unknownRoles: string[] }> {
  const { desired, managed } = ssoRoleNames(provider, identity.groups);
  const roles = await db().role.findMany({ where: { tenantId, name: { in: managed } } });
  const unknownRoles = desired.filter((name) => !roles.some((role) => role.name === name));
  const desiredIds = new Set(roles.filter((role) => desired.includes(role.name)).map((role) => role.id));
  const managedIds = new Set(roles.map((role) => role.id));
  const departmentSlug = ssoDepartmentSlug(provider, identity.departmentValue);
  const department = departmentSlug ? await ensureDepartment(tenantId, provider.department_map ? departmentSlug : identity.departmentValue!) : null;
  const existing = target?.user ?? null;
  const emailChanged = existing !== null && existing.email !== identity.email;
  const holder = emailChanged ? await db().user.findUnique({ where: { email: identity.email }, select: { id: true } }) : null;
  const followEmail = emailChanged && holder === null;
  const now = new Date();

  const result = await db().$transaction(async (tx): Promise<SyncResult> => {
    const user = existing
      ? await tx.user.update({
          where: { id: existing.id },
          data: {
            lastSignInAt: now,
            ...(followEmail ? { email: identity.email } : {}),
            ...(identity.name ? { name: identity.name } : {}),
            ...(department ? { departmentId: department.id } : {}),
          },
        })
      : await tx.user.create({
          data: { tenantId, email: identity.email, name: identity.name ?? identity.email.split('@')[0]!, departmentId: department?.id ?? null, lastSignInAt: now },
        });
    const bind = existing === null || target!.bind;
    if (bind) {
      await tx.userSsoIdentity.create({ data: { userId: user.id, issuer: identity.issuer, subject: identity.subject, providerId: provider.id, email: identity.email, lastSignInAt: now } });
    } else {
      await tx.userSsoIdentity.update({ where: { issuer_subject: { issuer: identity.issuer, subject: identity.subject } }, data: { email: identity.email, lastSignInAt: now } });
    }
    const bindings = await tx.roleBinding.findMany({ where: { userId: user.id, departmentId: null }, include: { role: { select: { name: true } } } });
    const stale = bindings.filter((binding) => managedIds.has(binding.roleId) && !desiredIds.has(binding.roleId));
    const held = new Set(bindings.map((binding) => binding.roleId));
    const missing = roles.filter((role) => desiredIds.has(role.id) && !held.has(role.id));
    if (stale.length > 0) await tx.roleBinding.deleteMany({ where: { id: { in: stale.map((binding) => binding.id) } } });
    if (missing.length > 0) await tx.roleBinding.createMany({ data: missing.map((role) => ({ userId: user.id, roleId: role.id })) });
    return {
      userId: user.id,
      created: existing === null,
      bound: bind,
      departmentChanged: existing !== null && department !== null && existing.departmentId !== department.id,
      previousEmail: followEmail ? existing!.email : null,
      emailConflict: emailChanged && !followEmail,
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
  if (sync.created || sync.bound || sync.departmentChanged || sync.previousEmail || sync.rolesAdded.length > 0 || sync.rolesRemoved.length > 0) {
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
        ...(sync.bound ? { idp_bound: true, idp_issuer: identity.issuer, idp_subject: identity.subject } : {}),
        ...(sync.previousEmail ? { email_from: sync.previousEmail, email_to: user.email } : {}),
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
      idp_issuer: identity.issuer,
      idp_subject: identity.subject,
      ...(sync.emailConflict ? { idp_email: identity.email ?? '', idp_email_conflict: true } : {}),
      ...(sync.unknownRoles.length > 0 ? { unknown_roles: sync.unknownRoles.join(',') } : {}),
    },
  });
}

/**
 * Which user an IdP account signs in as: the one it is bound to; else, for an address no user
 * has, a new one; else the user with that address only if that account can sign in no other way
 * and is bound to no IdP account yet (created by single sign-on before bindings existed, or
 * provisioned for it without a password). A password account is never taken over on the IdP's
 * word about an email address: an administrator links it (`gatehouse users link-sso`).
 */
async function resolveTarget(identity: SsoIdentity & { email: string }): Promise<{ target: Target | null } | { refusal: SsoRefusalReason; user: { id: string; tenantId: string; email: string } }> {
  const bound = await findSsoBinding(identity.issuer, identity.subject);
  if (bound) {
    if (bound.user.status !== 'active') return { refusal: 'disabled', user: bound.user };
    return { target: { user: bound.user, bind: false } };
  }
  const existing = await findUser(identity.email);
  if (!existing) return { target: null };
  if (existing.passwordHash !== null || existing._count.ssoIdentities > 0) return { refusal: 'account_exists', user: existing };
  if (existing.status !== 'active') return { refusal: 'disabled', user: existing };
  return { target: { user: existing, bind: true } };
}

/**
 * Signs in a user vouched for by an upstream OpenID provider: found by the IdP account's
 * (issuer, subject) binding, created on first sign-in (just in time), and on every sign-in
 * placed in the IdP's department and given the provider-managed roles the IdP's groups map to.
 * The IdP must say the address is verified. Disabled users are refused, and so is an address
 * that belongs to an account single sign-on may not take over. Every attempt is an
 * `auth.sign_in` audit event.
 */
export async function provisionSsoUser(provider: SsoProviderConfig, identity: SsoIdentity, options: ProvisionOptions = {}): Promise<SsoSignInResult> {
  const refusal = refusalFor(provider, identity);
  if (refusal) {
    await recordRefusal(provider, identity, refusal, options);
    return { ok: false, reason: refusal };
  }
  const verified = { ...identity, email: identity.email! };
  for (let attempt = 0; ; attempt += 1) {
    const resolved = await resolveTarget(verified);
    if ('refusal' in resolved) {
      await recordRefusal(provider, identity, resolved.refusal, options, resolved.user);
      return { ok: false, reason: resolved.refusal };
    }
    const tenantId = resolved.target?.user.tenantId ?? options.tenantId ?? (await primaryTenant()).id;
    try {
      const sync = await syncUser(provider, verified, tenantId, resolved.target);
      invalidatePermissionCache(sync.userId);
      const user = await signedInUser(sync.userId);
      await recordSync(provider, identity, user, sync, options);
      return { ok: true, user, created: sync.created, rolesAdded: sync.rolesAdded, rolesRemoved: sync.rolesRemoved, unknownRoles: sync.unknownRoles };
    } catch (error) {
      // Two first sign-ins at once: the loser finds the winner's user and binding on its second pass.
      const duplicate = error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
      if (!duplicate || attempt > 0) throw error;
    }
  }
}
