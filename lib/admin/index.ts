// Admin services behind the dashboard's admin pages. Every function checks authorisation itself
// (lib/rbac) and records an `admin.change` audit event for what it changes.
export { changeActorOf, principalOf, type AdminActor } from './actor';
export { addRoleBinding, removeRoleBinding, type NewBinding } from './bindings';
export { listManagedClients, setManagedClientDisabled, type ClientRow } from './clients';
export { createDepartment, departmentOptions, listDepartments, renameDepartment, type DepartmentOption, type DepartmentRow } from './departments';
export { createRole, defaultRoleId, deleteRole, getRole, listRoles, roleOptions, updateRole, ROLE_NAME_PATTERN, type RoleDefinition, type RoleOption, type RoleRow } from './roles';
export { listManagedSessions, revokeAllManagedSessions, revokeManagedSession, type SessionRow } from './sessions';
export {
  createManagedUser,
  getManagedUser,
  listManagedUsers,
  setManagedUserStatus,
  updateManagedUser,
  type CreatedManagedUser,
  type ManagedBinding,
  type ManagedUserDetail,
  type ManagedUserRow,
  type NewManagedUser,
  type ProfileChange,
} from './users';
