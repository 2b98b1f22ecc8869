import { getDashboardUser, type DashboardUser } from '@/lib/auth/session';
import { ForbiddenError } from '@/lib/rbac/errors';
import { UserInputError } from '@/lib/users/tenant';
import type { ActionState } from './action-state';
import type { AdminActor } from './actor';

function sentence(message: string): string {
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/**
 * The body of every admin Server Action: the signed-in user (re-read from the database) as the
 * actor, and every failure turned into a message for the form. Authorisation happens inside
 * lib/admin, so it holds whatever calls it.
 */
export function runDashboardAction(run: (actor: AdminActor) => Promise<ActionState>): Promise<ActionState>;
/** An action whose form shows more than a message (the tool policy test box): its own state type. */
export function runDashboardAction<State>(run: (actor: AdminActor) => Promise<State | ActionState>): Promise<State | ActionState>;
export async function runDashboardAction<State>(run: (actor: AdminActor) => Promise<State | ActionState>): Promise<State | ActionState> {
  const user = await getDashboardUser();
  if (!user) return { status: 'error', message: 'Your session has ended. Sign in again to make changes.' };
  try {
    return await run(dashboardActor(user));
  } catch (error) {
    if (error instanceof ForbiddenError) {
      const where = error.departmentId ? ' for that department' : ' tenant-wide';
      return { status: 'error', message: `You don’t have permission to do this: it needs ${error.permission}${where}.` };
    }
    if (error instanceof UserInputError) return { status: 'error', message: sentence(error.message) };
    console.error(`dashboard: action failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return { status: 'error', message: 'Something went wrong and the change was not saved. Try again; if it keeps failing, check the server log.' };
  }
}

/** The signed-in dashboard user as the actor of admin changes. */
export function dashboardActor(user: DashboardUser): AdminActor {
  return { userId: user.id, tenantId: user.tenantId, email: user.email, roles: user.roles };
}
