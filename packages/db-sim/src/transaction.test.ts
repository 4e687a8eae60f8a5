import { CancelledError, gather, retry, scope, TestClock } from '@weft/core';
import { describe, expect, test } from 'vitest';
import { collectUnhandled } from '../test/helpers.ts';
import { createDatabase, type Database } from './database.ts';
import { DatabaseError, SqlState } from './errors.ts';

function bank(options: Parameters<typeof createDatabase>[0] = {}): {
  db: Database;
  clock: TestClock;
} {
  const clock = new TestClock({ autoAdvance: true });
  const db = createDatabase({
    clock,
    latency: { min: 1, max: 5 },
    tables: {
      accounts: {
        columns: 'id int primary key, owner text unique, balance int not null',
        rows: [
          { id: 1, owner: 'ada', balance: 100 },
          { id: 2, owner: 'bob', balance: 50 },
        ],
      },
    },
    ...options,
  });
  return { db, clock };
}

const balance = (db: Database, id: number): unknown =>
  db.inspect('accounts').find((r) => r.id === id)?.balance;

describe('transaction', () => {
  test('commits when the callback returns, and resolves with its value', async () => {
    const { db } = bank();
    await using conn = await db.connect();
    const moved = await conn.transaction(async (tx) => {
      await tx.query('UPDATE accounts SET balance = balance - 30 WHERE id = 1');
      await tx.query('UPDATE accounts SET balance = balance + 30 WHERE id = 2');
      return 30;
    });
    expect(moved).toBe(30);
    expect([balance(db, 1), balance(db, 2)]).toEqual([70, 80]);
    expect(conn.inTransaction).toBe(false);
  });

  test('rolls back when the callback throws, and rejects with that error', async () => {
    const { db } = bank();
    await using conn = await db.connect();
    const boom = new Error('insufficient funds');
    await expect(
      conn.transaction(async (tx) => {
        await tx.query('UPDATE accounts SET balance = balance - 500 WHERE id = 1');
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(balance(db, 1)).toBe(100);
    expect(db.trace.events.some((e) => e.type === 'rollback')).toBe(true);
    await conn.query('SELECT 1 AS x'); // the connection is free again
  });

  test('no dirty reads: uncommitted writes are invisible to other connections until commit', async () => {
    const { db } = bank();
    await using writer = await db.connect();
    await using reader = await db.connect();
    const seen: unknown[] = [];
    await writer.transaction(async (tx) => {
      await tx.query('UPDATE accounts SET balance = 0 WHERE id = 1');
      expect((await tx.query('SELECT balance FROM accounts WHERE id = 1')).rows[0]!.balance).toBe(
        0,
      ); // its own write
      seen.push((await reader.query('SELECT balance FROM accounts WHERE id = 1')).rows[0]!.balance);
    });
    seen.push((await reader.query('SELECT balance FROM accounts WHERE id = 1')).rows[0]!.balance);
    expect(seen).toEqual([100, 0]);
  });

  test('snapshot isolation: a transaction keeps reading the snapshot it started with', async () => {
    const { db } = bank();
    await using a = await db.connect();
    await using b = await db.connect();
    await a.transaction(async (tx) => {
      const before = (await tx.query('SELECT balance FROM accounts WHERE id = 2')).rows[0]!.balance;
      await b.query('UPDATE accounts SET balance = 999 WHERE id = 2');
      const after = (await tx.query('SELECT balance FROM accounts WHERE id = 2')).rows[0]!.balance;
      expect([before, after]).toEqual([50, 50]);
    });
    expect((await a.query('SELECT balance FROM accounts WHERE id = 2')).rows[0]!.balance).toBe(999);
  });

  test('no lost update: two concurrent increments either both land or one fails with 40001', async () => {
    const { db, clock } = bank();
    await using a = await db.connect();
    await using b = await db.connect();
    const increment = (conn: typeof a) =>
      conn.transaction(async (tx) => {
        const { rows } = await tx.query<{ balance: number }>(
          'SELECT balance FROM accounts WHERE id = 1',
        );
        await tx.query('UPDATE accounts SET balance = $1 WHERE id = 1', [rows[0]!.balance + 1]);
      });
    const outcomes = await Promise.allSettled([increment(a), increment(b)]);
    const failures = outcomes
      .filter((o) => o.status === 'rejected')
      .map((o) => (o as PromiseRejectedResult).reason as DatabaseError);
    expect(failures).toHaveLength(1);
    expect(failures[0]!.code).toBe(SqlState.serializationFailure);
    expect(failures[0]!.retryable).toBe(true);
    expect(balance(db, 1)).toBe(101);
    // With retry from @weft/core, both land.
    const retrying = (conn: typeof a) =>
      retry(() => increment(conn), {
        clock,
        attempts: 5,
        retryIf: (e) => e instanceof DatabaseError && e.code === SqlState.serializationFailure,
      });
    await gather([() => retrying(a), () => retrying(b)], { clock });
    expect(balance(db, 1)).toBe(103);
  });

  test('a key inserted concurrently by a committed transaction fails the later commit with 23505', async () => {
    const { db } = bank();
    await using a = await db.connect();
    await using b = await db.connect();
    const err = await a
      .transaction(async (tx) => {
        await tx.query("INSERT INTO accounts VALUES (3, 'cy', 0)");
        await b.query("INSERT INTO accounts VALUES (4, 'cy', 0)");
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '23505' });
    expect(db.inspect('accounts').map((r) => r.id)).toEqual([1, 2, 4]);
  });

  test('savepoints: a failing nested transaction rolls back only itself', async () => {
    const { db } = bank();
    await using conn = await db.connect();
    await conn.transaction(async (tx) => {
      await tx.query('UPDATE accounts SET balance = 1 WHERE id = 1');
      await expect(
        tx.transaction(async (sp) => {
          expect(sp.depth).toBe(1);
          await sp.query('UPDATE accounts SET balance = 2 WHERE id = 2');
          await sp.query("INSERT INTO accounts VALUES (9, 'ada', 0)"); // 23505
        }),
      ).rejects.toMatchObject({ code: '23505' });
      await tx.transaction(async (sp) => {
        await sp.query('UPDATE accounts SET balance = 3 WHERE id = 2');
      });
    });
    expect([balance(db, 1), balance(db, 2)]).toEqual([1, 3]);
  });

  test('after a caught error the transaction is aborted: statements fail with 25P02 and it rolls back', async () => {
    const { db } = bank();
    await using conn = await db.connect();
    const err = await conn
      .transaction(async (tx) => {
        await tx.query('UPDATE accounts SET balance = 0 WHERE id = 1');
        await tx.query('SELEC oops').catch(() => {});
        await expect(tx.query('SELECT 1 AS x')).rejects.toMatchObject({ code: '25P02' });
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '25P02' });
    expect((err as DatabaseError).cause).toMatchObject({ code: '42601' });
    expect(balance(db, 1)).toBe(100);
  });

  test('the connection belongs to the transaction while it is open; its handle dies with it', async () => {
    const { db } = bank();
    await using conn = await db.connect();
    let leaked: { query: (sql: string) => Promise<unknown> } | undefined;
    await conn.transaction(async (tx) => {
      leaked = tx;
      expect(conn.inTransaction).toBe(true);
      await expect(conn.query('SELECT 1 AS x')).rejects.toMatchObject({ code: '55006' });
    });
    await expect(leaked!.query('SELECT 1 AS x')).rejects.toMatchObject({ code: '25000' });
  });

  test('cancellation rolls back with a shielded rollback and rejects with the reason', async () => {
    const { db, clock } = bank({ latency: 20 });
    await using conn = await db.connect();
    const reason = new CancelledError('user left');
    const unhandled = await collectUnhandled(async () => {
      const controller = new AbortController();
      const pending = conn.transaction(
        async (tx) => {
          await tx.query('UPDATE accounts SET balance = 0 WHERE id = 1');
          controller.abort(reason);
          await tx.query('UPDATE accounts SET balance = 0 WHERE id = 2');
        },
        { signal: controller.signal },
      );
      await expect(pending).rejects.toBe(reason);
    });
    expect(unhandled).toEqual([]);
    expect([balance(db, 1), balance(db, 2)]).toEqual([100, 50]);
    // The ROLLBACK round trip completed although the caller was cancelled.
    const types = db.trace.events.map((e) => `${e.type} ${e.detail}`);
    expect(types.slice(-2)).toEqual(['rollback 0', 'ok ROLLBACK']);
    expect(clock.pendingTimers).toBe(0);
    await conn.query('SELECT 1 AS x');
  });

  test('a callback that swallows its cancellation still ends in a rollback and the cancellation', async () => {
    const { db } = bank({ latency: 20 });
    await using conn = await db.connect();
    const controller = new AbortController();
    const reason = new CancelledError('stop');
    const pending = conn.transaction(
      async (tx) => {
        await tx.query('UPDATE accounts SET balance = 0 WHERE id = 1');
        controller.abort(reason);
        await tx.query('UPDATE accounts SET balance = 0 WHERE id = 2').catch(() => {});
        return 'done anyway';
      },
      { signal: controller.signal },
    );
    await expect(pending).rejects.toBe(reason);
    expect(balance(db, 1)).toBe(100);
  });

  test('a cancelled task rolls back its transaction; the rollback finishes inside the cancelled scope', async () => {
    const { db, clock } = bank({ latency: 20 });
    await using conn = await db.connect();
    let rolledBackBeforeScopeEnded = false;
    await expect(
      scope(
        async (s) => {
          s.spawn(async () => {
            try {
              await conn.transaction(async (tx) => {
                await tx.query('UPDATE accounts SET balance = 0 WHERE id = 1');
                throw new Error('task failed');
              });
            } finally {
              rolledBackBeforeScopeEnded = db.trace.events.at(-1)?.detail === 'ROLLBACK';
            }
          });
        },
        { clock },
      ),
    ).rejects.toThrow('task failed');
    expect(rolledBackBeforeScopeEnded).toBe(true);
    expect(balance(db, 1)).toBe(100);
    expect(conn.inTransaction).toBe(false);
  });

  test('a COMMIT whose outcome is unknown (08007) applied on the server; the connection is lost', async () => {
    const { db } = bank({ faults: { commitUnknownRate: 1 } });
    const conn = await db.connect();
    const err = await conn
      .transaction((tx) => tx.query('UPDATE accounts SET balance = 7 WHERE id = 1'))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '08007' });
    expect(balance(db, 1)).toBe(7); // it did commit: reading back is the only way to know
    expect(conn.broken).toBe(true);
    await conn.close();
  });
});
