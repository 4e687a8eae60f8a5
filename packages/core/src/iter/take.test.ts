import { describe, expect, test } from 'vitest';
import { collect, tracked } from '../../test/helpers.ts';
import { CancelledError, suppressedErrors, TimeoutError } from '../errors.ts';
import { TestClock } from '../test-clock.ts';
import { moveOnAfter, timeout } from '../timeout.ts';
import { scope } from '../scope.ts';
import { sleep } from '../sleep.ts';
import { take } from './take.ts';

describe('take', () => {
  test('yields the first count items and closes the source', async () => {
    const { source, state } = tracked([1, 2, 3, 4, 5]);
    expect(await collect(take(source, { count: 2 }))).toEqual([1, 2]);
    expect(state.closed).toBe(true);
    expect(state.pulled).toBe(2);
    expect(await collect(take([1, 2], { count: 5 }))).toEqual([1, 2]);
    const zero = tracked([1]);
    expect(await collect(take(zero.source, { count: 0 }))).toEqual([]);
    expect(zero.state.pulled).toBe(0);
  });

  test('return() before the first next() closes the source (defect 8)', async () => {
    let closed = false;
    const source: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => ({ done: false, value: 1 }),
        return: async () => {
          closed = true;
          return { done: true, value: undefined };
        },
      }),
    };
    const it = take(source, { count: 3 });
    expect(await it.return()).toEqual({ done: true, value: undefined });
    expect(closed).toBe(true);
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  test('an explicit signal inside a task adds to the task’s: the task’s timeout still applies (defect 2)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const user = new AbortController(); // never aborts
    // The source waits on the clock directly: only take's own pull honours cancellation.
    const state = { closed: false };
    const source = (async function* () {
      try {
        await clock.sleep(1000);
        yield 1;
      } finally {
        state.closed = true;
      }
    })();
    let stoppedAt = -1;
    const error = await timeout(
      50,
      async () => {
        try {
          for await (const _ of take(source, { count: 3, signal: user.signal })) {
            // never gets an item: the first one takes 1000 ms
          }
        } catch (e) {
          stoppedAt = clock.now();
          throw e;
        }
      },
      { clock },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    // The pull was abandoned when the timeout fired (closing the source may let the
    // auto-advancing clock run on while it waits a turn for the source).
    expect(stoppedAt).toBeGreaterThanOrEqual(50);
    await clock.advance(1000);
    expect(state.closed).toBe(true); // closed once its pending await settled
  });

  test('cancellation rejects the loop with the reason', async () => {
    const controller = new AbortController();
    const reason = new CancelledError('stop');
    const { source, state } = tracked([1, 2, 3, 4]);
    const got: number[] = [];
    const error = await (async () => {
      for await (const n of take(source, { count: 4, signal: controller.signal })) {
        got.push(n);
        if (n === 2) controller.abort(reason);
      }
    })().catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(got).toEqual([1, 2]);
    expect(state.closed).toBe(true);
  });

  test('a cleanup error on break is raised; on a failure it is attached to it (defect 6)', async () => {
    const cleanup = new Error('finally failed');
    const broken = tracked([1, 2, 3], 0, () => {
      throw cleanup;
    });
    const onBreak = await (async () => {
      for await (const _ of take(broken.source, { count: 3 })) break;
    })().catch((e: unknown) => e);
    expect(onBreak).toBe(cleanup);

    const failing = tracked([1, 2, 3], 0, () => {
      throw cleanup;
    });
    const controller = new AbortController();
    const reason = new CancelledError('stop');
    const error = await (async () => {
      for await (const n of take(failing.source, { count: 3, signal: controller.signal })) {
        if (n === 1) controller.abort(reason);
      }
    })().catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(suppressedErrors(reason)).toEqual([cleanup]);
  });

  test('bad input is rejected at the call, before the source is opened', () => {
    let opened = false;
    const source = {
      [Symbol.asyncIterator]: () => {
        opened = true;
        return { next: async () => ({ done: true as const, value: undefined }) };
      },
    };
    expect(() => take(5 as never, { count: 1 })).toThrow(/`source`/);
    expect(() => take([1], { count: -1 })).toThrow(RangeError);
    expect(() => take(source, 3 as never)).toThrow(/`options` to be an object with `count`/);
    expect(() => take(source, { count: 1, sigal: undefined, signl: 1 } as never)).toThrow(
      /Unknown option `options.signl`.*Did you mean `signal`/,
    );
    expect(opened).toBe(false);
  });
});

describe('take: the README polling pattern (review D7)', () => {
  test('a cut next() from a moveOnAfter body keeps the source alive; every item arrives over the polls', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let closed = false;
    async function* src(): AsyncGenerator<number> {
      try {
        for (let i = 0; i < 6; i++) {
          await sleep(25);
          yield i;
        }
      } finally {
        closed = true;
      }
    }
    const got: number[] = [];
    let polls = 0;
    await scope(
      async () => {
        const it = take(src(), { count: 10 });
        const first = await it.next();
        got.push(first.value as number);
        while (polls < 200) {
          polls++;
          const r = await moveOnAfter(7, () => it.next());
          if (r.timedOut) continue;
          if (r.value.done) break;
          got.push(r.value.value);
        }
      },
      { clock },
    );
    expect(got).toEqual([0, 1, 2, 3, 4, 5]);
    expect(closed).toBe(true);
  });
});
