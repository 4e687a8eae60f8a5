import { CancelledError, scope, TestClock } from '@weft/core';
import { describe, expect, test } from 'vitest';
import { countingController } from '../test/helpers.ts';
import { createDatabase, type Database } from './database.ts';
import { DatabaseError } from './errors.ts';

function numbers(
  n: number,
  options: Parameters<typeof createDatabase>[0] = {},
): { db: Database; clock: TestClock } {
  const clock = new TestClock({ autoAdvance: true });
  const db = createDatabase({
    clock,
    latency: 10,
    tables: {
      n: {
        columns: 'i int primary key',
        rows: Array.from({ length: n }, (_, i) => ({ i: i + 1 })),
      },
    },
    ...options,
  });
  return { db, clock };
}

const fetches = (db: Database): number => db.trace.events.filter((e) => e.type === 'fetch').length;

describe('cursor', () => {
  test('fetches batch by batch, only as the loop asks for rows', async () => {
    const { db, clock } = numbers(5);
    await using conn = await db.connect();
    const seen: number[] = [];
    const cursor = conn.cursor<{ i: number }>('SELECT i FROM n ORDER BY i', [], { batchSize: 2 });
    expect(fetches(db)).toBe(0); // nothing happens before the first pull
    for await (const row of cursor) {
      seen.push(row.i);
      if (row.i === 1) expect(fetches(db)).toBe(1);
      if (row.i === 3) expect(fetches(db)).toBe(2);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(fetches(db)).toBe(3);
    expect(cursor.closed).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  test('an open cursor holds the connection: other calls reject with 55006 until it closes', async () => {
    const { db } = numbers(3);
    await using conn = await db.connect();
    for await (const row of conn.cursor('SELECT i FROM n', [], { batchSize: 1 })) {
      const err = await conn.query('SELECT 1 AS x').catch((e: unknown) => e);
      expect(err).toMatchObject({ code: '55006' });
      expect((err as Error).message).toMatch(/an open cursor \(SELECT i FROM n\)/);
      if (row.i === 2) break;
    }
    expect((await conn.query('SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
  });

  test('break closes the cursor and frees the connection without fetching more', async () => {
    const { db } = numbers(10);
    await using conn = await db.connect();
    const cursor = conn.cursor('SELECT i FROM n', [], { batchSize: 3 });
    for await (const row of cursor) if (row.i === 1) break;
    expect(cursor.closed).toBe(true);
    expect(fetches(db)).toBe(1);
    expect(db.trace.events.at(-1)!.type).toBe('cursor-close');
    await conn.query('SELECT 1 AS x');
  });

  test('an error in the loop body closes the cursor', async () => {
    const { db } = numbers(10);
    await using conn = await db.connect();
    const cursor = conn.cursor('SELECT i FROM n', [], { batchSize: 3 });
    await expect(
      (async () => {
        for await (const _ of cursor) throw new Error('boom');
      })(),
    ).rejects.toThrow('boom');
    expect(cursor.closed).toBe(true);
    await conn.query('SELECT 1 AS x');
  });

  test('cancellation closes the cursor, rejects with the reason and leaves no listener', async () => {
    const { db, clock } = numbers(10);
    await using conn = await db.connect();
    const { controller, signal, listeners } = countingController();
    const reason = new CancelledError('enough');
    const seen: unknown[] = [];
    const cursor = conn.cursor('SELECT i FROM n', [], { batchSize: 4, signal });
    await expect(
      (async () => {
        for await (const row of cursor) {
          seen.push(row.i);
          if (row.i === 2) controller.abort(reason);
        }
      })(),
    ).rejects.toBe(reason);
    expect(seen).toEqual([1, 2]); // the next pull sees the cancellation, even from the buffer
    expect(cursor.closed).toBe(true);
    expect(listeners()).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    await conn.query('SELECT 1 AS x');
  });

  test("a transaction's signal stops its cursor, even between buffered rows", async () => {
    const { db } = numbers(10);
    await using conn = await db.connect();
    const controller = new AbortController();
    const reason = new CancelledError('stop the transaction');
    const seen: unknown[] = [];
    await expect(
      conn.transaction(
        async (tx) => {
          for await (const row of tx.cursor('SELECT i FROM n', [], { batchSize: 10 })) {
            seen.push(row.i);
            if (row.i === 3) controller.abort(reason);
          }
        },
        { signal: controller.signal },
      ),
    ).rejects.toBe(reason);
    expect(seen).toEqual([1, 2, 3]);
    expect(conn.inTransaction).toBe(false);
    await conn.query('SELECT 1 AS x');
  });

  test('a cancelled task closes its cursor mid-fetch', async () => {
    const { db, clock } = numbers(10, { latency: 100 });
    await using conn = await db.connect();
    let cursorClosed = false;
    await scope(
      async (s) => {
        const reader = s.spawn(async () => {
          const cursor = conn.cursor('SELECT i FROM n', [], { batchSize: 2 });
          try {
            for await (const _ of cursor) {
              // slow consumer: the cancellation lands during a fetch
            }
          } finally {
            cursorClosed = cursor.closed;
          }
        });
        await clock.advance(0);
        reader.cancel();
      },
      { clock },
    );
    expect(cursorClosed).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    await conn.query('SELECT 1 AS x');
  });

  test('await using closes a cursor that was only partly read; close() is idempotent', async () => {
    const { db } = numbers(5);
    await using conn = await db.connect();
    {
      await using cursor = conn.cursor('SELECT i FROM n', [], { batchSize: 2 });
      expect((await cursor.next()).value).toEqual({ i: 1 });
    }
    await conn.query('SELECT 1 AS x');
    const never = conn.cursor('SELECT i FROM n');
    await never.close();
    await never.close();
    expect(await never.next()).toEqual({ value: undefined, done: true });
  });

  test('D1: closing the connection mid-loop fails the next pull with 08003 (no silent truncation)', async () => {
    const { db } = numbers(10);
    const conn = await db.connect();
    const seen: number[] = [];
    const loop = async (): Promise<void> => {
      for await (const row of conn.cursor<{ i: number }>('SELECT i FROM n ORDER BY i', [], {
        batchSize: 3,
      })) {
        seen.push(row.i);
        if (row.i === 4) await conn.close();
      }
    };
    await expect(loop()).rejects.toMatchObject({ name: 'DatabaseError', code: '08003' });
    expect(seen).toEqual([1, 2, 3, 4]);
    await db.close();
  });

  test('D1: closing the database mid-loop fails the next pull with 08003', async () => {
    const { db } = numbers(10);
    const conn = await db.connect();
    const seen: number[] = [];
    const loop = async (): Promise<void> => {
      for await (const row of conn.cursor<{ i: number }>('SELECT i FROM n ORDER BY i', [], {
        batchSize: 3,
      })) {
        seen.push(row.i);
        if (row.i === 2) await db.close();
      }
    };
    await expect(loop()).rejects.toMatchObject({ code: '08003' });
    expect(seen).toEqual([1, 2]);
  });

  test('D1: releasing a pooled connection mid-cursor fails the next pull with 08003', async () => {
    const { db } = numbers(10);
    const pool = db.pool({ max: 1 });
    const conn = await pool.acquire();
    const it = conn.cursor('SELECT i FROM n ORDER BY i', [], { batchSize: 3 });
    expect(await it.next()).toEqual({ value: { i: 1 }, done: false });
    await conn.close();
    await expect(it.next()).rejects.toMatchObject({ code: '08003' });
    expect(it.closed).toBe(true);
    expect(pool.stats()).toMatchObject({ inUse: 0, idle: 1 });
    await pool.close();
    await db.close();
  });

  test('D1: a savepoint rolled back under its open cursor fails the next pull with 25000', async () => {
    const { db } = numbers(10);
    await using conn = await db.connect();
    let it: AsyncIterator<unknown> | undefined;
    const outcome = await conn.transaction(async (tx) => {
      await tx
        .transaction(async (sp) => {
          it = sp.cursor('SELECT i FROM n ORDER BY i', [], { batchSize: 3 });
          await it.next();
          throw new Error('undo the savepoint');
        })
        .catch(() => {});
      return it!.next().then(
        () => 'a row',
        (e: unknown) => e,
      );
    });
    expect(outcome).toMatchObject({ name: 'DatabaseError', code: '25000' });
  });

  test('only close() or the end of the rows ends a cursor quietly', async () => {
    const { db } = numbers(4);
    await using conn = await db.connect();
    const it = conn.cursor('SELECT i FROM n ORDER BY i', [], { batchSize: 3 });
    await it.next();
    await it.close();
    expect(await it.next()).toEqual({ value: undefined, done: true });
    const all: unknown[] = [];
    for await (const row of conn.cursor('SELECT i FROM n', [], { batchSize: 3 })) all.push(row);
    expect(all).toHaveLength(4);
  });

  test('a cursor reads a SELECT only; errors surface on the first pull', async () => {
    const { db } = numbers(1);
    await using conn = await db.connect();
    const err = await conn
      .cursor('DELETE FROM n')
      .next()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '0A000' });
    await expect(conn.cursor('SELECT * FROM missing').next()).rejects.toMatchObject({
      code: '42P01',
    });
    await conn.query('SELECT 1 AS x');
  });

  test('a reset mid-cursor (seeded fault) fails the loop with 08006 and the connection is lost', async () => {
    // Find a seed whose open succeeds and a later fetch resets; the run is deterministic.
    for (let seed = 1; seed < 200; seed++) {
      const { db } = numbers(10, { seed, faults: { disconnectRate: 0.3 } });
      const conn = await db.connect();
      const seen: unknown[] = [];
      const error = await (async () => {
        for await (const row of conn.cursor('SELECT i FROM n', [], { batchSize: 2 }))
          seen.push(row.i);
      })().catch((e: unknown) => e);
      if (!(error instanceof DatabaseError) || seen.length === 0) continue;
      expect(error.code).toBe('08006');
      expect(error.message).toMatch(/cursor fetch/);
      expect(conn.broken).toBe(true);
      await expect(conn.query('SELECT 1 AS x')).rejects.toMatchObject({ code: '08006' });
      await conn.close();
      expect(db.openConnections).toBe(0);
      return;
    }
    throw new Error('no seed reset a cursor mid-way');
  });
});
