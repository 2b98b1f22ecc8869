import { Badge } from '@/components/table/Badge';
import type { TargetView } from '@/lib/dashboard/policy';

const CIRCUIT_TONES = { closed: 'green', open: 'red', half_open: 'amber' } as const;
const CIRCUIT_WORDS = { closed: 'healthy', open: 'circuit open', half_open: 'probing' } as const;

/** Targets in failover order, each with its live circuit-breaker state. */
export function TargetList({ targets }: { targets: readonly TargetView[] }) {
  return (
    <ol className="space-y-1">
      {targets.map((target, index) => (
        <li key={`${target.name}-${index}`} className="flex flex-wrap items-center gap-2">
          <span className="text-xs text-slate-400">{index + 1}.</span>
          <span className="font-mono text-xs">{target.name}</span>
          <Badge tone={CIRCUIT_TONES[target.circuit]}>{CIRCUIT_WORDS[target.circuit]}</Badge>
        </li>
      ))}
    </ol>
  );
}
