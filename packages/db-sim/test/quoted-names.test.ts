// Probe P9: the SQL lexer ended a double-quoted identifier at the first `"`, so the
// standard `""` escape inside one (`"a""b"` for the name a"b) was read as two names, a
// syntax error; and `db.inspect` had no way to reach a table created as `"Users"` (its
// argument `Users` folds to `users`, and `'"Users"'` was taken with its quotes). Names
// must round-trip: what a query created, `inspect`, SQL and error messages name alike.
import { TestClock } from '@weft/core';
import { describe, expect, test } from 'vitest';
import { createDatabase } from '../src/database.ts';
import type { DatabaseError } from '../src/errors.ts';
import { parse } from '../src/sql/parser.ts';

function setup() {
  const clock = new TestClock({ autoAdvance: true });
  return createDatabase({ clock, latency: 0 });
}

async function failure(run: () => unknown): Promise<DatabaseError> {
  try {
    await run();
  } catch (error) {
    return error as DatabaseError;
  }
  throw new Error('expected a failure');
}

describe('quoted identifiers and string literals (probe P9)', () => {
  test('"" inside a quoted identifier is one ", in table, column and alias names', async () => {
    expect(parse('SELECT "a""b" AS "x""y" FROM "t""u"').stmt).toMatchObject({
      from: { name: 't"u' },
      items: [{ expr: { k: 'col', name: 'a"b' }, alias: 'x"y' }],
    });
    expect(parse('SELECT """" FROM """lead"').stmt).toMatchObject({
      from: { name: '"lead' },
      items: [{ expr: { k: 'col', name: '"' } }],
    });
    await using db = setup();
    await using conn = await db.connect();
    await conn.query('CREATE TABLE "Users" (id int primary key, "Na""me" text)');
    await conn.query(`INSERT INTO "Users" (id, "Na""me") VALUES (1, 'O''Brien')`);
    const { rows } = await conn.query('SELECT "Na""me" AS "x""y", id FROM "Users"');
    expect(rows).toEqual([{ 'x"y': "O'Brien", id: 1 }]);
  });

  test("'' inside a string literal is one ', including a literal of quotes only", async () => {
    await using db = setup();
    await using conn = await db.connect();
    const { rows } = await conn.query("SELECT 'it''s' AS s, '' AS e, '''' AS q, '\"' AS d");
    expect(rows).toEqual([{ s: "it's", e: '', q: "'", d: '"' }]);
  });

  test('an unterminated or empty quoted identifier is still 42601, at its opening quote', () => {
    expect(() => parse('SELECT "a""b FROM t')).toThrow(/unterminated quoted identifier/);
    expect(() => parse('SELECT "a""')).toThrow(/unterminated quoted identifier \(at character 8\)/);
    expect(() => parse('SELECT "" FROM t')).toThrow(/zero-length delimited identifier/);
    expect(() => parse('SELECT "__proto__" FROM t')).toThrow(/__proto__/);
  });

  test('inspect reaches a table created quoted: by its quoted name, "" escapes included', async () => {
    await using db = setup();
    await using conn = await db.connect();
    await conn.query('CREATE TABLE "Users" (id int)');
    await conn.query('CREATE TABLE "a""b" ("Q""ty" int)');
    await conn.query('INSERT INTO "Users" VALUES (1)');
    await conn.query('INSERT INTO "a""b" VALUES (2)');
    expect(db.inspect('"Users"')).toEqual([{ id: 1 }]);
    // A name that is no plain identifier is taken exactly, as before; or quoted, as in SQL.
    expect(db.inspect('a"b')).toEqual([{ 'Q"ty': 2 }]);
    expect(db.inspect('"a""b"')).toEqual([{ 'Q"ty': 2 }]);
    // Unquoted, `Users` folds to `users`, as in SQL; the error names the table that exists.
    const folded = await failure(() => db.inspect('Users'));
    expect(folded.code).toBe('42P01');
    expect(folded.message).toMatch(/relation "users" does not exist \(a table "Users" does/);
  });

  test('a table seeded under a quoted name is the name inside, "" escapes included', async () => {
    const clock = new TestClock({ autoAdvance: true });
    await using db = createDatabase({
      clock,
      latency: 0,
      tables: {
        '"Users"': { columns: 'id int', rows: [{ id: 1 }] },
        '"a""b"': { columns: '"c""d" int', rows: [{ 'c"d': 2 }] },
      },
    });
    await using conn = await db.connect();
    expect((await conn.query('SELECT id FROM "Users"')).rows).toEqual([{ id: 1 }]);
    expect((await conn.query('SELECT "c""d" FROM "a""b"')).rows).toEqual([{ 'c"d': 2 }]);
    expect(db.inspect('"a""b"')).toEqual([{ 'c"d': 2 }]);
  });

  test('error messages quote names so that they read back: the name in the message reaches the table', async () => {
    await using db = setup();
    await using conn = await db.connect();
    await conn.query('CREATE TABLE "a""b" (v int not null)');
    const missing = await failure(() => conn.query('SELECT * FROM "a""c"'));
    expect(missing.message).toBe('relation "a""c" does not exist');
    const column = await failure(() => conn.query('SELECT "q""r" FROM "a""b"'));
    expect(column.message).toBe('column "q""r" does not exist in "a""b"');
    const notNull = await failure(() => conn.query('INSERT INTO "a""b" VALUES (NULL)'));
    expect(notNull.message).toMatch(/column "v" of relation "a""b" violates/);
    const exists = await failure(() => conn.query('CREATE TABLE "a""b" (v int)'));
    expect(exists.message).toBe('relation "a""b" already exists');
    // The quoted name shown is one inspect and SQL take back as the same table.
    const shown = /relation ("(?:[^"]|"")+")/.exec(exists.message)![1]!;
    expect(db.inspect(shown)).toEqual([]);
    expect((await conn.query(`SELECT count(*) AS n FROM ${shown}`)).rows).toEqual([{ n: 0 }]);
    // A syntax error shows a quoted name or a string as written.
    expect((await failure(() => conn.query('DROP "a""b"'))).message).toBe(
      'syntax error at or near ""a""b"" (at character 6)',
    );
    expect((await failure(() => conn.query("DROP 'it''s'"))).message).toBe(
      "syntax error at or near \"'it''s'\" (at character 6)",
    );
  });
});
