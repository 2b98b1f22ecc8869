'use server';

import { revalidatePath } from 'next/cache';
import { z } from 'zod';
import type { ActionState } from '@/lib/admin/action-state';
import { parseForm } from '@/lib/admin/forms';
import { runDashboardAction } from '@/lib/admin/run-action';
import { configStore } from '@/lib/config';
import { createDashboardSink, createSinkForm, removeDashboardSink, replaySink, retryDeadLetters } from '@/lib/siem/admin';

const sinkForm = z.object({ sinkId: z.string().min(1) });
const replayForm = sinkForm.extend({ hours: z.enum(['1', '24', '168'], { error: 'choose how far back to replay' }).transform(Number) });

export async function createSinkAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const input = parseForm(createSinkForm, form);
    await createDashboardSink(actor, input, configStore().current().config);
    revalidatePath('/siem');
    return { status: 'success', message: `Sink ${input.id} added; the worker starts sending to it within seconds.` };
  });
}

export async function deleteSinkAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    await removeDashboardSink(actor, parseForm(sinkForm, form).sinkId);
    revalidatePath('/siem');
    return { status: 'success', message: 'Sink removed.' };
  });
}

export async function retryDeadAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const batches = await retryDeadLetters(actor, parseForm(sinkForm, form).sinkId);
    revalidatePath('/siem');
    return { status: 'success', message: batches === 0 ? 'No dead letters to retry.' : `${batches} dead ${batches === 1 ? 'letter' : 'letters'} queued again.` };
  });
}

export async function replayAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const input = parseForm(replayForm, form);
    const result = await replaySink(actor, input.sinkId, input.hours);
    revalidatePath('/siem');
    return { status: 'success', message: result.events === 0 ? 'Nothing was recorded in that period.' : `${result.events} events queued to be sent again.` };
  });
}
