import { describe, expect, it, vi } from 'vitest';
import { drainBackgroundTasks, onDrain, pendingBackgroundTasks, runInBackground } from './background';

describe('background task registry', () => {
  it('drains work started before and during the drain, and logs failures with their label', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const done: string[] = [];
    runInBackground('first', async () => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      done.push('first');
      runInBackground('second', async () => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        done.push('second');
      });
    });
    runInBackground('broken', async () => {
      throw new Error('boom');
    });
    expect(pendingBackgroundTasks()).toBe(2);
    expect(await drainBackgroundTasks(5_000)).toBe(0);
    expect(done).toEqual(['first', 'second']);
    expect(errors).toHaveBeenCalledWith('broken failed: boom');
    errors.mockRestore();
  });

  it("calls a flusher, then what it returned once the drain's tasks have settled", async () => {
    const steps: string[] = [];
    onDrain('test: held back', () => {
      steps.push('flush');
      runInBackground('test: flushed work', async () => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        steps.push('flushed work done');
      });
      return () => steps.push('drain over');
    });
    try {
      expect(await drainBackgroundTasks(5_000)).toBe(0);
      expect(steps).toEqual(['flush', 'flushed work done', 'drain over']);
    } finally {
      onDrain('test: held back', () => undefined);
    }
  });

  it('gives up at the deadline and says how many are still running', async () => {
    let release!: () => void;
    runInBackground('stuck', () => new Promise<void>((resolve) => (release = resolve)));
    expect(await drainBackgroundTasks(50)).toBe(1);
    release();
    expect(await drainBackgroundTasks(1_000)).toBe(0);
  });
});
