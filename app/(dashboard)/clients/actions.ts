'use server';

import { revalidatePath } from 'next/cache';
import type { ActionState } from '@/lib/admin/action-state';
import { setManagedClientDisabled } from '@/lib/admin/clients';
import { clientStatusForm, parseForm } from '@/lib/admin/forms';
import { runDashboardAction } from '@/lib/admin/run-action';

export async function setClientStatusAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const input = parseForm(clientStatusForm, form);
    await setManagedClientDisabled(actor, input.clientId, input.disabled);
    revalidatePath('/clients');
    return { status: 'success', message: input.disabled ? 'Disabled; its sign-ins have ended.' : 'Enabled.' };
  });
}
