import { CursorImpl } from './cursor.ts';
import { DatabaseError, SqlState } from './errors.ts';
import { checkCursorOptions, checkQueryOptions } from './internal/options.ts';
import { assertFunction, assertOptions, assertString, bindParams } from './internal/validate.ts';
import type { Session } from './session.ts';
import type { Value } from './sql/ast.ts';
import type {
  Connection,
  Cursor,
  CursorOptions,
  QueryOptions,
  QueryResult,
  Row,
  Transaction,
  TransactionOptions,
} from './types.ts';

/**
 * The client's handle on a session. A direct connection owns its session; a pooled one
 * leases it, and `close()` hands it back (`release`) instead of closing it.
 */
export class ConnectionImpl implements Connection {
  readonly id: number;
  #session: Session | undefined;
  readonly #release: ((session: Session) => void) | undefined;

  constructor(session: Session, release?: (session: Session) => void) {
    this.id = session.id;
    this.#session = session;
    this.#release = release;
  }

  get closed(): boolean {
    return this.#session === undefined || this.#session.state === 'closed';
  }

  get broken(): boolean {
    return this.#session?.state === 'broken';
  }

  get inTransaction(): boolean {
    return this.#session?.root !== undefined;
  }

  #live(): Session {
    const session = this.#session;
    if (session === undefined) {
      throw new DatabaseError(
        SqlState.connectionDoesNotExist,
        this.#release === undefined
          ? `connection #${this.id} is closed`
          : `connection #${this.id} was released to its pool; acquire another one`,
        { connection: this.id },
      );
    }
    return session;
  }

  async query<R = Row>(
    sql: string,
    params?: readonly Value[],
    options?: QueryOptions,
  ): Promise<QueryResult<R>> {
    assertString('sql', sql);
    const bound = bindParams('params', params) as readonly Value[];
    checkQueryOptions(options);
    return (await this.#live().statement(sql, bound, options, undefined)) as QueryResult<R>;
  }

  /**
   * `pool.query`'s statement, checked already, with the ms of its `timeout` spent waiting
   * for this connection (review dbx10 X8).
   */
  statement(
    sql: string,
    params: readonly Value[],
    options: QueryOptions | undefined,
    waited: number,
  ): Promise<QueryResult<Row>> {
    return this.#live().statement(sql, params, options, undefined, waited);
  }

  cursor<R = Row>(sql: string, params?: readonly Value[], options?: CursorOptions): Cursor<R> {
    assertString('sql', sql);
    const bound = bindParams('params', params) as readonly Value[];
    const batchSize = checkCursorOptions(options);
    // The cursor is this handle's: a first pull after the handle was released or closed
    // rejects 08003 instead of running on the session the pool has lent again (dbx11 X1).
    return new CursorImpl<R>(this.#live(), undefined, sql, bound, options, batchSize, () =>
      this.#live(),
    );
  }

  async transaction<T>(
    fn: (tx: Transaction) => T | PromiseLike<T>,
    options?: TransactionOptions,
  ): Promise<T> {
    assertFunction('fn', fn);
    assertOptions('options', options, ['signal']);
    return this.#live().transaction(fn, options, undefined);
  }

  close(): Promise<void> {
    const session = this.#session;
    if (session === undefined) return Promise.resolve();
    this.#session = undefined;
    if (this.#release !== undefined) this.#release(session);
    else {
      session.close(
        () =>
          new DatabaseError(
            SqlState.connectionDoesNotExist,
            `connection #${this.id} was closed by the client`,
            { connection: this.id },
          ),
      );
    }
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  get [Symbol.toStringTag](): string {
    return 'Connection';
  }
}
