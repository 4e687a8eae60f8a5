// Review A-D10 of issue 7 (defect 3, for pools): the items of a worker pool run on shared
// worker tasks; a callback an item left behind (a timer, a listener) must run as outside
// any task once that item has finished, even while the worker runs other items. Before,
// it saw the worker's live context: `currentTask()` was the worker and a `sleep()` in it
// was cancelled with the worker's scope.
import { describe, expect, test } from 'vitest';
import { asCompleted } from '../src/as-completed.ts';
import { currentTask } from '../src/current.ts';
import { gather, settle } from '../src/gather.ts';
import { mapConcurrent } from '../src/iter/map-concurrent.ts';
import { map, mapSettled } from '../src/map.ts';
import { scope } from '../src/scope.ts';
import { sleep } from '../src/sleep.ts';
import type { TaskContext } from '../src/task.ts';
import { deferred } from './helpers.ts';

type Item = (x: number, ctx: TaskContext) => Promise<number>;

/** Runs `item` over [0, 1, 2] one at a time through a pool, in every pool there is. */
const pools: Record<string, (item: Item) => Promise<unknown>> = {
  map: (item) => map([0, 1, 2], item, { concurrency: 1 }),
  mapSettled: (item) => mapSettled([0, 1, 2], item, { concurrency: 1 }),
  'gather with concurrency': (item) =>
    gather(
      [0, 1, 2].map((x) => (ctx: TaskContext) => item(x, ctx)),
      { concurrency: 1 },
    ),
  'settle with concurrency': (item) =>
    settle(
      [0, 1, 2].map((x) => (ctx: TaskContext) => item(x, ctx)),
      { concurrency: 1 },
    ),
  'asCompleted with concurrency': async (item) => {
    for await (const _ of asCompleted(
      [0, 1, 2].map((x) => (ctx: TaskContext) => item(x, ctx)),
      { concurrency: 1 },
    )) {
      // consume
    }
  },
  mapConcurrent: async (item) => {
    for await (const _ of mapConcurrent([0, 1, 2], item, { concurrency: 1 })) {
      // consume
    }
  },
};

describe('a pool item’s leftover callback runs as outside any task once the item has finished (review A-D10)', () => {
  for (const [name, pool] of Object.entries(pools)) {
    test(`${name}: no current task in the callback while the worker runs a later item`, async () => {
      const fired = deferred();
      let inCallback: unknown = 'not run';
      let inItem: unknown;
      await pool(async (x) => {
        if (x === 0) {
          inItem = currentTask();
          setTimeout(() => {
            inCallback = currentTask();
            fired.resolve();
          }, 1);
        }
        // The last item holds the worker (and the pool) until the callback has run.
        if (x === 2) await fired.promise;
        return x;
      });
      expect(inItem).toBeDefined();
      expect(inCallback).toBeUndefined();
    });

    test(`${name}: a sleep() started in the callback is not cancelled when the pool is cancelled later`, async () => {
      const started = deferred();
      let slept: Promise<string> | undefined;
      await scope(async (s) => {
        await pool(async (x, { signal }) => {
          if (x === 0) {
            setTimeout(() => {
              slept = sleep(20).then(
                () => 'slept',
                (e: unknown) => `cancelled: ${String(e)}`,
              );
              started.resolve();
            }, 1);
          }
          if (x === 2) {
            await started.promise;
            s.cancel(); // cancels the pool while its worker runs this item
            await sleep(60_000, { signal });
          }
          return x;
        });
      });
      expect(await slept).toBe('slept');
    });
  }
});
