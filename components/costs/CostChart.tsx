'use client';

import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { bucketDrillDown, explorerHref } from '@/lib/costs/drilldown';
import type { CostGroup, CostInterval } from '@/lib/costs/query';
import type { CostChartPoint } from '@/lib/costs/view';

export const CHART_COLOURS = ['#4f46e5', '#0891b2', '#16a34a', '#ca8a04', '#dc2626', '#9333ea', '#db2777', '#ea580c', '#64748b'];

const METRICS = {
  usd: { label: 'Spend (USD)', format: (value: number) => `$${value.toLocaleString('en-US', { maximumFractionDigits: value < 1 ? 4 : 2 })}` },
  tokens: { label: 'Tokens', format: (value: number) => value.toLocaleString('en-US') },
  requests: { label: 'Requests', format: (value: number) => value.toLocaleString('en-US') },
} as const;
type Metric = keyof typeof METRICS;

export interface CostChartProps {
  points: CostChartPoint[];
  groups: { key: string; label: string }[];
  view: { from: string; to: string; interval: CostInterval; groupBy: CostGroup; filters: Record<string, string> };
  otherKey: string;
}

/** Spend, tokens or requests per bucket, stacked by group; a bar opens the requests behind it. */
export function CostChart({ points, groups, view, otherKey }: CostChartProps) {
  const router = useRouter();
  const [metric, setMetric] = useState<Metric>('usd');
  const data = points.map((point) => {
    const row: Record<string, string | number> = { period: point.period };
    for (const group of groups) row[group.key] = point.values[group.key]?.[metric] ?? 0;
    return row;
  });
  const open = (period: string, key: string) => {
    const group = key === otherKey ? undefined : { by: view.groupBy, key };
    router.push(explorerHref(bucketDrillDown(view, period, group)));
  };

  return (
    <figure className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-chart="costs">
      <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
        <figcaption className="text-sm font-medium text-slate-700">
          {METRICS[metric].label} per {view.interval} (UTC){view.groupBy !== 'none' ? `, by ${view.groupBy}` : ''}
        </figcaption>
        <div role="radiogroup" aria-label="Measure" className="inline-flex overflow-hidden rounded-md border border-slate-300 text-xs">
          {(Object.keys(METRICS) as Metric[]).map((name) => (
            <button
              key={name}
              type="button"
              role="radio"
              aria-checked={metric === name}
              onClick={() => setMetric(name)}
              className={`px-3 py-1.5 font-medium ${metric === name ? 'bg-indigo-600 text-white' : 'bg-white text-slate-700 hover:bg-slate-50'}`}
            >
              {METRICS[name].label}
            </button>
          ))}
        </div>
      </div>
      <div className="h-72 w-full">
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={data} margin={{ top: 8, right: 8, bottom: 8, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" vertical={false} stroke="#e2e8f0" />
            <XAxis dataKey="period" tick={{ fontSize: 11 }} tickMargin={6} minTickGap={16} />
            <YAxis tick={{ fontSize: 11 }} width={64} tickFormatter={(value: number) => METRICS[metric].format(value)} />
            <Tooltip formatter={(value) => METRICS[metric].format(Number(value))} labelFormatter={(label) => `${String(label)} (UTC)`} />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            {groups.map((group, index) => (
              <Bar
                key={group.key}
                dataKey={group.key}
                name={group.label}
                stackId="cost"
                fill={CHART_COLOURS[index % CHART_COLOURS.length]}
                cursor="pointer"
                onClick={(entry: { payload?: { period?: string } }) => entry.payload?.period && open(entry.payload.period, group.key)}
              />
            ))}
          </BarChart>
        </ResponsiveContainer>
      </div>
      <p className="mt-2 text-xs text-slate-500">Click a bar to open the requests behind it in the request explorer.</p>
    </figure>
  );
}
