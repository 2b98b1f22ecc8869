'use server';

import { revalidatePath } from 'next/cache';
import type { ActionState } from '@/lib/admin/action-state';
import { parseForm } from '@/lib/admin/forms';
import { runDashboardAction } from '@/lib/admin/run-action';
import { budgetForm, deleteBudget, saveBudget } from '@/lib/budgets/admin';
import { budgetId } from '@/lib/config';
import { z } from 'zod';

export async function saveBudgetAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const input = parseForm(budgetForm, form);
    const saved = await saveBudget(actor, input);
    revalidatePath('/budgets');
    return { status: 'success', message: `${saved.created ? 'Created' : 'Saved'} budgets.${input.id} (version ${saved.version}). The gateway enforces it within 10 seconds.` };
  });
}

export async function deleteBudgetAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const { id } = parseForm(z.object({ id: budgetId }), form);
    const version = await deleteBudget(actor, id);
    revalidatePath('/budgets');
    return { status: 'success', message: `Deleted budgets.${id} (version ${version}).` };
  });
}
