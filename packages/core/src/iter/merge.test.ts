import { describe, expect, test } from 'vitest';
import { collect, ticking, tracked } from '../../test/helpers.ts';
import { CancelledError, suppressedErrors, TimeoutError } from '../errors.ts';
import { scope } from '../scope.ts';
import { sleep } from '../sleep.ts';
import { TestClock } from '../test-clock.ts';
import { timeout } from '../timeout.ts';
import { merge } from './merge.ts';

describe('merge', () => {
  test('interleaves items as they arrive and ends when all sources end', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const a = tracked([1, 2, 3], 10);
    const b = tracked([10, 20], 15);
    const got = await scope(() => collect(merge([a.source, b.source])), { clock });
    expect([...got].sort((x, y) => x - y)).toEqual([1, 2, 3, 10, 20]);
    expect(got.slice(0, 2)).toEqual([1, 10]);
    expect(a.state.closed && b.state.closed).toBe(true);
  });

  test('zero sources end at once (defect 9)', async () => {
    expect(await collect(merge([]))).toEqual([]);
    const clock = new TestClock({ autoAdvance: true });
    expect(await scope(() => collect(merge([])), { clock })).toEqual([]);
  });

  test('the first failure stops the others, closes them, and comes after the items received', async () => {
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
        for await (const n of merge([slow.source, failing])) got.push(n);
      },
      { clock },
    ).catch((e: unknown) => e);
    expect((error as AggregateError).errors[0]).toHaveProperty('message', 'b failed');
    expect(got).toEqual([100, 1]);
    expect(slow.state.closed).toBe(true);
  });

  test('breaking early closes every source', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const a = tracked([1, 2, 3], 5);
    const b = tracked([4, 5, 6], 7);
    await scope(
      async () => {
        for await (const n of merge([a.source, b.source])) if (n === 1) break;
      },
      { clock },
    );
    expect(a.state.closed && b.state.closed).toBe(true);
  });

  test('an aborted signal rejects the loop with its reason (defect 4)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const a = ticking(10);
    const b = ticking(15);
    const controller = new AbortController();
    const reason = new CancelledError('stop');
    const error = await (async () => {
      for await (const n of merge([a.source, b.source], { signal: controller.signal, clock })) {
        if (n === 2) controller.abort(reason);
      }
    })().catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(a.state.closed && b.state.closed).toBe(true);
  });

  test('cancelling the enclosing task rejects the loop (defect 4) and an explicit signal does not escape it (defect 2)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const a = ticking(10);
    const b = ticking(1000);
    const user = new AbortController();
    let outcome: unknown = 'ended quietly';
    const error = await timeout(
      35,
      async () => {
        try {
          for await (const _ of merge([a.source, b.source], { signal: user.signal })) {
            // consume
          }
        } catch (e) {
          outcome = e;
          throw e;
        }
      },
      { clock },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(outcome).toBeInstanceOf(TimeoutError);
    expect(clock.now()).toBe(35);
    expect(a.state.closed && b.state.closed).toBe(true);
  });

  test('an error from a source’s finally on break is raised, not swallowed (defect 6)', async () => {
    const cleanup = new Error('finally failed');
    const a = tracked([1, 2, 3], 0, () => {
      throw cleanup;
    });
    const b = tracked([4, 5, 6]);
    const error = await (async () => {
      for await (const _ of merge([a.source, b.source])) break;
    })().catch((e: unknown) => e);
    expect(error).toBe(cleanup);
    expect(b.state.closed).toBe(true);
  });

  test('a cleanup error while failing is attached to the failure (defect 6)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const cleanup = new Error('finally failed');
    const a = ticking(10);
    const closing = tracked([1, 2, 3], 100, () => {
      throw cleanup;
    });
    const failure = new Error('c failed');
    const failing = (async function* (): AsyncGenerator<number> {
      await sleep(25);
      if (failure !== undefined) throw failure;
      yield 0;
    })();
    const error = await scope(
      async (s) => {
        s.spawn(async () => {
          for await (const _ of merge([a.source, closing.source, failing])) {
            // consume
          }
        });
      },
      { clock },
    ).catch((e: unknown) => e);
    // The failure wins; the cleanup error is attached to it or reported beside it.
    const errors = (error as AggregateError).errors;
    expect(errors[0]).toBe(failure);
    expect([...errors.slice(1), ...suppressedErrors(failure)]).toEqual([cleanup]);
  });

  test('sources stop ticking once a task that abandoned the loop ends (defect 7)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const a = ticking(10);
    const b = ticking(15);
    await scope(
      async (s) => {
        s.spawn(async () => {
          const it = merge([a.source, b.source]);
          await it.next();
          await it.next();
        });
      },
      { clock },
    );
    expect(a.state.closed && b.state.closed).toBe(true);
    const pulled = a.state.pulled + b.state.pulled;
    await clock.advance(1000);
    expect(a.state.pulled + b.state.pulled).toBe(pulled);
    expect(clock.pendingTimers).toBe(0);
  });

  test('return() before the first next() closes every source (defect 8)', async () => {
    const a = tracked([1, 2]);
    const b = tracked([3, 4]);
    await a.source.next();
    await b.source.next();
    const it = merge([a.source, b.source]);
    await it.return();
    expect(a.state.closed && b.state.closed).toBe(true);
  });

  test('bad input is rejected at the call', () => {
    expect(() => merge(5 as never)).toThrow(/`sources` to be an array/);
    expect(() => merge([[1], 5 as never])).toThrow(/`sources\[1\]`/);
    expect(() => merge([[1]], { signl: undefined, sigal: 1 } as never)).toThrow(
      /Unknown option `options.sigal`/,
    );
  });
});
