// The README's examples, run as written (console output captured).
import { scope, TestClock } from '@weft/core';
import { expect, test } from 'vitest';
import { createDatabase } from '../src/index.ts';

function capture(): { lines: unknown[][]; log: (...args: unknown[]) => void } {
  const lines: unknown[][] = [];
  return { lines, log: (...args) => lines.push(args) };
}

test('README: the first example', async () => {
  const console = capture();
  const clock = new TestClock({ autoAdvance: true });
  await using db = createDatabase({ seed: 42, clock, latency: { min: 5, max: 20 } });
  {
    await using conn = await db.connect();
    await conn.query('CREATE TABLE users (id serial primary key, email text unique not null)');
    await conn.query('INSERT INTO users (email) VALUES ($1), ($2)', [
      'ada@example.com',
      'bob@example.com',
    ]);
    const { rows } = await conn.query('SELECT id, email FROM users WHERE email LIKE $1', [
      '%@example.com',
    ]);
    console.log(rows);
    for await (const user of conn.cursor('SELECT email FROM users ORDER BY id', [], {
      batchSize: 1,
    })) {
      console.log(user.email);
    }
  }
  expect(console.lines).toEqual([
    [
      [
        { id: 1, email: 'ada@example.com' },
        { id: 2, email: 'bob@example.com' },
      ],
    ],
    ['ada@example.com'],
    ['bob@example.com'],
  ]);
  expect(db.openConnections).toBe(0);
});

test('README: structured by default', async () => {
  const console = capture();
  const clock = new TestClock({ autoAdvance: true });
  const db = createDatabase({ clock, latency: 50, tables: { t: { columns: 'v int' } } });
  const pool = db.pool({ max: 2 });
  await scope(
    async (s) => {
      s.spawn(async () => {
        await using conn = await pool.acquire();
        await conn.query('INSERT INTO t VALUES (1)');
      });
    },
    { clock, timeout: 80 },
  ).catch((err) => console.log(err.name));
  console.log(pool.stats().inUse, db.inspect('t'));
  expect(console.lines).toEqual([['TimeoutError'], [0, []]]);
  expect(db.trace.events.some((e) => e.type === 'query')).toBe(true);
  await pool.close();
});
