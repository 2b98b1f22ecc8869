// Formatting shared by server pages and client tables. Fixed to UTC and en-US so the server's
// HTML and the browser's hydration render the same text wherever either runs.

const integers = new Intl.NumberFormat('en-US');

/**
 * Integer microdollars as dollars, exactly: at least cents, and every further non-zero digit down
 * to the microdollar, so a request that cost $0.000450 never shows as $0.00 and sums add up.
 * 1 500 000 µ$ → "$1.50", 450 µ$ → "$0.00045", 1 234 567 µ$ → "$1.234567".
 */
export function formatMicrodollars(microdollars: bigint | number): string {
  const value = typeof microdollars === 'bigint' ? microdollars : BigInt(Math.trunc(microdollars));
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const whole = integers.format(magnitude / 1_000_000n);
  const fraction = (magnitude % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '').padEnd(2, '0');
  return `${negative ? '-' : ''}$${whole}.${fraction}`;
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

/** A file size for people: bytes below a KiB, else KB with one decimal. */
export function formatBytes(size: number): string {
  return size < 1024 ? `${size} B` : `${(size / 1024).toFixed(1)} KB`;
}
