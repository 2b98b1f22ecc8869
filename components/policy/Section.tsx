import type { ReactNode } from 'react';

export function Section({ title, description, children, id }: { title: string; description?: string; children: ReactNode; id?: string }) {
  return (
    <section aria-labelledby={id ? `${id}-title` : undefined} className="mb-8">
      <h2 id={id ? `${id}-title` : undefined} className="text-lg font-semibold text-slate-900">
        {title}
      </h2>
      {description ? <p className="mb-3 mt-0.5 text-sm text-slate-600">{description}</p> : <div className="mb-3" />}
      {children}
    </section>
  );
}

/** A plain, horizontally scrolling table in the dashboard's style (server-rendered, no sorting needed). */
export function SimpleTable({ caption, headers, children }: { caption: string; headers: readonly string[]; children: ReactNode }) {
  return (
    <div className="relative overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm">
      <table className="min-w-full divide-y divide-slate-200 text-sm">
        <caption className="sr-only">{caption}</caption>
        <thead className="bg-slate-50">
          <tr>
            {headers.map((header) => (
              <th key={header} scope="col" className="whitespace-nowrap px-4 py-3 text-left text-xs font-semibold uppercase tracking-wide text-slate-600">
                {header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">{children}</tbody>
      </table>
    </div>
  );
}

export const CELL = 'whitespace-nowrap px-4 py-3 align-top text-slate-700';
