// Role-based access control: every dashboard page, admin action and resource server asks here.
export { authorize, holdsAnywhere, permissionScope, requirePermission, type AuthorizationPrincipal, type AuthorizationResource, type PermissionScope } from './authorize';
export { DEFAULT_PERMISSION_CACHE_MS, invalidatePermissionCache, setPermissionCacheTtl } from './cache';
export { ForbiddenError } from './errors';
export { BUILT_IN_ROLES, PERMISSIONS, PERMISSION_DESCRIPTIONS, builtInRole, isPermission, type BuiltInRole, type Permission } from './permissions';
