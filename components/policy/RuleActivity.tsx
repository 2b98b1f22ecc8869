import Link from 'next/link';
import { Badge } from '@/components/table/Badge';
import { CELL, SimpleTable } from './Section';

export interface RuleActivityRow {
  rule: string;
  decision: string;
  words: string;
  total: number;
  perDay: number[];
}

/** Bars per day, scaled to the row's busiest day; the numbers are in the title for each bar. */
function Sparkline({ values, days }: { values: readonly number[]; days: readonly string[] }) {
  const max = Math.max(1, ...values);
  const width = values.length * 6;
  return (
    <svg role="img" aria-label={`per day: ${values.join(', ')}`} width={width} height={24} viewBox={`0 0 ${width} 24`} className="overflow-visible">
      {values.map((value, index) => {
        const height = value === 0 ? 1 : Math.max(2, Math.round((value / max) * 24));
        return (
          <rect key={index} x={index * 6} y={24 - height} width={4} height={height} className={value === 0 ? 'fill-slate-200' : 'fill-indigo-500'}>
            <title>{`${days[index]}: ${value}`}</title>
          </rect>
        );
      })}
    </svg>
  );
}

/** Blocked and redacted requests per rule over the last days; each rule links to its events. */
export function RuleActivity({ rows, days, from }: { rows: readonly RuleActivityRow[]; days: readonly string[]; from: string }) {
  if (rows.length === 0) return <p className="rounded-md bg-slate-50 px-4 py-6 text-sm text-slate-600">No request was blocked or redacted in the last {days.length} days.</p>;
  return (
    <SimpleTable caption="Blocked and redacted requests per rule" headers={['Rule', 'Decision', 'In words', `Last ${days.length} days (UTC)`, 'Total']}>
      {rows.map((row) => (
        <tr key={`${row.decision}-${row.rule}`}>
          <td className={CELL}>
            <Link href={`/audit?${new URLSearchParams({ from, rule: row.rule, type: 'policy.decision' })}`} className="font-mono text-xs text-indigo-700 underline-offset-2 hover:underline">
              {row.rule}
            </Link>
          </td>
          <td className={CELL}>
            <Badge tone={row.decision === 'redact' ? 'amber' : 'red'}>{row.decision}</Badge>
          </td>
          <td className={`${CELL} whitespace-normal`}>{row.words}</td>
          <td className={CELL}>
            <Sparkline values={row.perDay} days={days} />
          </td>
          <td className={`${CELL} tabular-nums`}>{row.total}</td>
        </tr>
      ))}
    </SimpleTable>
  );
}
