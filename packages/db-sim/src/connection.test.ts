import { CancelledError, scope, TestClock, TimeoutError, timeout } from '@weft/core';
import { describe, expect, test } from 'vitest';
import { collectUnhandled, countingController } from '../test/helpers.ts';
import { createDatabase } from './database.ts';
import { DatabaseError } from './errors.ts';

const accounts = {
  accounts: {
    columns: 'id int primary key, balance int not null',
    rows: [{ id: 1, balance: 100 }],
  },
};

describe('connect / query / dispose', () => {
  test('the tutorial story: await using connects, queries, and closes on the way out', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const db = createDatabase({ seed: 1, clock, latency: { min: 10, max: 20 }, tables: accounts });
    let outer: { closed: boolean } | undefined;
    {
      await using conn = await db.connect();
      outer = conn;
      const { rows } = await conn.query('SELECT balance FROM accounts WHERE id = $1', [1]);
      expect(rows).toEqual([{ balance: 100 }]);
      expect(db.openConnections).toBe(1);
    }
    expect(outer.closed).toBe(true);
    expect(db.openConnections).toBe(0);
    // Two round trips (connect, query) of 10–20 ms each, all in virtual time.
    expect(clock.now()).toBeGreaterThanOrEqual(20);
    expect(clock.now()).toBeLessThanOrEqual(40);
    expect(clock.pendingTimers).toBe(0);
  });

  test('a minute of latency costs no real time on a TestClock', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const db = createDatabase({ clock, latency: 60_000 });
    await using conn = await db.connect();
    await conn.query('SELECT 1 AS one');
    await conn.query('SELECT 2 AS two');
    expect(clock.now()).toBe(180_000); // with real timers this test would time out
  });

  test('using a closed connection rejects with 08003 naming it', async () => {
    const db = createDatabase({ latency: 0 });
    const conn = await db.connect();
    await conn.close();
    await conn.close(); // a second close does nothing
    const err = await conn.query('SELECT 1 AS x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseError);
    expect(err).toMatchObject({ code: '08003', message: `connection #${conn.id} is closed` });
    expect(() => conn.cursor('SELECT 1 AS x')).toThrow(/is closed/);
  });

  test('a second concurrent call rejects at once with 55006; the first completes', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const db = createDatabase({ clock, latency: 5, tables: accounts });
    await using conn = await db.connect();
    const first = conn.query('UPDATE accounts SET balance = balance + 1 WHERE id = 1');
    const second = await conn.query('SELECT * FROM accounts').catch((e: unknown) => e);
    expect(second).toMatchObject({ code: '55006' });
    expect((second as Error).message).toMatch(/busy: a query \(UPDATE accounts/);
    expect((await first).rowCount).toBe(1);
    expect((await conn.query('SELECT balance FROM accounts')).rows).toEqual([{ balance: 101 }]);
  });

  test('cancelling a query rejects with the reason, applies nothing, frees the connection and leaves no listener', async () => {
    const clock = new TestClock();
    const db = createDatabase({ clock, latency: 100, tables: accounts });
    const opening = db.connect();
    await clock.advance(100);
    await using conn = await opening;
    const { controller, signal, listeners } = countingController();
    const pending = conn.query('UPDATE accounts SET balance = 0', [], { signal });
    await clock.advance(50);
    expect(listeners()).toBe(1);
    const reason = new CancelledError('user gave up');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(listeners()).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    expect(db.inspect('accounts')).toEqual([{ id: 1, balance: 100 }]);
    const again = conn.query('SELECT balance FROM accounts');
    await clock.advance(100);
    expect((await again).rows).toEqual([{ balance: 100 }]);
    await expect(conn.query('SELECT 1 AS x', [], { signal })).rejects.toBe(reason);
  });

  test('a statement timeout cancels with 57014 and applies nothing', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const db = createDatabase({ clock, latency: 100, tables: accounts });
    await using conn = await db.connect();
    const err = await conn
      .query('UPDATE accounts SET balance = 0', [], { timeout: 30 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '57014' });
    expect((err as Error).message).toMatch(/statement timeout \(30 ms\)/);
    expect(db.inspect('accounts')[0]!.balance).toBe(100);
  });

  test('inside a weft task, queries take the task signal and deadline without being passed anything', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const db = createDatabase({ clock, latency: 1000, tables: accounts });
    await using conn = await db.connect();
    await expect(
      timeout(500, () => conn.query('UPDATE accounts SET balance = 0'), { clock }),
    ).rejects.toBeInstanceOf(TimeoutError);
    await expect(
      scope(
        async (s) => {
          s.spawn(() => conn.query('UPDATE accounts SET balance = 1'));
          s.spawn(async () => {
            throw new Error('sibling failed');
          });
        },
        { clock },
      ),
    ).rejects.toThrow(/sibling failed/);
    expect(db.inspect('accounts')[0]!.balance).toBe(100);
    // An explicit signal adds to the task's: either one cancels.
    const controller = new AbortController();
    const unhandled = await collectUnhandled(async () => {
      await scope(
        async () => {
          const p = conn.query('SELECT 1 AS x', [], { signal: controller.signal });
          controller.abort(new CancelledError('explicit'));
          await expect(p).rejects.toThrow('explicit');
        },
        { clock },
      );
    });
    expect(unhandled).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  test('closing a connection while a query is in flight rejects the query with 08003', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const db = createDatabase({ clock, latency: 100 });
    const conn = await db.connect();
    const pending = conn.query('SELECT 1 AS x');
    await conn.close();
    await expect(pending).rejects.toMatchObject({ code: '08003' });
    expect(db.openConnections).toBe(0);
  });

  test('rows can be typed with a plain interface', async () => {
    interface Account {
      id: number;
      balance: number;
    }
    const db = createDatabase({ latency: 0, tables: accounts });
    await using conn = await db.connect();
    const { rows } = await conn.query<Account>('SELECT id, balance FROM accounts');
    const total: number = rows.reduce((sum, a) => sum + a.balance, 0);
    expect(total).toBe(100);
    for await (const a of conn.cursor<Account>('SELECT id, balance FROM accounts'))
      expect(a.id).toBe(1);
  });

  test('closing the database closes its connections; they report closed and reject with 08003', async () => {
    const db = createDatabase({ latency: 0 });
    const conn = await db.connect();
    await db.close();
    expect(conn.closed).toBe(true);
    expect(db.openConnections).toBe(0);
    await expect(conn.query('SELECT 1 AS x')).rejects.toMatchObject({ code: '08003' });
    await expect(db.connect()).rejects.toMatchObject({
      code: '08003',
      message: 'the database is closed',
    });
  });

  test('bad arguments are TypeErrors naming the argument and the value', async () => {
    const db = createDatabase({ latency: 0 });
    await using conn = await db.connect();
    await expect(conn.query(42 as never)).rejects.toThrow(
      'Expected `sql` to be a string, got `42` (number)',
    );
    await expect(conn.query('SELECT $1 AS x', [{ a: 1 }] as never)).rejects.toThrow(
      /`params\[0\]` to be null, a finite number, a string or a boolean/,
    );
    await expect(conn.query('SELECT 1 AS x', [], { timout: 5 } as never)).rejects.toThrow(
      'Did you mean `timeout`?',
    );
    await expect(conn.query('SELECT 1 AS x', [], { timeout: -1 })).rejects.toThrow(RangeError);
    expect(() => conn.cursor('SELECT 1 AS x', [], { batchSize: 0 })).toThrow(
      /`options.batchSize` to be an integer from 1/,
    );
    await expect(conn.transaction('nope' as never)).rejects.toThrow(
      'Expected `fn` to be a function',
    );
    expect(() => createDatabase({ sed: 1 } as never)).toThrow('Did you mean `seed`?');
    expect(() => createDatabase({ seed: 1.5 })).toThrow(/`options.seed` to be a safe integer/);
    expect(() => createDatabase({ latency: { min: 5, max: 1 } })).toThrow(RangeError);
    expect(() => createDatabase({ faults: { disconectRate: 0.1 } } as never)).toThrow(
      'Did you mean `disconnectRate`?',
    );
    expect(() => createDatabase({ faults: { refuseRate: 2 } })).toThrow(
      /`options.faults.refuseRate` to be a probability/,
    );
  });
});
