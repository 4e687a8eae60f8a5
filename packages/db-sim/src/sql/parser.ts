import { DatabaseError, SqlState } from '../errors.ts';
import type {
  ColumnDef,
  ColumnType,
  CreateTableStmt,
  Expr,
  OrderItem,
  Parsed,
  SelectItem,
  Statement,
  TableRef,
} from './ast.ts';
import { quoteIdent, quoteLiteral, syntaxError, type Token, tokenize } from './lexer.ts';

// Words that cannot be used as a bare column or table name (quote them to do so).
const RESERVED = new Set([
  'SELECT',
  'FROM',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  'IN',
  'LIKE',
  'ILIKE',
  'IS',
  'NULL',
  'ORDER',
  'BY',
  'LIMIT',
  'OFFSET',
  'INSERT',
  'INTO',
  'VALUES',
  'RETURNING',
  'UPDATE',
  'SET',
  'DELETE',
  'CREATE',
  'TABLE',
  'AS',
  'ASC',
  'DESC',
  'TRUE',
  'FALSE',
  'DROP',
  'DEFAULT',
  'PRIMARY',
  'UNIQUE',
  'CONSTRAINT',
]);

const TYPES: Record<string, ColumnType> = {
  INT: 'int',
  INTEGER: 'int',
  BIGINT: 'int',
  SMALLINT: 'int',
  INT2: 'int',
  INT4: 'int',
  INT8: 'int',
  SERIAL: 'int',
  BIGSERIAL: 'int',
  REAL: 'float',
  FLOAT: 'float',
  FLOAT4: 'float',
  FLOAT8: 'float',
  DOUBLE: 'float',
  NUMERIC: 'float',
  DECIMAL: 'float',
  TEXT: 'text',
  VARCHAR: 'text',
  CHAR: 'text',
  CHARACTER: 'text',
  BOOLEAN: 'bool',
  BOOL: 'bool',
};

const TRANSACTION_WORDS = new Set([
  'BEGIN',
  'START',
  'COMMIT',
  'END',
  'ROLLBACK',
  'SAVEPOINT',
  'RELEASE',
  'ABORT',
]);

/** How deep parentheses, NOT, unary signs and function arguments may nest. */
const MAX_NESTING = 200;
/** How deep a parsed statement may be (a long AND/OR/+ chain is as deep as it is long). */
const MAX_DEPTH = 1000;

function tooComplex(what: string, position?: number): DatabaseError {
  return new DatabaseError(
    SqlState.statementTooComplex,
    `statement too complex: ${what} (db-sim evaluates expressions recursively; split the statement or pass a list of values)`,
    position === undefined ? undefined : { position },
  );
}

/** The depth of `stmt` as a tree of objects, walked without recursion. */
function depthOf(stmt: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[stmt, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (depth > max) max = depth;
    if (depth > MAX_DEPTH) break;
    for (const value of Object.values(node as object)) {
      if (typeof value === 'object' && value !== null) stack.push([value, depth + 1]);
    }
  }
  return max;
}

class Parser {
  readonly #sql: string;
  readonly #tokens: Token[];
  #i = 0;
  #params = 0;
  /** The current nesting of parentheses, NOT, signs and function arguments. */
  #nesting = 0;

  /** Enters one level of nesting, or throws 54001 past {@link MAX_NESTING}. */
  #nest(): void {
    if (++this.#nesting > MAX_NESTING) {
      throw tooComplex(`expressions nest more than ${MAX_NESTING} levels deep`, this.#peek().pos);
    }
  }

  constructor(sql: string) {
    this.#sql = sql;
    this.#tokens = tokenize(sql);
  }

  parse(): Parsed {
    const first = this.#peek();
    if (first.kind === 'end')
      throw new DatabaseError(SqlState.syntaxError, 'empty query: expected a statement');
    let stmt: Statement;
    if (this.#isWord('SELECT')) stmt = this.#select();
    else if (this.#isWord('INSERT')) stmt = this.#insert();
    else if (this.#isWord('UPDATE')) stmt = this.#update();
    else if (this.#isWord('DELETE')) stmt = this.#delete();
    else if (this.#isWord('CREATE')) stmt = this.#create();
    else if (this.#isWord('DROP')) stmt = this.#drop();
    else if (first.kind === 'word' && TRANSACTION_WORDS.has(first.text)) {
      throw new DatabaseError(
        SqlState.featureNotSupported,
        `${first.text} is not run as a statement in db-sim: use \`conn.transaction(async (tx) => …)\`, which begins, commits and rolls back (savepoints: \`tx.transaction(…)\`)`,
      );
    } else throw this.#unexpected();
    if (this.#isOp(';')) this.#i++;
    const rest = this.#peek();
    if (rest.kind !== 'end') {
      if (this.#tokens[this.#i - 1]?.text === ';') {
        throw syntaxError('cannot run multiple statements in one query', this.#sql, rest.pos);
      }
      throw this.#unexpected();
    }
    if (depthOf(stmt) > MAX_DEPTH) {
      throw tooComplex(
        `its expressions are more than ${MAX_DEPTH} levels deep (a long AND, OR or arithmetic chain)`,
      );
    }
    return { stmt, params: this.#params };
  }

  // ---- statements

  #select(): Statement {
    this.#expectWord('SELECT');
    const items = this.#selectList();
    let from: TableRef | undefined;
    if (this.#acceptWord('FROM')) from = this.#tableRef();
    const where = this.#acceptWord('WHERE') ? this.#expr() : undefined;
    const orderBy: OrderItem[] = [];
    if (this.#acceptWord('ORDER')) {
      this.#expectWord('BY');
      do {
        const expr = this.#expr();
        let desc = false;
        if (this.#acceptWord('DESC')) desc = true;
        else this.#acceptWord('ASC');
        orderBy.push({ expr, desc });
      } while (this.#acceptOp(','));
    }
    let limit: Expr | undefined;
    let offset: Expr | undefined;
    for (let k = 0; k < 2; k++) {
      if (limit === undefined && this.#acceptWord('LIMIT')) limit = this.#expr();
      else if (offset === undefined && this.#acceptWord('OFFSET')) offset = this.#expr();
    }
    return { type: 'select', items, from, where, orderBy, limit, offset };
  }

  #selectList(): SelectItem[] {
    const items: SelectItem[] = [];
    do {
      if (this.#acceptOp('*')) {
        items.push({ expr: undefined, alias: undefined });
        continue;
      }
      const expr = this.#expr();
      let alias: string | undefined;
      if (this.#acceptWord('AS')) alias = this.#name('a column alias');
      else if (this.#peekName()) alias = this.#name('a column alias');
      items.push({ expr, alias });
    } while (this.#acceptOp(','));
    return items;
  }

  #returning(): SelectItem[] | undefined {
    return this.#acceptWord('RETURNING') ? this.#selectList() : undefined;
  }

  #insert(): Statement {
    this.#expectWord('INSERT');
    this.#expectWord('INTO');
    const table = this.#tableRef();
    let columns: { name: string; pos: number }[] | undefined;
    if (this.#acceptOp('(')) {
      columns = [];
      do {
        const pos = this.#peek().pos;
        const name = this.#name('a column name');
        if (columns.some((c) => c.name === name)) {
          throw new DatabaseError(
            SqlState.duplicateColumn,
            `column ${quoteIdent(name)} specified more than once`,
            { position: pos },
          );
        }
        columns.push({ name, pos });
      } while (this.#acceptOp(','));
      this.#expectOp(')');
    }
    this.#expectWord('VALUES');
    const rows: Expr[][] = [];
    do {
      this.#expectOp('(');
      const row: Expr[] = [];
      do row.push(this.#expr());
      while (this.#acceptOp(','));
      this.#expectOp(')');
      rows.push(row);
    } while (this.#acceptOp(','));
    return { type: 'insert', table, columns, rows, returning: this.#returning() };
  }

  #update(): Statement {
    this.#expectWord('UPDATE');
    const table = this.#tableRef();
    this.#expectWord('SET');
    const sets: { column: string; expr: Expr; pos: number }[] = [];
    do {
      const pos = this.#peek().pos;
      const column = this.#name('a column name');
      if (sets.some((set) => set.column === column)) {
        throw syntaxError(
          `multiple assignments to same column ${quoteIdent(column)}`,
          this.#sql,
          pos,
        );
      }
      this.#expectOp('=');
      sets.push({ column, expr: this.#expr(), pos });
    } while (this.#acceptOp(','));
    const where = this.#acceptWord('WHERE') ? this.#expr() : undefined;
    return { type: 'update', table, sets, where, returning: this.#returning() };
  }

  #delete(): Statement {
    this.#expectWord('DELETE');
    this.#expectWord('FROM');
    const table = this.#tableRef();
    const where = this.#acceptWord('WHERE') ? this.#expr() : undefined;
    return { type: 'delete', table, where, returning: this.#returning() };
  }

  #drop(): Statement {
    this.#expectWord('DROP');
    this.#expectWord('TABLE');
    let ifExists = false;
    if (this.#acceptWord('IF')) {
      this.#expectWord('EXISTS');
      ifExists = true;
    }
    return { type: 'drop', table: this.#tableRef(), ifExists };
  }

  #create(): CreateTableStmt {
    this.#expectWord('CREATE');
    this.#expectWord('TABLE');
    let ifNotExists = false;
    if (this.#acceptWord('IF')) {
      this.#expectWord('NOT');
      this.#expectWord('EXISTS');
      ifNotExists = true;
    }
    const table = this.#tableRef();
    this.#expectOp('(');
    const columns: ColumnDef[] = [];
    let primaryKey: string[] | undefined;
    const uniques: string[][] = [];
    do {
      if (this.#acceptWord('CONSTRAINT')) this.#name('a constraint name');
      if (this.#isWord('PRIMARY')) {
        const pos = this.#peek().pos;
        this.#i++;
        this.#expectWord('KEY');
        if (primaryKey !== undefined) throw this.#multiplePk(table.name, pos);
        primaryKey = this.#nameList();
      } else if (this.#acceptWord('UNIQUE')) {
        uniques.push(this.#nameList());
      } else {
        columns.push(this.#columnDef());
      }
    } while (this.#acceptOp(','));
    this.#expectOp(')');
    const pkColumns = columns.filter((c) => c.primaryKey);
    if (pkColumns.length > 0) {
      if (primaryKey !== undefined || pkColumns.length > 1) {
        throw this.#multiplePk(table.name, pkColumns[pkColumns.length - 1]!.pos);
      }
      primaryKey = [pkColumns[0]!.name];
    }
    return { type: 'create', table, ifNotExists, columns, primaryKey, uniques };
  }

  #multiplePk(table: string, pos: number): DatabaseError {
    return syntaxError(
      `multiple primary keys for table ${quoteIdent(table)} are not allowed`,
      this.#sql,
      pos,
    );
  }

  #nameList(): string[] {
    this.#expectOp('(');
    const names: string[] = [];
    do names.push(this.#name('a column name'));
    while (this.#acceptOp(','));
    this.#expectOp(')');
    return names;
  }

  #columnDef(): ColumnDef {
    const pos = this.#peek().pos;
    const name = this.#name('a column name');
    const typeToken = this.#peek();
    const type = typeToken.kind === 'word' ? TYPES[typeToken.text] : undefined;
    if (type === undefined) {
      if (typeToken.kind === 'word') {
        throw new DatabaseError(
          SqlState.undefinedObject,
          `type ${quoteIdent(typeToken.raw)} does not exist (db-sim knows integer, bigint, serial, real, numeric, text, varchar, boolean)`,
          { position: typeToken.pos },
        );
      }
      throw this.#unexpected();
    }
    this.#i++;
    const typeName = typeToken.raw;
    if (typeToken.text === 'DOUBLE') this.#acceptWord('PRECISION');
    if (typeToken.text === 'CHARACTER') this.#acceptWord('VARYING');
    let maxLength: number | undefined;
    if (this.#acceptOp('(')) {
      const length = Number(this.#expectKind('number').text);
      while (this.#acceptOp(',')) this.#expectKind('number');
      this.#expectOp(')');
      if (type === 'text') maxLength = length;
    }
    const col: ColumnDef = {
      name,
      type,
      typeName: typeName === 'int' || typeName === 'int4' ? 'integer' : typeName,
      serial: typeToken.text === 'SERIAL' || typeToken.text === 'BIGSERIAL',
      notNull: false,
      primaryKey: false,
      unique: false,
      default: undefined,
      maxLength,
      pos,
    };
    for (;;) {
      if (this.#acceptWord('PRIMARY')) {
        this.#expectWord('KEY');
        col.primaryKey = true;
        col.notNull = true;
      } else if (this.#acceptWord('UNIQUE')) col.unique = true;
      else if (this.#acceptWord('NOT')) {
        this.#expectWord('NULL');
        col.notNull = true;
      } else if (this.#acceptWord('NULL')) {
        // explicit NULL: the default
      } else if (this.#acceptWord('DEFAULT')) {
        const e = this.#unary();
        if (e.k === 'lit') col.default = e.v;
        else if (e.k === 'neg' && e.e.k === 'lit' && typeof e.e.v === 'number')
          col.default = -e.e.v;
        else throw syntaxError('DEFAULT must be a constant in db-sim', this.#sql, pos);
      } else break;
    }
    return col;
  }

  // ---- expressions, lowest precedence first

  #expr(): Expr {
    let left = this.#and();
    while (this.#acceptWord('OR')) left = { k: 'or', l: left, r: this.#and() };
    return left;
  }

  #and(): Expr {
    let left = this.#not();
    while (this.#acceptWord('AND')) left = { k: 'and', l: left, r: this.#not() };
    return left;
  }

  #not(): Expr {
    if (this.#acceptWord('NOT')) {
      this.#nest();
      const e = this.#not();
      this.#nesting--;
      return { k: 'not', e };
    }
    return this.#comparison();
  }

  #comparison(): Expr {
    const left = this.#additive();
    const t = this.#peek();
    if (t.kind === 'op' && ['=', '<>', '!=', '<', '<=', '>', '>='].includes(t.text)) {
      this.#i++;
      const op = (t.text === '!=' ? '<>' : t.text) as '=' | '<>' | '<' | '<=' | '>' | '>=';
      return { k: 'bin', op, l: left, r: this.#additive(), pos: t.pos };
    }
    if (this.#acceptWord('IS')) {
      const not = this.#acceptWord('NOT');
      this.#expectWord('NULL');
      return { k: 'isnull', e: left, not };
    }
    let not = false;
    if (this.#isWord('NOT') && this.#isWordAt(1, 'IN', 'LIKE', 'ILIKE')) {
      this.#i++;
      not = true;
    }
    const at = this.#peek();
    if (this.#acceptWord('IN')) {
      this.#expectOp('(');
      const list: Expr[] = [];
      do list.push(this.#additive());
      while (this.#acceptOp(','));
      this.#expectOp(')');
      return { k: 'in', e: left, list, not, pos: at.pos };
    }
    if (this.#isWord('LIKE') || this.#isWord('ILIKE')) {
      const ci = this.#peek().text === 'ILIKE';
      this.#i++;
      return { k: 'like', e: left, pattern: this.#additive(), not, ci, pos: at.pos };
    }
    if (not) throw this.#unexpected();
    return left;
  }

  #additive(): Expr {
    let left = this.#multiplicative();
    for (;;) {
      const t = this.#peek();
      if (t.kind === 'op' && (t.text === '+' || t.text === '-')) {
        this.#i++;
        left = { k: 'bin', op: t.text, l: left, r: this.#multiplicative(), pos: t.pos };
      } else return left;
    }
  }

  #multiplicative(): Expr {
    let left = this.#unary();
    for (;;) {
      const t = this.#peek();
      if (t.kind === 'op' && (t.text === '*' || t.text === '/' || t.text === '%')) {
        this.#i++;
        left = { k: 'bin', op: t.text, l: left, r: this.#unary(), pos: t.pos };
      } else return left;
    }
  }

  #unary(): Expr {
    const t = this.#peek();
    if (t.kind === 'op' && t.text === '-') {
      this.#i++;
      this.#nest();
      const e = this.#unary();
      this.#nesting--;
      if (e.k === 'lit' && typeof e.v === 'number') return { k: 'lit', v: -e.v };
      return { k: 'neg', e, pos: t.pos };
    }
    if (t.kind === 'op' && t.text === '+') {
      this.#i++;
      this.#nest();
      const e = this.#unary();
      this.#nesting--;
      return e;
    }
    return this.#primary();
  }

  #primary(): Expr {
    const t = this.#peek();
    switch (t.kind) {
      case 'number': {
        this.#i++;
        const v = Number(t.text);
        if (!Number.isFinite(v)) {
          throw new DatabaseError(
            SqlState.numericValueOutOfRange,
            `"${t.text}" is out of range for a number (values are 64-bit floats in db-sim)`,
            { position: t.pos },
          );
        }
        return { k: 'lit', v };
      }
      case 'string':
        this.#i++;
        return { k: 'lit', v: t.text };
      case 'param': {
        this.#i++;
        const n = Number(t.text);
        if (n < 1) throw syntaxError(`there is no parameter $${t.text}`, this.#sql, t.pos);
        this.#params = Math.max(this.#params, n);
        return { k: 'param', i: n - 1, pos: t.pos };
      }
      case 'ident':
        this.#i++;
        return { k: 'col', name: t.text, pos: t.pos };
      case 'op':
        if (t.text === '(') {
          this.#i++;
          this.#nest();
          const e = this.#expr();
          this.#nesting--;
          this.#expectOp(')');
          return e;
        }
        throw this.#unexpected();
      case 'word': {
        if (t.text === 'NULL' || t.text === 'TRUE' || t.text === 'FALSE') {
          this.#i++;
          return { k: 'lit', v: t.text === 'NULL' ? null : t.text === 'TRUE' };
        }
        const next = this.#tokens[this.#i + 1];
        if (next?.kind === 'op' && next.text === '(') {
          const fn = t.raw;
          if (fn === 'count' || fn === 'sum' || fn === 'min' || fn === 'max') {
            this.#i += 2;
            let arg: Expr | undefined;
            if (fn === 'count' && this.#acceptOp('*')) arg = undefined;
            else {
              this.#nest();
              arg = this.#expr();
              this.#nesting--;
            }
            this.#expectOp(')');
            return { k: 'agg', fn, arg, pos: t.pos };
          }
          throw new DatabaseError(
            SqlState.undefinedFunction,
            `function ${fn}() does not exist (db-sim knows count, sum, min and max)`,
            { position: t.pos },
          );
        }
        if (RESERVED.has(t.text)) throw this.#unexpected();
        this.#i++;
        return { k: 'col', name: t.raw, pos: t.pos };
      }
      default:
        throw this.#unexpected();
    }
  }

  // ---- token helpers

  #peek(): Token {
    return this.#tokens[this.#i]!;
  }

  #isWord(word: string): boolean {
    const t = this.#peek();
    return t.kind === 'word' && t.text === word;
  }

  #isWordAt(offset: number, ...words: string[]): boolean {
    const t = this.#tokens[this.#i + offset];
    return t?.kind === 'word' && words.includes(t.text);
  }

  #isOp(op: string): boolean {
    const t = this.#peek();
    return t.kind === 'op' && t.text === op;
  }

  #acceptWord(word: string): boolean {
    if (!this.#isWord(word)) return false;
    this.#i++;
    return true;
  }

  #acceptOp(op: string): boolean {
    if (!this.#isOp(op)) return false;
    this.#i++;
    return true;
  }

  #expectWord(word: string): void {
    if (!this.#acceptWord(word)) throw this.#unexpected();
  }

  #expectOp(op: string): void {
    if (!this.#acceptOp(op)) throw this.#unexpected();
  }

  #expectKind(kind: Token['kind']): Token {
    const t = this.#peek();
    if (t.kind !== kind) throw this.#unexpected();
    this.#i++;
    return t;
  }

  #peekName(): boolean {
    const t = this.#peek();
    return t.kind === 'ident' || (t.kind === 'word' && !RESERVED.has(t.text));
  }

  #name(_what: string): string {
    const t = this.#peek();
    if (t.kind === 'ident') {
      this.#i++;
      return t.text;
    }
    if (t.kind === 'word' && !RESERVED.has(t.text)) {
      this.#i++;
      return t.raw;
    }
    throw this.#unexpected();
  }

  #tableRef(): TableRef {
    const pos = this.#peek().pos;
    return { name: this.#name('a table name'), pos };
  }

  #unexpected(): DatabaseError {
    const t = this.#peek();
    if (t.kind === 'end') return syntaxError('syntax error at end of input', this.#sql, t.pos);
    // As written: a quoted name or a string with its quotes doubled inside (probe P9).
    const shown =
      t.kind === 'string'
        ? quoteLiteral(t.text)
        : t.kind === 'ident'
          ? quoteIdent(t.text)
          : t.kind === 'param'
            ? `$${t.text}`
            : this.#sql.slice(t.pos - 1, t.pos - 1 + Math.max(t.text.length, 1));
    return syntaxError(`syntax error at or near "${shown}"`, this.#sql, t.pos);
  }
}

/**
 * Parses one statement of the SQL subset. Throws a `DatabaseError` with code 42601 and the
 * 1-based `position` of the offending token for a syntax error.
 */
export function parse(sql: string): Parsed {
  return new Parser(sql).parse();
}
