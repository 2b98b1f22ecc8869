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
  'costs.read',
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
  { name: 'finance', description: 'Reads costs and budgets', permissions: ['costs.read', 'users.read'] },
  { name: 'author', description: 'Publishes skills and plugins for others', permissions: [...MEMBER, 'plugins.publish'] },
  { name: 'member', description: 'Uses Claude through Gatehouse', permissions: MEMBER },
];
