import type { DashboardUser } from '@/lib/auth/session';
import { dashboardPrincipal } from '@/lib/auth/session';
import { authorize, holdsAnywhere } from '@/lib/rbac/authorize';
import type { Permission } from '@/lib/rbac/permissions';
import type { NavItem } from './NavLinks';

interface NavEntry extends NavItem {
  permission?: Permission;
  /** Pages that list the whole tenant need the permission tenant-wide; others, anywhere. */
  tenantWide?: boolean;
}

const NAV: readonly NavEntry[] = [
  { href: '/', label: 'Overview' },
  { href: '/connect', label: 'Connect' },
  { href: '/skills', label: 'Skills', permission: 'skills.read' },
  { href: '/users', label: 'Users', permission: 'users.read' },
  { href: '/departments', label: 'Departments', permission: 'users.read' },
  { href: '/roles', label: 'Roles', permission: 'users.read' },
  { href: '/clients', label: 'OAuth clients', permission: 'policy.admin', tenantWide: true },
  { href: '/rollout', label: 'Rollout', permission: 'policy.admin', tenantWide: true },
  { href: '/audit', label: 'Audit log', permission: 'audit.read', tenantWide: true },
  { href: '/policy', label: 'Policy', permission: 'policy.admin', tenantWide: true },
  { href: '/mcp-servers', label: 'MCP servers', permission: 'mcp.admin', tenantWide: true },
  { href: '/mcp-servers/connections', label: 'MCP connections', permission: 'mcp.use' },
  { href: '/tool-policy', label: 'Tool policy', permission: 'mcp.admin', tenantWide: true },
  { href: '/siem', label: 'SIEM', permission: 'audit.read', tenantWide: true },
  { href: '/costs', label: 'Costs', permission: 'costs.read', tenantWide: true },
  { href: '/budgets', label: 'Budgets', permission: 'costs.read', tenantWide: true },
  { href: '/claude-code', label: 'Claude Code', permission: 'costs.read', tenantWide: true },
  { href: '/marketplace', label: 'Marketplace', permission: 'plugins.install' },
  { href: '/plugins/review', label: 'Plugin reviews', permission: 'plugins.review' },
];

/** The pages the user may open, in menu order; asked of lib/rbac like the pages themselves. */
export async function navigationFor(user: DashboardUser): Promise<NavItem[]> {
  const principal = dashboardPrincipal(user);
  const visible = await Promise.all(
    NAV.map(async (entry) => !entry.permission || (entry.tenantWide ? authorize(principal, entry.permission) : holdsAnywhere(principal, entry.permission))),
  );
  return NAV.filter((_, index) => visible[index]).map(({ href, label }) => ({ href, label }));
}
