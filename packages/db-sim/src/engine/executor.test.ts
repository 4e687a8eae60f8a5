import { describe, expect, test } from 'vitest';
import { createDatabase, type Database } from '../database.ts';
import { DatabaseError } from '../errors.ts';
import type { Connection } from '../types.ts';
import { createRandom } from '../random.ts';
import type { Value } from '../sql/ast.ts';

async function setup(): Promise<{ db: Database; conn: Connection }> {
  const db = createDatabase({
    latency: 0,
    tables: {
      people: {
        columns:
          'id serial primary key, name text not null, email text unique, age int, active boolean default true',
        rows: [
          { name: 'Ada', email: 'ada@example.com', age: 36 },
          { name: 'Bob', email: 'bob@example.com', age: 25 },
          { name: 'Cy', email: null, age: null },
          { name: 'Dee', email: 'dee@example.org', age: 41, active: false },
        ],
      },
    },
  });
  return { db, conn: await db.connect() };
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    if (error instanceof DatabaseError) return error.code;
    throw error;
  }
  throw new Error('expected a DatabaseError');
}

const names = (rows: { name?: unknown }[]): unknown[] => rows.map((r) => r.name);

describe('SELECT', () => {
  test('columns, *, aliases and expressions', async () => {
    const { conn } = await setup();
    const all = await conn.query('SELECT * FROM people WHERE id = 1');
    expect(all.rows).toEqual([
      { id: 1, name: 'Ada', email: 'ada@example.com', age: 36, active: true },
    ]);
    expect(all.fields).toEqual(['id', 'name', 'email', 'age', 'active']);
    const some = await conn.query('SELECT name, age + 1 AS next FROM people WHERE id = 2');
    expect(some.rows).toEqual([{ name: 'Bob', next: 26 }]);
    // Numbers are JavaScript numbers: `/` divides exactly.
    expect((await conn.query('SELECT 7 / 2 AS q, 7 % 2 AS r, -(1 + 2) * 2 AS n')).rows).toEqual([
      { q: 3.5, r: 1, n: -6 },
    ]);
    expect(await code(conn.query('UPDATE people SET age = age / 5'))).toBe('42804');
  });

  test('WHERE: comparisons, AND/OR/NOT, IN, LIKE, IS NULL with three-valued logic', async () => {
    const { conn } = await setup();
    const q = async (where: string, params: (string | number | null)[] = []) =>
      names((await conn.query(`SELECT name FROM people WHERE ${where} ORDER BY id`, params)).rows);
    expect(await q('age >= 36')).toEqual(['Ada', 'Dee']);
    expect(await q('age < 30 OR name = $1', ['Dee'])).toEqual(['Bob', 'Dee']);
    expect(await q('NOT active')).toEqual(['Dee']);
    expect(await q('age <> 25')).toEqual(['Ada', 'Dee']); // NULL <> 25 is NULL: Cy is left out
    expect(await q('id IN (1, 3)')).toEqual(['Ada', 'Cy']);
    expect(await q('id NOT IN (1, NULL)')).toEqual([]); // NOT IN with a NULL is never true
    expect(await q("email LIKE '%.com'")).toEqual(['Ada', 'Bob']);
    expect(await q("name ILIKE 'a_a'")).toEqual(['Ada']);
    expect(await q("email NOT LIKE '%.com'")).toEqual(['Dee']);
    expect(await q('email IS NULL')).toEqual(['Cy']);
    expect(await q('age IS NOT NULL AND active')).toEqual(['Ada', 'Bob']);
    expect(await q('age = NULL')).toEqual([]);
  });

  test('ORDER BY (NULLs last ascending, first descending), LIMIT and OFFSET', async () => {
    const { conn } = await setup();
    expect(names((await conn.query('SELECT name FROM people ORDER BY age')).rows)).toEqual([
      'Bob',
      'Ada',
      'Dee',
      'Cy',
    ]);
    expect(names((await conn.query('SELECT name FROM people ORDER BY age DESC')).rows)).toEqual([
      'Cy',
      'Dee',
      'Ada',
      'Bob',
    ]);
    expect(
      names(
        (await conn.query('SELECT name, age AS a FROM people ORDER BY active, a DESC LIMIT 2'))
          .rows,
      ),
    ).toEqual(['Dee', 'Cy']);
    expect(
      names(
        (await conn.query('SELECT name FROM people ORDER BY 1 LIMIT $1 OFFSET $2', [2, 1])).rows,
      ),
    ).toEqual(['Bob', 'Cy']);
    expect(await code(conn.query('SELECT name FROM people LIMIT -1'))).toBe('22023');
  });

  test('COUNT, SUM, MIN and MAX', async () => {
    const { conn } = await setup();
    const { rows } = await conn.query(
      'SELECT count(*), count(age) AS aged, sum(age) AS total, min(name) AS first, max(age) AS oldest FROM people',
    );
    expect(rows).toEqual([{ count: 4, aged: 3, total: 102, first: 'Ada', oldest: 41 }]);
    expect((await conn.query('SELECT count(*) AS n FROM people WHERE age > 100')).rows).toEqual([
      { n: 0 },
    ]);
    expect((await conn.query('SELECT sum(age) AS s FROM people WHERE age > 100')).rows).toEqual([
      { s: null },
    ]);
    expect(await code(conn.query('SELECT name, count(*) FROM people'))).toBe('42803');
  });

  test('unknown tables and columns: 42P01 and 42703 with the position', async () => {
    const { conn } = await setup();
    const err = await conn.query('SELECT nope FROM people').catch((e: DatabaseError) => e);
    expect(err).toMatchObject({ code: '42703', position: 8 });
    expect(await code(conn.query('SELECT * FROM ghosts'))).toBe('42P01');
    expect(await code(conn.query("SELECT * FROM people WHERE age = 'old'"))).toBe('42883');
    expect(await code(conn.query('SELECT 1 / 0'))).toBe('22012');
  });
});

describe('parameters', () => {
  test('are bound as values, never spliced into the text', async () => {
    const { conn, db } = await setup();
    const injection = "x' OR '1'='1";
    expect((await conn.query('SELECT * FROM people WHERE name = $1', [injection])).rows).toEqual(
      [],
    );
    await conn.query('INSERT INTO people (name) VALUES ($1)', ["Robert'); DROP TABLE people;--"]);
    await conn.query('INSERT INTO people (name, email) VALUES ($1, $2)', ['$2', '$1']);
    expect(
      db
        .inspect('people')
        .slice(-2)
        .map((r) => [r.name, r.email]),
    ).toEqual([
      ["Robert'); DROP TABLE people;--", null],
      ['$2', '$1'],
    ]);
  });

  test('a count that does not match the statement is 08P01', async () => {
    const { conn } = await setup();
    expect(await code(conn.query('SELECT * FROM people WHERE id = $1'))).toBe('08P01');
    expect(await code(conn.query('SELECT * FROM people', [1]))).toBe('08P01');
  });
});

describe('INSERT, UPDATE, DELETE', () => {
  test('INSERT … RETURNING with serial ids and defaults', async () => {
    const { conn } = await setup();
    const res = await conn.query(
      'INSERT INTO people (name, age) VALUES ($1, $2), ($3, $4) RETURNING id, name, active',
      ['Eve', 30, 'Fay', 31],
    );
    expect(res.rows).toEqual([
      { id: 5, name: 'Eve', active: true },
      { id: 6, name: 'Fay', active: true },
    ]);
    expect(res.rowCount).toBe(2);
    expect(res.command).toBe('INSERT');
  });

  test('constraints: 23505 unique, 23502 not null, 42804 type; a failed statement changes nothing', async () => {
    const { conn, db } = await setup();
    expect(await code(conn.query('INSERT INTO people (id, name) VALUES (1, $1)', ['Dup']))).toBe(
      '23505',
    );
    expect(
      await code(conn.query("INSERT INTO people (name, email) VALUES ('X', 'ada@example.com')")),
    ).toBe('23505');
    expect(await code(conn.query('INSERT INTO people (age) VALUES (3)'))).toBe('23502');
    expect(await code(conn.query("INSERT INTO people (name, age) VALUES ('Y', 'three')"))).toBe(
      '42804',
    );
    expect(await code(conn.query("UPDATE people SET email = 'bob@example.com'"))).toBe('23505');
    expect(db.inspect('people')).toHaveLength(4);
    expect(db.inspect('people').map((r) => r.email)).toEqual([
      'ada@example.com',
      'bob@example.com',
      null,
      'dee@example.org',
    ]);
  });

  test('composite keys, and NULLs never clash in a unique column', async () => {
    const { conn } = await setup();
    await conn.query('CREATE TABLE pairs (a int, b int, note text unique, PRIMARY KEY (a, b))');
    await conn.query('INSERT INTO pairs (a, b) VALUES (1, 1), (1, 2)');
    expect(await code(conn.query('INSERT INTO pairs (a, b) VALUES (1, 2)'))).toBe('23505');
    await conn.query('INSERT INTO pairs (a, b, note) VALUES (2, 1, NULL), (2, 2, NULL)');
    expect((await conn.query('SELECT count(*) AS n FROM pairs')).rows[0]).toEqual({ n: 4 });
  });

  test('UPDATE and DELETE report the rows they touched', async () => {
    const { conn, db } = await setup();
    const up = await conn.query(
      'UPDATE people SET age = age + 1 WHERE age IS NOT NULL RETURNING name, age',
    );
    expect(up.rowCount).toBe(3);
    expect(up.rows).toEqual([
      { name: 'Ada', age: 37 },
      { name: 'Bob', age: 26 },
      { name: 'Dee', age: 42 },
    ]);
    const del = await conn.query('DELETE FROM people WHERE active = false RETURNING id');
    expect(del).toMatchObject({ rowCount: 1, rows: [{ id: 4 }], command: 'DELETE' });
    expect(db.inspect('people').map((r) => r.name)).toEqual(['Ada', 'Bob', 'Cy']);
    // The freed key can be used again.
    await conn.query("INSERT INTO people (name, email) VALUES ('Dee', 'dee@example.org')");
  });

  test('CREATE TABLE and DROP TABLE', async () => {
    const { conn } = await setup();
    expect(await code(conn.query('CREATE TABLE people (id int)'))).toBe('42P07');
    await conn.query('CREATE TABLE IF NOT EXISTS people (id int)');
    await conn.query('DROP TABLE people');
    expect(await code(conn.query('SELECT * FROM people'))).toBe('42P01');
    await conn.query('DROP TABLE IF EXISTS people');
    expect(await code(conn.query('DROP TABLE people'))).toBe('42P01');
  });
});

describe('LIKE matching', () => {
  test('D6: a hostile LIKE pattern from a parameter does not backtrack exponentially', async () => {
    const db = createDatabase({
      latency: 0,
      tables: {
        s: { columns: 'x text', rows: [{ x: 'a'.repeat(100) }, { x: `${'a'.repeat(99)}b` }] },
      },
    });
    const conn = await db.connect();
    // With a RegExp of one `.*` per `%`, this pattern never finished (hostile: 8 `%`, no match).
    const { rows } = await conn.query('SELECT count(*) AS n FROM s WHERE x LIKE $1', [
      `${'%a'.repeat(8)}b`,
    ]);
    expect(rows).toEqual([{ n: 1 }]);
    const long = await conn.query('SELECT count(*) AS n FROM s WHERE x LIKE $1', [
      `${'%a'.repeat(60)}%c`,
    ]);
    expect(long.rows).toEqual([{ n: 0 }]);
    await db.close();
  });

  test('LIKE and ILIKE agree with an anchored regular expression on random small inputs', async () => {
    const db = createDatabase({ latency: 0, tables: { s: { columns: 'x text' } } });
    const conn = await db.connect();
    const random = createRandom(9);
    const alphabet = ['a', 'b', 'A', '%', '_', '\\', '😀', '.'];
    const pick = (len: number): string =>
      Array.from({ length: len }, () => alphabet[random.int(0, alphabet.length - 1)]).join('');
    const reference = (text: string, pattern: string, ci: boolean): boolean => {
      let source = '^';
      const chars = Array.from(pattern);
      for (let i = 0; i < chars.length; i++) {
        const c = chars[i]!;
        if (c === '\\' && i + 1 < chars.length)
          source += chars[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        else if (c === '%') source += '[\\s\\S]*';
        else if (c === '_') source += '[\\s\\S]';
        else source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      }
      return new RegExp(`${source}$`, ci ? 'iu' : 'u').test(text);
    };
    for (let i = 0; i < 300; i++) {
      const text = pick(random.int(0, 6)).replaceAll('%', 'b').replaceAll('_', 'a');
      let pattern = pick(random.int(0, 5));
      if (/(^|[^\\])(\\\\)*\\$/.test(pattern)) pattern += '\\'; // a trailing escape is 22025 (D8)
      const { rows } = await conn.query(
        'SELECT $1 LIKE $2 AS l, $1 ILIKE $2 AS i, $1 NOT LIKE $2 AS n',
        [text, pattern],
      );
      expect({ text, pattern, ...rows[0] }).toEqual({
        text,
        pattern,
        l: reference(text, pattern, false),
        i: reference(text, pattern, true),
        n: !reference(text, pattern, false),
      });
    }
    await db.close();
  });
});

describe('statement depth', () => {
  test('D7: deeply nested or very long expressions fail with 54001, not a stack overflow', async () => {
    const db = createDatabase({ latency: 0 });
    const conn = await db.connect();
    const deep = [
      `SELECT ${'('.repeat(20000)}1${')'.repeat(20000)} AS x`,
      `SELECT ${'NOT '.repeat(20000)}TRUE AS x`,
      `SELECT ${'- '.repeat(20000)}1 AS x`,
      `SELECT 1 AS x WHERE ${Array(20000).fill('TRUE').join(' AND ')}`,
      `SELECT ${Array(20000).fill('1').join(' + ')} AS x`,
    ];
    for (const sql of deep) {
      const error = await conn.query(sql).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseError);
      expect(error).toMatchObject({ code: '54001', message: expect.stringMatching(/too complex/) });
    }
    // Within the limits, such statements run.
    const ok = await conn.query(
      `SELECT ${'('.repeat(150)}1${')'.repeat(150)} AS a, ${Array(500).fill('1').join(' + ')} AS b WHERE ${Array(500).fill('TRUE').join(' AND ')}`,
    );
    expect(ok.rows).toEqual([{ a: 1, b: 500 }]);
    await db.close();
  });
});

describe('statements the engine refuses (D2)', () => {
  test('D2: invalid statements fail with their code instead of storing or returning wrong data', async () => {
    const db = createDatabase({
      latency: 0,
      tables: {
        s: { columns: 'id int primary key, x text, n int', rows: [{ id: 1, x: 'a', n: 5 }] },
        k4: { columns: 'a varchar(2), b character varying(3), c numeric(10, 2)' },
      },
    });
    const conn = await db.connect();
    const fails = (sql: string, params: Value[] = []): Promise<unknown> =>
      conn.query(sql, params).then(
        () => 'succeeded',
        (e: unknown) => e,
      );
    expect(await fails('INSERT INTO s (id, id) VALUES (7, 8)')).toMatchObject({
      code: '42701',
      message: 'column "id" specified more than once',
    });
    expect(await fails('UPDATE s SET n = 1, n = 2')).toMatchObject({ code: '42601' });
    expect(await fails("INSERT INTO k4 (a) VALUES ('abc')")).toMatchObject({
      code: '22001',
      message: expect.stringContaining('varchar(2)'),
    });
    expect(await fails('INSERT INTO k4 (b) VALUES ($1)', ['abcd'])).toMatchObject({
      code: '22001',
    });
    expect(await fails("UPDATE k4 SET a = 'xyz'")).toBe('succeeded'); // no rows yet
    await conn.query("INSERT INTO k4 VALUES ('ab', '😀😀😀', 1.5)"); // characters, not UTF-16 units
    expect(await fails("UPDATE k4 SET a = 'xyz'")).toMatchObject({ code: '22001' });
    expect(await fails('SELECT id FROM s WHERE n')).toMatchObject({
      code: '42804',
      message: 'argument of WHERE must be type boolean, not type integer',
    });
    expect(await fails('SELECT 1 AS one WHERE 1')).toMatchObject({ code: '42804' });
    expect(await fails('INSERT INTO s (id) VALUES (1e400)')).toMatchObject({
      code: '22003',
      message: expect.stringContaining('1e400'),
    });
    expect(await fails("INSERT INTO s (id) VALUES ('7')")).toMatchObject({
      code: '42804',
      message: expect.stringContaining('the value "7" is of type text'),
    });
    expect(await fails('INSERT INTO s (id) VALUES (1.5)')).toMatchObject({
      message: expect.stringContaining('the value 1.5 is of type numeric'),
    });
    expect(db.inspect('s')).toEqual([{ id: 1, x: 'a', n: 5 }]);
    expect(db.inspect('k4')).toEqual([{ a: 'ab', b: '😀😀😀', c: 1.5 }]);
    await db.close();
  });
});

test('D8: a LIKE pattern that ends with the escape character fails with 22025', async () => {
  const db = createDatabase({
    latency: 0,
    tables: { s: { columns: 'x text', rows: [{ x: 'A\\' }] } },
  });
  const conn = await db.connect();
  await expect(conn.query('SELECT x FROM s WHERE x LIKE $1', ['A\\'])).rejects.toMatchObject({
    name: 'DatabaseError',
    code: '22025',
    message: expect.stringContaining('must not end with escape character'),
  });
  await expect(conn.query('SELECT x FROM s WHERE x ILIKE $1', ['a\\\\\\'])).rejects.toMatchObject({
    code: '22025',
  });
  expect((await conn.query('SELECT x FROM s WHERE x LIKE $1', ['A\\\\'])).rows).toEqual([
    { x: 'A\\' },
  ]);
  await db.close();
});
