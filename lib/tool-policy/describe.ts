import type { ToolPolicyConditions } from './types';

/** A rule's conditions in one line: `hook only · mon-fri 09:00-18:00 Europe/Paris · /repo matches "acme/*"`. */
export function describeConditions(conditions: ToolPolicyConditions): string {
  const parts: string[] = [];
  if (conditions.callSources) parts.push(`${conditions.callSources.join(' or ')} only`);
  if (conditions.clientIds) parts.push(`client ${conditions.clientIds.join(' or ')}`);
  const window = conditions.timeWindow;
  if (window) parts.push(`${window.days?.join(',') ?? 'every day'} ${window.from ?? '00:00'}–${window.to ?? '24:00'} ${window.timeZone ?? 'UTC'}`);
  for (const condition of conditions.arguments ?? []) {
    parts.push(condition.op === 'exists' ? `${condition.path} ${condition.value === false ? 'absent' : 'present'}` : `${condition.path} ${condition.op} ${JSON.stringify(condition.value)}`);
  }
  return parts.join(' · ');
}
