import Link from 'next/link';

/** The Gatehouse mark: a gate in a wall. */
export function GatehouseMark({ className }: { className: string }) {
  return (
    <svg aria-hidden="true" viewBox="0 0 24 24" className={className} fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
      <path d="M3 21V9l9-6 9 6v12" />
      <path d="M9 21v-6a3 3 0 0 1 6 0v6" />
    </svg>
  );
}

export function Wordmark() {
  return (
    <Link href="/" className="flex items-center gap-2 rounded-md focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500" aria-label="Gatehouse home">
      <GatehouseMark className="h-6 w-6 text-indigo-600" />
      <span className="text-lg font-semibold tracking-tight text-slate-900">Gatehouse</span>
    </Link>
  );
}
