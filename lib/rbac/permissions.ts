/**
 * Permissions are `resource.action` strings. The catalogue is closed: a role naming anything
 * else is refused, so a typo cannot silently grant nothing (or everything).
 */
export const PERMISSIONS = [
  'inference.invoke',
  'skills.read',
  'skills.write',
  'plugins.install',
  'plugins.publish',
  'plugins.review',
  'mcp.use',
  'mcp.admin',
  'audit.read',
  'audit.content',
  'costs.read',
  'costs.admin',
  'policy.admin',
  'users.read',
  'users.admin',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export function isPermission(value: string): value is Permission {
  return (PERMISSIONS as readonly string[]).includes(value);
}

export interface BuiltInRole {
  name: string;
  description: string;
  permissions: readonly Permission[];
}

const MEMBER: readonly Permission[] = ['inference.invoke', 'skills.read', 'skills.write', 'plugins.install', 'mcp.use'];

export const BUILT_IN_ROLES: readonly BuiltInRole[] = [
  { name: 'admin', description: 'Everything, including users, policy and the MCP allowlist', permissions: PERMISSIONS },
  { name: 'security', description: 'Reads the audit trail and governs MCP servers and policy', permissions: [...MEMBER, 'audit.read', 'mcp.admin', 'policy.admin', 'users.read'] },
  { name: 'finance', description: 'Reads costs and sets budgets', permissions: ['costs.read', 'costs.admin', 'users.read'] },
  { name: 'author', description: 'Publishes skills and plugins for others', permissions: [...MEMBER, 'plugins.publish'] },
  { name: 'member', description: 'Uses Claude through Gatehouse', permissions: MEMBER },
];

/** What each permission allows, as the roles page explains it next to its checkbox. */
export const PERMISSION_DESCRIPTIONS: Readonly<Record<Permission, string>> = {
  'inference.invoke': 'Send requests to models through the gateway',
  'skills.read': 'Use skills shared in the organisation',
  'skills.write': 'Create and edit skills',
  'plugins.install': 'Install approved plugins',
  'plugins.publish': 'Publish plugins for others',
  'plugins.review': 'Review and approve submitted plugins',
  'mcp.use': 'Use allowlisted MCP servers',
  'mcp.admin': 'Govern the MCP server allowlist and tool policy',
  'audit.read': 'Read the audit log',
  'audit.content': 'Read stored prompts and completions in the audit log (each viewing is audited)',
  'costs.read': 'Read costs and budgets',
  'costs.admin': 'Create, change and delete budgets in the dashboard',
  'policy.admin': 'Change policy and manage OAuth clients',
  'users.read': 'See users, their roles and sessions',
  'users.admin': 'Manage users, departments, roles and sessions',
};

export function builtInRole(name: string): BuiltInRole | undefined {
  return BUILT_IN_ROLES.find((role) => role.name === name);
}
