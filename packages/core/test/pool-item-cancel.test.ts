// Review D2 (perf branch, also on main before): inside an item of a limited call,
// `currentTask()` is the worker running it, so `currentTask().cancel()` cancelled the
// worker and the remaining items never ran: results with holes, `map` returning fewer
// values than inputs, `mapConcurrent` ending early. The items must all run, and the
// cancelled item ends as it chose (its value, or its cancellation as its failure), as in
// the unlimited calls.
import { describe, expect, test } from 'vitest';
import {
  any,
  currentTask,
  gather,
  map,
  mapConcurrent,
  mapSettled,
  race,
  run,
  settle,
  sleep,
  type TaskContext,
  TestClock,
} from '../src/index.ts';
import { collect, collectUnhandled } from './helpers.ts';

const cancelsItself = () => [
  async () => {
    currentTask()!.cancel();
    return 'a';
  },
  async () => 'b',
  async () => 'c',
];
const cancelsOnOne = async (x: number): Promise<number> => {
  if (x === 1) currentTask()!.cancel();
  return x;
};

describe('an item that cancels currentTask() in a limited call', () => {
  for (const concurrency of [1, 2]) {
    test(`never leaves a hole or drops an item (concurrency ${concurrency})`, async () => {
      const unhandled = await collectUnhandled(async () => {
        const gathered = await gather(cancelsItself(), { concurrency });
        expect(gathered).toEqual(['a', 'b', 'c']);
        expect(Object.keys(gathered)).toHaveLength(3);
        const settled = await settle(cancelsItself(), { concurrency });
        expect(settled).toEqual([
          { status: 'fulfilled', value: 'a' },
          { status: 'fulfilled', value: 'b' },
          { status: 'fulfilled', value: 'c' },
        ]);
        expect(await map([1, 2, 3], cancelsOnOne, { concurrency })).toEqual([1, 2, 3]);
        expect(await mapSettled([1, 2, 3], cancelsOnOne, { concurrency })).toHaveLength(3);
        expect(await collect(mapConcurrent([1, 2, 3, 4], cancelsOnOne, { concurrency }))).toEqual([
          1, 2, 3, 4,
        ]);
      });
      expect(unhandled).toEqual([]);
    });

    test(`an item that honours its cancellation fails alone in settle, fails gather (concurrency ${concurrency})`, async () => {
      const clock = new TestClock({ autoAdvance: true });
      const reason = new Error('cancelled itself');
      const honours = () => [
        async () => {
          currentTask()!.cancel(reason);
          await sleep(5, { clock });
          return 'a';
        },
        async () => 'b',
      ];
      expect(await settle(honours(), { concurrency, clock })).toEqual([
        { status: 'rejected', reason },
        { status: 'fulfilled', value: 'b' },
      ]);
      await expect(gather(honours(), { concurrency, clock })).rejects.toBe(reason);
    });
  }

  test('the same inside run(), where items are tracked for diagnostics', async () => {
    await run(async () => {
      expect(await gather(cancelsItself(), { concurrency: 1 })).toEqual(['a', 'b', 'c']);
      expect(await map([1, 2, 3], cancelsOnOne, { concurrency: 1 })).toEqual([1, 2, 3]);
      expect(await collect(mapConcurrent([1, 2, 3], cancelsOnOne, { concurrency: 1 }))).toEqual([
        1, 2, 3,
      ]);
    });
  });
});

// Follow-up review (L1-L4) of the fixes above.
describe('follow-up: cancellation that reaches further than the item', () => {
  test('mapConcurrent: an item that cancels its worker and then awaits fails the loop (as map does), never a silent short end or a hang (L1)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    for (const concurrency of [1, 2]) {
      const seen: number[] = [];
      const error = await (async () => {
        for await (const v of mapConcurrent(
          [1, 2, 3, 4],
          async (x: number) => {
            if (x === 1) {
              currentTask()!.cancel();
              await sleep(10, { clock });
            }
            return x * 10;
          },
          { concurrency, clock },
        )) {
          seen.push(v);
        }
      })().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ name: 'AbortError' });
      expect(seen).not.toContain(10);
    }
  });

  test('mapConcurrent: leaving the loop after every call returned still cancels tasks a call spawned into its scope (L2)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let background: AbortSignal | undefined;
    for await (const v of mapConcurrent(
      [1],
      async (x: number, ctx) => {
        ctx.scope.spawn(async ({ signal }) => {
          background = signal;
          await sleep(2000, { signal, clock });
        });
        return x;
      },
      { concurrency: 1, clock },
    )) {
      await sleep(20, { clock });
      expect(v).toBe(1);
      break;
    }
    expect(background?.aborted).toBe(true);
    expect(clock.now()).toBe(20);
  });

  test("race/any: tasks the entrants spawned into the race's scope are cancelled once it is decided (L4)", async () => {
    for (const contest of [race, any]) {
      const clock = new TestClock({ autoAdvance: true });
      const spawned: AbortSignal[] = [];
      const won = await contest(
        [
          async (ctx: TaskContext) => {
            ctx.scope.spawn(async ({ signal }) => {
              spawned.push(signal);
              await sleep(2000, { signal, clock });
            });
            await sleep(1000, { signal: ctx.signal, clock });
            return 'loser';
          },
          async (ctx: TaskContext) => {
            ctx.scope.spawn(async ({ signal }) => {
              spawned.push(signal);
              await sleep(2000, { signal, clock });
            });
            await sleep(5, { signal: ctx.signal, clock });
            return ctx.signal;
          },
        ],
        { clock },
      );
      expect((won as AbortSignal).aborted).toBe(false);
      expect(spawned.map((s) => s.aborted)).toEqual([true, true]);
      expect(clock.now()).toBe(5);
    }
  });

  test('map and mapSettled run a function whose `name` getter throws (L3)', async () => {
    const fn = async (x: number): Promise<number> => x * 2;
    Object.defineProperty(fn, 'name', {
      get() {
        throw new Error('name getter');
      },
    });
    expect(await map([1, 2], fn, { concurrency: 1 })).toEqual([2, 4]);
    expect(await mapSettled([1], fn, { concurrency: 1 })).toEqual([
      { status: 'fulfilled', value: 2 },
    ]);
  });
});
