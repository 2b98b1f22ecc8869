/** Integer microdollars as a decimal dollar amount with all six places ("1.234560"), exact. */
export function microdollarsToUsd(microdollars: bigint): string {
  const negative = microdollars < 0n;
  const magnitude = negative ? -microdollars : microdollars;
  return `${negative ? '-' : ''}${magnitude / 1_000_000n}.${(magnitude % 1_000_000n).toString().padStart(6, '0')}`;
}
