import { describe, expect, it } from 'vitest';
import { lazy } from './lazy';

describe('lazy', () => {
  it('loads once for two concurrent first calls', async () => {
    let loads = 0;
    const value = lazy(async () => {
      loads++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return { loaded: loads };
    });
    const [first, second] = await Promise.all([value(), value()]);
    expect(loads).toBe(1);
    expect(first).toBe(second);
    expect(await value()).toBe(first);
  });

  it('retries on the next call after a failed load', async () => {
    let loads = 0;
    const value = lazy(async () => {
      loads++;
      if (loads === 1) throw new Error('Cannot find module');
      return 'loaded';
    });
    await expect(value()).rejects.toThrow('Cannot find module');
    await expect(value()).resolves.toBe('loaded');
    expect(loads).toBe(2);
  });

  it('shares a failing load between the calls made while it was under way, then retries', async () => {
    let loads = 0;
    const value = lazy(async () => {
      loads++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (loads === 1) throw new Error('transient');
      return loads;
    });
    const results = await Promise.allSettled([value(), value()]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(await value()).toBe(2);
  });

  it('loads again after reset', async () => {
    let loads = 0;
    const value = lazy(async () => ++loads);
    expect(await value()).toBe(1);
    value.reset();
    expect(await value()).toBe(2);
  });
});
