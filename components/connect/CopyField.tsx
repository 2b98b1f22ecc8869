'use client';

import { useState } from 'react';
import { SECONDARY_BUTTON } from '@/components/admin/styles';

/** A value to paste somewhere else (a URL, a command), with a copy button. */
export function CopyField({ label, value, multiline = false }: { label: string; value: string; multiline?: boolean }) {
  const [copied, setCopied] = useState(false);
  const field = 'w-full rounded-md border border-slate-300 bg-slate-50 px-3 py-2 font-mono text-sm text-slate-900';
  return (
    <div className="flex flex-col gap-1">
      <span className="text-xs font-medium text-slate-600">{label}</span>
      <div className="flex flex-wrap items-start gap-2 sm:flex-nowrap">
        {multiline ? (
          <textarea readOnly aria-label={label} value={value} rows={value.split('\n').length + 1} onFocus={(event) => event.currentTarget.select()} className={`${field} resize-none`} />
        ) : (
          <input readOnly aria-label={label} value={value} onFocus={(event) => event.currentTarget.select()} className={field} />
        )}
        <button
          type="button"
          className={`${SECONDARY_BUTTON} shrink-0`}
          aria-label={`Copy ${label}`}
          onClick={() => {
            void navigator.clipboard?.writeText(value).then(() => setCopied(true));
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
    </div>
  );
}
