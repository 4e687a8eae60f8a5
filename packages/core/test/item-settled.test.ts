// Probe P7: inside an item of a limited call (`gather`/`settle`/`asCompleted` with
// `concurrency` or `onProgress`, `map`, `mapSettled`, `mapConcurrent`), onCurrentSettled
// registered on the worker task running the item. A worker goes on to the next item
// after a `settle` item fails, and ends fulfilled: a pooled connection (db-sim) acquired
// by the failed item was never handed back. A callback registered in an item is now the
// item's: called when the item ends, with how it ended.
import { describe, expect, test } from 'vitest';
import {
  asCompleted,
  currentTask,
  gather,
  instrument,
  map,
  mapConcurrent,
  mapSettled,
  onCurrentSettled,
  type SettledState,
  settle,
  sleep,
  TestClock,
} from '../src/index.ts';
import { collect, collectUnhandled } from './helpers.ts';

type Item = () => Promise<string>;

/** Runs `items` through one limited helper; its own failure is swallowed. */
const helpers: Record<string, (items: Item[]) => Promise<unknown>> = {
  'gather (concurrency)': (items) => gather(items, { concurrency: 1 }),
  'settle (concurrency)': (items) => settle(items, { concurrency: 1 }),
  'settle (onProgress, no concurrency)': (items) => settle(items, { onProgress() {} }),
  'asCompleted (concurrency)': (items) => collect(asCompleted(items, { concurrency: 1 })),
  map: (items) => map(items, (fn) => fn(), { concurrency: 1 }),
  mapSettled: (items) => mapSettled(items, (fn) => fn(), { concurrency: 1 }),
  mapConcurrent: (items) => collect(mapConcurrent(items, (fn) => fn(), { concurrency: 1 })),
};

/** What happened, in order: an item starting, and a callback with the item's state. */
function items(log: string[], fail: boolean): Item[] {
  const item =
    (name: string, outcome: 'ok' | 'throw'): Item =>
    async () => {
      log.push(`start ${name}`);
      onCurrentSettled((state) => log.push(`${name} ${state}`));
      await sleep(0);
      if (outcome === 'throw') throw new Error(`${name} failed`);
      return name;
    };
  return fail ? [item('a', 'ok'), item('b', 'throw')] : [item('a', 'ok'), item('b', 'ok')];
}

describe('onCurrentSettled inside an item of a limited call is the item’s (probe P7)', () => {
  for (const tracked of [false, true]) {
    const mode = tracked ? ' (items tracked: instrument hooks on)' : '';
    for (const [name, call] of Object.entries(helpers)) {
      test(`${name}: called as each item ends, with its state${mode}`, async () => {
        using _ = tracked ? instrument({ onTaskStart() {} }) : undefined;
        const log: string[] = [];
        // Without `concurrency` (onProgress alone) both items run at once: the order of
        // the two items is not the point there.
        const order = name.includes('onProgress') ? (l: string[]) => l.sort() : (l: string[]) => l;
        await call(items(log, true)).catch(() => {});
        // Before: nothing was called at b's end, and `settle`'s worker ended fulfilled.
        expect(order(log)).toEqual(order(['start a', 'a fulfilled', 'start b', 'b rejected']));
        const ok: string[] = [];
        await call(items(ok, false));
        expect(order(ok)).toEqual(order(['start a', 'a fulfilled', 'start b', 'b fulfilled']));
      });
    }
  }

  test('an item cut by the call’s cancellation is cancelled; the items after it do not run', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const log: string[] = [];
    const result = await settle(
      [
        async () => {
          onCurrentSettled((state) => log.push(`a ${state}`));
          await sleep(1000, { clock });
        },
        async () => {
          log.push('b started');
        },
      ],
      { concurrency: 1, timeout: 10, clock },
    ).catch((error: unknown) => error);
    expect(result).toMatchObject({ name: 'TimeoutError' });
    expect(log).toEqual(['a cancelled']);
  });

  test('an item that cancels its worker alone is rejected (as settle records it), and the next item has its own callbacks', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const log: string[] = [];
    const result = await settle(
      [
        async () => {
          onCurrentSettled((state) => log.push(`a ${state}`));
          currentTask()!.cancel();
          await sleep(10, { clock });
        },
        async () => {
          onCurrentSettled((state) => log.push(`b ${state}`));
          return 'b';
        },
      ],
      { concurrency: 1, clock },
    );
    expect(result.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    expect(log).toEqual(['a rejected', 'b fulfilled']);
  });

  test('the returned function unregisters the callback; several callbacks in one item are each called once', async () => {
    const seen: SettledState[] = [];
    await settle(
      [
        async () => {
          const off = onCurrentSettled(() => seen.push('rejected'));
          onCurrentSettled((state) => seen.push(state));
          onCurrentSettled((state) => seen.push(state));
          off!();
          throw new Error('boom');
        },
        async () => 'next',
      ],
      { concurrency: 1 },
    );
    expect(seen).toEqual(['rejected', 'rejected']);
  });

  test('a callback registered while a worker pulls from the source, which has ended, is called when the worker settles', async () => {
    const seen: SettledState[] = [];
    function* source(): Generator<number> {
      yield 1;
      // Runs in the worker's next() call that finds the source done, outside any item.
      onCurrentSettled((state) => seen.push(state));
    }
    expect(await map(source(), (x) => x * 2, { concurrency: 1 })).toEqual([2]);
    expect(seen).toEqual(['fulfilled']);
  });

  test('a synchronous item that throws is rejected; nothing is unhandled', async () => {
    const seen: string[] = [];
    const unhandled = await collectUnhandled(async () => {
      const result = await mapSettled(
        [1, 2],
        (x) => {
          onCurrentSettled((state) => seen.push(`${x} ${state}`));
          if (x === 1) throw new Error('sync');
          return x;
        },
        { concurrency: 1 },
      );
      expect(result.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    });
    expect(unhandled).toEqual([]);
    expect(seen).toEqual(['1 rejected', '2 fulfilled']);
  });
});
