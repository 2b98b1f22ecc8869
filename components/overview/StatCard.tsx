export interface StatCardProps {
  /** Stable hook for tests and styling: `data-stat` on the card. */
  id: string;
  label: string;
  value: string;
  hint?: string;
  /** Identifiers (versions, hashes) read better in a smaller monospace face. */
  mono?: boolean;
}

export function StatCard({ id, label, value, hint, mono = false }: StatCardProps) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm" data-stat={id}>
      <dt className="text-sm font-medium text-slate-600">{label}</dt>
      <dd
        className={`mt-2 font-semibold tracking-tight text-slate-900 ${mono ? 'break-all font-mono text-base' : 'text-3xl tabular-nums'}`}
        data-stat-value
      >
        {value}
      </dd>
      {hint ? <dd className="mt-1 text-xs text-slate-500">{hint}</dd> : null}
    </div>
  );
}
