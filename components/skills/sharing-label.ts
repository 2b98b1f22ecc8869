/** How a skill's sharing reads in lists and badges (plain module: server pages and client tables use it). */
export function sharingLabel(skill: { sharing: 'private' | 'department' | 'organisation'; departmentName: string | null }): string {
  if (skill.sharing === 'organisation') return 'Organisation';
  if (skill.sharing === 'department') return skill.departmentName ?? 'Department';
  return 'Only me';
}
