import type { AuthorizationPrincipal } from '@/lib/rbac/authorize';
import type { ChangeActor } from '@/lib/users/users';

/** The signed-in administrator a change is made by (and checked and recorded against). */
export interface AdminActor {
  userId: string;
  tenantId: string;
  email: string;
  /** Role labels at the time of the change, for the audit trail only. */
  roles: string[];
  /** Where the change was made; the dashboard when absent. */
  callSource?: 'dashboard' | 'cli' | 'api';
}

export function principalOf(actor: AdminActor): AuthorizationPrincipal {
  return { userId: actor.userId, tenantId: actor.tenantId };
}

/** The shape lib/users and lib/oauth record changes with. */
export function changeActorOf(actor: AdminActor): ChangeActor {
  return { user_id: actor.userId, email: actor.email, roles: actor.roles, call_source: 'dashboard' };
}
