import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { collectUnhandled, deferred } from '../test/helpers.ts';
import { CancelledError, isCancellation, TimeoutError } from './errors.ts';
import { gather, settle } from './gather.ts';
import { sleep } from './sleep.ts';
import { TestClock } from './test-clock.ts';

// The tutorial's first program: three independent 2 s API calls.
const fetchData = async (name: string, delay: number): Promise<string> => {
  await sleep(delay);
  return `Data from ${name}`;
};

describe('gather', () => {
  test('tutorial: three 2 s calls take 6 s in sequence and 2 s with gather (virtual time)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const realStart = performance.now();
    let started = clock.now();
    await gather(
      [
        async () => {
          await fetchData('API-1', 2000);
          await fetchData('API-2', 2000);
          await fetchData('API-3', 2000);
        },
      ],
      { clock },
    );
    expect(clock.now() - started).toBe(6000);
    started = clock.now();
    const results = await gather(
      [
        () => fetchData('API-1', 2000),
        () => fetchData('API-2', 2000),
        () => fetchData('API-3', 2000),
      ],
      { clock },
    );
    expect(clock.now() - started).toBe(2000);
    expect(results).toEqual(['Data from API-1', 'Data from API-2', 'Data from API-3']);
    expect(performance.now() - realStart).toBeLessThan(2000); // virtual, not real, seconds
    expect(clock.pendingTimers).toBe(0);
  });

  test('keeps input order for task functions, promises and plain values', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const results = await gather(
      [
        async () => {
          await sleep(30);
          return 'slow fn';
        },
        Promise.resolve('promise'),
        'value',
        () => 'sync fn',
      ],
      { clock },
    );
    expect(results).toEqual(['slow fn', 'promise', 'value', 'sync fn']);
  });

  test('on the first failure it cancels and awaits the rest, then rejects with that error itself', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const failure = new Error('API-2 down');
    const cleanedUp: string[] = [];
    const error = await gather(
      [
        async ({ signal }) => {
          try {
            await sleep(5000, { signal });
          } finally {
            await clock.sleep(100);
            cleanedUp.push('API-1');
          }
        },
        async () => {
          await sleep(50);
          throw failure;
        },
        async ({ signal }) => {
          try {
            await sleep(5000, { signal });
          } finally {
            cleanedUp.push('API-3');
          }
        },
      ],
      { clock },
    ).catch((e: unknown) => e);
    expect(error).toBe(failure);
    expect(cleanedUp.sort()).toEqual(['API-1', 'API-3']);
    expect(clock.now()).toBe(150);
    expect(clock.pendingTimers).toBe(0);
  });

  test('unlike Promise.all, nothing keeps running after gather rejects', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let stillRunning = 0;
    const work = async ({ signal }: { signal: AbortSignal }): Promise<void> => {
      stillRunning++;
      try {
        await sleep(10_000, { signal });
      } finally {
        stillRunning--;
      }
    };
    await gather([work, work, () => Promise.reject(new Error('x'))], { clock }).catch(() => {});
    expect(stillRunning).toBe(0);
  });

  test('honours concurrency and reports progress', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let running = 0;
    let peak = 0;
    const progress: Array<[number, number]> = [];
    const items = Array.from({ length: 10 }, (_, i) => async () => {
      running++;
      peak = Math.max(peak, running);
      await sleep(100);
      running--;
      return i;
    });
    const results = await gather(items, {
      clock,
      concurrency: 3,
      onProgress: (done, total) => progress.push([done, total]),
    });
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(peak).toBe(3);
    expect(clock.now()).toBe(400);
    expect(progress.at(-1)).toEqual([10, 10]);
    expect(progress).toHaveLength(10);
  });

  test('a promise item is observed, not owned: its later rejection is handled', async () => {
    const unhandled = await collectUnhandled(async () => {
      const late = deferred<string>();
      const error = await gather([late.promise, () => Promise.reject(new Error('first'))]).catch(
        (e: unknown) => e,
      );
      expect((error as Error).message).toBe('first');
      late.reject(new Error('late rejection'));
    });
    expect(unhandled).toEqual([]);
  });

  test('timeout option rejects with TimeoutError', async () => {
    const clock = new TestClock({ autoAdvance: true });
    await expect(gather([() => sleep(100)], { clock, timeout: 10 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
  });

  test('outer cancellation rejects with its reason', async () => {
    const controller = new AbortController();
    const reason = new CancelledError('outer');
    const running = gather([({ signal }) => sleep(1000, { signal })], {
      signal: controller.signal,
    });
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
  });

  test('an empty list resolves to []', async () => {
    await expect(gather([])).resolves.toEqual([]);
  });

  test('bad input: non-iterable items, concurrency < 1, non-function onProgress', async () => {
    await expect(gather(5 as never)).rejects.toThrow(/`items`.*`5` \(number\)/);
    await expect(gather([], { concurrency: 0 })).rejects.toThrow(RangeError);
    await expect(gather([], { concurrency: 0 })).rejects.toThrow(
      /`options.concurrency`.*`0` \(number\)/,
    );
    await expect(gather([], { concurrency: 1.5 })).rejects.toThrow(RangeError);
    await expect(gather([], { onProgress: 'x' as never })).rejects.toThrow(TypeError);
  });

  test('property: results equal the inputs in order, whatever the delays and concurrency', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(50), { maxLength: 20 }),
        fc.integer({ min: 1, max: 25 }),
        async (delays, concurrency) => {
          const clock = new TestClock({ autoAdvance: true });
          const items = delays.map((d, i) => async () => {
            await sleep(d);
            return i;
          });
          const results = await gather(items, { clock, concurrency });
          expect(results).toEqual(delays.map((_, i) => i));
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('settle', () => {
  test('never rejects for item failures and keeps order', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const failure = new Error('no');
    const outcomes = await settle(
      [
        async () => {
          await sleep(20);
          return 1;
        },
        async () => {
          throw failure;
        },
        Promise.reject(failure),
        'plain',
      ],
      { clock },
    );
    expect(outcomes).toEqual([
      { status: 'fulfilled', value: 1 },
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
      { status: 'fulfilled', value: 'plain' },
    ]);
  });

  test('a failure does not cancel the others', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const outcomes = await settle(
      [
        async ({ signal }) => {
          await sleep(100, { signal });
          return signal.aborted;
        },
        () => Promise.reject(new Error('quick failure')),
      ],
      { clock, concurrency: 2, onProgress: () => {} },
    );
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: false });
    expect(outcomes[1]?.status).toBe('rejected');
  });

  test('still rejects on its own cancellation', async () => {
    const controller = new AbortController();
    const running = settle([({ signal }) => sleep(1000, { signal })], {
      signal: controller.signal,
    });
    controller.abort(new CancelledError('stop'));
    const error = await running.catch((e: unknown) => e);
    expect(isCancellation(error)).toBe(true);
  });
});
