// The server side of one connection: what holds it, its open transaction and cursors, and
// the round trip every operation makes (latency, stalls and faults from the seeded plan).
import { attachSuppressed, callerContext, isCancellation, shield } from '@weft/core';
import { execute } from './engine/executor.ts';
import { DatabaseError, inText, onConnection, SqlState } from './errors.ts';
import type { Plan } from './faults.ts';
import type { Sim } from './internal/sim.ts';
import { wait } from './internal/wait.ts';
import type { Value } from './sql/ast.ts';
import type { CursorImpl } from './cursor.ts';
import { shortSql } from './trace.ts';
import { TxImpl } from './transaction.ts';
import type { QueryOptions, QueryResult, Row, Transaction, TransactionOptions } from './types.ts';

/** A token for what holds the connection; only its owner clears it. */
export interface Hold {
  /** What holds it: `a query`, `an open cursor`, `a COMMIT`… */
  readonly what: string;
  /** The statement, shown (shortened) in the busy message. */
  readonly sql?: string | undefined;
  /**
   * Set when the connection was taken from this hold while its round trip was in flight
   * (released to the pool, closed, lost, its transaction rolled back): why, which the
   * operation rejects with when it resumes (see `Session.resumed`).
   */
  lost?: (() => unknown) | undefined;
}

type Signals = readonly (AbortSignal | undefined)[];

const NONE: unique symbol = Symbol('none');

export class Session {
  readonly id: number;
  readonly sim: Sim;
  #state: 'open' | 'broken' | 'closed' = 'open';
  /** Why the connection broke or closed. */
  #failure: DatabaseError | undefined;
  /** What runs on the connection now (a statement, an open cursor, a BEGIN…). */
  #holder: Hold | undefined;
  /** Aborts the round trip in flight (on reset, close or rollback). */
  #op: AbortController | undefined;
  /** The open transaction, and its innermost open savepoint. */
  root: TxImpl | undefined;
  active: TxImpl | undefined;
  readonly cursors: Set<CursorImpl<unknown>> = new Set();
  /** Clock time at which the connection went idle in its pool. */
  idleSince = 0;
  /** When and where (with `captureStacks`) a pool last lent it. */
  leasedAt = 0;
  leaseSite: Error | undefined;
  /** The leases of the task that holds it through its pool (see `PoolImpl#lend`), if any. */
  owned: Map<Session, { close(): Promise<void>; readonly closed: boolean }> | undefined;

  constructor(id: number, sim: Sim) {
    this.id = id;
    this.sim = sim;
  }

  get state(): 'open' | 'broken' | 'closed' {
    return this.#state;
  }

  /** Takes the connection for one operation, or throws why it cannot. */
  enter(frame: TxImpl | undefined, what: string, sql?: string): Hold {
    if (this.#state !== 'open') throw this.unusable();
    if (this.#holder !== undefined) {
      throw new DatabaseError(
        SqlState.objectInUse,
        `connection #${this.id} is busy: ${describeHold(this.#holder)} is in progress. A connection runs one operation at a time and an open cursor holds it until it closes; await the first call (or close the cursor), or take connections from a pool for concurrent work`,
        { connection: this.id },
      );
    }
    if (frame === undefined) {
      if (this.active !== undefined) {
        throw new DatabaseError(
          SqlState.objectInUse,
          `connection #${this.id} has an open transaction: run statements through the transaction's handle (the \`tx\` passed to your callback)`,
          { connection: this.id },
        );
      }
    } else if (frame.finished) {
      throw new DatabaseError(
        SqlState.invalidTransactionState,
        `this transaction has already ${frame.outcome}; run statements inside its callback`,
        {
          connection: this.id,
        },
      );
    } else if (frame !== this.active) {
      throw new DatabaseError(
        SqlState.objectInUse,
        `a savepoint is open inside this transaction: run statements through the savepoint's handle`,
        { connection: this.id },
      );
    }
    const hold: Hold = { what, sql };
    this.#holder = hold;
    return hold;
  }

  leave(hold: Hold): void {
    if (this.#holder === hold) this.#holder = undefined;
  }

  /**
   * Checks, as an operation resumes after its round trip, that it may apply: throws why
   * when the connection was taken from `hold` meanwhile (released, closed, lost, rolled
   * back) or one of `signals` aborted. A round trip resumes in a later microtask than the
   * one in which its wait ended (at once for 0 ms, or when its timer fired), so a release,
   * close or abort can land in between with no wait left to abort (probes X4, X5): without
   * this check the statement ran after its connection was handed to the next borrower, and
   * a BEGIN installed its transaction on a connection already reset and lent again.
   */
  resumed(hold: Hold, signals: Signals): void {
    if (hold.lost !== undefined) throw hold.lost();
    if (this.#state !== 'open') throw this.unusable();
    for (const s of signals) if (s?.aborted) throw s.reason;
  }

  /** Takes the connection from its holder: the holder's operation rejects with `reason`. */
  #revoke(reason: () => unknown): void {
    const holder = this.#holder;
    if (holder !== undefined && holder.lost === undefined) holder.lost = reason;
    this.#holder = undefined;
  }

  /** The error for using a closed or broken connection. */
  unusable(): DatabaseError {
    if (this.#state === 'closed') {
      return new DatabaseError(
        SqlState.connectionDoesNotExist,
        `connection #${this.id} is closed`,
        {
          connection: this.id,
          cause: this.#failure,
        },
      );
    }
    return new DatabaseError(
      SqlState.connectionFailure,
      `connection #${this.id} was lost earlier (${this.#failure?.message ?? 'reset'}); close it and use another`,
      { connection: this.id, cause: this.#failure },
    );
  }

  /**
   * One round trip: waits the planned latency (a stall included) on the clock, unless a
   * signal aborts (its reason) or the statement timeout passes (57014); then applies the
   * planned reset (08006, the connection is lost) or failure (XX000).
   */
  async travel(
    plan: Plan,
    signals: Signals,
    timeout: number | undefined,
    what: string,
    timeoutLabel?: string,
  ): Promise<void> {
    let op: AbortController | undefined;
    let pending: Promise<void> | undefined;
    if (plan.stall) this.sim.trace.record(this.id, 'fault', 'stall');
    if (plan.latency > 0) {
      op = new AbortController();
      this.#op = op;
      pending = wait(this.sim.clock, plan.latency, [...signals, op.signal], timeout, () => {
        return new DatabaseError(
          SqlState.queryCanceled,
          `canceling statement due to statement timeout (${timeoutLabel ?? `${timeout} ms`})`,
          {
            connection: this.id,
          },
        );
      });
    } else pending = wait(this.sim.clock, 0, signals);
    try {
      if (pending !== undefined) await pending;
    } finally {
      if (this.#op === op) this.#op = undefined;
    }
    if (this.#state !== 'open') throw this.unusable();
    if (plan.disconnect) {
      const error = new DatabaseError(
        SqlState.connectionFailure,
        `connection #${this.id} was reset while running ${what} (simulated fault); nothing of it was applied`,
        { connection: this.id },
      );
      this.sim.trace.record(this.id, 'fault', 'reset');
      this.lose(error);
      throw error;
    }
    if (plan.fail) {
      this.sim.trace.record(this.id, 'fault', 'failure');
      throw new DatabaseError(
        SqlState.internalError,
        `${what} failed on the server (simulated fault); nothing of it was applied`,
        {
          connection: this.id,
        },
      );
    }
  }

  /** Records a failed operation and aborts the transaction it ran in (later statements: 25P02). */
  failed(error: unknown, frame: TxImpl | undefined): void {
    if (isCancellation(error) || (error as { name?: unknown } | null)?.name === 'TimeoutError') {
      this.sim.trace.record(
        this.id,
        'cancelled',
        String((error as { name?: unknown } | null)?.name ?? 'reason'),
      );
    } else {
      this.sim.trace.record(
        this.id,
        'error',
        error instanceof DatabaseError ? error.code : String(error),
      );
    }
    if (frame !== undefined && !frame.finished && frame.state.aborted === undefined) {
      frame.state.aborted =
        error instanceof DatabaseError
          ? error
          : new DatabaseError(SqlState.queryCanceled, 'canceling statement due to user request', {
              cause: error,
            });
    }
  }

  /**
   * Runs one statement. `waited`: the ms of `options.timeout` already spent waiting for a
   * pool connection (`pool.query`), so the statement gets what is left of it.
   */
  async statement(
    sql: string,
    params: readonly Value[],
    options: QueryOptions | undefined,
    frame: TxImpl | undefined,
    waited = 0,
  ): Promise<QueryResult<Row>> {
    const ctx = callerContext({ signal: options?.signal, clock: this.sim.clock });
    try {
      const hold = this.enter(frame, 'a query', sql);
      const trace = this.sim.trace;
      trace.record(this.id, 'query', this.sim.short(sql));
      try {
        if (frame?.state.aborted !== undefined)
          throw inFailedTransaction(frame.state.aborted, this.id);
        const parsed = this.sim.parse(sql);
        if (parsed.params !== params.length) {
          throw new DatabaseError(
            SqlState.protocolViolation,
            `the statement uses ${parsed.params} parameter${parsed.params === 1 ? '' : 's'} ($1…) but ${params.length} ${params.length === 1 ? 'was' : 'were'} given`,
            { connection: this.id },
          );
        }
        const plan = this.sim.faults.plan('statement');
        const signals = frame === undefined ? [ctx.signal] : [ctx.signal, ...frame.signals];
        const timeout = options?.timeout;
        await this.travel(
          plan,
          signals,
          timeout === undefined ? undefined : timeout - waited,
          'a query',
          waited > 0
            ? `${timeout} ms, of which ${Math.round(waited)} ms waiting for a connection from the pool`
            : undefined,
        );
        this.resumed(hold, signals);
        const storage = this.sim.storage;
        const tx = frame?.state ?? storage.begin(false);
        const result = execute(storage, parsed.stmt, params, tx);
        if (frame === undefined) storage.commit(tx);
        trace.record(this.id, 'ok', `${result.command} ${result.rowCount}`);
        return result;
      } catch (error) {
        onConnection(error, this.id);
        inText(error, sql);
        this.failed(error, frame);
        throw error;
      } finally {
        this.leave(hold);
      }
    } finally {
      ctx[Symbol.dispose]();
    }
  }

  async transaction<T>(
    fn: (tx: Transaction) => T | PromiseLike<T>,
    options: TransactionOptions | undefined,
    parent: TxImpl | undefined,
  ): Promise<T> {
    const ctx = callerContext({ signal: options?.signal, clock: this.sim.clock });
    try {
      const signals: Signals =
        parent === undefined ? [ctx.signal] : [ctx.signal, ...parent.signals];
      const frame = await this.#begin(parent, signals);
      // Released, closed or cancelled between BEGIN's end and here: the callback must not
      // run on a transaction that is over (or on a connection lent to someone else).
      if (frame.finished) throw endedError(frame);
      for (const s of signals) {
        if (s?.aborted) throw await this.rollback(frame, s.reason);
      }
      let value: T;
      try {
        value = await fn(frame);
      } catch (error) {
        throw await this.rollback(frame, error);
      }
      if (frame.finished) throw endedError(frame);
      // A cancelled caller gets its cancellation, even when the callback swallowed it.
      for (const s of signals) {
        if (s?.aborted) {
          throw await this.rollback(frame, s.reason);
        }
      }
      const aborted = frame.state.aborted;
      if (aborted !== undefined && aborted !== frame.saved?.aborted) {
        const error = new DatabaseError(
          SqlState.inFailedTransaction,
          `the ${parent === undefined ? 'transaction' : 'savepoint'} was aborted by an earlier error (${aborted.code}: ${aborted.message}), so it was rolled back instead of ${parent === undefined ? 'committed' : 'released'}`,
          { connection: this.id, cause: aborted },
        );
        throw await this.rollback(frame, error);
      }
      await this.#commit(frame);
      return value;
    } finally {
      ctx[Symbol.dispose]();
    }
  }

  async #begin(parent: TxImpl | undefined, signals: Signals): Promise<TxImpl> {
    const hold = this.enter(parent, parent === undefined ? 'a BEGIN' : 'a SAVEPOINT');
    try {
      if (parent?.state.aborted !== undefined)
        throw inFailedTransaction(parent.state.aborted, this.id);
      this.sim.trace.record(
        this.id,
        parent === undefined ? 'begin' : 'savepoint',
        String(parent === undefined ? 0 : parent.depth + 1),
      );
      await this.travel(
        this.sim.faults.plan('statement'),
        signals,
        undefined,
        parent === undefined ? 'BEGIN' : 'SAVEPOINT',
      );
      // Released (and maybe lent again), closed or rolled back while BEGIN was in flight:
      // the transaction must not open on a connection that is no longer this caller's.
      this.resumed(hold, signals);
      let frame: TxImpl;
      if (parent === undefined) {
        frame = new TxImpl(this, this.sim.storage.begin(true), undefined, signals);
        this.root = frame;
      } else {
        frame = new TxImpl(this, parent.state, parent, signals);
      }
      this.active = frame;
      return frame;
    } catch (error) {
      this.failed(error, parent);
      throw error;
    } finally {
      this.leave(hold);
    }
  }

  async #commit(frame: TxImpl): Promise<void> {
    const savepoint = frame.parent !== undefined;
    // As PostgreSQL's COMMIT does, the commit closes the cursors still open in the
    // transaction (review dbx10 X2: one left open made the COMMIT fail 55006, busy, and
    // rolled the transaction back); a savepoint's release closes those opened in it. A
    // pull in flight is abandoned; later pulls reject with 25000.
    if (this.cursors.size > 0) {
      const holder = this.#holder;
      // Worded for either outcome: the COMMIT (RELEASE) may still fail and roll back
      // (review dbx11 X2: it said "was committed" of a transaction rolled back).
      const closed = this.#closeCursors(
        frame,
        savepoint
          ? "the cursor was closed by its savepoint's RELEASE SAVEPOINT (which closes the cursors opened in the savepoint, whether it is then released or rolled back)"
          : "the cursor was closed by its transaction's COMMIT (which closes the cursors still open, whether the transaction then commits or rolls back)",
        undefined,
      );
      if (closed !== undefined && holder !== undefined && this.#holder === undefined) {
        this.#op?.abort(closed()); // the pull in flight of the cursor that held the connection
      }
    }
    let hold: Hold;
    try {
      hold = this.enter(frame, savepoint ? 'a RELEASE SAVEPOINT' : 'a COMMIT');
    } catch (error) {
      throw await this.rollback(frame, error);
    }
    let failure: unknown = NONE;
    let unknown: DatabaseError | undefined;
    try {
      this.sim.trace.record(this.id, savepoint ? 'release' : 'commit', String(frame.depth));
      const plan = this.sim.faults.plan(savepoint ? 'statement' : 'commit');
      await this.travel(plan, frame.signals, undefined, savepoint ? 'RELEASE SAVEPOINT' : 'COMMIT');
      this.resumed(hold, frame.signals);
      if (savepoint) {
        frame.finish('been released');
        this.active = frame.parent;
      } else {
        this.sim.storage.commit(frame.state);
        this.sim.storage.end(frame.state);
        frame.finish('committed');
        this.root = undefined;
        this.active = undefined;
        if (plan.commitUnknown) {
          unknown = new DatabaseError(
            SqlState.transactionResolutionUnknown,
            `connection #${this.id} dropped after COMMIT was sent: the transaction may or may not have committed (simulated fault); read back to find out`,
            { connection: this.id },
          );
          this.sim.trace.record(this.id, 'fault', 'commit-unknown');
          this.lose(unknown);
        }
      }
      if (unknown === undefined)
        this.sim.trace.record(this.id, 'ok', savepoint ? 'RELEASE' : 'COMMIT');
    } catch (error) {
      onConnection(error, this.id);
      failure = error;
      this.failed(error, undefined);
    } finally {
      this.leave(hold);
    }
    if (unknown !== undefined) throw unknown;
    if (failure !== NONE) {
      throw await this.rollback(frame, failure);
    }
  }

  /**
   * Rolls `frame` back: the server discards its writes at once (so nothing of it can
   * apply later), then the ROLLBACK round trip runs shielded from cancellation, holding
   * the connection until it is done. A failure of the round trip is attached to `reason`;
   * it resolves with what the caller must throw: `reason`, or for a primitive `reason`
   * the wrapper that carries the failure (review D8: it was dropped).
   */
  async rollback(frame: TxImpl, reason: unknown): Promise<unknown> {
    if (frame.finished) return reason;
    if (this.cursors.size > 0) {
      this.#closeCursors(
        frame,
        `the cursor's ${frame.parent === undefined ? 'transaction' : 'savepoint'} was rolled back, so the cursor was closed`,
        reason,
      );
    }
    if (frame.parent === undefined) {
      this.sim.storage.end(frame.state);
      this.root = undefined;
      this.active = undefined;
    } else {
      frame.state.restore(frame.saved!);
      this.active = frame.parent;
    }
    frame.finish('been rolled back', reason);
    if (this.#state !== 'open') return reason;
    const savepoint = frame.parent !== undefined;
    this.sim.trace.record(this.id, 'rollback', String(frame.depth));
    let failure: unknown = NONE;
    try {
      await shield(
        async ({ signal }) => {
          // A statement of this transaction still in flight (not awaited by the callback) is
          // abandoned: its wait is aborted, and one whose wait has already ended finds its
          // hold taken when it resumes (it never applies).
          const cancelled = new DatabaseError(
            SqlState.queryCanceled,
            'canceling statement: its transaction is rolling back',
            { connection: this.id },
          );
          this.#op?.abort(cancelled);
          this.#revoke(() => cancelled);
          const hold: Hold = { what: savepoint ? 'a ROLLBACK TO SAVEPOINT' : 'a ROLLBACK' };
          this.#holder = hold;
          try {
            await this.travel(this.sim.faults.plan('quiet'), [signal], undefined, 'ROLLBACK');
            this.resumed(hold, []);
            this.sim.trace.record(this.id, 'ok', 'ROLLBACK');
          } catch (error) {
            failure = error;
          } finally {
            this.leave(hold);
          }
        },
        { clock: this.sim.clock },
      );
    } catch {
      // shield re-raises the caller's cancellation; the caller raises its own error anyway.
    }
    if (failure !== NONE && reason !== failure) return attachSuppressed(reason, failure);
    return reason;
  }

  /**
   * Closes the cursors opened in `frame` or a savepoint inside it, as `frame` ends
   * (`message`: why): their next pull rejects with 25000.
   * Returns the error builder when it closed any.
   */
  #closeCursors(frame: TxImpl, message: string, cause: unknown): (() => DatabaseError) | undefined {
    const reason = (): DatabaseError =>
      new DatabaseError(
        SqlState.invalidTransactionState,
        message,
        cause === undefined ? { connection: this.id } : { connection: this.id, cause },
      );
    let closed = false;
    for (const cursor of this.cursors) {
      if (cursor.within(frame)) {
        cursor.closeNow(reason);
        closed = true;
      }
    }
    return closed ? reason : undefined;
  }

  /** Abandons the round trip in flight, if any (it rejects with `reason`). */
  abortOp(reason: unknown): void {
    this.#op?.abort(reason);
  }

  /** Marks the connection lost to a fault: the open transaction is gone, nothing more runs. */
  lose(error: DatabaseError): void {
    if (this.#state !== 'open') return;
    this.#state = 'broken';
    this.#failure = error;
    this.#discard(() => error);
  }

  /** Back to a clean state for the next user of a pool: abandons what runs, closes cursors, rolls back. */
  reset(reason: () => DatabaseError): void {
    this.#discard(reason);
  }

  /** Closes the connection for good. */
  close(reason: () => DatabaseError): void {
    if (this.#state === 'closed') return;
    let built: DatabaseError | undefined;
    const once = (): DatabaseError => (built ??= reason());
    this.#discard(once);
    if (this.#state === 'open') this.#failure = once();
    this.#state = 'closed';
    this.sim.sessions.delete(this);
    this.sim.trace.record(this.id, 'close', '');
  }

  /** Abandons what runs; `reason` (built only when something needs it) is what it rejects with. */
  #discard(make: () => DatabaseError): void {
    if (
      this.#op === undefined &&
      this.#holder === undefined &&
      this.root === undefined &&
      this.cursors.size === 0
    ) {
      return; // nothing runs: nothing to abandon
    }
    let built: DatabaseError | undefined;
    const reason = (): DatabaseError => (built ??= make());
    // The holder's operation, whether its wait is still running (aborted here) or has just
    // ended (it finds its hold lost when it resumes), rejects with `reason`.
    this.#revoke(reason);
    if (this.#op !== undefined) this.#op.abort(reason());
    this.#op = undefined;
    for (const cursor of this.cursors) cursor.closeNow(reason);
    const root = this.root;
    if (root !== undefined) {
      this.sim.storage.end(root.state);
      root.finish('been rolled back', reason());
      this.root = undefined;
      this.active = undefined;
    }
  }
}

/** Why a transaction that is over cannot go on: what ended it, or 25000 naming how. */
function endedError(frame: TxImpl): unknown {
  return (
    frame.endedBy ??
    new DatabaseError(
      SqlState.invalidTransactionState,
      `the transaction has already ${frame.outcome}`,
    )
  );
}

function describeHold(hold: Hold): string {
  return hold.sql === undefined ? hold.what : `${hold.what} (${shortSql(hold.sql)})`;
}

function inFailedTransaction(cause: DatabaseError, connection: number): DatabaseError {
  return new DatabaseError(
    SqlState.inFailedTransaction,
    `current transaction is aborted, commands ignored until end of transaction block (it failed with ${cause.code}: ${cause.message}); let the error leave the transaction callback, or catch it inside a savepoint (\`tx.transaction(…)\`)`,
    { connection, cause },
  );
}
