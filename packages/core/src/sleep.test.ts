import { describe, expect, test } from 'vitest';
import { sleep } from './sleep.ts';
import { TestClock } from './test-clock.ts';

describe('sleep', () => {
  test('waits on the given clock', async () => {
    const clock = new TestClock();
    let done = false;
    const p = sleep(1000, { clock }).then(() => {
      done = true;
    });
    await clock.advance(999);
    expect(done).toBe(false);
    await clock.advance(1);
    await p;
    expect(done).toBe(true);
  });

  test('rejects with the signal reason, removes its timer and listener', async () => {
    const clock = new TestClock();
    const controller = new AbortController();
    const reason = new Error('stop');
    const p = sleep(1000, { clock, signal: controller.signal });
    expect(clock.pendingTimers).toBe(1);
    controller.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(clock.pendingTimers).toBe(0);
  });

  test('Infinity waits until aborted', async () => {
    const controller = new AbortController();
    const p = sleep(Number.POSITIVE_INFINITY, { signal: controller.signal });
    controller.abort(new Error('done waiting'));
    await expect(p).rejects.toThrow('done waiting');
  });

  test('bad input', async () => {
    await expect(sleep(-1)).rejects.toThrow(RangeError);
    await expect(sleep(Number.NaN)).rejects.toThrow(/`ms`.*`NaN`/);
    await expect(sleep(1, { signal: 'x' as never })).rejects.toThrow(/`options.signal`/);
    await expect(sleep(1, { clock: {} as never })).rejects.toThrow(/`options.clock`/);
  });
});
