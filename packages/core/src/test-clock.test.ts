import { describe, expect, test } from 'vitest';
import { TestClock } from './test-clock.ts';

describe('TestClock', () => {
  test('advance fires due timers in time order, same-time timers in the order set', async () => {
    const clock = new TestClock();
    const fired: string[] = [];
    clock.schedule(30, () => fired.push('c'));
    clock.schedule(10, () => fired.push('a1'));
    clock.schedule(10, () => fired.push('a2'));
    clock.schedule(20, () => fired.push('b'));
    await clock.advance(25);
    expect(fired).toEqual(['a1', 'a2', 'b']);
    expect(clock.now()).toBe(25);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(5);
    expect(fired).toEqual(['a1', 'a2', 'b', 'c']);
  });

  test('timers set by woken code fire within the same advance', async () => {
    const clock = new TestClock();
    const times: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(100);
        times.push(clock.now());
      }
    })();
    await clock.advance(300);
    await loop;
    expect(times).toEqual([100, 200, 300]);
  });

  test('runAll jumps through every timer and guards against endless re-arming', async () => {
    const clock = new TestClock();
    let n = 0;
    clock.schedule(1000, () => n++);
    clock.schedule(5000, () => n++);
    await clock.runAll();
    expect(n).toBe(2);
    expect(clock.now()).toBe(5000);
    const rearm = (): void => {
      clock.schedule(1, rearm);
    };
    rearm();
    await expect(clock.runAll(50)).rejects.toThrow(RangeError);
  });

  test('autoAdvance moves time when the program only waits on timers', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const started = performance.now();
    await clock.sleep(3_600_000);
    expect(clock.now()).toBe(3_600_000);
    expect(performance.now() - started).toBeLessThan(1000);
    clock.autoAdvance = false;
    let done = false;
    void clock.sleep(10).then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(done).toBe(false);
    clock.autoAdvance = true;
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(done).toBe(true);
  });

  test('cancelled timers do not fire and are not counted', async () => {
    const clock = new TestClock();
    let fired = false;
    const cancel = clock.schedule(10, () => {
      fired = true;
    });
    expect(clock.pendingTimers).toBe(1);
    cancel();
    cancel();
    expect(clock.pendingTimers).toBe(0);
    expect(clock.nextTimerAt).toBeUndefined();
    await clock.advance(100);
    expect(fired).toBe(false);
  });

  test('bad input', async () => {
    expect(() => new TestClock({ start: Number.NaN })).toThrow(RangeError);
    expect(() => new TestClock({ autoAdvance: 'yes' as never })).toThrow(TypeError);
    const clock = new TestClock();
    await expect(clock.advance(-1)).rejects.toThrow(RangeError);
    expect(() => clock.schedule(Number.NaN, () => {})).toThrow(RangeError);
  });
});
