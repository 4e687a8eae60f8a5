import { type CallerContext, callerContext } from '@weft/core';
import { execute } from './engine/executor.ts';
import { DatabaseError, inText, onConnection, SqlState } from './errors.ts';
import type { Hold, Session } from './session.ts';
import type { Value } from './sql/ast.ts';
import type { TxImpl } from './transaction.ts';
import type { Cursor, CursorOptions, Row } from './types.ts';

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });
const noop = (): void => {};

function abortReason(signals: readonly (AbortSignal | undefined)[]): unknown {
  for (const s of signals) if (s?.aborted) return s.reason;
  return undefined;
}

/**
 * The cursor: on the first pull it takes the connection, runs the SELECT in its snapshot
 * (one round trip, which also brings the first batch), then brings each further batch in
 * its own round trip when the consumer asks for it.
 */
export class CursorImpl<R = Row> implements Cursor<R> {
  readonly #session: Session;
  readonly #frame: TxImpl | undefined;
  readonly #sql: string;
  readonly #params: readonly Value[];
  readonly #options: CursorOptions | undefined;
  readonly #batchSize: number;
  #state: 'new' | 'open' | 'closed' = 'new';
  #rows: Row[] = [];
  /** The next row to hand out, and how many rows have crossed the wire so far. */
  #pos = 0;
  #available = 0;
  #hold: Hold | undefined;
  #ctx: CallerContext | undefined;
  #signals: readonly (AbortSignal | undefined)[] = [];
  /** The pull in flight; pulls run one after another. */
  #busy: Promise<IteratorResult<R>> | undefined;
  /** Why the cursor was closed under its consumer (see `closeNow`); later pulls reject with it. */
  #endedBy: (() => unknown) | undefined;
  /** Closes the cursor when one of its signals aborts between pulls (see #open). */
  #onAbort: (() => void) | undefined;
  /** The error with which `close()` cut a pull short: that pull resolves `DONE`. */
  #quiet: DatabaseError | undefined;
  /**
   * For a cursor made on a connection handle (`conn.cursor`): throws (`08003`) once that
   * handle was released to its pool or closed. The cursor belongs to the handle, not to
   * the session behind it, which a pool lends again (review dbx11 X1).
   */
  readonly #lease: (() => unknown) | undefined;

  constructor(
    session: Session,
    frame: TxImpl | undefined,
    sql: string,
    params: readonly Value[],
    options: CursorOptions | undefined,
    batchSize: number,
    lease?: () => unknown,
  ) {
    this.#session = session;
    this.#lease = lease;
    this.#frame = frame;
    this.#sql = sql;
    this.#params = params;
    this.#options = options;
    this.#batchSize = batchSize;
  }

  get closed(): boolean {
    // Not opened yet: closed once it can never open (review dbx12 X1).
    if (this.#state === 'new') return !this.#canOpen();
    return this.#state === 'closed';
  }

  /** Whether a cursor not opened yet still could: its handle, connection and transaction live. */
  #canOpen(): boolean {
    if (this.#lease !== undefined) {
      try {
        this.#lease();
      } catch {
        return false;
      }
    }
    return this.#session.state === 'open' && !(this.#frame?.finished ?? false);
  }

  /** Whether it was opened in `frame` or a savepoint inside it. */
  within(frame: TxImpl): boolean {
    for (let f = this.#frame; f !== undefined; f = f.parent) if (f === frame) return true;
    return false;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<R>> {
    if (this.#pos < this.#available && this.#busy === undefined && !this.#aborted()) {
      return Promise.resolve({ value: this.#rows[this.#pos++] as R, done: false });
    }
    const previous = this.#busy;
    const pull =
      previous === undefined
        ? this.#step()
        : previous.then(
            () => this.#step(),
            () => this.#step(),
          );
    this.#busy = pull;
    const clear = (): void => {
      if (this.#busy === pull) this.#busy = undefined;
    };
    pull.then(clear, clear);
    return pull;
  }

  #aborted(): boolean {
    for (const s of this.#signals) if (s?.aborted) return true;
    return false;
  }

  async return(): Promise<IteratorResult<R>> {
    await this.close();
    return DONE;
  }

  async close(): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'closed';
      return;
    }
    const busy = this.#busy;
    if (busy !== undefined && this.#state === 'open') {
      // The pull in flight ends quietly, `{ done: true }` (review D6): close() is a quiet end.
      const quiet = this.#closedWhileFetching();
      this.#quiet = quiet;
      this.#session.abortOp(quiet);
    }
    this.closeNow();
    if (busy !== undefined) await busy.then(noop, noop);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Closes at once and frees the connection (on reset, rollback, end or error). `reason`,
   * when given, is why it was closed under the consumer (the connection closed, released
   * or lost, its transaction rolled back): later pulls reject with it instead of ending
   * quietly, so a truncated result never looks complete.
   */
  closeNow(reason?: () => unknown): void {
    if (this.#state === 'closed') return;
    const opened = this.#state === 'open';
    this.#state = 'closed';
    if (reason !== undefined) this.#endedBy = reason;
    this.#rows = [];
    this.#pos = 0;
    this.#available = 0;
    this.#session.cursors.delete(this);
    if (this.#hold !== undefined) this.#session.leave(this.#hold);
    this.#unlisten();
    this.#ctx?.[Symbol.dispose]();
    this.#ctx = undefined;
    if (opened) this.#session.sim.trace.record(this.#session.id, 'cursor-close', '');
  }

  async #step(): Promise<IteratorResult<R>> {
    if (this.#state === 'closed') {
      if (this.#endedBy === undefined) return DONE;
      throw this.#endedBy();
    }
    try {
      if (this.#state === 'new') await this.#open();
      // Re-checked after each await: the cursor may have been closed under the pull (its
      // rows dropped) between #open/#fetch ending and this step resuming.
      this.#resumed();
      if (this.#pos >= this.#available) {
        if (this.#available >= this.#rows.length) {
          this.closeNow();
          return DONE;
        }
        await this.#fetch();
        this.#resumed();
      }
      return { value: this.#rows[this.#pos++] as R, done: false };
    } catch (error) {
      onConnection(error, this.#session.id);
      inText(error, this.#sql);
      if (!this.closed) this.#session.failed(error, this.#frame);
      // A pull that failed ends the cursor with its error: later pulls reject with it too,
      // so a cut-short result never reads as complete (review dbx12 X2). A pull that
      // close() cut short (closed already, no reason) resolves done.
      this.closeNow(() => error);
      if (this.#quiet !== undefined && this.#endedBy === undefined) return DONE;
      throw error;
    }
  }

  async #open(): Promise<void> {
    const session = this.#session;
    // Made on a handle since released or closed: the session may be lent to someone else
    // now, so the cursor must not touch it (review dbx11 X1); this and later pulls reject.
    try {
      this.#lease?.();
    } catch (error) {
      this.#state = 'closed';
      this.#endedBy = () => error;
      throw error;
    }
    const ctx = callerContext({ signal: this.#options?.signal, clock: session.sim.clock });
    this.#ctx = ctx;
    this.#signals = this.#frame === undefined ? [ctx.signal] : [ctx.signal, ...this.#frame.signals];
    try {
      this.#hold = session.enter(this.#frame, 'an open cursor', this.#sql);
    } catch (error) {
      this.#state = 'closed';
      this.#endedBy = () => error;
      ctx[Symbol.dispose]();
      this.#ctx = undefined;
      throw error;
    }
    this.#state = 'open';
    session.cursors.add(this);
    // Cancellation frees the connection even while the consumer is not pulling (review
    // D15): a pull in flight fails with the reason itself; between pulls the cursor
    // closes at once and the next pull rejects with the reason.
    const onAbort = (): void => {
      if (this.#busy !== undefined || this.#state !== 'open') return;
      const reason = abortReason(this.#signals);
      session.failed(reason, this.#frame);
      this.closeNow(() => reason);
    };
    this.#onAbort = onAbort;
    for (const s of this.#signals) s?.addEventListener('abort', onAbort, { once: true });
    session.sim.trace.record(session.id, 'cursor', session.sim.short(this.#sql));
    const aborted = this.#frame?.state.aborted;
    if (aborted !== undefined) {
      throw new DatabaseError(
        SqlState.inFailedTransaction,
        `current transaction is aborted, commands ignored until end of transaction block (it failed with ${aborted.code})`,
        {
          connection: session.id,
          cause: aborted,
        },
      );
    }
    const parsed = session.sim.parse(this.#sql);
    if (parsed.stmt.type !== 'select') {
      throw new DatabaseError(
        SqlState.featureNotSupported,
        `a cursor reads the rows of a SELECT; run ${parsed.stmt.type.toUpperCase()} with query()`,
        {
          connection: session.id,
        },
      );
    }
    if (parsed.params !== this.#params.length) {
      throw new DatabaseError(
        SqlState.protocolViolation,
        `the statement uses ${parsed.params} parameter(s) but ${this.#params.length} were given`,
        {
          connection: session.id,
        },
      );
    }
    await session.travel(
      session.sim.faults.plan('statement'),
      this.#signals,
      this.#options?.timeout,
      'a cursor open',
    );
    this.#resumed();
    const storage = session.sim.storage;
    const tx = this.#frame?.state ?? storage.begin(false);
    this.#rows = execute(storage, parsed.stmt, this.#params, tx).rows;
    this.#available = Math.min(this.#batchSize, this.#rows.length);
    session.sim.trace.record(session.id, 'fetch', String(this.#available));
  }

  #unlisten(): void {
    const onAbort = this.#onAbort;
    if (onAbort === undefined) return;
    this.#onAbort = undefined;
    for (const s of this.#signals) s?.removeEventListener('abort', onAbort);
  }

  async #fetch(): Promise<void> {
    const session = this.#session;
    await session.travel(
      session.sim.faults.plan('fetch'),
      this.#signals,
      this.#options?.timeout,
      'a cursor fetch',
    );
    this.#resumed();
    const before = this.#available;
    this.#available = Math.min(before + this.#batchSize, this.#rows.length);
    session.sim.trace.record(session.id, 'fetch', String(this.#available - before));
  }

  /**
   * After a round trip: throws when the cursor was closed meanwhile (why it was closed
   * under the consumer, else the quiet close's error) or a signal aborted. The round trip's
   * wait may have ended just before (a 0 ms one, or a timer firing at the same instant as
   * the release or abort), leaving nothing to abort (probes X4, X5).
   */
  #resumed(): void {
    if (this.#state !== 'open') throw this.#endedBy?.() ?? this.#closedWhileFetching();
    for (const s of this.#signals) if (s?.aborted) throw s.reason;
  }

  #closedWhileFetching(): DatabaseError {
    return new DatabaseError(
      SqlState.queryCanceled,
      'canceling the cursor fetch: the cursor was closed',
      {
        connection: this.#session.id,
      },
    );
  }

  get [Symbol.toStringTag](): string {
    return 'Cursor';
  }
}
