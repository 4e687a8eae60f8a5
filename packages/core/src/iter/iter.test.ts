import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { tick } from '../../test/helpers.ts';
import { CancelledError } from '../errors.ts';
import { scope } from '../scope.ts';
import { sleep } from '../sleep.ts';
import { TestClock } from '../test-clock.ts';
import { batch } from './batch.ts';
import { buffer } from './buffer.ts';
import { mapConcurrent } from './map-concurrent.ts';
import { merge } from './merge.ts';
import { take } from './take.ts';

/** A source that records how it ended, sleeping `gap` ms (weft sleep) before each item. */
function tracked(
  items: number[],
  gap = 0,
): { source: AsyncGenerator<number>; state: { closed: boolean; pulled: number } } {
  const state = { closed: false, pulled: 0 };
  const source = (async function* () {
    try {
      for (const item of items) {
        if (gap > 0) await sleep(gap);
        state.pulled++;
        yield item;
      }
    } finally {
      state.closed = true;
    }
  })();
  return { source, state };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Waits for microtasks and macrotasks to settle a few times. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await tick();
}

describe('take', () => {
  test('yields the first n items and closes the source', async () => {
    const { source, state } = tracked([1, 2, 3, 4, 5]);
    expect(await collect(take(source, 2))).toEqual([1, 2]);
    expect(state.closed).toBe(true);
    expect(state.pulled).toBe(2);
    expect(await collect(take([1, 2], 5))).toEqual([1, 2]);
    const zero = tracked([1]);
    expect(await collect(take(zero.source, 0))).toEqual([]);
  });

  test('bad input is rejected at the call', () => {
    expect(() => take(5 as never, 1)).toThrow(/`source`/);
    expect(() => take([1], -1)).toThrow(RangeError);
  });
});

describe('buffer', () => {
  test('reads ahead up to size while the consumer works, keeping order', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const { source, state } = tracked([1, 2, 3, 4, 5, 6], 10);
    const got = await scope(
      async () => {
        const out: Array<[number, number]> = [];
        for await (const n of buffer(source, 2)) {
          out.push([n, state.pulled]);
          await sleep(100); // slow consumer: the reader stays 2 items ahead (+1 in hand)
        }
        return out;
      },
      { clock },
    );
    expect(got.map(([n]) => n)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Math.max(...got.map(([n, pulled]) => pulled - n))).toBeLessThanOrEqual(3);
    expect(clock.pendingTimers).toBe(0);
  });

  test('ends promptly when the source is suspended in a weft await, and closes it', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let closed = false;
    const source = (async function* () {
      try {
        yield 1;
        await sleep(3_600_000); // an hour: the read-ahead is stuck here
        yield 2;
      } finally {
        closed = true;
      }
    })();
    await scope(
      async () => {
        for await (const n of buffer(source, 4)) {
          expect(n).toBe(1);
          break;
        }
      },
      { clock },
    );
    await settle();
    expect(closed).toBe(true);
    expect(clock.now()).toBeLessThan(3_600_000); // it did not wait the hour
  });

  test('ends promptly even when the source awaits something that ignores cancellation', async () => {
    let release!: () => void;
    const stuck = new Promise<void>((r) => {
      release = r;
    });
    let closed = false;
    const source = (async function* () {
      try {
        yield 1;
        await stuck; // not cancellable
        yield 2;
      } finally {
        closed = true;
      }
    })();
    for await (const n of buffer(source, 2)) {
      expect(n).toBe(1);
      break;
    }
    expect(closed).toBe(false); // still stuck, but we did not wait for it
    release();
    await settle();
    expect(closed).toBe(true); // closed as soon as it got past the await
  });

  test('a source failure comes after the items read before it', async () => {
    const source = (async function* () {
      yield 1;
      yield 2;
      throw new Error('source broke');
    })();
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const n of buffer(source, 5)) got.push(n);
      })(),
    ).rejects.toThrow('source broke');
    expect(got).toEqual([1, 2]);
  });

  test('cancellation of the consumer’s signal stops it and closes the source', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const { source, state } = tracked([1, 2, 3, 4, 5, 6, 7, 8], 10);
    const controller = new AbortController();
    const reason = new CancelledError('stop');
    const got: number[] = [];
    const error = await (async () => {
      for await (const n of buffer(source, 2, { signal: controller.signal, clock })) {
        got.push(n);
        if (n === 3) controller.abort(reason);
      }
    })().catch((e: unknown) => e);
    expect(error).toBe(reason);
    await settle();
    expect(state.closed).toBe(true);
  });
});

describe('merge', () => {
  test('interleaves items as they arrive and ends when all sources end', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const a = tracked([1, 2, 3], 10);
    const b = tracked([10, 20], 15);
    const got = await scope(() => collect(merge(a.source, b.source)), { clock });
    // 3 and 20 are both due at 30 ms; 20's timer was set first (at 15 ms), so it fires first.
    expect(got).toEqual([1, 10, 2, 20, 3]);
    expect(a.state.closed && b.state.closed).toBe(true);
  });

  test('the first failure stops the others and closes them', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const slow = tracked([1, 2, 3, 4, 5], 100);
    const failing = (async function* () {
      yield 100;
      await sleep(150);
      throw new Error('b failed');
    })();
    const got: number[] = [];
    const error = await scope(
      async () => {
        for await (const n of merge(slow.source, failing)) got.push(n);
      },
      { clock },
    ).catch((e: unknown) => e);
    expect((error as AggregateError).errors[0]).toHaveProperty('message', 'b failed');
    expect(got).toEqual([100, 1]);
    await settle();
    expect(slow.state.closed).toBe(true);
  });

  test('breaking early closes every source', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const a = tracked([1, 2, 3], 5);
    const b = tracked([4, 5, 6], 7);
    await scope(
      async () => {
        for await (const n of merge(a.source, b.source)) if (n === 1) break;
      },
      { clock },
    );
    await settle();
    expect(a.state.closed && b.state.closed).toBe(true);
  });
});

describe('batch', () => {
  test('groups by size, flushes a partial batch after maxWait, and the rest at the end', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const source = (async function* () {
      for (let i = 1; i <= 5; i++) yield i; // 5 at once
      await sleep(1000);
      yield 6; // then one more after a pause
      await sleep(10);
      yield 7;
    })();
    const got = await scope(
      async () => {
        const out: Array<[number[], number]> = [];
        for await (const group of batch(source, { size: 3, maxWait: 100 }))
          out.push([group, clock.now()]);
        return out;
      },
      { clock },
    );
    expect(got).toEqual([
      [[1, 2, 3], 0],
      [[4, 5], 100],
      [[6, 7], 1010],
    ]);
  });

  test('bad input', () => {
    expect(() => batch([1], { size: 0 })).toThrow(/`options.size`/);
    expect(() => batch([1], undefined as never)).toThrow(TypeError);
  });
});

describe('mapConcurrent', () => {
  test('ordered results, at most `concurrency` calls at once', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let running = 0;
    let peak = 0;
    const got = await scope(
      () =>
        collect(
          mapConcurrent(
            [50, 10, 30, 20, 40],
            async (ms, _ctx, i) => {
              running++;
              peak = Math.max(peak, running);
              await sleep(ms);
              running--;
              return `${i}:${ms}`;
            },
            { concurrency: 2 },
          ),
        ),
      { clock },
    );
    expect(got).toEqual(['0:50', '1:10', '2:30', '3:20', '4:40']);
    expect(peak).toBe(2);
  });

  test('ordered: false yields as calls complete', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const got = await scope(
      () =>
        collect(
          mapConcurrent([30, 10, 20], async (ms) => (await sleep(ms), ms), {
            concurrency: 3,
            ordered: false,
          }),
        ),
      { clock },
    );
    expect(got).toEqual([10, 20, 30]);
  });

  test('the first failure cancels calls in flight and closes the source', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const { source, state } = tracked([1, 2, 3, 4, 5, 6, 7, 8], 1);
    let cancelled = 0;
    const error = await scope(
      async () => {
        for await (const _ of mapConcurrent(
          source,
          async (n, { signal }) => {
            if (n === 3) throw new Error('item 3');
            try {
              await sleep(1000, { signal });
            } catch (e) {
              cancelled++;
              throw e;
            }
            return n;
          },
          { concurrency: 3 },
        )) {
          // consume
        }
      },
      { clock },
    ).catch((e: unknown) => e);
    expect((error as AggregateError).errors[0]).toHaveProperty('message', 'item 3');
    expect(cancelled).toBe(2);
    await settle();
    expect(state.closed).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  test('backpressure: a slow consumer holds the producers back', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let started = 0;
    await scope(
      async () => {
        for await (const n of mapConcurrent(
          Array.from({ length: 20 }, (_, i) => i),
          async (n) => {
            started++;
            return n;
          },
          { concurrency: 2 },
        )) {
          await sleep(100);
          // In flight (2) + finished and queued for the consumer (2) + the one in hand.
          expect(started - n).toBeLessThanOrEqual(5);
        }
      },
      { clock },
    );
  });

  test('property: input order and the concurrency limit hold whatever the delays and consumer speed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(20), { maxLength: 25 }),
        fc.integer({ min: 1, max: 6 }),
        fc.nat(15),
        async (delays, concurrency, consumerDelay) => {
          const clock = new TestClock({ autoAdvance: true });
          let running = 0;
          let peak = 0;
          const got = await scope(
            async () => {
              const out: number[] = [];
              for await (const i of mapConcurrent(
                delays,
                async (ms, _ctx, i) => {
                  running++;
                  peak = Math.max(peak, running);
                  await sleep(ms);
                  running--;
                  return i;
                },
                { concurrency },
              )) {
                out.push(i);
                await sleep(consumerDelay);
              }
              return out;
            },
            { clock },
          );
          expect(got).toEqual(delays.map((_, i) => i));
          expect(peak).toBeLessThanOrEqual(concurrency);
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('bad input', () => {
    expect(() => mapConcurrent([1], (x) => x, { concurrency: 0 })).toThrow(/`options.concurrency`/);
    expect(() => mapConcurrent([1], 'f' as never, { concurrency: 1 })).toThrow(/`fn`/);
  });
});
