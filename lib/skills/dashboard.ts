/**
 * What the dashboard's skills pages need beyond the service: the signed-in user as a SkillActor,
 * the list filters, and where the user may share to.
 */
import { departmentOptions } from '@/lib/admin/departments';
import { permissionScope } from '@/lib/rbac/authorize';
import type { SkillActor } from './service';
import type { VisibleSkill } from './visible';

export function dashboardSkillActor(user: { id?: string; userId?: string; tenantId: string; email: string; roles: string[] }): SkillActor {
  return { userId: user.userId ?? user.id ?? '', tenantId: user.tenantId, email: user.email, roles: user.roles, callSource: 'dashboard' };
}

export interface SkillFilters {
  /** Words that must all appear in the name, description or tags. */
  query: string;
  sharing: 'any' | 'private' | 'department' | 'organisation';
  tag: string;
}

export function parseSkillFilters(params: Record<string, string | string[] | undefined>): SkillFilters {
  const one = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value) ?? '';
  const sharing = one(params.sharing);
  return {
    query: one(params.q).trim().slice(0, 200),
    sharing: sharing === 'private' || sharing === 'department' || sharing === 'organisation' ? sharing : 'any',
    tag: one(params.tag).trim().slice(0, 50),
  };
}

export function filterSkills<T extends VisibleSkill>(skills: readonly T[], filters: SkillFilters): T[] {
  const words = filters.query.toLowerCase().split(/\s+/).filter(Boolean);
  return skills.filter((skill) => {
    if (filters.sharing !== 'any' && skill.sharing !== filters.sharing) return false;
    if (filters.tag && !skill.tags.includes(filters.tag)) return false;
    const haystack = `${skill.name} ${skill.description} ${skill.tags.join(' ')} ${skill.ownerEmail}`.toLowerCase();
    return words.every((word) => haystack.includes(word));
  });
}

export interface ShareTargets {
  organisation: boolean;
  departments: { id: string; name: string }[];
}

/** Where the actor may share a skill: plugins.publish tenant-wide (organisation, every department) or per department. */
export async function shareTargets(actor: SkillActor): Promise<ShareTargets> {
  const scope = await permissionScope({ userId: actor.userId, tenantId: actor.tenantId }, 'plugins.publish');
  const departments = await departmentOptions(actor.tenantId);
  return {
    organisation: scope.tenantWide,
    departments: departments.filter((department) => scope.tenantWide || scope.departmentIds.has(department.id)).map(({ id, name }) => ({ id, name })),
  };
}
