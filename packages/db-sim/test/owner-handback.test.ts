// Review rv-db4 D4: a connection acquired in a `run()` function, a `scope()` body or a
// `timeout()` function that then ends cancelled or failed without releasing it is handed
// back (reset) once that body has settled, as one acquired in a spawned task is.
import {
  asCompleted,
  currentTask,
  gather,
  map,
  mapConcurrent,
  mapSettled,
  run,
  scope,
  settle,
  sleep,
  TestClock,
  timeout,
} from '@weft/core';
import { describe, expect, test } from 'vitest';
import { createDatabase } from '../src/database.ts';

function setup(): {
  clock: TestClock;
  pool: ReturnType<ReturnType<typeof createDatabase>['pool']>;
} {
  const clock = new TestClock({ autoAdvance: true });
  const db = createDatabase({ clock, latency: 5, tables: { t: { columns: 'v int' } } });
  return { clock, pool: db.pool({ max: 3 }) };
}

/** Lets the hand-back (a reset round trip on the TestClock) finish. */
async function drain(clock: TestClock): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await clock.advance(5);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

describe('a body that ends cancelled or failed hands its pooled connection back (review db4 D4)', () => {
  const bodies = {
    'a scope() body': (fn: () => Promise<void>, clock: TestClock) =>
      scope(fn, { clock, timeout: 100 }),
    'a run() function': (fn: () => Promise<void>, clock: TestClock) =>
      run(fn, { clock, timeout: 100 }),
    'a timeout() function': (fn: () => Promise<void>, clock: TestClock) =>
      timeout(100, fn, { clock }),
  };
  for (const [name, around] of Object.entries(bodies)) {
    test(`${name} cut by its timeout`, async () => {
      const { clock, pool } = setup();
      await around(async () => {
        await pool.acquire();
        await sleep(1000);
      }, clock).catch(() => {});
      await drain(clock);
      expect(pool.stats().inUse).toBe(0);
      await pool.close();
    });

    test(`${name} that throws`, async () => {
      const { clock, pool } = setup();
      await around(async () => {
        await pool.acquire();
        await pool.acquire();
        throw new Error('boom');
      }, clock).catch(() => {});
      await drain(clock);
      expect(pool.stats().inUse).toBe(0);
      await pool.close();
    });
  }

  test('a body that returns its connection while a task of its scope fails hands it back (the caller never gets it)', async () => {
    const { clock, pool } = setup();
    const outcome = await scope(
      async (s) => {
        const conn = await pool.acquire();
        s.spawn(async () => {
          await sleep(10);
          throw new Error('task failed');
        });
        return conn;
      },
      { clock },
    ).then(
      () => 'resolved',
      () => 'rejected',
    );
    await drain(clock);
    expect(outcome).toBe('rejected');
    expect(pool.stats().inUse).toBe(0);
    await pool.close();
  });

  test('a body that returns normally keeps its connection (it may hand it on)', async () => {
    const { clock, pool } = setup();
    const conn = await scope(() => pool.acquire(), { clock });
    await drain(clock);
    expect(pool.stats().inUse).toBe(1);
    expect(conn.closed).toBe(false);
    await conn.close();
    await pool.close();
  });

  test('a connection released by the body is not touched again; a spawned task still hands back', async () => {
    const { clock, pool } = setup();
    await scope(
      async (s) => {
        const c = await pool.acquire();
        await c.close();
        s.spawn(async () => {
          await pool.acquire();
          throw new Error('task failed');
        });
        await sleep(1000);
      },
      { clock },
    ).catch(() => {});
    await drain(clock);
    expect(pool.stats().inUse).toBe(0);
    await pool.close();
  });
});

// Probe P7: inside an item of a limited call (`settle`/`gather`/`asCompleted` with
// `concurrency`, `map`, `mapSettled`, `mapConcurrent`), a connection the item still held
// when it failed or was cancelled was not handed back: the owner seen was the worker
// task running the items, which goes on to the next item and ends fulfilled. Core now
// calls onCurrentSettled callbacks registered in an item when that item ends.
describe('an item of a limited call that fails holding a connection hands it back (probe P7)', () => {
  const acquireThen =
    (pool: ReturnType<typeof setup>['pool'], fail: boolean) => async (): Promise<string> => {
      await pool.acquire();
      if (fail) throw new Error('item failed');
      return 'kept';
    };
  const calls: Record<
    string,
    (items: Array<() => Promise<string>>, clock: TestClock) => Promise<unknown>
  > = {
    'settle({ concurrency })': (items, clock) => settle(items, { concurrency: 1, clock }),
    'settle({ onProgress })': (items, clock) => settle(items, { onProgress() {}, clock }),
    'gather({ concurrency })': (items, clock) => gather(items, { concurrency: 1, clock }),
    'asCompleted({ concurrency })': async (items, clock) => {
      for await (const _ of asCompleted(items, { concurrency: 1, clock }));
    },
    map: (items, clock) => map(items, (fn) => fn(), { concurrency: 1, clock }),
    mapSettled: (items, clock) => mapSettled(items, (fn) => fn(), { concurrency: 1, clock }),
    mapConcurrent: async (items, clock) => {
      for await (const _ of mapConcurrent(items, (fn) => fn(), { concurrency: 1, clock }));
    },
  };
  for (const [name, call] of Object.entries(calls)) {
    test(`${name}: the failed item's connection comes back; a fulfilled item keeps its own`, async () => {
      const { clock, pool } = setup();
      await call([acquireThen(pool, false), acquireThen(pool, true)], clock).catch(() => {});
      await drain(clock);
      // Before: 2 (settle, mapSettled, mapConcurrent); gather, map and asCompleted handed
      // back the fulfilled item's connection too, when the failure ended the worker.
      expect(pool.stats().inUse).toBe(1);
      // The fulfilled item's connection was never released: close destroys it.
      await expect(pool.close({ timeout: 1 })).rejects.toThrow(/never released/);
    });
  }

  test('mapSettled: every failed item hands its connection back, at once, so later items can use it', async () => {
    const { clock, pool } = setup(); // max 3
    const result = await mapSettled(
      [1, 2, 3, 4, 5, 6],
      async (x) => {
        const conn = await pool.acquire({ timeout: 50 });
        await conn.query('SELECT 1 AS one');
        if (x % 2 === 0) return x;
        throw new Error(`item ${x} failed`);
      },
      { concurrency: 2, clock },
    );
    // Before: the three that failed kept theirs, and the last acquires timed out (53300).
    expect(result.map((r) => r.status)).toEqual([
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    await expect(pool.close({ timeout: 1 })).rejects.toThrow(/never released/);
  });

  test('settle: an item cut by the timeout or cancelled alone hands its connection back', async () => {
    const { clock, pool } = setup();
    await settle(
      [
        async () => {
          await pool.acquire();
          currentTask()!.cancel();
          await sleep(1000);
        },
        async () => {
          await pool.acquire();
          await sleep(1000);
        },
      ],
      { concurrency: 1, clock, timeout: 100 },
    ).catch(() => {});
    await drain(clock);
    expect(pool.stats().inUse).toBe(0);
    await pool.close();
  });
});
