import { describe, expect, test } from 'vitest';
import { CancelledError } from './errors.ts';
import { map, mapSettled } from './map.ts';
import { sleep } from './sleep.ts';
import { TestClock } from './test-clock.ts';

describe('map', () => {
  test('keeps order, passes index and ctx, and honours concurrency', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let running = 0;
    let peak = 0;
    const results = await map(
      [5, 1, 4, 2, 3],
      async (n, ctx, index) => {
        running++;
        peak = Math.max(peak, running);
        await sleep(n * 10, { signal: ctx.signal });
        running--;
        return `${index}:${n}`;
      },
      { clock, concurrency: 2 },
    );
    expect(results).toEqual(['0:5', '1:1', '2:4', '3:2', '4:3']);
    expect(peak).toBe(2);
  });

  test('unlimited concurrency runs every item at once', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const results = await map(
      new Set([1, 2, 3]),
      async (n) => {
        await sleep(100);
        return n * 2;
      },
      { clock },
    );
    expect(results).toEqual([2, 4, 6]);
    expect(clock.now()).toBe(100);
  });

  test('takes async iterables and closes them on failure', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let closed = false;
    async function* source(): AsyncGenerator<number> {
      try {
        for (let i = 0; ; i++) {
          await sleep(1);
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    const failure = new Error('item 3');
    const error = await map(
      source(),
      async (n) => {
        if (n === 3) throw failure;
        await sleep(50);
        return n;
      },
      { clock, concurrency: 2 },
    ).catch((e: unknown) => e);
    expect(error).toBe(failure);
    expect(closed).toBe(true);
  });

  test('closes a sync iterator on early exit', async () => {
    let closed = false;
    const iterable: Iterable<number> = {
      [Symbol.iterator]() {
        let i = 0;
        return {
          next: () => ({ done: false, value: i++ }),
          return: () => {
            closed = true;
            return { done: true, value: undefined };
          },
        };
      },
    };
    await expect(
      map(
        iterable,
        (n) => {
          if (n === 5) throw new Error('stop');
          return n;
        },
        { concurrency: 1 },
      ),
    ).rejects.toThrow('stop');
    expect(closed).toBe(true);
  });

  test('outer cancellation stops the work', async () => {
    const controller = new AbortController();
    const reason = new CancelledError('bye');
    const running = map([1, 2], (n, { signal }) => sleep(1000, { signal }).then(() => n), {
      signal: controller.signal,
    });
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
  });

  test('bad input', async () => {
    await expect(map(3 as never, (x) => x)).rejects.toThrow(/`source`/);
    await expect(map([1], 'f' as never)).rejects.toThrow(/`fn`/);
    await expect(map([1], (x) => x, { concurrency: -1 })).rejects.toThrow(RangeError);
  });
});

describe('mapSettled', () => {
  test('records each outcome without stopping the others', async () => {
    const outcomes = await mapSettled(
      [1, 2, 3],
      (n) => {
        if (n === 2) throw new Error('two');
        return n;
      },
      { concurrency: 1 },
    );
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});

describe('mapSettled: a failing source (review D8)', () => {
  const srcError = new Error('src');
  const sources = {
    'an async generator': async function* () {
      yield 1;
      throw srcError;
    },
    'a sync iterable': function* () {
      yield 1;
      throw srcError;
    },
  };
  for (const [kind, source] of Object.entries(sources)) {
    for (const concurrency of [undefined, 1]) {
      test(`${kind} (concurrency ${concurrency ?? 'unbounded'}): rejects with the source's error as map does, not a TaskGroupError`, async () => {
        const settled = await mapSettled(source(), async (x) => x, { concurrency }).catch(
          (e: unknown) => e,
        );
        const mapped = await map(source(), async (x) => x, { concurrency }).catch(
          (e: unknown) => e,
        );
        expect(settled).toBe(srcError);
        expect(mapped).toBe(srcError);
      });
    }
  }
});
