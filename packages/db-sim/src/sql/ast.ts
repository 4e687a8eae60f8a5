// The syntax tree of the SQL subset.

/** A value the simulated database stores: SQL NULL, a number, a string or a boolean. */
export type Value = null | number | string | boolean;

export type Expr =
  | { k: 'lit'; v: Value }
  | { k: 'param'; i: number; pos: number }
  | { k: 'col'; name: string; pos: number }
  | {
      k: 'bin';
      op: '=' | '<>' | '<' | '<=' | '>' | '>=' | '+' | '-' | '*' | '/' | '%';
      l: Expr;
      r: Expr;
      pos: number;
    }
  | { k: 'and'; l: Expr; r: Expr }
  | { k: 'or'; l: Expr; r: Expr }
  | { k: 'not'; e: Expr }
  | { k: 'neg'; e: Expr; pos: number }
  | { k: 'in'; e: Expr; list: Expr[]; not: boolean; pos: number }
  | { k: 'like'; e: Expr; pattern: Expr; not: boolean; ci: boolean; pos: number }
  | { k: 'isnull'; e: Expr; not: boolean }
  | { k: 'agg'; fn: 'count' | 'sum' | 'min' | 'max'; arg: Expr | undefined; pos: number };

export interface SelectItem {
  /** `undefined` for `*`. */
  expr: Expr | undefined;
  alias: string | undefined;
}

export interface OrderItem {
  expr: Expr;
  desc: boolean;
}

export interface TableRef {
  name: string;
  pos: number;
}

export interface SelectStmt {
  type: 'select';
  items: SelectItem[];
  from: TableRef | undefined;
  where: Expr | undefined;
  orderBy: OrderItem[];
  limit: Expr | undefined;
  offset: Expr | undefined;
}

export interface InsertStmt {
  type: 'insert';
  table: TableRef;
  columns: { name: string; pos: number }[] | undefined;
  rows: Expr[][];
  returning: SelectItem[] | undefined;
}

export interface UpdateStmt {
  type: 'update';
  table: TableRef;
  sets: { column: string; expr: Expr; pos: number }[];
  where: Expr | undefined;
  returning: SelectItem[] | undefined;
}

export interface DeleteStmt {
  type: 'delete';
  table: TableRef;
  where: Expr | undefined;
  returning: SelectItem[] | undefined;
}

export type ColumnType = 'int' | 'float' | 'text' | 'bool';

export interface ColumnDef {
  name: string;
  type: ColumnType;
  /** The type as written, for messages (`integer`, `text`…). */
  typeName: string;
  serial: boolean;
  notNull: boolean;
  primaryKey: boolean;
  unique: boolean;
  default: Value | undefined;
  /** For `varchar(n)` / `char(n)`: the most characters a value may have. */
  maxLength?: number | undefined;
  pos: number;
}

export interface CreateTableStmt {
  type: 'create';
  table: TableRef;
  ifNotExists: boolean;
  columns: ColumnDef[];
  primaryKey: string[] | undefined;
  uniques: string[][];
}

export interface DropTableStmt {
  type: 'drop';
  table: TableRef;
  ifExists: boolean;
}

export type Statement =
  | SelectStmt
  | InsertStmt
  | UpdateStmt
  | DeleteStmt
  | CreateTableStmt
  | DropTableStmt;

/** A parsed statement and how many `$n` parameters it needs. */
export interface Parsed {
  stmt: Statement;
  params: number;
}
