import type { Grant } from './access';
import { cachedUserAccess } from './cache';
import { ForbiddenError } from './errors';
import type { Permission } from './permissions';

/**
 * Who is asking. A dashboard user, or the `Principal` of a verified access token (it has these
 * fields): `roles`, when given, are the role labels the token was issued with (`member`,
 * `author@research`), and only bindings among them count, so a token never carries more than it
 * was issued with while a binding removed since is gone at once.
 */
export interface AuthorizationPrincipal {
  userId: string;
  tenantId: string;
  roles?: readonly string[];
}

/**
 * What is being acted on. A department-scoped binding grants only for resources in its
 * department; a resource in no department (or none named) needs a tenant-wide binding. The
 * department may be named by id or, as access tokens carry it, by slug.
 */
export interface AuthorizationResource {
  departmentId?: string | null;
  departmentSlug?: string | null;
}

/** Where a permission holds: everywhere, or in the listed departments only. */
export interface PermissionScope {
  tenantWide: boolean;
  departmentIds: ReadonlySet<string>;
}

async function grantsOf(principal: AuthorizationPrincipal): Promise<readonly Grant[]> {
  const access = await cachedUserAccess(principal.userId);
  // A disabled user, or one looked up under another tenant, holds nothing.
  if (!access || !access.active || access.tenantId !== principal.tenantId) return [];
  if (!principal.roles) return access.grants;
  const allowed = new Set(principal.roles);
  return access.grants.filter((grant) => allowed.has(grant.label));
}

function coversResource(grant: Grant, resource: AuthorizationResource | undefined): boolean {
  if (grant.departmentId === null) return true;
  if (!resource) return false;
  if (resource.departmentId) return grant.departmentId === resource.departmentId;
  if (resource.departmentSlug) return grant.departmentSlug === resource.departmentSlug;
  return false;
}

/** Whether the principal may do `permission` (to `resource`, when it lives in a department). */
export async function authorize(principal: AuthorizationPrincipal, permission: Permission, resource?: AuthorizationResource): Promise<boolean> {
  const grants = await grantsOf(principal);
  return grants.some((grant) => grant.permissions.has(permission) && coversResource(grant, resource));
}

/** As authorize(), throwing ForbiddenError when the answer is no. */
export async function requirePermission(principal: AuthorizationPrincipal, permission: Permission, resource?: AuthorizationResource): Promise<void> {
  if (!(await authorize(principal, permission, resource))) throw new ForbiddenError(permission, resource?.departmentId ?? resource?.departmentSlug ?? null);
}

/** Where the principal holds `permission`: for lists that show only what the viewer may see. */
export async function permissionScope(principal: AuthorizationPrincipal, permission: Permission): Promise<PermissionScope> {
  const grants = (await grantsOf(principal)).filter((grant) => grant.permissions.has(permission));
  return {
    tenantWide: grants.some((grant) => grant.departmentId === null),
    departmentIds: new Set(grants.flatMap((grant) => (grant.departmentId ? [grant.departmentId] : []))),
  };
}

/** True when the principal holds `permission` somewhere (tenant-wide or in any department). */
export async function holdsAnywhere(principal: AuthorizationPrincipal, permission: Permission): Promise<boolean> {
  const scope = await permissionScope(principal, permission);
  return scope.tenantWide || scope.departmentIds.size > 0;
}
