import { CancelledError, scope, shield, sleep, TestClock } from '@weft/core';
import { describe, expect, test } from 'vitest';
import { collectUnhandled, countingController } from '../test/helpers.ts';
import { createDatabase, type Database } from './database.ts';
import { DatabaseError, PoolLeakError } from './errors.ts';

function setup(options: Parameters<typeof createDatabase>[0] = {}): {
  db: Database;
  clock: TestClock;
} {
  const clock = new TestClock({ autoAdvance: true });
  const db = createDatabase({
    clock,
    latency: 10,
    tables: { t: { columns: 'id int primary key, v int', rows: [{ id: 1, v: 0 }] } },
    ...options,
  });
  return { db, clock };
}

describe('pool', () => {
  test('lends, takes back and reuses connections; stats count them', async () => {
    const { db, clock } = setup();
    const pool = db.pool({ max: 2 });
    expect(pool.stats()).toEqual({ size: 0, idle: 0, inUse: 0, waiting: 0, pending: 0, max: 2 });
    const first = await pool.acquire();
    expect(pool.stats()).toMatchObject({ size: 1, idle: 0, inUse: 1 });
    await first.close();
    expect(first.closed).toBe(true);
    expect(pool.stats()).toMatchObject({ size: 1, idle: 1, inUse: 0 });
    const again = await pool.acquire();
    expect(again.id).toBe(first.id);
    await expect(first.query('SELECT 1 AS x')).rejects.toThrow(/was released to its pool/);
    await again.close();
    await pool.close();
    expect(db.openConnections).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  test('waiters are served first come, first served', async () => {
    const { db } = setup();
    const pool = db.pool({ max: 1 });
    const holder = await pool.acquire();
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) =>
      pool.acquire().then(async (conn) => {
        order.push(n);
        await conn.query('SELECT 1 AS x');
        await conn.close();
      }),
    );
    expect(pool.stats().waiting).toBe(3);
    await holder.close();
    await Promise.all(waiters);
    expect(order).toEqual([1, 2, 3]);
    await pool.close();
  });

  test('the acquire timeout covers the wait in the queue: 53300, and the waiter leaves it', async () => {
    const { db, clock } = setup();
    const pool = db.pool({ max: 1, acquireTimeout: 500 });
    const holder = await pool.acquire();
    const started = clock.now();
    const err = await pool.acquire().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseError);
    expect(err).toMatchObject({ code: '53300', retryable: true });
    expect((err as Error).message).toMatch(
      /timed out after 500 ms waiting for a connection from the pool \(max 1: 1 in use/,
    );
    expect(clock.now() - started).toBe(500);
    expect(pool.stats().waiting).toBe(0);
    await expect(pool.acquire({ timeout: 20 })).rejects.toMatchObject({ code: '53300' });
    await holder.close();
    await pool.close();
    expect(clock.pendingTimers).toBe(0);
  });

  test('waiters expire in order, each after its own acquireTimeout; no timer is left once none waits', async () => {
    const { db, clock } = setup();
    const pool = db.pool({ max: 1, acquireTimeout: 100 });
    const holder = await pool.acquire();
    const expired: number[] = [];
    const started = clock.now();
    const first = pool.acquire().catch(() => expired.push(clock.now() - started));
    await sleep(30, { clock });
    const second = pool.acquire().catch(() => expired.push(clock.now() - started));
    const third = pool.acquire({ timeout: 50 }).catch(() => expired.push(clock.now() - started));
    await Promise.all([first, second, third]);
    expect(expired).toEqual([80, 100, 130]); // third (own 50 ms), first, second
    expect(clock.pendingTimers).toBe(0);
    const served = pool.acquire();
    await holder.close();
    await (await served).close();
    expect(clock.pendingTimers).toBe(1); // the idle timer
    await pool.close();
    expect(clock.pendingTimers).toBe(0);
  });

  test('a cancelled waiter leaves the queue without taking a connection or leaving a listener', async () => {
    const { db } = setup();
    const pool = db.pool({ max: 1 });
    const holder = await pool.acquire();
    const { controller, signal, listeners } = countingController();
    const waiting = pool.acquire({ signal });
    const next = pool.acquire();
    expect(listeners()).toBe(1);
    const reason = new CancelledError('gave up');
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(listeners()).toBe(0);
    await holder.close();
    const conn = await next;
    expect(conn.id).toBe(holder.id);
    await conn.close();
    await pool.close();
  });

  test('a released connection is reset: its transaction rolls back, its cursor closes', async () => {
    const { db } = setup();
    const pool = db.pool({ max: 1, idleTimeout: Number.POSITIVE_INFINITY });
    const conn = await pool.acquire();
    const unhandled = await collectUnhandled(async () => {
      const tx = conn.transaction(async (t) => {
        await t.query('UPDATE t SET v = 42 WHERE id = 1');
        await sleep(1000, { clock: db.clock }); // still open when released
      });
      await sleep(50, { clock: db.clock });
      expect(conn.inTransaction).toBe(true);
      await conn.close();
      await expect(tx).rejects.toMatchObject({ code: '08003' });
    });
    expect(unhandled).toEqual([]);
    expect(db.inspect('t')[0]!.v).toBe(0);
    const next = await pool.acquire();
    expect(next.id).toBe(conn.id);
    expect(next.inTransaction).toBe(false);
    const cursor = next.cursor('SELECT * FROM t');
    await cursor.next();
    await next.close();
    expect(cursor.closed).toBe(true);
    await using third = await pool.acquire();
    await third.query('SELECT 1 AS x'); // not held by the old cursor
    await third.close();
    await pool.close();
  });

  test('a connection lost to a fault is destroyed on release, and the pool opens a new one', async () => {
    const { db } = setup({ faults: { commitUnknownRate: 1 } });
    const pool = db.pool({ max: 1 });
    const conn = await pool.acquire();
    await expect(conn.transaction((tx) => tx.query('UPDATE t SET v = 1'))).rejects.toMatchObject({
      code: '08007',
    });
    await conn.close();
    expect(pool.stats()).toMatchObject({ size: 0, idle: 0 });
    expect(db.openConnections).toBe(0);
    await using fresh = await pool.acquire();
    expect(fresh.id).not.toBe(conn.id);
    await fresh.close();
    await pool.close();
  });

  test('a refused connection rejects the waiter with 08001', async () => {
    const { db } = setup({ faults: { refuseRate: 1 } });
    const pool = db.pool();
    await expect(pool.acquire()).rejects.toMatchObject({ code: '08001', retryable: true });
    expect(pool.stats()).toMatchObject({ size: 0, pending: 0, waiting: 0 });
    await pool.close();
  });

  test('close() drains: new acquires and waiters reject, it resolves when every lent connection is back', async () => {
    const { db, clock } = setup();
    const pool = db.pool({ max: 1 });
    const conn = await pool.acquire();
    const waiter = pool.acquire();
    let closed = false;
    const closing = pool.close().then(() => {
      closed = true;
    });
    await expect(waiter).rejects.toMatchObject({ code: '08003', message: 'the pool is closed' });
    await expect(pool.acquire()).rejects.toMatchObject({ code: '08003' });
    await conn.query('SELECT 1 AS x'); // a lent connection keeps working until it is released
    await sleep(100, { clock });
    expect(closed).toBe(false);
    await conn.close();
    await closing;
    expect(db.openConnections).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  test('the leak report names connections never released and where they were acquired', async () => {
    const { db, clock } = setup();
    const pool = db.pool({ max: 2, captureStacks: true });
    const forgotten = await pool.acquire();
    await sleep(250, { clock });
    const [leak] = pool.leaks();
    expect(leak).toMatchObject({ connection: forgotten.id, heldFor: 250 });
    expect(leak!.stack).toMatch(/pool\.test\.ts/);
    const err = await pool.close({ timeout: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoolLeakError);
    expect((err as PoolLeakError).leaks.map((l) => l.connection)).toEqual([forgotten.id]);
    expect((err as Error).message).toMatch(/never released \(#\d+\)/);
    await expect(forgotten.query('SELECT 1 AS x')).rejects.toMatchObject({ code: '08003' });
    expect(db.openConnections).toBe(0);
  });

  test('without captureStacks the leak report still names the connection, with no stack', async () => {
    const { db } = setup();
    const pool = db.pool();
    const conn = await pool.acquire();
    expect(pool.leaks()).toEqual([
      { connection: conn.id, acquiredAt: expect.any(Number), heldFor: 0, stack: undefined },
    ]);
    await conn.close();
    expect(pool.leaks()).toEqual([]);
    await pool.close();
  });

  test('idle connections close after idleTimeout', async () => {
    const { db, clock } = setup();
    const pool = db.pool({ max: 2, idleTimeout: 1000 });
    const a = await pool.acquire();
    const b = await pool.acquire();
    await a.close();
    await sleep(600, { clock });
    await b.close();
    await sleep(500, { clock });
    expect(pool.stats()).toMatchObject({ size: 1, idle: 1 });
    await sleep(600, { clock });
    expect(pool.stats()).toMatchObject({ size: 0, idle: 0 });
    expect(db.openConnections).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    await pool.close();
  });

  test('D4: an idle pool on the system clock does not keep the process alive (its idle timer is unref-ed)', async () => {
    // getActiveResourcesInfo lists ref-ed timers on Node and Deno (Bun reports none).
    const proc = (globalThis as { process?: { getActiveResourcesInfo?: () => string[] } }).process;
    const timers = (): number =>
      (proc?.getActiveResourcesInfo?.() ?? []).filter((r) => r === 'Timeout').length;
    const db = createDatabase({ latency: 0, tables: { t: { columns: 'v int' } } });
    const pool = db.pool({ idleTimeout: 60_000 });
    const before = timers();
    await pool.query('SELECT v FROM t');
    expect(pool.stats()).toMatchObject({ idle: 1 });
    expect(timers()).toBe(before);
    await pool.close();
    await db.close();
  });

  test('a task cancelled while it holds a pooled connection returns it, reset, when its scope ends', async () => {
    const { db, clock } = setup({ latency: 100 });
    const pool = db.pool({ max: 1 });
    await expect(
      scope(
        async (s) => {
          s.spawn(async () => {
            await using conn = await pool.acquire();
            await conn.transaction(async (tx) => {
              await tx.query('UPDATE t SET v = 5');
              await tx.query('UPDATE t SET v = 6'); // cancelled here
            });
          });
          s.spawn(async () => {
            await sleep(250);
            throw new Error('sibling failed');
          });
        },
        { clock },
      ),
    ).rejects.toThrow('sibling failed');
    expect(pool.stats()).toMatchObject({ inUse: 0, idle: 1, waiting: 0 });
    expect(pool.leaks()).toEqual([]);
    expect(db.inspect('t')[0]!.v).toBe(0);
    await pool.close();
    expect(clock.pendingTimers).toBe(0);
  });

  test('D5: a cancelled task keeps its pooled connection for shielded cleanup that waits first; a waiter gets it after', async () => {
    const { db, clock } = setup({ tables: { t: { columns: 'v int' } } });
    const pool = db.pool({ max: 1 });
    let cleanup: unknown;
    let waiterSaw: unknown;
    let cancel!: () => void;
    const done = scope(
      async (s) => {
        cancel = () => s.cancel(new CancelledError('stop'));
        s.spawn(async () => {
          const conn = await pool.acquire();
          try {
            await sleep(1000);
          } catch {
            await shield(async () => {
              await sleep(20); // waits before it uses the connection
              cleanup = await conn.query('INSERT INTO t VALUES (99) RETURNING v');
              await conn.close();
            });
          }
        });
      },
      { clock },
    );
    await sleep(5, { clock });
    const waiter = pool.acquire().then(async (conn) => {
      waiterSaw = db.inspect('t');
      await conn.close();
    });
    await sleep(10, { clock });
    cancel();
    await done;
    await waiter;
    expect(cleanup).toMatchObject({ rows: [{ v: 99 }] });
    expect(waiterSaw).toEqual([{ v: 99 }]); // it got the connection only after the cleanup
    expect(pool.stats()).toMatchObject({ inUse: 0, idle: 1 });
    await pool.close();
    expect(clock.pendingTimers).toBe(0);
  });

  test('D3: a task cancelled while it holds a pooled connection hands it back once it has settled', async () => {
    const { db, clock } = setup({ tables: { t: { columns: 'v int' } } });
    const pool = db.pool({ max: 1 });
    let held: { closed: boolean } | undefined;
    await scope(
      async (s) => {
        const holder = s.spawn(async () => {
          held = await pool.acquire(); // the task never releases it itself
          await sleep(60_000);
        });
        await sleep(1000); // well past the connect latency
        expect(pool.stats()).toMatchObject({ inUse: 1 });
        holder.cancel();
      },
      { clock },
    );
    expect(held?.closed).toBe(true);
    expect(pool.stats()).toMatchObject({ inUse: 0, idle: 1 });
    expect(pool.leaks()).toEqual([]);
    const again = await pool.acquire(); // the same connection, usable again
    expect((await again.query('SELECT v FROM t')).rows).toEqual([]);
    await again.close();
    await pool.close();
    expect(clock.pendingTimers).toBe(0);
  });

  test('D3: a failed task hands its connection back; a task that returns one leaves it lent', async () => {
    const { db, clock } = setup();
    const pool = db.pool({ max: 2 });
    const failure = await scope(
      (s) => {
        s.spawn(async () => {
          await pool.acquire();
          throw new Error('boom');
        });
      },
      { clock },
    ).catch((error: unknown) => error);
    expect(String(failure)).toMatch(/boom/);
    expect(pool.stats().inUse).toBe(0);
    const conn = await scope((s) => s.spawn(() => pool.acquire()), { clock });
    expect(conn.closed).toBe(false);
    expect(pool.stats().inUse).toBe(1);
    await conn.close();
    await pool.close();
  });

  test('an explicit acquire signal that aborts after the acquire does not take the connection back', async () => {
    const { db, clock } = setup();
    const pool = db.pool({ max: 1 });
    const { controller, signal, listeners } = countingController();
    const conn = await pool.acquire({ signal });
    expect(listeners()).toBe(0);
    controller.abort(new Error('late'));
    await sleep(10, { clock });
    expect(conn.closed).toBe(false);
    expect((await conn.query('SELECT v FROM t')).rows).toEqual([{ v: 0 }]);
    await conn.close();
    await pool.close();
  });

  test('inside a task, acquire takes the task signal: a cancelled task stops waiting', async () => {
    const { db, clock } = setup();
    const pool = db.pool({ max: 1 });
    const holder = await pool.acquire();
    const reason = new CancelledError('stop');
    let outcome: unknown;
    await scope(
      async (s) => {
        s.spawn(() =>
          pool.acquire().catch((e: unknown) => {
            outcome = e;
          }),
        );
        await sleep(10);
        expect(pool.stats().waiting).toBe(1);
        s.cancel(reason);
      },
      { clock },
    );
    expect(outcome).toBe(reason);
    expect(pool.stats().waiting).toBe(0);
    await holder.close();
    await pool.close();
  });

  test('query and transaction helpers acquire and release', async () => {
    const { db } = setup();
    const pool = db.pool({ max: 1 });
    await pool.transaction((tx) => tx.query('UPDATE t SET v = v + 1'));
    expect((await pool.query('SELECT v FROM t')).rows).toEqual([{ v: 1 }]);
    expect(pool.stats()).toMatchObject({ inUse: 0, idle: 1 });
    await pool.close();
  });

  test('bad options are named', () => {
    const { db } = setup();
    expect(() => db.pool({ max: 0 })).toThrow(
      'Expected `options.max` to be an integer from 1 and up, got `0` (number)',
    );
    expect(() => db.pool({ maxSize: 3 } as never)).toThrow('Did you mean `max`?');
    expect(() => db.pool({ acquireTimeout: -5 })).toThrow(RangeError);
  });
});
