/** A 1–5 star rating, read out as text. */
export function Stars({ value, count }: { value: number | null; count?: number }) {
  if (value === null) return <span className="text-xs text-slate-500">No reviews yet</span>;
  const rounded = Math.round(value);
  return (
    <span className="inline-flex items-center gap-1 text-sm" aria-label={`${value.toFixed(1)} out of 5 stars${count !== undefined ? `, ${count} review${count === 1 ? '' : 's'}` : ''}`}>
      <span aria-hidden className="text-amber-500">
        {'★'.repeat(rounded)}
        <span className="text-slate-300">{'★'.repeat(5 - rounded)}</span>
      </span>
      <span className="text-xs text-slate-600">
        {value.toFixed(1)}
        {count !== undefined ? ` (${count})` : ''}
      </span>
    </span>
  );
}
