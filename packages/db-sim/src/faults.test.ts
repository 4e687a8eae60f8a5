import { gather, TestClock } from '@weft/core';
import { describe, expect, test } from 'vitest';
import { createDatabase } from './database.ts';
import type { FaultOptions } from './faults.ts';

/** A small concurrent program: three clients, a pool, transactions, cursors, faults. */
async function program(
  seed: number,
  faults: FaultOptions,
): Promise<{ hash: string; count: number; time: number; outcomes: string[] }> {
  const clock = new TestClock({ autoAdvance: true });
  const db = createDatabase({
    seed,
    clock,
    latency: { min: 1, max: 30 },
    faults,
    tables: {
      kv: {
        columns: 'k int primary key, v int not null',
        rows: [
          { k: 1, v: 0 },
          { k: 2, v: 0 },
        ],
      },
    },
  });
  const pool = db.pool({ max: 2, acquireTimeout: 200 });
  const outcomes: string[] = [];
  await gather(
    [1, 2, 3].map((client) => async () => {
      for (let i = 0; i < 20; i++) {
        try {
          await pool.transaction(async (tx) => {
            await tx.query('UPDATE kv SET v = v + 1 WHERE k = $1', [(i % 2) + 1], { timeout: 100 });
            for await (const _ of tx.cursor('SELECT * FROM kv', [], { batchSize: 1 })) {
              // read both rows, a fetch each
            }
          });
          outcomes.push(`${client}:${i}:ok`);
        } catch (error) {
          outcomes.push(`${client}:${i}:${(error as { code?: string }).code ?? String(error)}`);
        }
      }
    }),
    { clock },
  );
  await pool.close();
  return { hash: db.trace.hash, count: db.trace.count, time: clock.now(), outcomes };
}

const faults: FaultOptions = {
  queryFailureRate: 0.05,
  disconnectRate: 0.05,
  stallRate: 0.05,
  stallMs: 500,
  refuseRate: 0.05,
  commitUnknownRate: 0.05,
};

describe('determinism', () => {
  test('the same seed and program give the same trace, faults included', async () => {
    const a = await program(11, faults);
    const b = await program(11, faults);
    expect(b).toEqual(a);
    expect(a.outcomes.some((o) => !o.endsWith(':ok'))).toBe(true);
    const c = await program(12, faults);
    expect(c.hash).not.toBe(a.hash);
  });

  test('without faults the same program still replays exactly', async () => {
    const a = await program(3, {});
    expect(a.outcomes.every((o) => o.endsWith(':ok') || o.endsWith(':40001'))).toBe(true);
    expect(await program(3, {})).toEqual(a);
  });
});

describe('faults', () => {
  const clock = (): TestClock => new TestClock({ autoAdvance: true });

  test('refuseRate: connect rejects with 08001', async () => {
    const db = createDatabase({ clock: clock(), faults: { refuseRate: 1 } });
    await expect(db.connect()).rejects.toMatchObject({ code: '08001', retryable: true });
    expect(db.openConnections).toBe(0);
    expect(db.trace.faults).toEqual({ refused: 1 });
  });

  test('queryFailureRate: the statement fails with XX000 and is not applied', async () => {
    const db = createDatabase({
      clock: clock(),
      faults: { queryFailureRate: 1 },
      tables: { t: { columns: 'a int', rows: [] } },
    });
    await using conn = await db.connect();
    await expect(conn.query('INSERT INTO t VALUES (1)')).rejects.toMatchObject({
      code: 'XX000',
      retryable: true,
    });
    expect(db.inspect('t')).toEqual([]);
    expect(conn.broken).toBe(false);
  });

  test('disconnectRate: the connection resets mid-statement with 08006; nothing applied; it stays lost', async () => {
    const db = createDatabase({
      clock: clock(),
      faults: { disconnectRate: 1 },
      tables: { t: { columns: 'a int', rows: [] } },
    });
    const conn = await db.connect();
    await expect(conn.query('INSERT INTO t VALUES (1)')).rejects.toMatchObject({ code: '08006' });
    expect(conn.broken).toBe(true);
    expect(db.inspect('t')).toEqual([]);
    await expect(conn.query('SELECT 1 AS x')).rejects.toThrow(/was lost earlier/);
    await conn.close();
    expect(db.openConnections).toBe(0);
  });

  test('stallRate: a stalled statement waits stallMs more; a statement timeout ends it with 57014', async () => {
    const c = clock();
    const db = createDatabase({ clock: c, latency: 10, faults: { stallRate: 1, stallMs: 5000 } });
    await using conn = await db.connect();
    const started = c.now();
    await conn.query('SELECT 1 AS x');
    expect(c.now() - started).toBe(5010);
    await expect(conn.query('SELECT 1 AS x', [], { timeout: 100 })).rejects.toMatchObject({
      code: '57014',
    });
  });

  test('commitUnknownRate only touches COMMIT', async () => {
    const db = createDatabase({
      clock: clock(),
      faults: { commitUnknownRate: 1 },
      tables: { t: { columns: 'a int', rows: [] } },
    });
    await using conn = await db.connect();
    await conn.query('INSERT INTO t VALUES (1)'); // autocommit statements are not COMMITs
    expect(db.trace.faults).toEqual({});
  });

  test('latency: a fixed value, a seeded range, or a function of the seeded source', async () => {
    const c = clock();
    const fixed = createDatabase({ clock: c, latency: 7 });
    const t0 = c.now();
    await (await fixed.connect()).close();
    expect(c.now() - t0).toBe(7);
    const ranged = createDatabase({ clock: c, seed: 5, latency: { min: 10, max: 20 } });
    const t1 = c.now();
    await (await ranged.connect()).close();
    expect(c.now() - t1).toBeGreaterThanOrEqual(10);
    expect(c.now() - t1).toBeLessThanOrEqual(20);
    const custom = createDatabase({ clock: c, latency: (random) => (random.chance(0.5) ? 1 : 2) });
    await (await custom.connect()).close();
    const broken = createDatabase({ clock: c, latency: () => -1 });
    await expect(broken.connect()).rejects.toThrow(/`options.latency` to give a finite number/);
  });
});

describe('trace', () => {
  test('records what happened, when and where; keeps the newest traceLimit events; hashes them all', async () => {
    const c = new TestClock({ autoAdvance: true });
    const db = createDatabase({ clock: c, latency: 2, traceLimit: 3 });
    await using conn = await db.connect();
    await conn.query('SELECT 1 AS one');
    expect(db.trace.count).toBe(4);
    expect(db.trace.events.map((e) => [e.seq, e.time, e.connection, e.type, e.detail])).toEqual([
      [2, 2, conn.id, 'connected', ''],
      [3, 2, conn.id, 'query', 'SELECT 1 AS one'],
      [4, 4, conn.id, 'ok', 'SELECT 1'],
    ]);
    expect(db.trace.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(db.trace.toString()).toContain('4 4.000 #1 ok SELECT 1');
  });
});
