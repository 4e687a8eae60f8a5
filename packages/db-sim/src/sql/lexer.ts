import { DatabaseError, SqlState } from '../errors.ts';

/** A token of the SQL subset. `pos` is the 1-based character position in the text. */
export interface Token {
  kind: 'word' | 'ident' | 'number' | 'string' | 'param' | 'op' | 'end';
  /** The text: upper-cased for `word`, as written for `ident` (quoted), the value else. */
  text: string;
  /** For `word`: the lower-cased identifier. For `number`: its value as text. */
  raw: string;
  pos: number;
}

const OPERATORS = [
  '<=',
  '>=',
  '<>',
  '!=',
  '(',
  ')',
  ',',
  ';',
  '*',
  '.',
  '+',
  '-',
  '/',
  '%',
  '=',
  '<',
  '>',
];

function isWordStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}

function isWordPart(c: string): boolean {
  return isWordStart(c) || (c >= '0' && c <= '9') || c === '$';
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

/** Splits SQL text into tokens; an unterminated string or an unknown character is 42601. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === ' ' || c === '\n' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n') i++;
      continue;
    }
    const pos = i + 1;
    if (isWordStart(c)) {
      let j = i + 1;
      while (j < n && isWordPart(sql[j]!)) j++;
      const word = sql.slice(i, j);
      if (word.toLowerCase() === '__proto__') throw protoName(sql, pos);
      tokens.push({ kind: 'word', text: word.toUpperCase(), raw: word.toLowerCase(), pos });
      i = j;
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(sql[i + 1] ?? ''))) {
      let j = i;
      while (j < n && isDigit(sql[j]!)) j++;
      if (sql[j] === '.') {
        j++;
        while (j < n && isDigit(sql[j]!)) j++;
      }
      if (sql[j] === 'e' || sql[j] === 'E') {
        let k = j + 1;
        if (sql[k] === '+' || sql[k] === '-') k++;
        if (isDigit(sql[k] ?? '')) {
          j = k;
          while (j < n && isDigit(sql[j]!)) j++;
        }
      }
      const text = sql.slice(i, j);
      tokens.push({ kind: 'number', text, raw: text, pos });
      i = j;
      continue;
    }
    if (c === "'") {
      let j = i + 1;
      let value = '';
      for (;;) {
        if (j >= n) throw syntaxError('unterminated quoted string', sql, pos);
        const d = sql[j]!;
        if (d === "'") {
          if (sql[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          j++;
          break;
        }
        value += d;
        j++;
      }
      tokens.push({ kind: 'string', text: value, raw: value, pos });
      i = j;
      continue;
    }
    if (c === '"') {
      // A quoted identifier: taken exactly, `""` inside it stands for one `"` (probe P9:
      // the first `"` ended it, so `"a""b"` was two names).
      let j = i + 1;
      let name = '';
      for (;;) {
        const end = sql.indexOf('"', j);
        if (end < 0) throw syntaxError('unterminated quoted identifier', sql, pos);
        name += sql.slice(j, end);
        if (sql[end + 1] !== '"') {
          j = end + 1;
          break;
        }
        name += '"';
        j = end + 2;
      }
      if (name.length === 0) throw syntaxError('zero-length delimited identifier', sql, pos);
      if (name === '__proto__') throw protoName(sql, pos);
      tokens.push({ kind: 'ident', text: name, raw: name, pos });
      i = j;
      continue;
    }
    if (c === '$' && isDigit(sql[i + 1] ?? '')) {
      let j = i + 1;
      while (j < n && isDigit(sql[j]!)) j++;
      const text = sql.slice(i + 1, j);
      tokens.push({ kind: 'param', text, raw: text, pos });
      i = j;
      continue;
    }
    const op = OPERATORS.find((o) => sql.startsWith(o, i));
    if (op === undefined) {
      throw syntaxError(`syntax error at or near "${c}"`, sql, pos);
    }
    tokens.push({ kind: 'op', text: op, raw: op, pos });
    i += op.length;
  }
  tokens.push({ kind: 'end', text: '', raw: '', pos: n + 1 });
  return tokens;
}

/**
 * `name` as a quoted identifier (`"Users"`, `"a""b"`): how error messages show a table or
 * column name, so that it reads back as the same name, pasted into SQL or given to
 * `db.inspect`.
 */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `value` as a string literal (`'it''s'`). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * Rows are plain objects, where `__proto__` is the prototype, not a key: the name is
 * refused (review D7: its values vanished and unique keys clashed).
 */
function protoName(sql: string, position: number): DatabaseError {
  return syntaxError('the name "__proto__" is not supported by db-sim', sql, position);
}

/** A 42601 error whose message shows the position in the text, as psql does. */
export function syntaxError(message: string, sql: string, position: number): DatabaseError {
  return new DatabaseError(SqlState.syntaxError, `${message} (at character ${position})`, {
    position,
  });
}
