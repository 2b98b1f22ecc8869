import { listOwnSkills } from '@/lib/skills';
import { UserInputError } from '@/lib/users/tenant';
import type { PluginActor } from './events';
import { checkFileSet } from './paths';
import { MANIFEST_PATH, validatePlugin, type ValidatedPlugin } from './validate';

/**
 * A plugin assembled from the author's own skills (lib/skills): each becomes
 * skills/<name>/SKILL.md with its extra files beside it, under a plugin.json the author names.
 * It then goes through the same checks as an upload.
 */
export async function pluginFromSkills(actor: PluginActor, input: { skills: string[]; name: string; version: string; description: string }): Promise<ValidatedPlugin> {
  const own = await listOwnSkills({ ...actor, callSource: actor.callSource === 'dashboard' ? 'dashboard' : 'cli' });
  const chosen = own.filter((skill) => input.skills.includes(skill.id));
  if (chosen.length === 0) throw new UserInputError('choose at least one of your skills');
  const manifest = { name: input.name.trim(), version: input.version.trim() || '1.0.0', description: input.description.trim(), author: { name: actor.email } };
  const entries = [
    { name: MANIFEST_PATH, data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) },
    ...chosen.flatMap((skill) => [
      { name: `skills/${skill.name}/SKILL.md`, data: Buffer.from(skill.content) },
      ...skill.files.map((file) => ({ name: `skills/${skill.name}/${file.path}`, data: file.content })),
    ]),
  ];
  return validatePlugin(checkFileSet(entries));
}

export async function skillChoices(actor: PluginActor): Promise<{ id: string; name: string; description: string }[]> {
  const own = await listOwnSkills({ ...actor, callSource: 'dashboard' });
  return own.map((skill) => ({ id: skill.id, name: skill.name, description: skill.description }));
}
