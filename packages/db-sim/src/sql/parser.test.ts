import { describe, expect, test } from 'vitest';
import { DatabaseError } from '../errors.ts';
import { parse } from './parser.ts';

function syntaxError(sql: string): DatabaseError {
  try {
    parse(sql);
  } catch (error) {
    if (error instanceof DatabaseError) return error;
    throw error;
  }
  throw new Error(`expected ${sql} to fail`);
}

describe('parse', () => {
  test('reads every statement of the subset', () => {
    expect(
      parse(
        'SELECT id, name AS n FROM users WHERE a = 1 AND NOT b IN (1, 2) OR c LIKE $1 ORDER BY id DESC LIMIT 5 OFFSET $2',
      ).stmt.type,
    ).toBe('select');
    expect(parse('INSERT INTO t (a, b) VALUES (1, $1), (2, $2) RETURNING *').params).toBe(2);
    expect(parse('UPDATE t SET a = a + 1 WHERE b IS NOT NULL RETURNING a').stmt.type).toBe(
      'update',
    );
    expect(parse('DELETE FROM t WHERE id = $1;').stmt.type).toBe('delete');
    expect(
      parse(
        'CREATE TABLE IF NOT EXISTS t (id serial primary key, email varchar(200) unique not null, n int default 0)',
      ).stmt.type,
    ).toBe('create');
    expect(parse('DROP TABLE IF EXISTS t').stmt.type).toBe('drop');
    expect(parse('select count(*) from "Mixed Case"').stmt).toMatchObject({
      from: { name: 'Mixed Case' },
    });
  });

  test('a syntax error is 42601 with the 1-based position of the offending token', () => {
    const misspelled = syntaxError('SELECT * FORM users');
    expect(misspelled.code).toBe('42601');
    expect(misspelled.position).toBe(10);
    expect(misspelled.message).toMatch(/syntax error at or near "FORM" \(at character 10\)/);
    expect(syntaxError('SELECT * FROM').position).toBe(14);
    expect(syntaxError('SELECT * FROM').message).toMatch(/at end of input/);
    expect(syntaxError("SELECT 'abc").message).toMatch(/unterminated quoted string/);
    expect(syntaxError("SELECT 'abc").position).toBe(8);
    expect(syntaxError('SELECT 1 # 2').position).toBe(10);
    expect(syntaxError('SELECT FROM t').position).toBe(8);
  });

  test('one statement per query; transaction statements point to transaction()', () => {
    expect(syntaxError('SELECT 1; SELECT 2').message).toMatch(/multiple statements/);
    const begin = syntaxError('BEGIN');
    expect(begin.code).toBe('0A000');
    expect(begin.message).toMatch(/conn\.transaction/);
    expect(syntaxError('').code).toBe('42601');
  });

  test('unknown types and functions are named', () => {
    expect(syntaxError('CREATE TABLE t (a jsonb)').message).toMatch(/type "jsonb" does not exist/);
    expect(syntaxError('SELECT now()').code).toBe('42883');
    expect(syntaxError('CREATE TABLE t (a int primary key, b int primary key)').message).toMatch(
      /multiple primary keys/,
    );
  });
});
