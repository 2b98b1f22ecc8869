'use client';

import { Area, AreaChart, ResponsiveContainer, Tooltip, YAxis } from 'recharts';

export interface TrendPoint {
  /** ISO start of the bucket (UTC). */
  start: string;
  value: number;
}

export interface TrendCardProps {
  /** Stable hook for tests and styling: `data-stat` on the card. */
  id: string;
  label: string;
  value: string;
  hint?: string;
  points: TrendPoint[];
  /** How a bucket's value reads in the tooltip. */
  unit: 'count' | 'usd' | 'percent';
  colour?: string;
}

function formatPoint(value: number, unit: TrendCardProps['unit']): string {
  if (unit === 'usd') return `$${value.toLocaleString('en-US', { maximumFractionDigits: value < 1 ? 4 : 2 })}`;
  if (unit === 'percent') return `${value.toFixed(1)} %`;
  return value.toLocaleString('en-US');
}

/** A headline figure with a small chart of the same figure per bucket over the window. */
export function TrendCard({ id, label, value, hint, points, unit, colour = '#4f46e5' }: TrendCardProps) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm" data-stat={id}>
      <dt className="text-sm font-medium text-slate-600">{label}</dt>
      <dd className="mt-2 text-3xl font-semibold tabular-nums tracking-tight text-slate-900" data-stat-value>
        {value}
      </dd>
      <dd className="mt-3 h-12" data-chart={id} aria-hidden="true">
        <ResponsiveContainer width="100%" height="100%">
          <AreaChart data={points} margin={{ top: 2, right: 0, bottom: 0, left: 0 }}>
            <YAxis hide domain={[0, 'auto']} />
            <Tooltip
              formatter={(point) => [formatPoint(Number(point), unit), label]}
              labelFormatter={(_, payload) => {
                const start = payload?.[0]?.payload?.start;
                return typeof start === 'string' ? `${start.slice(0, 16).replace('T', ' ')} UTC` : '';
              }}
            />
            <Area type="monotone" dataKey="value" stroke={colour} fill={colour} fillOpacity={0.15} strokeWidth={1.5} isAnimationActive={false} />
          </AreaChart>
        </ResponsiveContainer>
      </dd>
      {hint ? <dd className="mt-1 text-xs text-slate-500">{hint}</dd> : null}
    </div>
  );
}
