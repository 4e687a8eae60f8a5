// Review D2 (perf branch, also on main before): inside an item of a limited call,
// `currentTask()` is the worker running it, so `currentTask().cancel()` cancelled the
// worker and the remaining items never ran: results with holes, `map` returning fewer
// values than inputs, `mapConcurrent` ending early. The items must all run, and the
// cancelled item ends as it chose (its value, or its cancellation as its failure), as in
// the unlimited calls.
import { describe, expect, test } from 'vitest';
import {
  currentTask,
  gather,
  map,
  mapConcurrent,
  mapSettled,
  run,
  settle,
  sleep,
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
