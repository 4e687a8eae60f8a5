// Runs a parsed statement against the storage, inside a transaction state. Runs
// synchronously: the simulated server executes a statement in one step, after its latency.
import { DatabaseError, SqlState } from '../errors.ts';
import type {
  ColumnDef,
  CreateTableStmt,
  DeleteStmt,
  Expr,
  InsertStmt,
  SelectItem,
  SelectStmt,
  Statement,
  UpdateStmt,
  Value,
} from '../sql/ast.ts';
import {
  type Compiled,
  compile,
  compareValues,
  hasAggregate,
  orderValues,
  type Scope,
  sqlType,
  truthy,
} from './expressions.ts';
import { type Row, type Storage, TableState, type TxState, keyOf } from './storage.ts';
import { quoteIdent } from '../sql/lexer.ts';

/** What a statement returns. */
export interface ExecResult {
  rows: Row[];
  rowCount: number;
  command: 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'CREATE TABLE' | 'DROP TABLE';
  fields: string[];
}

/** Whether a statement changes data (and so belongs in a write set). */
export function isWrite(stmt: Statement): boolean {
  return stmt.type === 'insert' || stmt.type === 'update' || stmt.type === 'delete';
}

export function execute(
  storage: Storage,
  stmt: Statement,
  params: readonly Value[],
  tx: TxState,
): ExecResult {
  switch (stmt.type) {
    case 'select':
      return select(storage, stmt, params, tx);
    case 'insert':
      return insert(storage, stmt, params, tx);
    case 'update':
      return update(storage, stmt, params, tx);
    case 'delete':
      return remove(storage, stmt, params, tx);
    case 'create':
      return create(storage, stmt);
    case 'drop': {
      const t = storage.tables.get(stmt.table.name);
      if (t === undefined && !stmt.ifExists) storage.table(stmt.table.name, stmt.table.pos);
      if (t !== undefined) {
        t.dropped = true;
        storage.tables.delete(stmt.table.name);
      }
      return { rows: [], rowCount: 0, command: 'DROP TABLE', fields: [] };
    }
  }
}

function tableScope(table: TableState | undefined, params: readonly Value[]): Scope {
  return { columns: table?.byName, table: table?.name, params };
}

/** A WHERE clause: its value must be a boolean or NULL (42804 otherwise), as in PostgreSQL. */
function compileWhere(where: Expr, scope: Scope): Compiled {
  const test = compile(where, scope);
  return (row) => truthy(test(row), 'WHERE');
}

/** Rows of `table` that `where` keeps, using a unique index for `col = value` when it can. */
function matching(
  storage: Storage,
  table: TableState,
  where: Expr | undefined,
  params: readonly Value[],
  tx: TxState,
): { rowId: number; row: Row }[] {
  const out: { rowId: number; row: Row }[] = [];
  const test = where === undefined ? undefined : compileWhere(where, tableScope(table, params));
  const keep = (rowId: number, row: Row): void => {
    if (test === undefined || test(row) === true) out.push({ rowId, row });
  };
  const lookup = where === undefined ? undefined : indexLookup(table, where, params);
  if (lookup !== undefined) {
    const [index, key] = lookup;
    const ids = storage.candidates(table, index, key, tx).sort((a, b) => a - b);
    for (const rowId of ids) {
      const row = storage.visible(table, rowId, tx);
      if (row !== null) keep(rowId, row);
    }
    return out;
  }
  storage.scan(table, tx, keep);
  return out;
}

function indexLookup(
  table: TableState,
  where: Expr,
  params: readonly Value[],
): [TableState['indexes'][number], string] | undefined {
  if (table.indexes.length === 0) return undefined;
  const equal = new Map<string, Value>();
  // A value of another type than its column's (`id = '1'`) is 42883 when compared with a
  // row: the lookup must not hide that by finding no candidate (review D1), so such a
  // WHERE is scanned, and fails (or not) exactly as on a column with no index.
  let mismatch = false;
  const visit = (e: Expr): void => {
    if (e.k === 'and') {
      visit(e.l);
      visit(e.r);
    } else if (e.k === 'bin' && e.op === '=') {
      const [c, v] = e.l.k === 'col' ? [e.l, e.r] : [e.r, e.l];
      if (c.k !== 'col') return;
      const col = table.byName.get(c.name);
      if (col === undefined) return;
      let value: Value;
      if (v.k === 'lit') value = v.v;
      else if (v.k === 'param' && v.i < params.length) value = params[v.i]!;
      else return;
      if (value !== null && typeof value !== jsType(col)) mismatch = true;
      else equal.set(c.name, value);
    }
  };
  visit(where);
  if (mismatch) return undefined;
  for (const index of table.indexes) {
    if (!index.columns.every((c) => equal.has(c))) continue;
    const probe: Row = {};
    for (const c of index.columns) probe[c] = equal.get(c)!;
    const key = keyOf(index, probe);
    if (key !== undefined) return [index, key];
  }
  return undefined;
}

/** The JavaScript type of a column's non-null values. */
function jsType(col: ColumnDef): 'number' | 'string' | 'boolean' {
  return col.type === 'text' ? 'string' : col.type === 'bool' ? 'boolean' : 'number';
}

interface Projection {
  fields: string[];
  project: (row: Row) => Row;
}

function projection(items: SelectItem[], table: TableState | undefined, scope: Scope): Projection {
  if (items.length === 1 && items[0]!.expr === undefined && table !== undefined) {
    return { fields: table.columns.map((c) => c.name), project: (row) => ({ ...row }) };
  }
  const parts: { name: string; fn: Compiled | undefined }[] = [];
  for (const item of items) {
    if (item.expr === undefined) {
      if (table === undefined) {
        throw new DatabaseError(
          SqlState.syntaxError,
          'SELECT * with no tables specified is not valid',
        );
      }
      for (const c of table.columns) parts.push({ name: c.name, fn: undefined });
      continue;
    }
    parts.push({ name: item.alias ?? outputName(item.expr), fn: compile(item.expr, scope) });
  }
  return {
    fields: parts.map((p) => p.name),
    project: (row) => {
      const out: Row = {};
      for (const p of parts) out[p.name] = p.fn === undefined ? (row[p.name] ?? null) : p.fn(row);
      return out;
    },
  };
}

function outputName(expr: Expr): string {
  if (expr.k === 'col') return expr.name;
  if (expr.k === 'agg') return expr.fn;
  return '?column?';
}

function nonNegativeInteger(
  expr: Expr | undefined,
  scope: Scope,
  what: string,
): number | undefined {
  if (expr === undefined) return undefined;
  const v = compile(expr, { ...scope, columns: undefined })({});
  if (v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new DatabaseError(
      SqlState.invalidParameter,
      `${what} must be a non-negative integer, got ${String(v)}`,
    );
  }
  return v;
}

function select(
  storage: Storage,
  stmt: SelectStmt,
  params: readonly Value[],
  tx: TxState,
): ExecResult {
  const table = stmt.from === undefined ? undefined : storage.table(stmt.from.name, stmt.from.pos);
  const scope = tableScope(table, params);
  const limit = nonNegativeInteger(stmt.limit, scope, 'LIMIT');
  const offset = nonNegativeInteger(stmt.offset, scope, 'OFFSET') ?? 0;
  let source: Row[];
  if (table === undefined) {
    if (stmt.where !== undefined && compileWhere(stmt.where, scope)({}) !== true) source = [];
    else source = [{}];
  } else source = matching(storage, table, stmt.where, params, tx).map((m) => m.row);

  if (stmt.items.some((i) => hasAggregate(i.expr))) {
    const row = aggregate(stmt.items, source, scope);
    const rows = offset > 0 || limit === 0 ? [] : [row];
    return { rows, rowCount: rows.length, command: 'SELECT', fields: Object.keys(row) };
  }

  const proj = projection(stmt.items, table, scope);
  if (stmt.orderBy.length > 0) {
    const aliases = new Map<string, Compiled>();
    stmt.items.forEach((item) => {
      if (item.expr !== undefined && item.alias !== undefined)
        aliases.set(item.alias, compile(item.expr, scope));
    });
    const keys = stmt.orderBy.map((o) => {
      if (o.expr.k === 'lit' && typeof o.expr.v === 'number') {
        const item = stmt.items[o.expr.v - 1];
        if (item === undefined || item.expr === undefined || !Number.isInteger(o.expr.v)) {
          throw new DatabaseError(
            SqlState.invalidParameter,
            `ORDER BY position ${o.expr.v} is not in the select list`,
          );
        }
        return { fn: compile(item.expr, scope), desc: o.desc };
      }
      return { fn: compile(o.expr, { ...scope, aliases }), desc: o.desc };
    });
    const decorated = source.map((row) => ({ row, k: keys.map((key) => key.fn(row)) }));
    decorated.sort((a, b) => {
      for (let i = 0; i < keys.length; i++) {
        const c = orderValues(a.k[i]!, b.k[i]!);
        if (c !== 0) return keys[i]!.desc ? -c : c;
      }
      return 0;
    });
    source = decorated.map((d) => d.row);
  }
  const end = limit === undefined ? source.length : Math.min(source.length, offset + limit);
  const rows: Row[] = [];
  for (let i = offset; i < end; i++) rows.push(proj.project(source[i]!));
  return { rows, rowCount: rows.length, command: 'SELECT', fields: proj.fields };
}

function aggregate(items: SelectItem[], source: Row[], scope: Scope): Row {
  const out: Row = {};
  for (const item of items) {
    const expr = item.expr;
    if (expr === undefined) {
      throw new DatabaseError(
        SqlState.groupingError,
        'SELECT * cannot be mixed with aggregate functions (there is no GROUP BY in db-sim)',
      );
    }
    const name = item.alias ?? outputName(expr);
    if (expr.k !== 'agg') {
      if (hasAggregate(expr)) {
        throw new DatabaseError(
          SqlState.featureNotSupported,
          'expressions around aggregate functions are not supported in db-sim; select the aggregate itself',
        );
      }
      try {
        out[name] = compile(expr, { ...scope, columns: undefined })({});
      } catch (error) {
        if (error instanceof DatabaseError && error.code === SqlState.undefinedColumn) {
          throw new DatabaseError(
            SqlState.groupingError,
            `column ${quoteIdent((expr as { name?: string }).name ?? name)} must be used in an aggregate function (there is no GROUP BY in db-sim)`,
          );
        }
        throw error;
      }
      continue;
    }
    const arg = expr.arg === undefined ? undefined : compile(expr.arg, scope);
    if (expr.fn === 'count') {
      let n = 0;
      for (const row of source) if (arg === undefined || arg(row) !== null) n++;
      out[name] = n;
      continue;
    }
    let acc: Value = null;
    for (const row of source) {
      const v = arg!(row);
      if (v === null) continue;
      if (expr.fn === 'sum') {
        if (typeof v !== 'number')
          throw new DatabaseError(
            SqlState.undefinedFunction,
            `function sum(${sqlType(v)}) does not exist`,
          );
        acc = ((acc as number | null) ?? 0) + v;
      } else if (acc === null) acc = v;
      else {
        const c = compareValues(v, acc, expr.fn === 'min' ? '<' : '>');
        if (expr.fn === 'min' ? c < 0 : c > 0) acc = v;
      }
    }
    out[name] = acc;
  }
  return out;
}

/** Checks and converts a value for a column: 42804 for a value of another type. */
function coerce(table: TableState, col: ColumnDef, v: Value): Value {
  if (v === null) return null;
  const ok =
    col.type === 'int'
      ? typeof v === 'number' && Number.isInteger(v)
      : col.type === 'float'
        ? typeof v === 'number'
        : col.type === 'text'
          ? typeof v === 'string'
          : typeof v === 'boolean';
  if (!ok) {
    throw new DatabaseError(
      SqlState.datatypeMismatch,
      `column ${quoteIdent(col.name)} of ${quoteIdent(table.name)} is of type ${col.typeName} but the value ${typeof v === 'string' ? JSON.stringify(v) : String(v)} is of type ${sqlType(v)}`,
    );
  }
  const max = col.maxLength;
  if (max !== undefined && typeof v === 'string' && v.length > max && [...v].length > max) {
    throw new DatabaseError(
      SqlState.stringDataRightTruncation,
      `value too long for type ${col.typeName}(${max}) in column ${quoteIdent(col.name)} of ${quoteIdent(table.name)}: ${[...v].length} characters`,
    );
  }
  return v;
}

function checkNotNull(table: TableState, row: Row): void {
  for (const c of table.columns) {
    if (c.notNull && row[c.name] === null) {
      throw new DatabaseError(
        SqlState.notNullViolation,
        `null value in column ${quoteIdent(c.name)} of relation ${quoteIdent(table.name)} violates not-null constraint`,
      );
    }
  }
}

function returning(
  items: SelectItem[] | undefined,
  table: TableState,
  params: readonly Value[],
  rows: Row[],
): { rows: Row[]; fields: string[] } {
  if (items === undefined) return { rows: [], fields: [] };
  const proj = projection(items, table, tableScope(table, params));
  return { rows: rows.map(proj.project), fields: proj.fields };
}

function column(table: TableState, name: string, pos: number): ColumnDef {
  const col = table.byName.get(name);
  if (col === undefined) {
    throw new DatabaseError(
      SqlState.undefinedColumn,
      `column ${quoteIdent(name)} of relation ${quoteIdent(table.name)} does not exist`,
      { position: pos },
    );
  }
  return col;
}

function insert(
  storage: Storage,
  stmt: InsertStmt,
  params: readonly Value[],
  tx: TxState,
): ExecResult {
  const table = storage.table(stmt.table.name, stmt.table.pos);
  const targets =
    stmt.columns === undefined
      ? table.columns
      : stmt.columns.map((c) => column(table, c.name, c.pos));
  const scope: Scope = { columns: undefined, table: table.name, params };
  const written: Row[] = [];
  for (const values of stmt.rows) {
    if (values.length !== targets.length) {
      throw new DatabaseError(
        SqlState.syntaxError,
        `INSERT has ${values.length > targets.length ? 'more' : 'fewer'} expressions than target columns (${values.length} for ${targets.length})`,
      );
    }
    const given = new Map<string, Value>();
    values.forEach((e, i) =>
      given.set(targets[i]!.name, coerce(table, targets[i]!, compile(e, scope)({}))),
    );
    const row: Row = {};
    for (const c of table.columns) {
      if (given.has(c.name)) row[c.name] = given.get(c.name)!;
      else if (c.serial) {
        const next = (table.serials.get(c.name) ?? 0) + 1;
        table.serials.set(c.name, next);
        row[c.name] = next;
      } else row[c.name] = c.default ?? null;
    }
    checkNotNull(table, row);
    const rowId = table.nextRowId++;
    storage.checkUnique(table, rowId, row, tx);
    storage.write(table, rowId, row, tx, true);
    written.push(row);
  }
  const ret = returning(stmt.returning, table, params, written);
  return { rows: ret.rows, rowCount: written.length, command: 'INSERT', fields: ret.fields };
}

function update(
  storage: Storage,
  stmt: UpdateStmt,
  params: readonly Value[],
  tx: TxState,
): ExecResult {
  const table = storage.table(stmt.table.name, stmt.table.pos);
  const scope = tableScope(table, params);
  const sets = stmt.sets.map((s) => ({
    col: column(table, s.column, s.pos),
    fn: compile(s.expr, scope),
  }));
  const targets = matching(storage, table, stmt.where, params, tx);
  const written: Row[] = [];
  for (const { rowId, row } of targets) {
    const next: Row = { ...row };
    for (const s of sets) next[s.col.name] = coerce(table, s.col, s.fn(row));
    checkNotNull(table, next);
    storage.checkUnique(table, rowId, next, tx);
    storage.write(table, rowId, next, tx, false);
    written.push(next);
  }
  const ret = returning(stmt.returning, table, params, written);
  return { rows: ret.rows, rowCount: written.length, command: 'UPDATE', fields: ret.fields };
}

function remove(
  storage: Storage,
  stmt: DeleteStmt,
  params: readonly Value[],
  tx: TxState,
): ExecResult {
  const table = storage.table(stmt.table.name, stmt.table.pos);
  const targets = matching(storage, table, stmt.where, params, tx);
  for (const { rowId } of targets) storage.write(table, rowId, null, tx, false);
  const ret = returning(
    stmt.returning,
    table,
    params,
    targets.map((t) => t.row),
  );
  return { rows: ret.rows, rowCount: targets.length, command: 'DELETE', fields: ret.fields };
}

function create(storage: Storage, stmt: CreateTableStmt): ExecResult {
  const name = stmt.table.name;
  const done: ExecResult = { rows: [], rowCount: 0, command: 'CREATE TABLE', fields: [] };
  if (storage.tables.has(name)) {
    if (stmt.ifNotExists) return done;
    throw new DatabaseError(
      SqlState.duplicateTable,
      `relation ${quoteIdent(name)} already exists`,
      {
        position: stmt.table.pos,
      },
    );
  }
  const seen = new Set<string>();
  for (const c of stmt.columns) {
    if (seen.has(c.name)) {
      throw new DatabaseError(
        SqlState.syntaxError,
        `column ${quoteIdent(c.name)} specified more than once`,
        {
          position: c.pos,
        },
      );
    }
    seen.add(c.name);
  }
  for (const key of [stmt.primaryKey ?? [], ...stmt.uniques]) {
    for (const c of key) {
      if (!seen.has(c)) {
        throw new DatabaseError(
          SqlState.undefinedColumn,
          `column ${quoteIdent(c)} named in key does not exist`,
        );
      }
    }
  }
  const columns = stmt.columns.map((c) => ({
    ...c,
    notNull: c.notNull || (stmt.primaryKey?.includes(c.name) ?? false),
  }));
  storage.tables.set(name, new TableState(name, columns, stmt.primaryKey, stmt.uniques));
  return done;
}
