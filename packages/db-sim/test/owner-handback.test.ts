// Review rv-db4 D4: a connection acquired in a `run()` function, a `scope()` body or a
// `timeout()` function that then ends cancelled or failed without releasing it is handed
// back (reset) once that body has settled, as one acquired in a spawned task is.
import { run, scope, sleep, TestClock, timeout } from '@weft/core';
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
async function settle(clock: TestClock): Promise<void> {
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
      await settle(clock);
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
      await settle(clock);
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
    await settle(clock);
    expect(outcome).toBe('rejected');
    expect(pool.stats().inUse).toBe(0);
    await pool.close();
  });

  test('a body that returns normally keeps its connection (it may hand it on)', async () => {
    const { clock, pool } = setup();
    const conn = await scope(() => pool.acquire(), { clock });
    await settle(clock);
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
    await settle(clock);
    expect(pool.stats().inUse).toBe(0);
    await pool.close();
  });
});
