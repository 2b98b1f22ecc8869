import Link from 'next/link';
import type { TimelineStep } from '@/lib/audit-query';
import { formatUtcTimestamp } from '@/lib/dashboard/format';

const DOTS: Record<TimelineStep['tone'], string> = {
  good: 'bg-emerald-500',
  bad: 'bg-rose-500',
  warn: 'bg-amber-500',
  neutral: 'bg-slate-400',
};

/** A trace as a vertical timeline: one step a line, each linking to its event's detail. */
export function TraceTimeline({ steps, traceId }: { steps: readonly TimelineStep[]; traceId: string }) {
  return (
    <ol aria-label="Trace timeline" className="relative ml-3 border-l border-slate-200">
      {steps.map((step, index) => (
        <li key={index} className="relative mb-5 pl-6" data-step={step.kind}>
          <span aria-hidden="true" className={`absolute -left-[7px] top-1.5 h-3 w-3 rounded-full ring-4 ring-white ${DOTS[step.tone]}`} />
          <div className="flex flex-wrap items-baseline gap-x-3 gap-y-1">
            <h2 className="text-sm font-semibold text-slate-900">{step.title}</h2>
            <time dateTime={step.at} className="text-xs tabular-nums text-slate-500">
              {formatUtcTimestamp(step.at)}
            </time>
            {step.eventId ? (
              <Link href={`/audit?from=93d&trace=${traceId}&event=${step.eventId}`} className="text-xs font-medium text-indigo-700 underline-offset-2 hover:underline">
                details
              </Link>
            ) : null}
          </div>
          <p className="mt-0.5 break-words text-sm text-slate-700">{step.detail}</p>
        </li>
      ))}
    </ol>
  );
}
