// Regression tests for the defects of review rv-dbx12 (X1, X2): a cursor that can no longer
// yield a row says so, and a cursor a failed pull cut short never reads as complete.
import { TestClock } from '@weft/core';
import { describe, expect, test } from 'vitest';
import { createDatabase, type Database } from '../src/database.ts';
import { DatabaseError } from '../src/errors.ts';

const rows = Array.from({ length: 10 }, (_, v) => ({ v }));

/** A database on an auto-advancing TestClock with `t (v int)` holding 0..9. */
function database(latency: number): { clock: TestClock; db: Database } {
  const clock = new TestClock({ autoAdvance: true });
  return {
    clock,
    db: createDatabase({ clock, latency, tables: { t: { columns: 'v int', rows } } }),
  };
}

/** What the next pull of `cursor` gives: its value, `done`, or the error's code. */
async function pull(cursor: AsyncIterator<unknown>): Promise<unknown> {
  try {
    const r = await cursor.next();
    return r.done ? 'done' : r.value;
  } catch (error) {
    return error instanceof DatabaseError ? error.code : error;
  }
}

describe('`closed` of a cursor not opened yet is true once it can never open (X1)', () => {
  test('its connection closed by db.close()', async () => {
    const { db } = database(0);
    const conn = await db.connect();
    const cur = conn.cursor('SELECT v FROM t');
    expect(cur.closed).toBe(false);
    await db.close();
    expect(cur.closed).toBe(true);
    expect(await pull(cur)).toBe('08003');
  });

  test('its transaction committed', async () => {
    const { db } = database(0);
    const conn = await db.connect();
    let cur: AsyncIterator<unknown> & { readonly closed: boolean } = undefined as never;
    await conn.transaction(async (tx) => {
      cur = tx.cursor('SELECT v FROM t');
      expect(cur.closed).toBe(false);
      await cur.return?.();
      cur = tx.cursor('SELECT v FROM t');
    });
    expect(cur.closed).toBe(true);
    expect(await pull(cur)).toBe('25000');
    await db.close();
  });
});

describe('a pull that fails ends the cursor with its error: no later pull reports done (X2)', () => {
  test('bad SQL: the first pull and every later one reject 42703', async () => {
    const { db } = database(0);
    const conn = await db.connect();
    const cur = conn.cursor('SELECT nope FROM t');
    expect(await pull(cur)).toBe('42703');
    expect(await pull(cur)).toBe('42703');
    expect(cur.closed).toBe(true);
    await db.close();
  });

  test('the signal aborted during a fetch: the rows so far, then the reason on every pull', async () => {
    const { clock, db } = database(10);
    const conn = await db.connect();
    const controller = new AbortController();
    const reason = new Error('stop');
    const cur = conn.cursor('SELECT v FROM t', [], { batchSize: 2, signal: controller.signal });
    expect([await pull(cur), await pull(cur)]).toEqual([{ v: 0 }, { v: 1 }]);
    clock.schedule(5, () => controller.abort(reason));
    expect(await pull(cur)).toBe(reason);
    expect(await pull(cur)).toBe(reason);
    // The connection is free again for other work.
    expect((await conn.query('SELECT count(*) AS n FROM t')).rows).toEqual([{ n: 10 }]);
    await db.close();
  });

  test('close() during a pull still ends it quietly', async () => {
    const { db } = database(10);
    const conn = await db.connect();
    const cur = conn.cursor('SELECT v FROM t', [], { batchSize: 2 });
    const first = cur.next();
    await cur.close();
    expect((await first).done).toBe(true);
    expect(await pull(cur)).toBe('done');
    await db.close();
  });
});
