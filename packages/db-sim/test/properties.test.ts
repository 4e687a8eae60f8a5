// Property-based checks (fast-check): the parser fails only with DatabaseError, and
// concurrent read-modify-write transactions never lose an update, whatever the seed,
// latencies and number of clients.
import { gather, TestClock } from '@weft/core';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createDatabase } from '../src/database.ts';
import { DatabaseError, SqlState } from '../src/errors.ts';
import { parse } from '../src/sql/parser.ts';

const tokens = [
  'SELECT',
  'FROM',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  'IN',
  'LIKE',
  'IS',
  'NULL',
  'ORDER',
  'BY',
  'LIMIT',
  'OFFSET',
  'INSERT',
  'INTO',
  'VALUES',
  'UPDATE',
  'SET',
  'DELETE',
  'CREATE',
  'TABLE',
  'RETURNING',
  'count',
  '(',
  ')',
  '*',
  ',',
  '=',
  '<>',
  '<',
  '>=',
  '+',
  '-',
  '/',
  ';',
  '$1',
  '$2',
  "'x'",
  "'",
  '"t"',
  '1',
  '2.5',
  't',
  'a',
  'b',
  'int',
  'text',
  'primary',
  'key',
];

describe('properties', () => {
  test('parsing any text either succeeds or throws a DatabaseError, never anything else', () => {
    const sql = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.array(fc.constantFrom(...tokens), { maxLength: 14 }).map((parts) => parts.join(' ')),
    );
    fc.assert(
      fc.property(sql, (text) => {
        try {
          parse(text);
        } catch (error) {
          if (!(error instanceof DatabaseError)) throw error;
          if (error.code === SqlState.syntaxError && error.position !== undefined) {
            expect(error.position).toBeGreaterThanOrEqual(1);
            expect(error.position).toBeLessThanOrEqual(text.length + 1);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('no lost update: the counter equals the number of committed increments; failures are 40001', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 1, max: 5 }),
        async (seed, clients, rounds) => {
          const clock = new TestClock({ autoAdvance: true });
          const db = createDatabase({
            seed,
            clock,
            latency: { min: 0, max: 20 },
            tables: {
              c: { columns: 'id int primary key, n int not null', rows: [{ id: 1, n: 0 }] },
            },
          });
          let committed = 0;
          const conns = await Promise.all(Array.from({ length: clients }, () => db.connect()));
          await gather(
            conns.map((conn) => async () => {
              for (let r = 0; r < rounds; r++) {
                try {
                  await conn.transaction(async (tx) => {
                    const { rows } = await tx.query<{ n: number }>('SELECT n FROM c WHERE id = 1');
                    await tx.query('UPDATE c SET n = $1 WHERE id = 1', [rows[0]!.n + 1]);
                  });
                  committed++;
                } catch (error) {
                  expect(error).toMatchObject({ code: SqlState.serializationFailure });
                }
              }
            }),
            { clock },
          );
          expect(db.inspect('c')[0]!.n).toBe(committed);
          expect(committed).toBeGreaterThan(0);
          await db.close();
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });
});
