// The public shapes of @weft/db-sim: values, rows, results, options and handles.
import type { Value } from './sql/ast.ts';

export type { Value } from './sql/ast.ts';

/** A row: column name → value. */
export type Row = Record<string, Value>;

/**
 * What `query` resolves with.
 *
 * @example
 * ```ts
 * import { createDatabase } from '@weft/db-sim';
 *
 * await using conn = await createDatabase().connect();
 * const { rows, rowCount, command, fields } = await conn.query('SELECT 1 AS one, 2 AS two');
 * console.log(rows, rowCount, command, fields); // [{ one: 1, two: 2 }] 1 'SELECT' ['one', 'two']
 * ```
 */
export interface QueryResult<R = Row> {
  /** The rows a SELECT (or a RETURNING clause) produced; `[]` otherwise. */
  rows: R[];
  /** Rows returned by a SELECT; rows inserted, updated or deleted by the others. */
  rowCount: number;
  /** `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `CREATE TABLE` or `DROP TABLE`. */
  command: string;
  /** The output column names, in order (also for an empty result). */
  fields: string[];
}

/** Options of `query`. */
export interface QueryOptions {
  /**
   * Cancels the statement: it rejects with the signal's reason and is not applied. Inside
   * a weft task the task's signal applies too (this one adds to it).
   */
  signal?: AbortSignal | undefined;
  /**
   * A statement timeout in ms: past it the statement is cancelled with `57014`, as
   * PostgreSQL's `statement_timeout` does. @default Infinity
   */
  timeout?: number | undefined;
}

/** Options of `cursor`; `timeout` applies to each round trip (the open and every fetch). */
export interface CursorOptions extends QueryOptions {
  /** Rows fetched per round trip. @default 100 */
  batchSize?: number | undefined;
}

/** Options of `transaction`. */
export interface TransactionOptions {
  /**
   * Cancels the transaction: the statement in flight rejects, the transaction rolls back
   * (shielded) and `transaction` rejects with the signal's reason. Inside a weft task the
   * task's signal applies too.
   */
  signal?: AbortSignal | undefined;
}

/**
 * A batch-by-batch reader of a SELECT's rows: `for await (const row of cursor)`. It opens
 * on the first pull and holds its connection until it is closed: by reaching the end,
 * `break`, an error, cancellation, `close()` or `await using`. Closed under the loop
 * instead (its connection closed, released or lost, the database closed, its transaction
 * rolled back), the next pull rejects with why (`08003`, `08006`, `25000`) rather than
 * ending as if every row had been read.
 *
 * @example
 * ```ts
 * import { createDatabase } from '@weft/db-sim';
 *
 * await using db = createDatabase({ tables: { n: { columns: 'i int primary key', rows: [{ i: 1 }, { i: 2 }] } } });
 * await using conn = await db.connect();
 * for await (const row of conn.cursor('SELECT i FROM n ORDER BY i', [], { batchSize: 1 })) {
 *   console.log(row.i);
 * }
 * ```
 */
export interface Cursor<R = Row> extends AsyncIterableIterator<R>, AsyncDisposable {
  /** Closes the cursor and frees its connection. Never rejects; calling it again does nothing. */
  close(): Promise<void>;
  /**
   * Whether the cursor has closed, or can no longer open (its handle released or closed,
   * its connection closed or broken, its transaction over).
   */
  readonly closed: boolean;
}

/** What both a connection and a transaction can run. */
export interface Queryable {
  /**
   * Runs one statement and resolves with its result after the simulated round trip.
   * `params` are bound to `$1`, `$2`, … as values, never spliced into the text. Rejects
   * with a `DatabaseError` (see `SqlState`) or, when cancelled, with the signal's reason.
   */
  query<R = Row>(
    sql: string,
    params?: readonly Value[],
    options?: QueryOptions,
  ): Promise<QueryResult<R>>;
  /** Reads a SELECT batch by batch; see {@link Cursor}. Throws a `TypeError` for bad arguments. */
  cursor<R = Row>(sql: string, params?: readonly Value[], options?: CursorOptions): Cursor<R>;
  /**
   * Runs `fn` in a transaction (on a transaction: in a savepoint): commits when `fn`
   * resolves, rolls back when it throws or is cancelled (the rollback is shielded from the
   * cancellation), then rejects with that error. Resolves with `fn`'s value.
   */
  transaction<T>(
    fn: (tx: Transaction) => T | PromiseLike<T>,
    options?: TransactionOptions,
  ): Promise<T>;
}

/**
 * An open transaction (or savepoint), handed to the `transaction` callback. Run its
 * statements through it; it is valid until the callback settles.
 *
 * @example
 * ```ts
 * import { createDatabase } from '@weft/db-sim';
 *
 * await using db = createDatabase({ tables: { accounts: { columns: 'id int primary key, balance int', rows: [{ id: 1, balance: 10 }, { id: 2, balance: 0 }] } } });
 * await using conn = await db.connect();
 * await conn.transaction(async (tx) => {
 *   await tx.query('UPDATE accounts SET balance = balance - $1 WHERE id = $2', [5, 1]);
 *   await tx.query('UPDATE accounts SET balance = balance + $1 WHERE id = $2', [5, 2]);
 * });
 * ```
 */
export interface Transaction extends Queryable {
  /** 0 for the transaction, 1 for a savepoint inside it, and so on. */
  readonly depth: number;
  /** Whether statements can still run through this handle. */
  readonly active: boolean;
}

/**
 * A connection to the simulated database: `await using conn = await db.connect()`. It
 * runs one operation at a time: a second call while a statement, an open cursor or a
 * transaction holds it rejects at once with `55006` (object in use) saying what holds it;
 * use a pool for concurrent work. Using it after `close()` rejects with `08003`.
 *
 * @example
 * ```ts
 * import { createDatabase } from '@weft/db-sim';
 *
 * await using db = createDatabase();
 * await using conn = await db.connect();
 * const { rows } = await conn.query('SELECT 1 + 1 AS two');
 * console.log(rows[0]?.two); // 2
 * ```
 */
export interface Connection extends Queryable, AsyncDisposable {
  /** The connection's id, as in the trace and in `DatabaseError.connection`. */
  readonly id: number;
  /** Whether `close()` was called (for a pooled connection: whether it was released). */
  readonly closed: boolean;
  /** Whether the connection was lost to a fault (`08006`/`08007`); a pool destroys it on release. */
  readonly broken: boolean;
  /** Whether a transaction is open on it. */
  readonly inTransaction: boolean;
  /**
   * Ends your use of the connection: a direct one closes (a statement in flight rejects
   * with `08003`, an open transaction is rolled back); a pooled one goes back to its pool,
   * reset. Never rejects; calling it again does nothing. `await using` calls it.
   */
  close(): Promise<void>;
}

/** Options of `db.connect`. */
export interface ConnectOptions {
  /** Cancels the connection handshake. Inside a weft task the task's signal applies too. */
  signal?: AbortSignal | undefined;
}
