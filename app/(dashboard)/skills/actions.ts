'use server';

import { revalidatePath } from 'next/cache';
import { redirect } from 'next/navigation';
import type { ActionState } from '@/lib/admin/action-state';
import { runDashboardAction } from '@/lib/admin/run-action';
import {
  bundlesFromUpload,
  createSkill,
  dashboardSkillActor,
  deleteSkill,
  importSkillBundles,
  restoreDeletedSkill,
  restoreSkillVersion,
  saveSkill,
  shareSkill,
  type SkillSharing,
} from '@/lib/skills';
import { UserInputError } from '@/lib/users/tenant';

/** Largest upload the import form takes (next.config.mjs lets Server Action bodies this large through). */
const MAX_IMPORT_BYTES = 10 * 1024 * 1024;

function text(form: FormData, name: string): string {
  const value = form.get(name);
  if (typeof value !== 'string') throw new UserInputError(`${name} is missing`);
  return value;
}

function whole(form: FormData, name: string): number {
  const value = Number(text(form, name));
  if (!Number.isInteger(value) || value < 1) throw new UserInputError(`${name} must be a version number`);
  return value;
}

function changedSkill(skillId?: string): void {
  revalidatePath('/skills');
  if (skillId) revalidatePath(`/skills/${skillId}`);
}

export async function createSkillAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  let createdId: string | null = null;
  const result = await runDashboardAction(async (actor) => {
    const skill = await createSkill(dashboardSkillActor(actor), { content: text(form, 'content') });
    createdId = skill.id;
    changedSkill();
    return { status: 'success', message: `Created ${skill.name}.` };
  });
  // Outside runDashboardAction: redirect() works by throwing.
  if (createdId) redirect(`/skills/${createdId}?saved=1`);
  return result;
}

export async function saveSkillAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const skillId = text(form, 'skillId');
    const saved = await saveSkill(dashboardSkillActor(actor), skillId, { content: text(form, 'content'), baseVersion: whole(form, 'baseVersion') });
    changedSkill(skillId);
    return { status: 'success', message: saved.changed ? `Saved as version ${saved.skill.version}.` : 'No changes: nothing to save.' };
  });
}

export async function shareSkillAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const skillId = text(form, 'skillId');
    const value = text(form, 'sharing');
    const [sharing, departmentId] = value.startsWith('department:') ? (['department', value.slice('department:'.length)] as const) : ([value, null] as const);
    if (sharing !== 'private' && sharing !== 'department' && sharing !== 'organisation') throw new UserInputError('choose who to share the skill with');
    const skill = await shareSkill(dashboardSkillActor(actor), skillId, { sharing: sharing as SkillSharing, departmentId });
    changedSkill(skillId);
    const audience = skill.sharing === 'private' ? 'Only you can use it now.' : skill.sharing === 'organisation' ? 'Everyone in the organisation can use it now.' : `Everyone in ${skill.departmentName} can use it now.`;
    return { status: 'success', message: `Sharing saved. ${audience}` };
  });
}

export async function deleteSkillAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const skillId = text(form, 'skillId');
    await deleteSkill(dashboardSkillActor(actor), skillId);
    changedSkill(skillId);
    return { status: 'success', message: 'Deleted. You can restore it from “Deleted” for 30 days.' };
  });
}

export async function restoreDeletedSkillAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const skillId = text(form, 'skillId');
    const skill = await restoreDeletedSkill(dashboardSkillActor(actor), skillId);
    changedSkill(skillId);
    return { status: 'success', message: `Restored ${skill.name}.` };
  });
}

export async function restoreVersionAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const skillId = text(form, 'skillId');
    const version = whole(form, 'version');
    const skill = await restoreSkillVersion(dashboardSkillActor(actor), skillId, version);
    changedSkill(skillId);
    return { status: 'success', message: skill.version > version ? `Version ${version} is now the current one, saved as version ${skill.version}.` : `Version ${version} is already the current text.` };
  });
}

export async function importSkillsAction(_previous: ActionState, form: FormData): Promise<ActionState> {
  return runDashboardAction(async (actor) => {
    const file = form.get('file');
    if (!(file instanceof File) || file.size === 0) throw new UserInputError('choose a SKILL.md or a .zip file to import');
    if (file.size > MAX_IMPORT_BYTES) throw new UserInputError(`the file is larger than ${MAX_IMPORT_BYTES / 1024 / 1024} MB`);
    const bundles = bundlesFromUpload(file.name, Buffer.from(await file.arrayBuffer()));
    const results = await importSkillBundles(dashboardSkillActor(actor), bundles, 'import');
    changedSkill();
    const counts = (['created', 'updated', 'restored', 'unchanged'] as const).map((outcome) => [outcome, results.filter((result) => result.outcome === outcome).length] as const).filter(([, count]) => count > 0);
    return { status: 'success', message: `Imported ${results.map((result) => result.name).join(', ')} (${counts.map(([outcome, count]) => `${count} ${outcome}`).join(', ')}).` };
  });
}
