// Formatting shared by server pages and client tables. Fixed to UTC and en-US so the server's
// HTML and the browser's hydration render the same text wherever either runs.

const dollars = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const integers = new Intl.NumberFormat('en-US');

/** 1 500 000 µ$ → "$1.50". Costs are stored as integer microdollars. */
export function formatMicrodollars(microdollars: bigint | number): string {
  const value = typeof microdollars === 'bigint' ? microdollars : BigInt(Math.trunc(microdollars));
  // Whole dollars and the remainder apart: a plain Number(µ$) stops being exact past $9 billion.
  const whole = Number(value / 1_000_000n);
  const fraction = Number(value % 1_000_000n) / 1_000_000;
  return dollars.format(whole + fraction);
}

export function formatCount(value: number): string {
  return integers.format(value);
}

/** ISO timestamp → "2026-11-25 03:01:02 UTC". */
export function formatUtcTimestamp(iso: string | null): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '—';
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
