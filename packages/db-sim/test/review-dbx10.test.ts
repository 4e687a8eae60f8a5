// Regression tests for the defects of review rv-dbx10 (X1, X2, X4, X5, X8), one describe per finding.
import { TestClock } from '@weft/core';
import { describe, expect, test } from 'vitest';
import { createDatabase, type Database } from '../src/database.ts';
import { DatabaseError } from '../src/errors.ts';

/** A database on an auto-advancing TestClock with one table `t (v int)`. */
function database(latency: number): { clock: TestClock; db: Database } {
  const clock = new TestClock({ autoAdvance: true });
  return { clock, db: createDatabase({ clock, latency, tables: { t: { columns: 'v int' } } }) };
}

/** The trace of connection `id` as `type:detail` strings. */
function traceOf(db: Database, id: number): string[] {
  return db.trace.events
    .filter((e) => e.connection === id)
    .map((e) => (e.detail === '' ? e.type : `${e.type}:${e.detail}`));
}

describe('a connection released while its BEGIN is in flight is not lent with the old transaction (X5)', () => {
  test('0 ms: the old transaction rejects 08003, its callback never runs, the next borrower gets a clean connection', async () => {
    const { db } = database(0);
    const pool = db.pool({ max: 1 });
    const a = await pool.acquire();
    let ran = false;
    const p = a.transaction(async (tx) => {
      ran = true;
      await tx.query('INSERT INTO t VALUES (5)');
    });
    await a.close(); // released while BEGIN is in flight
    const b = await pool.acquire();
    expect(b.id).toBe(a.id);
    expect(b.inTransaction).toBe(false);
    expect((await b.query('SELECT count(*) AS n FROM t')).rows).toEqual([{ n: 0 }]);
    const error = await p.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toMatchObject({
      code: '08003',
      message: expect.stringMatching(/released to its pool while the operation was in progress/),
    });
    expect(ran).toBe(false);
    expect(b.inTransaction).toBe(false);
    expect(db.inspect('t')).toEqual([]);
    await b.close();
    await pool.close();
  });

  test('a release at the instant BEGIN completes: the old rollback does not cancel the next borrower', async () => {
    const { clock, db } = database(10);
    const pool = db.pool({ max: 1 });
    const a = await pool.acquire();
    const p = a
      .transaction(async (tx) => {
        await tx.query('INSERT INTO t VALUES (5)');
      })
      .catch((e: unknown) => e);
    clock.schedule(10, () => void a.close()); // same instant as BEGIN's round trip ends
    const b = await pool.acquire();
    expect(b.inTransaction).toBe(false);
    expect((await b.query('SELECT count(*) AS n FROM t')).rows).toEqual([{ n: 0 }]);
    expect(await p).toMatchObject({ code: '08003' });
    expect(db.inspect('t')).toEqual([]);
    expect(traceOf(db, a.id)).not.toContain('rollback:0');
    await b.close();
    await pool.close();
  });

  test('a release at the instant COMMIT completes: nothing commits, the transaction rejects 08003', async () => {
    for (const latency of [0, 10]) {
      const { clock, db } = database(latency);
      const pool = db.pool({ max: 1 });
      const a = await pool.acquire();
      const p = a
        .transaction(async (tx) => {
          await tx.query('INSERT INTO t VALUES (9)');
          // Once COMMIT is on its way (its timer set first), a release due when it ends.
          if (latency > 0) clock.schedule(0, () => clock.schedule(latency, () => void a.close()));
          return 'ok';
        })
        .catch((e: unknown) => e);
      if (latency === 0) {
        // COMMIT's 0 ms round trip has ended; the release lands before #commit resumes.
        const committing = (): boolean => db.trace.events.some((e) => e.type === 'commit');
        for (let i = 0; i < 1000 && !committing(); i++) await Promise.resolve();
        expect(committing()).toBe(true);
        void a.close();
      }
      expect(await p).toMatchObject({ code: '08003' });
      expect(db.inspect('t')).toEqual([]);
      expect(traceOf(db, a.id)).not.toContain('ok:COMMIT');
      const b = await pool.acquire();
      expect(b.inTransaction).toBe(false);
      await b.close();
      await pool.close();
    }
  });

  test('a savepoint begun and not awaited whose round trip ends as the transaction rolls back never opens', async () => {
    const { clock, db } = database(10);
    const conn = await db.connect();
    let inner: Promise<unknown> | undefined;
    let ran = false;
    const boom = new Error('boom');
    const outer = conn.transaction((tx) => {
      inner = tx.transaction(async (sp) => {
        ran = true;
        await sp.query('INSERT INTO t VALUES (2)');
      });
      inner.catch(() => {});
      // Rejects at the instant SAVEPOINT's round trip ends (its timer fires first).
      return new Promise<never>((_, reject) => clock.schedule(10, () => reject(boom)));
    });
    await expect(outer).rejects.toBe(boom);
    await expect(inner).rejects.toMatchObject({ code: '57014' });
    expect(ran).toBe(false);
    expect(conn.inTransaction).toBe(false);
    expect((await conn.query('SELECT count(*) AS n FROM t')).rows).toEqual([{ n: 0 }]);
    await conn.close();
  });
});

describe('a statement released, closed or cancelled during its round trip never runs (X4)', () => {
  test('0 ms, pooled: released → 08003, nothing committed, nothing runs after the release', async () => {
    const { db } = database(0);
    const pool = db.pool({ max: 1 });
    const a = await pool.acquire();
    const p = a.query('INSERT INTO t VALUES (1) RETURNING v');
    await a.close();
    await expect(p).rejects.toMatchObject({
      code: '08003',
      message: expect.stringMatching(/released to its pool/),
    });
    expect(db.inspect('t')).toEqual([]);
    const trace = traceOf(db, a.id);
    expect(trace.slice(trace.indexOf('release:open'))).not.toContain('ok:INSERT 1');
    await pool.close();
  });

  test('0 ms, direct: closed → 08003 "closed by the client"', async () => {
    const { db } = database(0);
    const conn = await db.connect();
    const p = conn.query('INSERT INTO t VALUES (3)');
    await conn.close();
    await expect(p).rejects.toMatchObject({
      code: '08003',
      message: expect.stringMatching(/closed by the client/),
    });
    expect(db.inspect('t')).toEqual([]);
  });

  test('0 ms: aborted right after the call → the signal’s reason, nothing committed', async () => {
    const { db } = database(0);
    const conn = await db.connect();
    const controller = new AbortController();
    const reason = new Error('stop');
    const p = conn.query('INSERT INTO t VALUES (1)', [], { signal: controller.signal });
    controller.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(db.inspect('t')).toEqual([]);
    await conn.close();
  });

  test('a release or abort at the instant the round trip ends (same clock time) wins', async () => {
    const { clock, db } = database(10);
    const pool = db.pool({ max: 1 });
    const a = await pool.acquire();
    const p = a.query('INSERT INTO t VALUES (7)').catch((e: unknown) => e);
    clock.schedule(10, () => void a.close());
    expect(await p).toMatchObject({ code: '08003' });
    const conn = await db.connect();
    const controller = new AbortController();
    const reason = new Error('stop');
    const q = conn.query('INSERT INTO t VALUES (8)', [], { signal: controller.signal });
    clock.schedule(10, () => controller.abort(reason));
    await expect(q).rejects.toBe(reason);
    expect(db.inspect('t')).toEqual([]);
    await conn.close();
    await pool.close();
  });

  test('a statement not awaited whose round trip ends as its transaction rolls back is cancelled (57014), not resolved', async () => {
    const { clock, db } = database(10);
    const conn = await db.connect();
    let stray: Promise<unknown> | undefined;
    const boom = new Error('boom');
    await expect(
      conn.transaction((tx) => {
        stray = tx.query('INSERT INTO t VALUES (1)');
        stray.catch(() => {});
        // Rejects at the instant the INSERT's round trip ends (its timer fires first).
        return new Promise<never>((_, reject) => clock.schedule(10, () => reject(boom)));
      }),
    ).rejects.toBe(boom);
    await expect(stray).rejects.toMatchObject({ code: '57014' });
    expect(traceOf(db, conn.id)).not.toContain('ok:INSERT 1');
    expect(db.inspect('t')).toEqual([]);
    await conn.close();
  });

  test('0 ms: a cursor pull in flight when its connection is released rejects with 08003, not a quiet end', async () => {
    const { db } = database(0);
    const pool = db.pool({ max: 1 });
    const a = await pool.acquire();
    const pull = a.cursor('SELECT v FROM t').next();
    await a.close();
    await expect(pull).rejects.toMatchObject({ code: '08003' });
    const conn = await db.connect();
    const controller = new AbortController();
    const reason = new Error('stop');
    await conn.query('INSERT INTO t VALUES (1), (2)');
    const cursor = conn.cursor('SELECT v FROM t', [], { batchSize: 1, signal: controller.signal });
    expect(await cursor.next()).toEqual({ value: { v: 1 }, done: false });
    const next = cursor.next(); // the second batch's round trip
    controller.abort(reason);
    await expect(next).rejects.toBe(reason);
    await conn.close();
    await pool.close();
  });
});

describe('a cursor closed under a pull as the pull resumes never hands out a row (X4)', () => {
  test('0 ms: released after the fetch round trip ended, before the pull resumed → 08003, not { value: undefined }', async () => {
    const { db } = database(0);
    const pool = db.pool({ max: 1 });
    const a = await pool.acquire();
    await a.query('INSERT INTO t VALUES (1), (2)');
    const cursor = a.cursor('SELECT v FROM t', [], { batchSize: 1 });
    expect(await cursor.next()).toEqual({ value: { v: 1 }, done: false });
    const pull = cursor.next().catch((e: unknown) => e);
    const fetched = (): number => traceOf(db, a.id).filter((e) => e.startsWith('fetch')).length;
    for (let i = 0; i < 1000 && fetched() < 2; i++) await Promise.resolve();
    expect(fetched()).toBe(2);
    void a.close();
    expect(await pull).toMatchObject({ code: '08003' });
    await pool.close();
  });
});

describe('db.close() stops a direct connect() still in its handshake (X1)', () => {
  test('the connect rejects 08003 at once and leaves no timer', async () => {
    const clock = new TestClock(); // not advancing: only close() can end the handshake
    const db = createDatabase({ clock, latency: 3000 });
    const connecting = db.connect().catch((e: unknown) => e);
    const pool = db.pool();
    const acquiring = pool.acquire().catch((e: unknown) => e);
    await db.close();
    expect(clock.pendingTimers).toBe(0);
    expect(await connecting).toMatchObject({ code: '08003', message: 'the database is closed' });
    expect(await acquiring).toMatchObject({ code: '08003' });
    expect(db.openConnections).toBe(0);
    expect(clock.now()).toBe(0);
  });
});

describe('a transaction that returns with a cursor open commits, closing the cursor (X2)', () => {
  test('COMMIT closes the open cursor: the writes commit, the next pull rejects 25000', async () => {
    const { db } = database(2);
    const conn = await db.connect();
    await conn.query('INSERT INTO t VALUES (1), (2), (3)');
    let cursor: AsyncIterator<unknown> | undefined;
    const value = await conn.transaction(async (tx) => {
      await tx.query('INSERT INTO t VALUES (100)');
      cursor = tx.cursor('SELECT v FROM t ORDER BY v', [], { batchSize: 1 });
      expect(await cursor.next()).toEqual({ value: { v: 1 }, done: false });
      return 'done';
    });
    expect(value).toBe('done');
    expect(db.inspect('t')).toContainEqual({ v: 100 });
    await expect(cursor!.next()).rejects.toMatchObject({
      code: '25000',
      message: expect.stringMatching(/closed by its transaction's COMMIT/),
    });
    expect(conn.inTransaction).toBe(false);
    expect((await conn.query('SELECT count(*) AS n FROM t')).rows).toEqual([{ n: 4 }]);
    await conn.close();
  });

  test('a pull still in flight is abandoned (25000) and the commit goes through', async () => {
    for (const latency of [0, 2]) {
      const { db } = database(latency);
      const conn = await db.connect();
      await conn.query('INSERT INTO t VALUES (1), (2)');
      let pull: Promise<unknown> | undefined;
      await conn.transaction(async (tx) => {
        await tx.query('INSERT INTO t VALUES (100)');
        const cursor = tx.cursor('SELECT v FROM t', [], { batchSize: 1 });
        await cursor.next();
        pull = cursor.next(); // the second batch's round trip, not awaited
        pull.catch(() => {});
      });
      await expect(pull).rejects.toMatchObject({ code: '25000' });
      expect(db.inspect('t')).toContainEqual({ v: 100 });
      await conn.close();
    }
  });

  test('a savepoint that returns with a cursor open is released, its cursor closed', async () => {
    const { db } = database(2);
    const conn = await db.connect();
    await conn.query('INSERT INTO t VALUES (1), (2)');
    let cursor: AsyncIterator<unknown> | undefined;
    await conn.transaction(async (tx) => {
      await tx.transaction(async (sp) => {
        await sp.query('INSERT INTO t VALUES (100)');
        cursor = sp.cursor('SELECT v FROM t', [], { batchSize: 1 });
        await cursor.next();
      });
      await expect(cursor!.next()).rejects.toMatchObject({
        code: '25000',
        message: expect.stringMatching(/closed by its savepoint's RELEASE SAVEPOINT/),
      });
      await tx.query('INSERT INTO t VALUES (200)');
    });
    expect(db.inspect('t')).toEqual([{ v: 1 }, { v: 2 }, { v: 100 }, { v: 200 }]);
    await conn.close();
  });
});

describe("pool.query's timeout bounds the wait for a connection too (X8)", () => {
  test('on an exhausted pool it rejects 53300 at the timeout, naming the query timeout', async () => {
    const { clock, db } = database(5);
    const pool = db.pool({ max: 1, acquireTimeout: 5000 });
    const held = await pool.acquire();
    const started = clock.now();
    const error = await pool.query('SELECT 1 AS one', [], { timeout: 50 }).catch((e: unknown) => e);
    expect(clock.now() - started).toBe(50);
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toMatchObject({
      code: '53300',
      message: expect.stringMatching(/timed out after 50 ms waiting .*; the query's `timeout`\)$/),
    });
    expect(pool.stats().waiting).toBe(0);
    await held.close();
    await pool.close();
    expect(clock.pendingTimers).toBe(0);
  });

  test('the acquire timeout still applies on its own, and says so', async () => {
    const { clock, db } = database(5);
    const pool = db.pool({ max: 1, acquireTimeout: 30 });
    const held = await pool.acquire();
    const started = clock.now();
    const error = await pool.query('SELECT 1', [], { timeout: 500 }).catch((e: unknown) => e);
    expect(clock.now() - started).toBe(30);
    expect(error).toMatchObject({
      code: '53300',
      message: expect.stringMatching(/timed out after 30 ms .*; the pool's `acquireTimeout`\)$/),
    });
    await held.close();
    await pool.close();
  });

  test('the statement gets what is left of the timeout after the wait (57014 says how much went waiting)', async () => {
    const { clock, db } = database(20);
    const pool = db.pool({ max: 1 });
    const held = await pool.acquire();
    clock.schedule(40, () => void held.close()); // a connection frees after 40 ms
    const started = clock.now();
    // 40 ms waiting + a 20 ms round trip > 50 ms: cancelled at 50 ms.
    const error = await pool
      .query('INSERT INTO t VALUES (1)', [], { timeout: 50 })
      .catch((e: unknown) => e);
    expect(clock.now() - started).toBe(50);
    expect(error).toMatchObject({
      code: '57014',
      message: expect.stringMatching(
        /statement timeout \(50 ms, of which 40 ms waiting for a connection from the pool\)/,
      ),
    });
    expect(db.inspect('t')).toEqual([]);
    // With room for both, it runs: 40 ms waiting + 20 ms.
    const again = await pool.acquire();
    clock.schedule(40, () => void again.close());
    await expect(
      pool.query('INSERT INTO t VALUES (2)', [], { timeout: 61 }),
    ).resolves.toMatchObject({ rowCount: 1 });
    expect(db.inspect('t')).toEqual([{ v: 2 }]);
    await pool.close();
  });
});

describe('the gaps after BEGIN and after a handshake (X4, X5: every await point)', () => {
  test('0 ms: released after BEGIN ended, before the callback started → 08003, the callback never runs', async () => {
    const { db } = database(0);
    const pool = db.pool({ max: 1 });
    const a = await pool.acquire();
    let ran = false;
    const p = a
      .transaction(async (tx) => {
        ran = true;
        await tx.query('INSERT INTO t VALUES (1)').catch(() => {});
      })
      .catch((e: unknown) => e);
    for (let i = 0; i < 1000 && !a.inTransaction; i++) await Promise.resolve();
    expect(a.inTransaction).toBe(true);
    void a.close();
    expect(await p).toMatchObject({ code: '08003' });
    expect(ran).toBe(false);
    await pool.close();
  });

  test('0 ms: a connect() cancelled as its handshake ended rejects with the reason and leaves no connection open', async () => {
    const { db } = database(0);
    const controller = new AbortController();
    const reason = new Error('stop');
    const p = db.connect({ signal: controller.signal }).catch((e: unknown) => e);
    const connected = (): boolean => db.trace.events.some((e) => e.type === 'connected');
    for (let i = 0; i < 1000 && !connected(); i++) await Promise.resolve();
    expect(connected()).toBe(true);
    controller.abort(reason);
    expect(await p).toBe(reason);
    expect(db.openConnections).toBe(0);
  });
});
