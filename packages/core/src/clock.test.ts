import { describe, expect, test } from 'vitest';
import { systemClock } from './clock.ts';

describe('systemClock', () => {
  test('sleeps at least the given time on the monotonic clock', async () => {
    const started = systemClock.now();
    await systemClock.sleep(20);
    expect(systemClock.now() - started).toBeGreaterThanOrEqual(19);
  });

  test('rejects with the reason when the signal aborts, and at once when already aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const pending = systemClock.sleep(10_000, controller.signal);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await expect(systemClock.sleep(10, controller.signal)).rejects.toBe(reason);
  });

  test('a duration past 2^31-1 ms does not fire early', async () => {
    let fired = false;
    const cancel = systemClock.schedule!(2 ** 31 + 5, () => {
      fired = true;
    });
    await systemClock.sleep(30);
    expect(fired).toBe(false);
    cancel();
  });

  test('rejects bad durations with RangeError/TypeError naming the argument', () => {
    expect(() => systemClock.sleep(-1)).toThrow(RangeError);
    expect(() => systemClock.sleep(Number.NaN)).toThrow(/`ms`.*`NaN` \(number\)/);
    expect(() => systemClock.sleep('5' as unknown as number)).toThrow(TypeError);
  });
});
