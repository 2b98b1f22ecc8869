import type { DashboardUser } from '@/lib/auth/session';
import type { PluginActor } from './events';

/** The signed-in dashboard user as a plugin actor. */
export function dashboardPluginActor(user: DashboardUser): PluginActor {
  return { userId: user.id, tenantId: user.tenantId, email: user.email, roles: user.roles, callSource: 'dashboard' };
}
