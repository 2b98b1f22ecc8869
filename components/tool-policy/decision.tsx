import { Badge, type BadgeTone } from '@/components/table/Badge';

const TONE: Record<string, BadgeTone> = { allow: 'green', ask: 'amber', block: 'red' };

export function DecisionBadge({ decision }: { decision: string }) {
  return <Badge tone={TONE[decision] ?? 'slate'}>{decision}</Badge>;
}
