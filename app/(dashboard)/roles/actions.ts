'use server';

import { revalidatePath } from 'next/cache';
import { redirect } from 'next/navigation';
import type { ActionState } from '@/lib/admin/action-state';
import { createRoleForm, deleteRoleForm, parseForm, updateRoleForm } from '@/lib/admin/forms';
import { createRole, deleteRole, updateRole } from '@/lib/admin/roles';
import { runDashboardAction } from '@/lib/admin/run-action';

export async function createRoleAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  let createdId: string | undefined;
  const state = await runDashboardAction(async (actor) => {
    const role = await createRole(actor, parseForm(createRoleForm, form));
    createdId = role.id;
    revalidatePath('/roles');
    return { status: 'success', message: `Created ${role.name}.` };
  });
  // Outside the runner: redirect() works by throwing, which the runner would report as a failure.
  if (createdId) redirect(`/roles/${createdId}?created=1`);
  return state;
}

export async function updateRoleAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const input = parseForm(updateRoleForm, form);
    await updateRole(actor, input.roleId, { description: input.description, permissions: input.permissions });
    revalidatePath('/roles');
    revalidatePath(`/roles/${input.roleId}`);
    return { status: 'success', message: 'Saved. Everyone holding this role has the new permissions now.' };
  });
}

export async function deleteRoleAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  let deleted = false;
  const state = await runDashboardAction(async (actor) => {
    const input = parseForm(deleteRoleForm, form);
    await deleteRole(actor, input.roleId);
    deleted = true;
    revalidatePath('/roles');
    return { status: 'success', message: 'Deleted.' };
  });
  if (deleted) redirect('/roles');
  return state;
}
