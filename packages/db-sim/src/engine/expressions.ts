// Expressions compiled to closures over a row: column names are resolved once (42703),
// values follow SQL's three-valued logic (a comparison with NULL is NULL).
import { DatabaseError, SqlState } from '../errors.ts';
import type { ColumnDef, Expr, Value } from '../sql/ast.ts';
import type { Row } from './storage.ts';
import { quoteIdent } from '../sql/lexer.ts';

export type Compiled = (row: Row) => Value;

/** What an expression may refer to: a table's columns (or none), and the bound parameters. */
export interface Scope {
  columns: Map<string, ColumnDef> | undefined;
  table: string | undefined;
  params: readonly Value[];
  /** Output aliases that ORDER BY may use. */
  aliases?: Map<string, Compiled>;
}

// A LIKE pattern as tokens: a literal code point, `_` (ANY: one code point) or `%` (STAR:
// any run). Matched by the classic wildcard walk that backtracks only to the last `%`:
// at most O(text × pattern) steps, never the exponential backtracking a RegExp with one
// `.*` per `%` can fall into on a hostile pattern (which no timeout could interrupt).
const ANY = 1;
const STAR = 2;
type LikeToken = string | typeof ANY | typeof STAR;
const likeCache = new Map<string, LikeToken[]>();
const SURROGATE = /[\uD800-\uDFFF]/;

function likeTokens(pattern: string): LikeToken[] {
  let tokens = likeCache.get(pattern);
  if (tokens !== undefined) return tokens;
  tokens = [];
  const chars = SURROGATE.test(pattern) ? Array.from(pattern) : pattern;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\\') {
      if (i + 1 === chars.length) {
        throw new DatabaseError(
          SqlState.invalidEscapeSequence,
          `LIKE pattern must not end with escape character (write \\\\ for a literal backslash): ${JSON.stringify(pattern)}`,
        );
      }
      tokens.push(chars[++i]!);
    } else if (c === '%') {
      if (tokens[tokens.length - 1] !== STAR) tokens.push(STAR);
    } else if (c === '_') tokens.push(ANY);
    else tokens.push(c);
  }
  if (likeCache.size > 500) likeCache.clear();
  likeCache.set(pattern, tokens);
  return tokens;
}

function sameChar(a: string, b: string, ci: boolean): boolean {
  return (
    a === b || (ci && (a.toLowerCase() === b.toLowerCase() || a.toUpperCase() === b.toUpperCase()))
  );
}

/** Whether `text` matches the LIKE (or, with `ci`, ILIKE) `pattern`. */
export function like(text: string, pattern: string, ci: boolean): boolean {
  const tokens = likeTokens(pattern);
  const chars = SURROGATE.test(text) ? Array.from(text) : text;
  const n = chars.length;
  const m = tokens.length;
  let t = 0;
  let p = 0;
  let star = -1;
  let resume = 0;
  while (t < n) {
    const token = p < m ? tokens[p] : undefined;
    if (token === ANY || (typeof token === 'string' && sameChar(token, chars[t]!, ci))) {
      t++;
      p++;
    } else if (token === STAR) {
      star = p++;
      resume = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++resume;
    } else return false;
  }
  while (p < m && tokens[p] === STAR) p++;
  return p === m;
}

export function sqlType(v: Value): string {
  if (v === null) return 'unknown';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'numeric';
  if (typeof v === 'string') return 'text';
  return 'boolean';
}

/** Compares two non-null values of one kind; 42883 when the kinds differ. */
export function compareValues(a: Value, b: Value, op: string): number {
  const ta = typeof a;
  if (ta !== typeof b) {
    throw new DatabaseError(
      SqlState.undefinedFunction,
      `operator does not exist: ${sqlType(a)} ${op} ${sqlType(b)} (db-sim does not convert between types; pass values of the column's type)`,
    );
  }
  if (ta === 'string')
    return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
  return (a as number) - (b as number);
}

export function truthy(v: Value, what: string): boolean | null {
  if (v === null) return null;
  if (typeof v !== 'boolean') {
    throw new DatabaseError(
      SqlState.datatypeMismatch,
      `argument of ${what} must be type boolean, not type ${sqlType(v)}`,
    );
  }
  return v;
}

export function compile(expr: Expr, scope: Scope): Compiled {
  switch (expr.k) {
    case 'lit': {
      const v = expr.v;
      return () => v;
    }
    case 'param': {
      if (expr.i >= scope.params.length) {
        throw new DatabaseError(
          SqlState.protocolViolation,
          `there is no parameter $${expr.i + 1}`,
          {
            position: expr.pos,
          },
        );
      }
      const v = scope.params[expr.i]!;
      return () => v;
    }
    case 'col': {
      const alias = scope.aliases?.get(expr.name);
      if (alias !== undefined && !scope.columns?.has(expr.name)) return alias;
      if (scope.columns === undefined || !scope.columns.has(expr.name)) {
        throw new DatabaseError(
          SqlState.undefinedColumn,
          scope.table === undefined
            ? `column ${quoteIdent(expr.name)} does not exist (the query has no FROM)`
            : `column ${quoteIdent(expr.name)} does not exist in ${quoteIdent(scope.table)}`,
          { position: expr.pos },
        );
      }
      const name = expr.name;
      return (row) => row[name] ?? null;
    }
    case 'and': {
      const l = compile(expr.l, scope);
      const r = compile(expr.r, scope);
      return (row) => {
        const a = truthy(l(row), 'AND');
        if (a === false) return false;
        const b = truthy(r(row), 'AND');
        if (b === false) return false;
        return a === null || b === null ? null : true;
      };
    }
    case 'or': {
      const l = compile(expr.l, scope);
      const r = compile(expr.r, scope);
      return (row) => {
        const a = truthy(l(row), 'OR');
        if (a === true) return true;
        const b = truthy(r(row), 'OR');
        if (b === true) return true;
        return a === null || b === null ? null : false;
      };
    }
    case 'not': {
      const e = compile(expr.e, scope);
      return (row) => {
        const v = truthy(e(row), 'NOT');
        return v === null ? null : !v;
      };
    }
    case 'neg': {
      const e = compile(expr.e, scope);
      return (row) => {
        const v = e(row);
        if (v === null) return null;
        if (typeof v !== 'number') {
          throw new DatabaseError(
            SqlState.undefinedFunction,
            `operator does not exist: - ${sqlType(v)}`,
          );
        }
        return -v;
      };
    }
    case 'isnull': {
      const e = compile(expr.e, scope);
      const not = expr.not;
      return (row) => (e(row) === null) !== not;
    }
    case 'in': {
      const e = compile(expr.e, scope);
      const list = expr.list.map((x) => compile(x, scope));
      const not = expr.not;
      return (row) => {
        const v = e(row);
        if (v === null) return null;
        let sawNull = false;
        for (const item of list) {
          const w = item(row);
          if (w === null) sawNull = true;
          else if (compareValues(v, w, '=') === 0) return !not;
        }
        return sawNull ? null : not;
      };
    }
    case 'like': {
      const e = compile(expr.e, scope);
      const p = compile(expr.pattern, scope);
      const { not, ci } = expr;
      return (row) => {
        const v = e(row);
        const pattern = p(row);
        if (v === null || pattern === null) return null;
        if (typeof v !== 'string' || typeof pattern !== 'string') {
          throw new DatabaseError(
            SqlState.undefinedFunction,
            `operator does not exist: ${sqlType(v)} ${ci ? 'ILIKE' : 'LIKE'} ${sqlType(pattern)}`,
          );
        }
        return like(v, pattern, ci) !== not;
      };
    }
    case 'bin': {
      const l = compile(expr.l, scope);
      const r = compile(expr.r, scope);
      const op = expr.op;
      switch (op) {
        case '=':
          return (row) => {
            const a = l(row);
            const b = r(row);
            return a === null || b === null ? null : compareValues(a, b, op) === 0;
          };
        case '<>':
          return (row) => {
            const a = l(row);
            const b = r(row);
            return a === null || b === null ? null : compareValues(a, b, op) !== 0;
          };
        case '<':
        case '<=':
        case '>':
        case '>=':
          return (row) => {
            const a = l(row);
            const b = r(row);
            if (a === null || b === null) return null;
            const c = compareValues(a, b, op);
            return op === '<' ? c < 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : c >= 0;
          };
        default:
          return (row) => arithmetic(op, l(row), r(row));
      }
    }
    case 'agg':
      throw new DatabaseError(SqlState.groupingError, `aggregate functions are not allowed here`, {
        position: expr.pos,
      });
  }
}

function arithmetic(op: '+' | '-' | '*' | '/' | '%', a: Value, b: Value): Value {
  if (a === null || b === null) return null;
  if (typeof a !== 'number' || typeof b !== 'number') {
    throw new DatabaseError(
      SqlState.undefinedFunction,
      `operator does not exist: ${sqlType(a)} ${op} ${sqlType(b)}`,
    );
  }
  let v: number;
  switch (op) {
    case '+':
      v = a + b;
      break;
    case '-':
      v = a - b;
      break;
    case '*':
      v = a * b;
      break;
    case '/':
    case '%': {
      if (b === 0) throw new DatabaseError(SqlState.divisionByZero, 'division by zero');
      // Values are JavaScript numbers: `/` divides exactly (7 / 2 is 3.5), unlike
      // PostgreSQL's integer division; storing a fraction in an integer column is 42804.
      v = op === '%' ? a % b : a / b;
      break;
    }
  }
  // Infinity and NaN are no SQL values (params refuse them too): an overflow is 22003
  // (review D2), never a value stored, returned or sorted.
  if (!Number.isFinite(v)) {
    throw new DatabaseError(
      SqlState.numericValueOutOfRange,
      `value out of range: ${a} ${op} ${b} overflows a double precision number`,
    );
  }
  return v;
}

/** Whether `expr` contains an aggregate call. */
export function hasAggregate(expr: Expr | undefined): boolean {
  if (expr === undefined) return false;
  switch (expr.k) {
    case 'agg':
      return true;
    case 'and':
    case 'or':
    case 'bin':
      return hasAggregate(expr.l) || hasAggregate(expr.r);
    case 'not':
    case 'neg':
    case 'isnull':
      return hasAggregate(expr.e);
    case 'in':
      return hasAggregate(expr.e) || expr.list.some(hasAggregate);
    case 'like':
      return hasAggregate(expr.e) || hasAggregate(expr.pattern);
    default:
      return false;
  }
}

/** Orders two values for ORDER BY: NULLs sort last ascending, first descending. */
export function orderValues(a: Value, b: Value): number {
  if (a === null) return b === null ? 0 : 1;
  if (b === null) return -1;
  return compareValues(a, b, '<');
}
