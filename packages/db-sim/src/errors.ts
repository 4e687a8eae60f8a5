/**
 * SQLSTATE-like codes of the simulated database, as PostgreSQL spells them, so that code
 * written against db-sim reads like code written against a real driver.
 *
 * @example
 * ```ts
 * import { createDatabase, DatabaseError, SqlState } from '@weft/db-sim';
 *
 * await using conn = await createDatabase().connect();
 * try {
 *   await conn.query('SELECT * FROM missing');
 * } catch (err) {
 *   if (err instanceof DatabaseError && err.code === SqlState.undefinedTable) console.log('no table yet');
 * }
 * ```
 */
export const SqlState = {
  syntaxError: '42601',
  undefinedTable: '42P01',
  undefinedColumn: '42703',
  undefinedFunction: '42883',
  undefinedObject: '42704',
  duplicateTable: '42P07',
  duplicateColumn: '42701',
  datatypeMismatch: '42804',
  groupingError: '42803',
  uniqueViolation: '23505',
  notNullViolation: '23502',
  serializationFailure: '40001',
  queryCanceled: '57014',
  connectionFailure: '08006',
  connectionRefused: '08001',
  connectionDoesNotExist: '08003',
  transactionResolutionUnknown: '08007',
  protocolViolation: '08P01',
  poolTimeout: '53300',
  statementTooComplex: '54001',
  invalidParameter: '22023',
  divisionByZero: '22012',
  stringDataRightTruncation: '22001',
  numericValueOutOfRange: '22003',
  invalidEscapeSequence: '22025',
  objectInUse: '55006',
  invalidTransactionState: '25000',
  inFailedTransaction: '25P02',
  featureNotSupported: '0A000',
  internalError: 'XX000',
} as const;

/** One of the {@link SqlState} codes. */
export type SqlStateCode = (typeof SqlState)[keyof typeof SqlState];

/** Extra fields of a {@link DatabaseError}. */
export interface DatabaseErrorOptions extends ErrorOptions {
  /** For a syntax error: the 1-based character position in the SQL text. */
  position?: number;
  /** The id of the connection the error happened on. */
  connection?: number;
}

/**
 * Every failure the simulated database reports. `code` tells what happened (see
 * {@link SqlState}); `retryable` says whether running the same work again may succeed
 * (serialization failures, dropped connections, refused connections, pool timeouts and
 * injected query failures). A syntax error carries `position`, the 1-based character in
 * the SQL text where the parser stopped, as PostgreSQL reports it.
 *
 * @example
 * ```ts
 * import { DatabaseError, SqlState } from '@weft/db-sim';
 *
 * const err = new DatabaseError(SqlState.uniqueViolation, 'duplicate key value violates unique constraint "users_email"');
 * if (err.code === SqlState.uniqueViolation) console.log('already registered');
 * ```
 */
export class DatabaseError extends Error {
  override readonly name: string = 'DatabaseError';
  /** The SQLSTATE-like code. */
  readonly code: SqlStateCode;
  /** For a syntax error: the 1-based character position in the SQL text. */
  readonly position: number | undefined;
  /** The id of the connection the error happened on, when there was one. */
  readonly connection: number | undefined;

  constructor(code: SqlStateCode, message: string, options?: DatabaseErrorOptions) {
    super(message, options);
    this.code = code;
    this.position = options?.position;
    this.connection = options?.connection;
  }

  /** Whether the same work may succeed when run again. */
  get retryable(): boolean {
    return (
      this.code === SqlState.serializationFailure ||
      this.code === SqlState.connectionFailure ||
      this.code === SqlState.connectionRefused ||
      this.code === SqlState.poolTimeout ||
      this.code === SqlState.internalError
    );
  }
}

/**
 * Names the connection on an error raised by the parser, the executor or the storage
 * (they know no connection): every statement error carries `connection` (review D18).
 * Internal: not exported from the package.
 */
export function onConnection(error: unknown, connection: number): void {
  if (error instanceof DatabaseError && error.connection === undefined) {
    (error as { connection: number | undefined }).connection = connection;
  }
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Turns an error's `position`, counted by the lexer in UTF-16 code units, into the
 * 1-based character (code point) position in `sql`, as documented (review D9). Call once
 * per error, with the statement it came from. Internal.
 */
export function inText(error: unknown, sql: string): void {
  if (!(error instanceof DatabaseError) || error.position === undefined) return;
  const head = sql.slice(0, error.position - 1);
  if (!SURROGATE.test(head)) return;
  let chars = 0;
  for (const _ of head) chars++;
  (error as { position: number | undefined }).position = chars + 1;
}

/** What {@link PoolLeakError} and `pool.leaks()` report about a connection never released. */
export interface LeakReport {
  /** The connection's id (as in the trace and in `DatabaseError.connection`). */
  readonly connection: number;
  /** The clock time at which it was acquired. */
  readonly acquiredAt: number;
  /** How long it has been held, in ms of the database's clock. */
  readonly heldFor: number;
  /** The stack of the `acquire()` call, when the pool captures them (`captureStacks: true`). */
  readonly stack: string | undefined;
}

/**
 * Raised by `pool.close({ timeout })` when connections were still held when the timeout
 * passed: they were destroyed, and `leaks` says which ones and where they were acquired.
 * Its `code` is `55006` (object in use).
 *
 * @example
 * ```ts
 * import { createDatabase, PoolLeakError } from '@weft/db-sim';
 *
 * const pool = createDatabase().pool({ max: 2 });
 * await pool.acquire(); // never released
 * try {
 *   await pool.close({ timeout: 100 });
 * } catch (err) {
 *   if (err instanceof PoolLeakError) console.log(err.leaks[0]?.stack);
 * }
 * ```
 */
export class PoolLeakError extends DatabaseError {
  override readonly name: string = 'PoolLeakError';
  /** The connections that were never released. */
  readonly leaks: readonly LeakReport[];

  constructor(leaks: readonly LeakReport[]) {
    const ids = leaks.map((l) => `#${l.connection}`).join(', ');
    super(
      SqlState.objectInUse,
      `The pool closed with ${leaks.length} connection${leaks.length === 1 ? '' : 's'} never released (${ids}); they were destroyed. See \`leaks\` for where each was acquired (with \`captureStacks: true\`).`,
    );
    this.leaks = leaks;
  }
}
