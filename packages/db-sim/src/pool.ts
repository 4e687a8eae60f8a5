import {
  type CallerContext,
  callerContext,
  currentScope,
  currentTask,
  onCurrentSettled,
} from '@weft/core';
import { ConnectionImpl } from './connection.ts';
import { DatabaseError, type LeakReport, PoolLeakError, SqlState } from './errors.ts';
import { checkQueryOptions } from './internal/options.ts';
import type { Sim } from './internal/sim.ts';
import { type Cancel, Handshakes, schedule, scheduleUnref } from './internal/wait.ts';
import {
  assertDuration,
  assertFunction,
  assertInteger,
  assertOptions,
  assertSignal,
  assertString,
  bindParams,
  describe,
} from './internal/validate.ts';
import type { Session } from './session.ts';
import type { Value } from './sql/ast.ts';
import type {
  Connection,
  QueryOptions,
  QueryResult,
  Row,
  Transaction,
  TransactionOptions,
} from './types.ts';

/** Options of `db.pool`. */
export interface PoolOptions {
  /** The most connections open at once (idle, in use and being opened). @default 10 */
  max?: number;
  /**
   * How long `acquire` may wait, in ms: the wait in the queue and the connection
   * handshake. Past it, `acquire` rejects with `53300`. @default 30000
   */
  acquireTimeout?: number;
  /**
   * An idle connection is closed after this many ms unused (`Infinity`: never). On the
   * system clock this timer does not keep the process alive. @default 10000
   */
  idleTimeout?: number;
  /**
   * Record the stack of each `acquire` call, so that `leaks()` and {@link PoolLeakError}
   * say where each leaked connection was acquired. Off by default, as HikariCP's leak
   * detection is: a stack capture costs several times a whole acquire/release. @default false
   */
  captureStacks?: boolean;
}

/** Options of `pool.acquire`. */
export interface PoolAcquireOptions {
  /** Stops waiting (rejects with its reason). Inside a weft task the task's signal applies too. */
  signal?: AbortSignal | undefined;
  /** Overrides the pool's `acquireTimeout` for this call, in ms. */
  timeout?: number | undefined;
}

/** Options of `pool.close`. */
export interface PoolCloseOptions {
  /**
   * How long to wait for connections still in use, in ms. Past it they are destroyed and
   * `close` rejects with a {@link PoolLeakError} naming them. @default Infinity
   */
  timeout?: number | undefined;
}

/** A snapshot of a pool's counts. */
export interface PoolStats {
  /** Open connections: `idle + inUse`. */
  size: number;
  /** Open connections waiting in the pool. */
  idle: number;
  /** Connections acquired and not released yet. */
  inUse: number;
  /** Callers waiting in `acquire`. */
  waiting: number;
  /** Connections being opened. */
  pending: number;
  /** The pool's `max`. */
  max: number;
}

/**
 * A pool of connections: `acquire()` lends one (`await using conn = await
 * pool.acquire()`), `close()` on it hands it back, reset (a transaction left open is
 * rolled back, cursors are closed, a statement in flight is abandoned); a connection lost
 * to a fault is destroyed instead. Waiters are served first come, first served; the
 * `acquireTimeout` covers the wait in the queue and the handshake.
 *
 * @example
 * ```ts
 * import { createDatabase } from '@weft/db-sim';
 *
 * await using db = createDatabase();
 * await using pool = db.pool({ max: 5, acquireTimeout: 1000 });
 * {
 *   await using conn = await pool.acquire();
 *   await conn.query('SELECT 1 AS one');
 * } // released here
 * console.log(pool.stats()); // { size: 1, idle: 1, inUse: 0, waiting: 0, pending: 0, max: 5 }
 * ```
 */
export interface Pool extends AsyncDisposable {
  /**
   * Lends a connection: an idle one at once, else a new one while the pool is below
   * `max`, else the first one released (FIFO). Rejects with `53300` after the acquire
   * timeout, with the signal's reason when cancelled (the waiter leaves the queue), with
   * the handshake's error (`08001`) when opening a connection for it failed, and with
   * `08003` once the pool is closed.
   */
  acquire(options?: PoolAcquireOptions): Promise<Connection>;
  /**
   * Acquires a connection, runs one statement on it and releases it. Its `timeout` bounds
   * the whole call: the wait for a connection (`53300` past it, the pool's
   * `acquireTimeout` applying too) and then the statement, which gets what is left
   * (`57014`).
   */
  query<R = Row>(
    sql: string,
    params?: readonly Value[],
    options?: QueryOptions,
  ): Promise<QueryResult<R>>;
  /** Acquires a connection, runs `fn` in a transaction on it (see `Connection.transaction`) and releases it. */
  transaction<T>(
    fn: (tx: Transaction) => T | PromiseLike<T>,
    options?: TransactionOptions,
  ): Promise<T>;
  /** The counts now. */
  stats(): PoolStats;
  /** Every connection acquired and not released yet, with where it was acquired. */
  leaks(): LeakReport[];
  /**
   * Closes the pool: waiters reject with `08003`, idle connections close, and it resolves
   * once every lent connection came back (each is closed as it does). With `timeout`,
   * connections still lent then are destroyed and it rejects with a {@link PoolLeakError}.
   */
  close(options?: PoolCloseOptions): Promise<void>;
  /** Whether `close()` was called. */
  readonly closed: boolean;
}

interface Waiter {
  settled: boolean;
  /** Clock time past which it fails with 53300, when it waits with the pool's own timeout. */
  expires: number | undefined;
  /** Its place in the pool's queue, and in the queue of those that expire with the pool's timeout. */
  node: Node<Waiter> | undefined;
  expiryNode: Node<Waiter> | undefined;
  give(session: Session): void;
  fail(error: unknown): void;
}

interface Node<T> {
  readonly value: T;
  prev: Node<T> | undefined;
  next: Node<T> | undefined;
}

/**
 * A FIFO from which any entry leaves in O(1): a waiter leaves the pool's queue the moment
 * it settles (timed out, cancelled, served), so a pool that stays exhausted while calls
 * time out does not keep them, nor scan past them (review dbx11 X3).
 */
class Queue<T> {
  #first: Node<T> | undefined;
  #last: Node<T> | undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get first(): T | undefined {
    return this.#first?.value;
  }

  push(value: T): Node<T> {
    const node: Node<T> = { value, prev: this.#last, next: undefined };
    if (this.#last === undefined) this.#first = node;
    else this.#last.next = node;
    this.#last = node;
    this.#size++;
    return node;
  }

  remove(node: Node<T>): void {
    if (node.prev === undefined) this.#first = node.next;
    else node.prev.next = node.next;
    if (node.next === undefined) this.#last = node.prev;
    else node.next.prev = node.prev;
    node.prev = undefined;
    node.next = undefined;
    this.#size--;
  }
}

export class PoolImpl implements Pool {
  readonly #sim: Sim;
  readonly #max: number;
  readonly #acquireTimeout: number;
  readonly #idleTimeout: number;
  readonly #captureStacks: boolean;
  /** Idle sessions; the last went idle most recently (taken first), the first is the oldest. */
  #idle: Session[] = [];
  /** Sessions lent out; each records when (`leasedAt`) and where (`leaseSite`). */
  readonly #leases: Set<Session> = new Set();
  #pending = 0;
  /** FIFO of waiters; each leaves it as it settles. */
  readonly #waiters: Queue<Waiter> = new Queue();
  /** The waiters with the pool's own timeout, in the order they expire (FIFO: one timeout). */
  readonly #expiring: Queue<Waiter> = new Queue();
  #closed = false;
  #closing: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  /** Aborts handshakes in flight when the pool closes. */
  readonly #handshakes: Handshakes = new Handshakes();
  /** The timer that closes idle connections past `idleTimeout`. */
  #reaper: Cancel | undefined;
  /** The timer that fails the first waiters past the pool's `acquireTimeout`. */
  #expiry: Cancel | undefined;
  readonly #onRelease = (session: Session): void => this.#release(session);
  /**
   * The connections each running task, `run()` function or scope body holds from this
   * pool (see #ownerLeases), keyed by the task, or by the scope whose body it is.
   */
  readonly #owned: WeakMap<object, Map<Session, Connection>> = new WeakMap();
  /** Lease maps whose owner has settled. */
  readonly #ended: WeakSet<Map<Session, Connection>> = new WeakSet();
  readonly #forget: (pool: PoolImpl) => void;

  constructor(sim: Sim, options: PoolOptions | undefined, forget: (pool: PoolImpl) => void) {
    assertOptions('options', options, ['max', 'acquireTimeout', 'idleTimeout', 'captureStacks']);
    const max = options?.max ?? 10;
    assertInteger('options.max', max);
    const acquireTimeout = options?.acquireTimeout ?? 30_000;
    assertDuration('options.acquireTimeout', acquireTimeout);
    const idleTimeout = options?.idleTimeout ?? 10_000;
    assertDuration('options.idleTimeout', idleTimeout);
    const captureStacks = options?.captureStacks ?? false;
    if (typeof captureStacks !== 'boolean') {
      throw new TypeError(
        `Expected \`options.captureStacks\` to be a boolean, got ${describe(captureStacks)}`,
      );
    }
    this.#sim = sim;
    this.#max = max;
    this.#acquireTimeout = acquireTimeout;
    this.#idleTimeout = idleTimeout;
    this.#captureStacks = captureStacks;
    this.#forget = forget;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** For the tests: the entries in `pool`'s queues of waiters (settled ones included, if any were kept). */
  static queued(pool: PoolImpl): number {
    return pool.#waiters.size + pool.#expiring.size;
  }

  stats(): PoolStats {
    return {
      size: this.#idle.length + this.#leases.size,
      idle: this.#idle.length,
      inUse: this.#leases.size,
      waiting: this.#waiters.size,
      pending: this.#pending,
      max: this.#max,
    };
  }

  leaks(): LeakReport[] {
    const now = this.#sim.clock.now();
    return [...this.#leases].map((session) => ({
      connection: session.id,
      acquiredAt: session.leasedAt,
      heldFor: now - session.leasedAt,
      stack: formatStack(session.leaseSite),
    }));
  }

  acquire(options?: PoolAcquireOptions): Promise<Connection> {
    try {
      assertOptions('options', options, ['signal', 'timeout']);
      assertSignal('options.signal', options?.signal);
      if (options?.timeout !== undefined) assertDuration('options.timeout', options.timeout);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#acquire(options, undefined);
  }

  /**
   * `acquire`, its options checked. `queryTimeout`: the `timeout` of the `pool.query` that
   * waits, which bounds the wait too when it is shorter than the acquire timeout (X8).
   */
  #acquire(
    options: PoolAcquireOptions | undefined,
    queryTimeout: number | undefined,
  ): Promise<ConnectionImpl> {
    let ctx: CallerContext;
    try {
      if (this.#closed) throw this.#closedError();
      ctx = callerContext({ signal: options?.signal, clock: this.#sim.clock });
    } catch (error) {
      return Promise.reject(error);
    }
    const signal = ctx.signal;
    if (signal?.aborted) {
      ctx[Symbol.dispose]();
      return Promise.reject(signal.reason);
    }
    const stack = this.#captureStacks ? new Error('acquired here') : undefined;
    // The leases of the task or body that asked (found now: a waiter is served from
    // another task's release).
    const owner = this.#ownerLeases();
    if (this.#waiters.size === 0 && this.#idle.length > 0) {
      ctx[Symbol.dispose]();
      return Promise.resolve(this.#lend(this.#idle.pop()!, stack, owner));
    }
    const timeout = options?.timeout ?? this.#acquireTimeout;
    // Waiters with the pool's own timeout expire in FIFO order: one timer serves them all
    // (#armExpiry). A call with its own timeout gets its own timer.
    const shared = options?.timeout === undefined;
    return new Promise<ConnectionImpl>((resolve, reject) => {
      let cancelTimer: Cancel | undefined;
      let cancelQueryTimer: Cancel | undefined;
      const onAbort = (): void => waiter.fail(signal!.reason);
      const settle = (): boolean => {
        if (waiter.settled) return false;
        waiter.settled = true;
        if (waiter.node !== undefined) this.#waiters.remove(waiter.node);
        if (waiter.expiryNode !== undefined) this.#expiring.remove(waiter.expiryNode);
        waiter.node = undefined;
        waiter.expiryNode = undefined;
        if (this.#expiring.size === 0 && this.#expiry !== undefined) {
          this.#expiry();
          this.#expiry = undefined;
        }
        cancelTimer?.();
        cancelQueryTimer?.();
        signal?.removeEventListener('abort', onAbort);
        ctx[Symbol.dispose]();
        return true;
      };
      const waiter: Waiter = {
        settled: false,
        expires: shared && Number.isFinite(timeout) ? this.#sim.clock.now() + timeout : undefined,
        node: undefined,
        expiryNode: undefined,
        give: (session) => {
          if (settle()) resolve(this.#lend(session, stack, owner));
        },
        fail: (error) => {
          if (settle()) reject(error);
        },
      };
      waiter.node = this.#waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (waiter.expires !== undefined) {
        waiter.expiryNode = this.#expiring.push(waiter);
        this.#armExpiry();
      } else if (Number.isFinite(timeout)) {
        cancelTimer = schedule(this.#sim.clock, timeout, () => {
          cancelTimer = undefined;
          waiter.fail(this.#timeoutError(timeout, 'the `timeout` of this acquire'));
        });
      }
      if (queryTimeout !== undefined && queryTimeout < timeout) {
        cancelQueryTimer = schedule(this.#sim.clock, queryTimeout, () => {
          cancelQueryTimer = undefined;
          waiter.fail(this.#timeoutError(queryTimeout, "the query's `timeout`"));
        });
      }
      this.#grow();
    });
  }

  /** The 53300 of a wait past `timeout`; `which` timeout it was (the pool's, the call's, the query's). */
  #timeoutError(timeout: number, which: string): DatabaseError {
    const s = this.stats();
    return new DatabaseError(
      SqlState.poolTimeout,
      `timed out after ${timeout} ms waiting for a connection from the pool (max ${s.max}: ${s.inUse} in use, ${s.pending} opening, ${s.waiting - 1} other waiters; ${which})`,
    );
  }

  /** Arms the one timer for the first waiter that expires with the pool's timeout. */
  #armExpiry(): void {
    if (this.#expiry !== undefined) return;
    const first = this.#expiring.first;
    if (first === undefined) return;
    const clock = this.#sim.clock;
    this.#expiry = schedule(clock, Math.max(0, first.expires! - clock.now()), () => {
      this.#expiry = undefined;
      const now = clock.now();
      // Each fails and leaves the queue (its settle), so the next is the new first.
      for (let w = this.#expiring.first; w !== undefined && w.expires! <= now; ) {
        w.fail(this.#timeoutError(this.#acquireTimeout, "the pool's `acquireTimeout`"));
        w = this.#expiring.first;
      }
      this.#armExpiry();
    });
  }

  async query<R = Row>(
    sql: string,
    params?: readonly Value[],
    options?: QueryOptions,
  ): Promise<QueryResult<R>> {
    assertString('sql', sql);
    const bound = bindParams('params', params) as readonly Value[];
    // Checked before the acquire: a bad option is a TypeError at the call, not a 53300
    // after the acquire timeout on a busy pool (review D5).
    checkQueryOptions(options);
    // The statement timeout bounds the wait for a connection too (review dbx10 X8: it
    // waited up to the acquire timeout, 30 s by default); the statement gets what is left.
    const clock = this.#sim.clock;
    const started = clock.now();
    const conn = await this.#acquire({ signal: options?.signal }, options?.timeout);
    try {
      return (await conn.statement(sql, bound, options, clock.now() - started)) as QueryResult<R>;
    } finally {
      await conn.close();
    }
  }

  async transaction<T>(
    fn: (tx: Transaction) => T | PromiseLike<T>,
    options?: TransactionOptions,
  ): Promise<T> {
    assertFunction('fn', fn);
    assertOptions('options', options, ['signal']);
    const conn = await this.acquire({ signal: options?.signal });
    try {
      return await conn.transaction(fn, options);
    } finally {
      await conn.close();
    }
  }

  close(options?: PoolCloseOptions): Promise<void> {
    try {
      assertOptions('options', options, ['timeout']);
      if (options?.timeout !== undefined) assertDuration('options.timeout', options.timeout);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#closing !== undefined) return this.#closing;
    this.#shutdown();
    if (this.#leases.size === 0) {
      this.#closing = Promise.resolve();
      return this.#closing;
    }
    const timeout = options?.timeout ?? Number.POSITIVE_INFINITY;
    this.#closing = new Promise<void>((resolve, reject) => {
      let cancelTimer: Cancel | undefined;
      this.#drained = () => {
        cancelTimer?.();
        this.#drained = undefined;
        resolve();
      };
      if (Number.isFinite(timeout)) {
        cancelTimer = schedule(this.#sim.clock, timeout, () => {
          this.#drained = undefined;
          const leaks = this.leaks();
          this.destroyAll();
          reject(new PoolLeakError(leaks));
        });
      }
    });
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Closes the pool and every connection it has, lent or not, without waiting. */
  destroyAll(): void {
    this.#shutdown();
    for (const session of [...this.#leases]) {
      this.#leases.delete(session);
      session.close(() => this.#closedError());
      this.#sim.trace.record(session.id, 'destroy', 'pool closed');
    }
    const drained = this.#drained;
    this.#drained = undefined;
    drained?.();
    this.#closing ??= Promise.resolve();
  }

  #shutdown(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#forget(this);
    this.#handshakes.abort(this.#closedError());
    this.#reaper?.();
    this.#reaper = undefined;
    this.#expiry?.();
    this.#expiry = undefined;
    const error = this.#closedError();
    for (let w = this.#nextWaiter(); w !== undefined; w = this.#nextWaiter()) w.fail(error);
    for (const session of this.#idle) session.close(() => error);
    this.#idle = [];
  }

  #closedError(): DatabaseError {
    return new DatabaseError(SqlState.connectionDoesNotExist, 'the pool is closed');
  }

  /**
   * The leases of the weft task, `run()` function or scope body the caller runs in
   * (`undefined` outside any). One settle hook (core's `onCurrentSettled`) per owner and
   * pool, not one per lease (review D3: a task acquiring in a loop grew by a closure per
   * lease until it settled): when the owner ends cancelled or failed, the connections it
   * still holds are handed back (reset); when it returns normally, it keeps them (it may
   * return a connection to its caller). Review D4: bodies count, not only spawned tasks.
   * Probe P7: inside an item of a limited `settle`/`map`/`mapConcurrent`…, `currentTask()`
   * is the worker running the items, but core calls the hook when the item ends (before
   * the worker takes the next one), so the key is the worker and the leases the item's.
   */
  #ownerLeases(): Map<Session, Connection> | undefined {
    const key: object | undefined = currentTask() ?? currentScope();
    if (key === undefined) return undefined;
    const known = this.#owned.get(key);
    if (known !== undefined) return known;
    const leases: Map<Session, Connection> = new Map();
    const off = onCurrentSettled((state) => {
      this.#owned.delete(key);
      this.#ended.add(leases);
      if (state === 'fulfilled') return;
      for (const [s, c] of [...leases]) {
        leases.delete(s);
        s.owned = undefined;
        if (!c.closed) c.close().catch(() => {});
      }
    });
    // Outside any task, or the owner has settled already (the hook ran at once).
    if (off === undefined || this.#ended.has(leases)) return undefined;
    this.#owned.set(key, leases);
    return leases;
  }

  /**
   * Lends `session`. When it was acquired inside a weft task or body (`owned`: its
   * leases, see #ownerLeases), an owner that ends cancelled or failed while still holding
   * it hands it back (reset), once it has settled: after its shielded cleanup, never
   * under it.
   */
  #lend(
    session: Session,
    site: Error | undefined,
    owned?: Map<Session, Connection>,
  ): ConnectionImpl {
    const now = this.#sim.clock.now();
    session.leasedAt = now;
    session.leaseSite = site;
    this.#leases.add(session);
    this.#sim.trace.record(session.id, 'acquire', '', now);
    const conn = new ConnectionImpl(session, this.#onRelease);
    // (An owner that settled while it waited for a connection keeps nothing.)
    if (owned !== undefined && !this.#ended.has(owned)) {
      owned.set(session, conn);
      session.owned = owned;
    }
    return conn;
  }

  #release(session: Session): void {
    if (!this.#leases.delete(session)) return;
    if (session.owned !== undefined) {
      session.owned.delete(session);
      session.owned = undefined;
    }
    const now = this.#sim.clock.now();
    this.#sim.trace.record(session.id, 'release', session.state, now);
    if (session.state !== 'open' || this.#closed) {
      session.close(() =>
        this.#closed
          ? this.#closedError()
          : new DatabaseError(
              SqlState.connectionFailure,
              `connection #${session.id} was destroyed by its pool after a fault`,
            ),
      );
      if (!this.#closed) this.#grow();
    } else {
      session.reset(
        () =>
          new DatabaseError(
            SqlState.connectionDoesNotExist,
            `connection #${session.id} was released to its pool while the operation was in progress`,
            {
              connection: session.id,
            },
          ),
      );
      this.#give(session, now);
    }
    if (this.#leases.size === 0) this.#drained?.();
  }

  /** Opens connections for waiters while there is room. */
  #grow(): void {
    while (
      !this.#closed &&
      this.#pending < this.#waiters.size &&
      this.#idle.length + this.#leases.size + this.#pending < this.#max
    ) {
      this.#pending++;
      const handshake = this.#handshakes.take();
      this.#sim.open([handshake.signal]).then(
        (session) => {
          handshake.done();
          this.#pending--;
          if (this.#closed) session.close(() => this.#closedError());
          else this.#give(session);
        },
        (error: unknown) => {
          handshake.done();
          this.#pending--;
          if (this.#closed) return;
          this.#nextWaiter()?.fail(error);
          this.#grow();
        },
      );
    }
  }

  /** Hands `session` to the first waiter, or keeps it idle. */
  #give(session: Session, now?: number): void {
    const waiter = this.#nextWaiter();
    if (waiter !== undefined) {
      waiter.give(session);
      return;
    }
    session.idleSince = now ?? this.#sim.clock.now();
    this.#idle.push(session);
    this.#armReaper();
  }

  /** The first waiter; it leaves the queue as the caller serves or fails it (its settle). */
  #nextWaiter(): Waiter | undefined {
    return this.#waiters.first;
  }

  #armReaper(): void {
    if (
      this.#reaper !== undefined ||
      this.#idle.length === 0 ||
      !Number.isFinite(this.#idleTimeout)
    )
      return;
    const clock = this.#sim.clock;
    const due = this.#idle[0]!.idleSince + this.#idleTimeout;
    this.#reaper = scheduleUnref(clock, Math.max(0, due - clock.now()), () => {
      this.#reaper = undefined;
      const now = clock.now();
      while (this.#idle.length > 0 && this.#idle[0]!.idleSince + this.#idleTimeout <= now) {
        const session = this.#idle.shift()!;
        session.close(
          () =>
            new DatabaseError(
              SqlState.connectionDoesNotExist,
              `connection #${session.id} was closed after ${this.#idleTimeout} ms idle`,
            ),
        );
      }
      this.#armReaper();
    });
  }

  get [Symbol.toStringTag](): string {
    return 'Pool';
  }
}

function formatStack(site: Error | undefined): string | undefined {
  const stack = site?.stack;
  if (stack === undefined) return undefined;
  // Drop the message line and the pool's own frame: the first line left is the caller.
  return stack
    .split('\n')
    .slice(1)
    .filter((line) => !/PoolImpl\.acquire|\bacquire \(/.test(line))
    .map((line) => line.trim())
    .join('\n');
}
