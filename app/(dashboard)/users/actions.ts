'use server';

import { revalidatePath } from 'next/cache';
import type { ActionState } from '@/lib/admin/action-state';
import { addRoleBinding, removeRoleBinding } from '@/lib/admin/bindings';
import { addBindingForm, createUserForm, parseForm, removeBindingForm, revokeAllSessionsForm, revokeSessionForm, updateUserForm, userStatusForm } from '@/lib/admin/forms';
import { runDashboardAction } from '@/lib/admin/run-action';
import { revokeAllManagedSessions, revokeManagedSession } from '@/lib/admin/sessions';
import { createManagedUser, setManagedUserStatus, updateManagedUser } from '@/lib/admin/users';

// Server Actions of the users pages: parse the form, call lib/admin (which authorises and
// audits), refresh the pages that show the change.

function refreshUser(userId?: string): void {
  revalidatePath('/users');
  if (userId) revalidatePath(`/users/${userId}`);
}

export async function createUserAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const created = await createManagedUser(actor, parseForm(createUserForm, form));
    refreshUser();
    return {
      status: 'success',
      message: `Created ${created.email}. Give them this password now: it is shown only once.`,
      secret: { label: 'Generated password', value: created.password },
    };
  });
}

export async function updateUserAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const input = parseForm(updateUserForm, form);
    await updateManagedUser(actor, input.userId, { name: input.name, departmentId: input.departmentId });
    refreshUser(input.userId);
    return { status: 'success', message: 'Saved.' };
  });
}

export async function setUserStatusAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const input = parseForm(userStatusForm, form);
    await setManagedUserStatus(actor, input.userId, input.status);
    refreshUser(input.userId);
    return {
      status: 'success',
      message: input.status === 'disabled' ? 'Account disabled and every sign-in ended.' : 'Account enabled. They can sign in again.',
    };
  });
}

export async function addBindingAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const input = parseForm(addBindingForm, form);
    await addRoleBinding(actor, input.userId, { roleId: input.roleId, departmentId: input.departmentId });
    refreshUser(input.userId);
    return { status: 'success', message: 'Role granted.' };
  });
}

export async function removeBindingAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const input = parseForm(removeBindingForm, form);
    await removeRoleBinding(actor, input.userId, input.bindingId);
    refreshUser(input.userId);
    return { status: 'success', message: 'Role removed.' };
  });
}

export async function revokeSessionAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const input = parseForm(revokeSessionForm, form);
    await revokeManagedSession(actor, input.userId, input.sessionId);
    refreshUser(input.userId);
    return { status: 'success', message: 'Session revoked.' };
  });
}

export async function revokeAllSessionsAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const input = parseForm(revokeAllSessionsForm, form);
    const revoked = await revokeAllManagedSessions(actor, input.userId);
    refreshUser(input.userId);
    return { status: 'success', message: revoked === 0 ? 'There were no active sessions.' : `Revoked ${revoked} ${revoked === 1 ? 'session' : 'sessions'}.` };
  });
}
