import { describe, expect, test } from 'vitest';
import { collect, ticking, tracked } from '../../test/helpers.ts';
import { CancelledError, TimeoutError } from '../errors.ts';
import { scope } from '../scope.ts';
import { sleep } from '../sleep.ts';
import { TestClock } from '../test-clock.ts';
import { timeout } from '../timeout.ts';
import { batch } from './batch.ts';

describe('batch', () => {
  test('groups by size, flushes a partial batch after maxWait, and the rest at the end', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const source = (async function* () {
      for (let i = 1; i <= 5; i++) yield i;
      await sleep(1000);
      yield 6;
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
    expect(clock.pendingTimers).toBe(0);
  });

  test('without maxWait a batch waits until it is full or the source ends', async () => {
    expect(await collect(batch([1, 2, 3, 4, 5], { size: 2 }))).toEqual([[1, 2], [3, 4], [5]]);
  });

  test('delivers the items it read before the source failed, then throws (defect 5)', async () => {
    const source = (async function* () {
      yield 1;
      yield 2;
      throw new Error('source broke');
    })();
    const got: number[][] = [];
    const error = await (async () => {
      for await (const group of batch(source, { size: 5 })) got.push(group);
    })().catch((e: unknown) => e);
    expect(error).toHaveProperty('message', 'source broke');
    expect(got).toEqual([[1, 2]]);
  });

  test('cancellation rejects the loop with the reason (defect 4)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const { source, state } = ticking(10);
    const controller = new AbortController();
    const reason = new CancelledError('stop');
    const error = await (async () => {
      for await (const group of batch(source, {
        size: 2,
        signal: controller.signal,
        clock,
      })) {
        if (group.includes(3)) controller.abort(reason);
      }
    })().catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(state.closed).toBe(true);
  });

  test('an explicit signal inside a task adds to the task’s: its timeout still applies (defect 2)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const user = new AbortController();
    const { source, state } = ticking(10);
    const error = await timeout(
      55,
      async () => {
        for await (const _ of batch(source, { size: 100, signal: user.signal })) {
          // a batch of 100 never fills in 55 ms
        }
      },
      { clock },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(clock.now()).toBe(55);
    expect(state.closed).toBe(true);
  });

  test('a cleanup error on break is raised; during a failure it is attached (defect 6)', async () => {
    const cleanup = new Error('finally failed');
    const a = tracked([1, 2, 3, 4], 0, () => {
      throw cleanup;
    });
    const error = await (async () => {
      for await (const _ of batch(a.source, { size: 2 })) break;
    })().catch((e: unknown) => e);
    expect(error).toBe(cleanup);

    const b = tracked([1, 2, 3, 4], 0, () => {
      throw cleanup;
    });
    const failure = new Error('consumer failed');
    const error2 = await (async () => {
      for await (const _ of batch(b.source, { size: 2 })) throw failure;
    })().catch((e: unknown) => e);
    expect(error2).toBe(failure);
    // A throw in the loop body: the language itself drops return()'s error; nothing to add.
    expect(b.state.closed).toBe(true);
  });

  test('a task that abandons the loop: its scope closes the source before it returns (defect 7)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const { source, state } = ticking(10);
    await scope(
      async (s) => {
        s.spawn(async () => {
          await batch(source, { size: 2 }).next();
        });
      },
      { clock },
    );
    expect(state.closed).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  test('return() before the first next() closes the source (defect 8)', async () => {
    const { source, state } = tracked([1, 2, 3]);
    await source.next();
    await batch(source, { size: 2 }).return();
    expect(state.closed).toBe(true);
  });

  test('bad input is rejected at the call', () => {
    expect(() => batch([1], { size: 0 })).toThrow(/`options.size`/);
    expect(() => batch([1], { size: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => batch([1], undefined as never)).toThrow(/`options` to be an object with `size`/);
    expect(() => batch([1], { size: 1, maxWiat: 5 } as never)).toThrow(
      /Unknown option `options.maxWiat`.*`maxWait`/,
    );
    expect(() => batch([1], { size: 1, maxWait: -1 })).toThrow(/`options.maxWait`/);
  });
});
