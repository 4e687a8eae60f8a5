import { describe, expect, test } from 'vitest';
import { CancelledError, TimeoutError } from './errors.ts';
import { scope } from './scope.ts';
import { sleep } from './sleep.ts';
import { TestClock } from './test-clock.ts';
import { deadline, moveOnAfter, timeout } from './timeout.ts';

describe('timeout', () => {
  test('aborts the inner signal with a TimeoutError, waits for the work, then rejects with it', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const events: string[] = [];
    let innerReason: unknown;
    const error = await timeout(
      100,
      async ({ signal }) => {
        try {
          await sleep(10_000, { signal });
        } catch (e) {
          innerReason = e;
          await clock.sleep(50); // cleanup that takes a while
          events.push('cleanup finished');
          throw e;
        }
      },
      { clock },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toBe(innerReason);
    expect((error as TimeoutError).timeout).toBe(100);
    expect(events).toEqual(['cleanup finished']);
    expect(clock.now()).toBe(150);
    expect(clock.pendingTimers).toBe(0);
  });

  test('resolves with the value when the work finishes in time, leaving no timer', async () => {
    const clock = new TestClock({ autoAdvance: true });
    await expect(timeout(100, () => sleep(99).then(() => 'ok'), { clock })).resolves.toBe('ok');
    expect(clock.pendingTimers).toBe(0);
    await expect(timeout(100, () => 'sync', { clock })).resolves.toBe('sync');
  });

  test('the work failing with its own error rejects with that error itself', async () => {
    const failure = new Error('inner failure');
    await expect(
      timeout(100, async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
  });

  test('rejects with TimeoutError even when the work swallows the cancellation', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const error = await timeout(
      10,
      async ({ signal }) => {
        await sleep(1000, { signal }).catch(() => {});
        return 'swallowed';
      },
      { clock },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
  });

  test('a timeout raised by an inner timeout is not mistaken for the outer one', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let innerError: unknown;
    const outcome = await timeout(
      1000,
      async () => {
        try {
          await timeout(10, () => sleep(500));
        } catch (e) {
          innerError = e;
        }
        return 'outer still running';
      },
      { clock },
    );
    expect(outcome).toBe('outer still running');
    expect(innerError).toBeInstanceOf(TimeoutError);
    expect((innerError as TimeoutError).timeout).toBe(10);
    expect(clock.now()).toBe(10);
  });

  test('with nested timeouts the earliest deadline wins, and the outer one reports it', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let seenDeadline = 0;
    const error = await timeout(
      50,
      () =>
        timeout(5000, async ({ scope: s }) => {
          seenDeadline = s.deadline;
          await sleep(10_000);
        }),
      { clock },
    ).catch((e: unknown) => e);
    expect(seenDeadline).toBe(50);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).timeout).toBe(50);
    expect(clock.now()).toBe(50);
    expect(clock.pendingTimers).toBe(0);
  });

  test('Infinity means no limit and sets no timer; huge durations do not fire early', async () => {
    const clock = new TestClock();
    const running = timeout(Number.POSITIVE_INFINITY, () => sleep(10).then(() => 'done'), {
      clock,
    });
    expect(clock.pendingTimers).toBe(1); // only the sleep
    await clock.advance(10);
    await expect(running).resolves.toBe('done');
    await expect(timeout(2 ** 31 + 1000, async () => 'fine')).resolves.toBe('fine');
  });

  test('a parent cancellation passes through as itself', async () => {
    const parent = new AbortController();
    const reason = new CancelledError('user left');
    const running = timeout(1000, ({ signal }) => sleep(5000, { signal }), {
      signal: parent.signal,
    });
    parent.abort(reason);
    await expect(running).rejects.toBe(reason);
  });

  test('inside a task it takes the task signal and clock by default', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const reason = new CancelledError('from outside');
    const error = await scope(
      async (s) => {
        const t = s.spawn(() => timeout(10_000, () => sleep(60_000)));
        await sleep(5);
        t.cancel(reason);
        return Promise.resolve(t).catch((e: unknown) => e);
      },
      { clock },
    );
    expect(error).toBe(reason);
    expect(clock.now()).toBe(5);
  });

  test('rejects bad durations and functions with clear errors', async () => {
    await expect(timeout(-1, () => 1)).rejects.toThrow(RangeError);
    await expect(timeout(Number.NaN, () => 1)).rejects.toThrow(/`ms`.*`NaN` \(number\)/);
    await expect(timeout('10' as never, () => 1)).rejects.toThrow(TypeError);
    await expect(timeout(10, null as never)).rejects.toThrow(/`fn`.*`null` \(null\)/);
    await expect(deadline(Number.NaN, () => 1)).rejects.toThrow(/`at`/);
    await expect(moveOnAfter(-3, () => 1)).rejects.toThrow(RangeError);
  });
});

describe('deadline', () => {
  test('takes an absolute time on the clock', async () => {
    const clock = new TestClock({ start: 1000, autoAdvance: true });
    const error = await deadline(1200, () => sleep(500), { clock }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(clock.now()).toBe(1200);
  });

  test('a deadline already past cancels at once', async () => {
    const clock = new TestClock({ start: 1000, autoAdvance: true });
    await expect(
      deadline(10, ({ signal }) => sleep(5, { signal }), { clock }),
    ).rejects.toBeInstanceOf(TimeoutError);
  });
});

describe('moveOnAfter', () => {
  test('resolves { timedOut: true } instead of rejecting when time runs out', async () => {
    const clock = new TestClock({ autoAdvance: true });
    await expect(moveOnAfter(10, () => sleep(100).then(() => 'late'), { clock })).resolves.toEqual({
      timedOut: true,
      value: undefined,
    });
    await expect(moveOnAfter(100, () => sleep(10).then(() => 'early'), { clock })).resolves.toEqual(
      { timedOut: false, value: 'early' },
    );
    expect(clock.pendingTimers).toBe(0);
  });

  // Issue 7: before, both resolved `undefined` and could not be told apart.
  test('tells "fn returned undefined" from "timed out"', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const returned = await moveOnAfter(100, () => undefined, { clock });
    const late = await moveOnAfter(10, () => sleep(100), { clock });
    expect(returned).toEqual({ timedOut: false, value: undefined });
    expect(late).toEqual({ timedOut: true, value: undefined });
  });

  test('a fn that swallows its cancellation still reports timedOut', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const got = await moveOnAfter(
      10,
      async ({ signal }) => {
        await sleep(100, { signal }).catch(() => {});
        return 'ignored';
      },
      { clock },
    );
    expect(got).toEqual({ timedOut: true, value: undefined });
  });

  test('an inner timeout still rejects through moveOnAfter', async () => {
    const clock = new TestClock({ autoAdvance: true });
    await expect(
      moveOnAfter(1000, () => timeout(10, () => sleep(100)), { clock }),
    ).rejects.toBeInstanceOf(TimeoutError);
  });
});
