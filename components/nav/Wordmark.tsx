import Link from 'next/link';

/** The Gatehouse mark (a gate in a wall), from public/logo.svg like the sign-in and OAuth pages. */
export function GatehouseMark({ className }: { className: string }) {
  // A plain <img>: the file is a 300-byte SVG, nothing for next/image to optimise.
  return <img src="/logo.svg" alt="" aria-hidden="true" className={className} />;
}

export function Wordmark() {
  return (
    <Link href="/" className="flex items-center gap-2 rounded-md focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500" aria-label="Gatehouse home">
      <GatehouseMark className="h-6 w-6" />
      <span className="text-lg font-semibold tracking-tight text-slate-900">Gatehouse</span>
    </Link>
  );
}
