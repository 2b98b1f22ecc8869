import { describe, expect, it } from 'vitest';
import { formatCount, formatMicrodollars, formatUtcTimestamp } from './format';
import { utcDayRange } from './time';

describe('dashboard formatting', () => {
  it('shows microdollars as dollars, exactly, with sub-cent amounts visible', () => {
    expect(formatMicrodollars(0n)).toBe('$0.00');
    expect(formatMicrodollars(1_500_000n)).toBe('$1.50');
    expect(formatMicrodollars(4_999n)).toBe('$0.004999');
    expect(formatMicrodollars(450n)).toBe('$0.00045');
    expect(formatMicrodollars(5_000n)).toBe('$0.005');
    expect(formatMicrodollars(1_234_567_890_000n)).toBe('$1,234,567.89');
    expect(formatMicrodollars(12_345_678_901_234_567n)).toBe('$12,345,678,901.234567');
    expect(formatMicrodollars(-2_500_000)).toBe('-$2.50');
    expect(formatMicrodollars(2_500_000)).toBe('$2.50');
  });

  it('formats counts and UTC timestamps the same on server and browser', () => {
    expect(formatCount(12345)).toBe('12,345');
    expect(formatUtcTimestamp('2026-11-25T03:01:02.345Z')).toBe('2026-11-25 03:01:02 UTC');
    expect(formatUtcTimestamp(null)).toBe('—');
  });

  it('counts "today" from 00:00 UTC', () => {
    const { start, end } = utcDayRange(new Date('2026-11-25T23:59:59.999Z'));
    expect(start.toISOString()).toBe('2026-11-25T00:00:00.000Z');
    expect(end.toISOString()).toBe('2026-11-26T00:00:00.000Z');
  });
});
