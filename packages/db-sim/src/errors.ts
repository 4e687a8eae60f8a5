/**
 * SQLSTATE-like codes of the simulated database, as PostgreSQL spells them, so that code
 * written against db-sim reads like code written against a real driver.
 */
export const SqlState = {
  syntaxError: '42601',
  undefinedTable: '42P01',
  undefinedColumn: '42703',
  duplicateTable: '42P07',
  uniqueViolation: '23505',
  notNullViolation: '23502',
  serializationFailure: '40001',
  queryCanceled: '57014',
  connectionFailure: '08006',
  connectionRefused: '08001',
  transactionResolutionUnknown: '08007',
  poolTimeout: '53300',
  invalidParameter: '22023',
} as const;

/** One of the {@link SqlState} codes. */
export type SqlStateCode = (typeof SqlState)[keyof typeof SqlState];

/**
 * Every failure the simulated database reports. `code` tells what happened (see
 * {@link SqlState}); `retryable` says whether running the same work again may succeed
 * (serialization failures, dropped connections, pool timeouts).
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
  readonly code: SqlStateCode;

  constructor(code: SqlStateCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }

  /** Whether the same work may succeed when run again. */
  get retryable(): boolean {
    return (
      this.code === SqlState.serializationFailure ||
      this.code === SqlState.connectionFailure ||
      this.code === SqlState.connectionRefused ||
      this.code === SqlState.poolTimeout
    );
  }
}
