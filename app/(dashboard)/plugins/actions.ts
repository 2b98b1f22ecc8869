'use server';

import { revalidatePath } from 'next/cache';
import type { ActionState } from '@/lib/admin/action-state';
import { runDashboardAction } from '@/lib/admin/run-action';
import type { AdminActor } from '@/lib/admin/actor';
import type { PluginActor } from '@/lib/plugins/events';
import { approveVersion, decideInstallRequest, entitle, forkVersion, installForSelf, publishVersion, rejectVersion, revokePlugin, withdrawVersion } from '@/lib/plugins/lifecycle';
import { formatIssue, PluginUploadError } from '@/lib/plugins/limits';
import { hideRating, ratePlugin, replyToRating } from '@/lib/plugins/marketplace';
import { pluginFromFiles, pluginFromZip } from '@/lib/plugins/upload';
import { pluginFromSkills } from '@/lib/plugins/from-skills';
import { UserInputError } from '@/lib/users/tenant';

// Every plugin change made in the dashboard: the signed-in user as the actor; lib/plugins checks
// their permissions and records the audit event; upload problems come back per file and line.

function pluginActor(actor: AdminActor): PluginActor {
  return { ...actor, callSource: 'dashboard' };
}

function text(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === 'string' ? value : '';
}

async function withUploadErrors(run: () => Promise<ActionState>): Promise<ActionState> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof PluginUploadError) return { status: 'error', message: `The plugin was not accepted: ${error.issues.map(formatIssue).join(' · ')}` };
    throw error;
  }
}

function refresh(name?: string): void {
  revalidatePath('/marketplace');
  revalidatePath('/plugins/review');
  revalidatePath('/plugins/publish');
  if (name) revalidatePath(`/plugins/${name}`);
}

export async function publishAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction((actor) =>
    withUploadErrors(async () => {
      const uploads = form.getAll('files').filter((value): value is File => typeof value !== 'string' && value.size > 0);
      const archive = form.get('archive');
      const skills = form.getAll('skills').filter((value): value is string => typeof value === 'string' && value.length > 0);
      let plugin;
      if (archive && typeof archive !== 'string' && archive.size > 0) plugin = pluginFromZip(Buffer.from(await archive.arrayBuffer()));
      else if (uploads.length > 0) plugin = pluginFromFiles(await Promise.all(uploads.map(async (file) => ({ name: file.name, data: Buffer.from(await file.arrayBuffer()) }))));
      else if (skills.length > 0) plugin = await pluginFromSkills(pluginActor(actor), { skills, name: text(form, 'name'), version: text(form, 'version'), description: text(form, 'description') });
      else throw new UserInputError('choose a ZIP archive, a plugin folder, or skills to assemble');
      const result = await publishVersion(pluginActor(actor), plugin, { changelog: text(form, 'changelog'), category: text(form, 'category') || undefined });
      refresh(result.name);
      return { status: 'success', message: `Submitted ${result.name}@${result.version} for review. A reviewer will see it in the review queue.` };
    }),
  );
}

export async function approveAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const result = await approveVersion(pluginActor(actor), text(form, 'versionId'), text(form, 'comment'), { selfInstall: form.get('selfInstall') === 'on' });
    refresh(text(form, 'name'));
    return { status: 'success', message: `Approved and signed with organisation key ${result.kid.slice(0, 12)}…` };
  });
}

export async function rejectAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    await rejectVersion(pluginActor(actor), text(form, 'versionId'), text(form, 'comment'));
    refresh(text(form, 'name'));
    return { status: 'success', message: 'Rejected; the author sees your comment.' };
  });
}

export async function decideRequestAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const grant = text(form, 'decision') === 'grant';
    await decideInstallRequest(pluginActor(actor), text(form, 'requestId'), grant, text(form, 'comment'));
    refresh(text(form, 'name'));
    return { status: 'success', message: grant ? 'Granted: the plugin reaches them at their next sync.' : 'Request declined.' };
  });
}

export async function installAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const name = text(form, 'name');
    const result = await installForSelf(pluginActor(actor), name, text(form, 'reason'));
    refresh(name);
    if (result.outcome === 'requested') return { status: 'success', message: 'Requested: a reviewer decides in the review queue. It reaches your devices once granted.' };
    if (result.outcome === 'already') return { status: 'success', message: 'Already installed for you.' };
    return { status: 'success', message: 'Installed: it reaches Claude on your devices at the next sync (or from the marketplace URL).' };
  });
}

export async function forkAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const result = await forkVersion(pluginActor(actor), text(form, 'versionId'), text(form, 'newName').trim());
    refresh(result.name);
    return { status: 'success', message: `Forked as ${result.name} and submitted ${result.name}@${result.version} for review.` };
  });
}

export async function rateAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const name = text(form, 'name');
    await ratePlugin(pluginActor(actor), name, Number(text(form, 'stars')), text(form, 'body'));
    refresh(name);
    return { status: 'success', message: 'Thanks: your review is saved.' };
  });
}

export async function replyAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    await replyToRating(pluginActor(actor), text(form, 'ratingId'), text(form, 'reply'));
    refresh(text(form, 'name'));
    return { status: 'success', message: 'Reply saved.' };
  });
}

export async function hideAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const hidden = text(form, 'hidden') === 'true';
    await hideRating(pluginActor(actor), text(form, 'ratingId'), hidden);
    refresh(text(form, 'name'));
    return { status: 'success', message: hidden ? 'Review hidden.' : 'Review shown again.' };
  });
}

export async function entitleAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const name = text(form, 'name');
    const kind = text(form, 'kind');
    if (kind !== 'everyone' && kind !== 'role' && kind !== 'department' && kind !== 'user') throw new UserInputError('choose who to entitle');
    const result = await entitle(pluginActor(actor), name, { kind, value: text(form, 'value') }, text(form, 'remove') === 'true');
    refresh(name);
    return { status: 'success', message: `${text(form, 'remove') === 'true' ? 'Removed' : 'Entitled'} ${result.label}.` };
  });
}

export async function withdrawAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const name = text(form, 'name');
    await withdrawVersion(pluginActor(actor), name, text(form, 'version'), text(form, 'reason'));
    refresh(name);
    return { status: 'success', message: 'Withdrawn: devices remove it at their next sync.' };
  });
}

export async function revokeAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const name = text(form, 'name');
    await revokePlugin(pluginActor(actor), name, text(form, 'reason'));
    refresh(name);
    return { status: 'success', message: 'Revoked: every version leaves every device at the next sync.' };
  });
}
