import type { TxState } from './engine/storage.ts';
import { CursorImpl } from './cursor.ts';
import { assertFunction, assertOptions, assertString, bindParams } from './internal/validate.ts';
import { checkCursorOptions, checkQueryOptions } from './internal/options.ts';
import type { Session } from './session.ts';
import type { Value } from './sql/ast.ts';
import type {
  Cursor,
  CursorOptions,
  QueryOptions,
  QueryResult,
  Row,
  Transaction,
  TransactionOptions,
} from './types.ts';

/** A transaction or savepoint handle: statements run in its write set and snapshot. */
export class TxImpl implements Transaction {
  readonly session: Session;
  readonly state: TxState;
  readonly parent: TxImpl | undefined;
  /** The signals that cancel its statements: the `transaction` caller's and its parents'. */
  readonly signals: readonly (AbortSignal | undefined)[];
  /** For a savepoint: the write set when it began, restored on rollback. */
  readonly saved: ReturnType<TxState['save']> | undefined;
  readonly depth: number;
  #outcome: string | undefined;
  #endedBy: unknown;

  constructor(
    session: Session,
    state: TxState,
    parent: TxImpl | undefined,
    signals: readonly (AbortSignal | undefined)[],
  ) {
    this.session = session;
    this.state = state;
    this.parent = parent;
    this.signals = signals;
    this.saved = parent === undefined ? undefined : state.save();
    this.depth = parent === undefined ? 0 : parent.depth + 1;
  }

  get finished(): boolean {
    return this.#outcome !== undefined || (this.parent?.finished ?? false);
  }

  get active(): boolean {
    return !this.finished;
  }

  /** How it ended, for messages: `committed`, `been rolled back`… */
  get outcome(): string {
    return this.#outcome ?? this.parent?.outcome ?? 'ended';
  }

  /** The error that ended it without a commit, if any. */
  get endedBy(): unknown {
    return this.#endedBy ?? this.parent?.endedBy;
  }

  finish(outcome: string, endedBy?: unknown): void {
    if (this.#outcome !== undefined) return;
    this.#outcome = outcome;
    this.#endedBy = endedBy;
  }

  async query<R = Row>(
    sql: string,
    params?: readonly Value[],
    options?: QueryOptions,
  ): Promise<QueryResult<R>> {
    assertString('sql', sql);
    const bound = bindParams('params', params) as readonly Value[];
    checkQueryOptions(options);
    return (await this.session.statement(sql, bound, options, this)) as QueryResult<R>;
  }

  cursor<R = Row>(sql: string, params?: readonly Value[], options?: CursorOptions): Cursor<R> {
    assertString('sql', sql);
    const bound = bindParams('params', params) as readonly Value[];
    const batchSize = checkCursorOptions(options);
    return new CursorImpl<R>(this.session, this, sql, bound, options, batchSize);
  }

  async transaction<T>(
    fn: (tx: Transaction) => T | PromiseLike<T>,
    options?: TransactionOptions,
  ): Promise<T> {
    assertFunction('fn', fn);
    assertOptions('options', options, ['signal']);
    return this.session.transaction(fn, options, this);
  }

  get [Symbol.toStringTag](): string {
    return 'Transaction';
  }
}
