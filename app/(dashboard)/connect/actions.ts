'use server';

import { revalidatePath } from 'next/cache';
import { z } from 'zod';
import type { ActionState } from '@/lib/admin/action-state';
import { parseForm } from '@/lib/admin/forms';
import { getDashboardUser } from '@/lib/auth/session';
import { revokeAllOwnSessions, revokeOwnSession } from '@/lib/connect/sessions';
import { UserInputError } from '@/lib/users/tenant';

// The person's own sign-ins: anyone signed in may end theirs, nobody else's (lib/connect checks
// the session belongs to them).

async function asSignedInUser(run: (user: NonNullable<Awaited<ReturnType<typeof getDashboardUser>>>) => Promise<ActionState>): Promise<ActionState> {
  const user = await getDashboardUser();
  if (!user) return { status: 'error', message: 'Your session has ended. Sign in again.' };
  try {
    return await run(user);
  } catch (error) {
    if (error instanceof UserInputError) return { status: 'error', message: `${error.message.charAt(0).toUpperCase()}${error.message.slice(1)}.` };
    console.error(`dashboard: connect action failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return { status: 'error', message: 'Something went wrong; nothing was changed. Try again.' };
  }
}

const revokeOwnSessionForm = z.object({ sessionId: z.guid({ error: 'choose a session' }) });

export async function revokeOwnSessionAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return asSignedInUser(async (user) => {
    await revokeOwnSession(user, parseForm(revokeOwnSessionForm, form).sessionId);
    revalidatePath('/connect');
    return { status: 'success', message: 'Signed out there. That application has to sign in again.' };
  });
}

export async function revokeAllOwnSessionsAction(): Promise<ActionState> {
  return asSignedInUser(async (user) => {
    const count = await revokeAllOwnSessions(user);
    revalidatePath('/connect');
    return { status: 'success', message: count === 1 ? 'Signed out of 1 application.' : `Signed out of ${count} applications.` };
  });
}
