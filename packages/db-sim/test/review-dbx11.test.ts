// Regression tests for the defects of review rv-dbx11 (X1-X5), one describe per finding.
import { TestClock } from '@weft/core';
import { describe, expect, test } from 'vitest';
import { createDatabase, type Database } from '../src/database.ts';
import { DatabaseError } from '../src/errors.ts';
import { PoolImpl } from '../src/pool.ts';
import type { Cursor, Row } from '../src/types.ts';

/** A database on an auto-advancing TestClock with `t (v int)` holding 1, 2, 3. */
function database(latency: number): { clock: TestClock; db: Database } {
  const clock = new TestClock({ autoAdvance: true });
  const rows = [{ v: 1 }, { v: 2 }, { v: 3 }];
  return {
    clock,
    db: createDatabase({ clock, latency, tables: { t: { columns: 'v int', rows } } }),
  };
}

/** The trace of connection `id` as `type:detail` strings. */
function traceOf(db: Database, id: number): string[] {
  return db.trace.events
    .filter((e) => e.connection === id)
    .map((e) => (e.detail === '' ? e.type : `${e.type}:${e.detail}`));
}

describe('a cursor belongs to the handle it was made on (X1)', () => {
  for (const latency of [0, 2]) {
    test(`latency ${latency}: a helper returning a cursor from an \`await using\` block: pulls reject 08003, the next borrower is unaffected`, async () => {
      const { db } = database(latency);
      const pool = db.pool({ max: 1 });
      async function openRows(): Promise<Cursor<Row>> {
        await using conn = await pool.acquire();
        return conn.cursor('SELECT v FROM t', [], { batchSize: 1 });
      }
      const cur = await openRows(); // the connection went back to the pool here
      expect(cur.closed).toBe(true);
      const other = await pool.acquire(); // another request gets it
      const mark = db.trace.events.length;
      const error = await cur.next().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseError);
      expect(error).toMatchObject({
        code: '08003',
        message: expect.stringMatching(/released to its pool/),
      });
      // It never touched the connection: no trace event, and the holder's query runs.
      expect(db.trace.events.length).toBe(mark);
      expect((await other.query('SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
      expect(await other.transaction((tx) => tx.query('SELECT v FROM t'))).toMatchObject({
        rowCount: 3,
      });
      // Later pulls and `for await` reject too: a cut-short result never looks complete.
      await expect(cur.next()).rejects.toMatchObject({ code: '08003' });
      const seen: unknown[] = [];
      await expect(
        (async () => {
          for await (const row of cur) seen.push(row);
        })(),
      ).rejects.toMatchObject({ code: '08003' });
      expect(seen).toEqual([]);
      await other.close();
      await pool.close();
    });
  }

  test('pulled while the connection is idle in the pool: rejects 08003, the pool lends a clean connection', async () => {
    const { db } = database(0);
    const pool = db.pool({ max: 1 });
    const a = await pool.acquire();
    const cur = a.cursor('SELECT v FROM t', [], { batchSize: 1 });
    await a.close();
    await expect(cur.next()).rejects.toMatchObject({ code: '08003' });
    expect(pool.stats()).toMatchObject({ idle: 1, inUse: 0 });
    const b = await pool.acquire();
    expect(b.id).toBe(a.id);
    expect((await b.query('SELECT count(*) AS n FROM t')).rows).toEqual([{ n: 3 }]);
    expect(traceOf(db, b.id)).not.toContain('cursor:SELECT v FROM t');
    await b.close();
    await pool.close();
  });

  test('a cursor open (half-read) at the release is closed by it; its next pull rejects 08003', async () => {
    const { db } = database(1);
    const pool = db.pool({ max: 1 });
    const a = await pool.acquire();
    const cur = a.cursor('SELECT v FROM t', [], { batchSize: 1 });
    expect(await cur.next()).toEqual({ value: { v: 1 }, done: false });
    await a.close();
    expect(cur.closed).toBe(true);
    const b = await pool.acquire();
    await expect(cur.next()).rejects.toMatchObject({ code: '08003' });
    expect((await b.query('SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
    await b.close();
    await pool.close();
  });

  test('a direct connection: a cursor made before close() rejects 08003 on its first pull', async () => {
    const { db } = database(0);
    const conn = await db.connect();
    const cur = conn.cursor('SELECT v FROM t');
    await conn.close();
    await expect(cur.next()).rejects.toMatchObject({ code: '08003' });
    expect(cur.closed).toBe(true);
  });

  test('made and pulled while the handle holds the connection, it works as before', async () => {
    const { db } = database(1);
    const pool = db.pool({ max: 1 });
    await using conn = await pool.acquire();
    const cur = conn.cursor<{ v: number }>('SELECT v FROM t', [], { batchSize: 2 });
    expect(cur.closed).toBe(false);
    const seen: number[] = [];
    for await (const row of cur) seen.push(row.v);
    expect(seen).toEqual([1, 2, 3]);
    expect(cur.closed).toBe(true);
  });
});

describe('a waiter leaves the pool queue as it settles (X3)', () => {
  test('pool.query and acquire timing out on an exhausted pool leave nothing queued; FIFO and the pool timeout still hold', async () => {
    const { clock, db } = database(0);
    const pool = db.pool({ max: 1, acquireTimeout: 100 });
    const held = await pool.acquire();
    for (let i = 0; i < 50; i++) {
      await expect(pool.query('SELECT 1 AS x', [], { timeout: 1 })).rejects.toMatchObject({
        code: '53300',
      });
      await expect(pool.acquire({ timeout: 1 })).rejects.toMatchObject({ code: '53300' });
      const ac = new AbortController();
      const p = pool.acquire({ signal: ac.signal });
      ac.abort(new Error('gone'));
      await expect(p).rejects.toThrow('gone');
    }
    expect(pool.stats().waiting).toBe(0);
    expect(PoolImpl.queued(pool as PoolImpl)).toBe(0);
    // Waiters in the middle of the queue leave; the others are served first come, first served.
    const order: string[] = [];
    const a = pool.acquire().then((c) => (order.push('a'), c));
    const ac = new AbortController();
    const b = pool.acquire({ signal: ac.signal }).catch(() => order.push('b cancelled'));
    const c = pool.acquire({ timeout: 1 }).catch(() => order.push('c timed out'));
    const d = pool.acquire(); // times out with the pool's acquireTimeout
    ac.abort();
    await Promise.all([b, c]);
    expect(pool.stats().waiting).toBe(2);
    expect(PoolImpl.queued(pool as PoolImpl)).toBe(4); // a and d, in both queues (pool timeout)
    await held.close();
    const first = await a;
    await expect(d).rejects.toMatchObject({
      code: '53300',
      message: expect.stringMatching(/the pool's `acquireTimeout`/),
    });
    expect(clock.now()).toBeGreaterThanOrEqual(100);
    expect(order).toEqual(['b cancelled', 'c timed out', 'a']);
    expect(pool.stats().waiting).toBe(0);
    expect(PoolImpl.queued(pool as PoolImpl)).toBe(0);
    await first.close();
    await pool.close();
  });
});

describe('a cursor closed by a COMMIT that then fails is not told the transaction committed (X2)', () => {
  test('the signal aborts during the COMMIT round trip: rolled back, and the 25000 says the COMMIT closed it', async () => {
    const { clock, db } = database(10);
    const conn = await db.connect();
    const ac = new AbortController();
    let cursor: Cursor<Row> | undefined;
    const outcome = await conn
      .transaction(
        async (tx) => {
          await tx.query('INSERT INTO t VALUES (100)');
          cursor = tx.cursor('SELECT v FROM t', [], { batchSize: 2 });
          await cursor.next();
          clock.schedule(5, () => ac.abort(new Error('user cancelled'))); // during COMMIT
          return 'x';
        },
        { signal: ac.signal },
      )
      .catch((e: unknown) => e);
    expect(outcome).toMatchObject({ message: 'user cancelled' });
    expect(db.inspect('t')).not.toContainEqual({ v: 100 });
    const error = await cursor!.next().catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: '25000',
      message: expect.stringMatching(/closed by its transaction's COMMIT/),
    });
    expect(/was committed/.test((error as Error).message)).toBe(false);
    await conn.close();
  });
});

describe("pool.query's 57014 gives the wait in whole ms (X5)", () => {
  test('a wait of 20.696988 ms is printed as 21 ms', async () => {
    const { clock, db } = database(40);
    const pool = db.pool({ max: 1 });
    const held = await pool.acquire();
    const start = clock.now();
    clock.schedule(20.696988, () => void held.close());
    const error = await pool.query('SELECT 1 AS x', [], { timeout: 50 }).catch((e: unknown) => e);
    expect(clock.now() - start).toBeGreaterThan(20);
    expect(error).toMatchObject({
      code: '57014',
      message: expect.stringContaining(
        '(50 ms, of which 21 ms waiting for a connection from the pool)',
      ),
    });
    await pool.close();
  });
});

describe('concurrent handshakes do not pile abort listeners on one shared signal (X4)', () => {
  test('20 concurrent connect() and a pool growing by 20: at most 1 abort listener on any signal', async () => {
    // Node 20 prints MaxListenersExceededWarning past 10 on one signal; count them directly.
    const live = new Map<EventTarget, number>();
    let most = 0;
    const proto = AbortSignal.prototype as unknown as Record<string, unknown>;
    const add = EventTarget.prototype.addEventListener;
    const remove = EventTarget.prototype.removeEventListener;
    proto.addEventListener = function (this: EventTarget, ...args: Parameters<typeof add>) {
      if (args[0] === 'abort') {
        const n = (live.get(this) ?? 0) + 1;
        live.set(this, n);
        most = Math.max(most, n);
      }
      return add.apply(this, args);
    };
    proto.removeEventListener = function (this: EventTarget, ...args: Parameters<typeof remove>) {
      if (args[0] === 'abort') live.set(this, (live.get(this) ?? 1) - 1);
      return remove.apply(this, args);
    };
    try {
      const { db } = database(5);
      const conns = await Promise.all(Array.from({ length: 20 }, () => db.connect()));
      const pool = db.pool({ max: 20 });
      const lent = await Promise.all(Array.from({ length: 20 }, () => pool.acquire()));
      expect(conns).toHaveLength(20);
      expect(lent).toHaveLength(20);
      for (const c of [...conns, ...lent]) await c.close();
      await pool.close();
      // A close still aborts the handshakes in flight.
      const pending = Promise.allSettled([db.connect(), db.pool().acquire()]);
      await db.close();
      for (const r of await pending) {
        expect(r).toMatchObject({ status: 'rejected', reason: { code: '08003' } });
      }
    } finally {
      delete proto.addEventListener;
      delete proto.removeEventListener;
    }
    expect(most).toBe(1);
  });
});
