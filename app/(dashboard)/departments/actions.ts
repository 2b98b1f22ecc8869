'use server';

import { revalidatePath } from 'next/cache';
import type { ActionState } from '@/lib/admin/action-state';
import { createDepartment, renameDepartment } from '@/lib/admin/departments';
import { createDepartmentForm, parseForm, renameDepartmentForm } from '@/lib/admin/forms';
import { runDashboardAction } from '@/lib/admin/run-action';

export async function createDepartmentAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const department = await createDepartment(actor, parseForm(createDepartmentForm, form));
    revalidatePath('/departments');
    return { status: 'success', message: `Created ${department.name} (slug ${department.slug}).` };
  });
}

export async function renameDepartmentAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const input = parseForm(renameDepartmentForm, form);
    await renameDepartment(actor, input.departmentId, input.name);
    revalidatePath('/departments');
    revalidatePath('/users');
    return { status: 'success', message: 'Renamed.' };
  });
}
