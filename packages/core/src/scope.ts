import { type Clock, systemClock } from './clock.ts';
import {
  attachSuppressed,
  CancelledError,
  isCancellation,
  isCancellationOf,
  isRequested,
  markRequested,
  suppressedErrors,
  TaskGroupError,
  TimeoutError,
} from './errors.ts';
import {
  type Caller,
  nestedTooDeep,
  nextId,
  resolveCaller,
  runInContext,
  TaskContextImpl,
  unlimitListeners,
} from './internal/context.ts';
import { isThenable } from './internal/abortable.ts';
import { hooks, newDiag, type TaskDiag } from './internal/instrument.ts';
import { noteTreeUsed, runningItem } from './internal/pool-item.ts';
import { type Cancel, noop, schedule, scheduleDiagnostic } from './internal/schedule.ts';
import { openTime } from './internal/start-time.ts';
import {
  reportStuck,
  scopePath,
  type StuckPolicy,
  type StuckReport,
  taskPath,
} from './diagnostics/stuck.ts';
import type { TaskTreeNode } from './diagnostics/tree.ts';
import { kDetached, kRootRun, NONE } from './internal/symbols.ts';
import {
  assertClock,
  assertDuration,
  assertFunction,
  assertName,
  assertOptions,
  assertSignal,
  assertTime,
  rejectOnThrow,
} from './internal/validate.ts';
import {
  type ScopeLink,
  type SpawnOptions,
  type StartContext,
  type StartHook,
  type Task,
  type TaskFn,
  NO_SLOT,
  TaskImpl,
  type TaskSink,
  USER,
  type WatchedTask,
} from './task.ts';

/** What weft's own modules may do with a scope beyond its public API. */
export interface ScopeInternals {
  /**
   * Spawns a task of weft's own (a gather item, a pool worker): a cancellation the
   * program requested elsewhere that ends it is its failure (it produced no value), not a
   * quiet `cancelled` as for a user's task.
   */
  spawn<T>(
    s: Scope,
    fn: TaskFn<T>,
    name: string | undefined,
    sink?: TaskSink,
    index?: number,
  ): Task<T>;
  /** Runs `body` as the scope's body; with `passContext` it gets a TaskContext. */
  runBody<T>(s: Scope, body: (arg: never) => T | PromiseLike<T>, passContext?: boolean): Promise<T>;
  /**
   * Records `promise` as what the caller of `s`'s helper (or `scope()`) got, and returns
   * it: a floating scope cancelled by its holder does not report that cancellation as an
   * unhandled rejection of it.
   */
  expose<T>(s: Scope, promise: Promise<T>): Promise<T>;
  /** Cancels the scope as if its parent had aborted (used by `run` for OS signals). */
  interrupt(s: Scope, reason: unknown): void;
  /** The `TimeoutError` the scope raised itself, if its own timeout or deadline passed. */
  timedOut(s: Scope): TimeoutError | undefined;
  /** The `run()` the scope belongs to, if any. */
  runOf(s: Scope): object | undefined;
  /**
   * Registers `hook`, called once before the scope closes: once its body (if any) and
   * every task have settled and the scope is being joined (how a helper opened in a body
   * learns that nobody in the scope can use it any more, review D8). The scope waits for
   * what `hook` returns, as for {@link hold}, and a hook may start more work or register
   * more hooks (called in turn once that has settled). Returns a function that
   * unregisters the hook (a helper closed in time leaves nothing behind), or `undefined`
   * when the scope has closed (nothing would call it).
   */
  onJoin(s: Scope, hook: () => unknown): (() => void) | undefined;
  /**
   * Keeps the scope open until `work` settles (a source still closing, say). A rejection
   * other than the scope's own cancellation is a failure of the scope, never dropped.
   * `false` when the scope has closed: the caller must then deal with `work` itself.
   *
   * With a `name` (`close buffer`), the work is a close that nobody may have honoured
   * (review D6): until it settles it is a node of `tree()` (kind `close`), and after
   * `stuckAfter` it is reported by `run()`'s stuck-cancellation check.
   */
  hold(s: Scope, work: PromiseLike<unknown>, name?: string): boolean;
  /** How many tasks the scope's list for `tree()` holds, settled ones included (tests). */
  listed(s: Scope): number;
  /**
   * Calls `callback` with how the scope's call ended, once its body and every task have
   * settled (at once if that has happened); returns a function that unregisters it. See
   * `onCurrentSettled`.
   */
  onBodySettled(s: Scope, callback: (state: SettledState) => void): () => void;
}

/** How a task or a scope body ended (see `onCurrentSettled`). */
export type SettledState = 'fulfilled' | 'rejected' | 'cancelled';

/** Work a scope waits for that is no task: a source still closing (see `hold`). */
interface Held {
  readonly id: number;
  readonly name: string;
  /** When the close began, on the scope's clock. */
  readonly since: number;
  /** The pending stuck check, if `run()` asked for one. */
  check: Cancel | undefined;
}

/** How much earlier than `stuckAfter` a check may find a cancellation old enough. */
const STUCK_SLACK_MS = 2;

/** Set once by `Scope`'s static block; read by gather, timeout, run and friends. */
export let scopeInternals: ScopeInternals;

/** Options of {@link scope} and `new Scope()`. */
export interface ScopeOptions {
  /**
   * Cancels the scope when it aborts; the scope then rejects with its reason. Inside a
   * running task the task's signal (and deadline) apply too: this one adds to them, it
   * never replaces them.
   */
  signal?: AbortSignal;
  /** Cancels the scope with a `TimeoutError` after this many ms of `clock` time. */
  timeout?: number;
  /** Cancels the scope with a `TimeoutError` at this `clock.now()` time. */
  deadline?: number;
  /**
   * A name for diagnostics and error messages.
   * @default 'scope'
   */
  name?: string;
  /**
   * Where time comes from.
   * @default the enclosing task's clock, else `systemClock`
   */
  clock?: Clock;
}

/**
 * `open` until the scope has settled (its body and every task); then `closed`.
 *
 * @example
 * ```ts
 * import { Scope } from '@weft/core';
 *
 * const s = new Scope();
 * console.log(s.state); // 'open'
 * await s[Symbol.asyncDispose]();
 * console.log(s.state); // 'closed'
 * ```
 */
export type ScopeState = 'open' | 'closed';

/** What `run()` hangs on its scopes (through `kRootRun`): its diagnostics settings. */
export interface RunMarker {
  stuck?: StuckPolicy;
  /** `dumpTasksOn` is set: the tree may be printed at any time. */
  dump?: boolean;
}

/** Why a scope was cancelled; the first cause wins. */
type Cause = 0 | 1 | 2 | 3 | 4;
const Cause = { None: 0, Failure: 1, External: 2, Timeout: 3, Explicit: 4 } as const;

const OPEN = 0;
const CLOSED = 1;

const KNOWN = ['signal', 'timeout', 'deadline', 'name', 'clock'] as const;
const SPAWN_KNOWN = ['name'] as const;

/** The failures of a scope nobody has collected yet (see `unjoined`). */
interface Unjoined {
  readonly errors: unknown[];
  readonly name: string;
}

// Scopes that had a failure nobody collected yet (no `scope()` body, not disposed): when
// one is garbage-collected, or the process is about to exit (`beforeExit`) with it still
// not disposed, its errors are reported as an unhandled rejection instead of vanishing
// (defect 16). The registry is created on first need (`null` where the runtime has no
// FinalizationRegistry); the exit listener is on the process only while reports pend.
let unjoined: FinalizationRegistry<Unjoined> | null | undefined;
const pendingReports = new Set<Unjoined>();
let exitHook: { off: () => void } | undefined;

function trackUnjoined(held: Unjoined): void {
  pendingReports.add(held);
  if (exitHook !== undefined) return;
  const proc = (
    globalThis as {
      process?: {
        on?: (event: string, fn: () => void) => unknown;
        off?: (event: string, fn: () => void) => unknown;
      };
    }
  ).process;
  if (typeof proc?.on !== 'function' || typeof proc.off !== 'function') return;
  const onExit = (): void => {
    for (const report of [...pendingReports]) reportUnjoined(report);
  };
  proc.on('beforeExit', onExit);
  exitHook = { off: () => proc.off?.('beforeExit', onExit) };
}

function untrackUnjoined(held: Unjoined): void {
  pendingReports.delete(held);
  if (pendingReports.size === 0 && exitHook !== undefined) {
    exitHook.off();
    exitHook = undefined;
  }
}

function reportUnjoined(held: Unjoined): void {
  if (!pendingReports.has(held)) return; // collected in the meantime, or reported
  untrackUnjoined(held);
  const error = new TaskGroupError(held.errors, held.name);
  error.message = `${error.message} (the scope was never awaited: use \`await using\` or scope())`;
  // Rejected on purpose and left unhandled: the way a runtime reports a lost error.
  void Promise.reject(error);
}

/**
 * A nursery (asyncio's `TaskGroup`): the tasks spawned into it never outlive it.
 *
 * - It settles only after its body and every task have settled.
 * - The first failure aborts its `signal`, so the body and every sibling see it; it then
 *   waits for them all and rejects with a {@link TaskGroupError} listing every failure in
 *   order. Cancellations it caused itself are not failures.
 * - When the parent `signal` aborts, it cancels everything and rejects with the parent's
 *   reason; when its `timeout`/`deadline` passes, with a `TimeoutError`.
 * - Inside a running task, the task's signal and deadline apply too: an explicit
 *   `signal` adds to them, it never replaces them (only `shield` escapes).
 * - `cancel()` is a cancellation the program asked for, never a failure (as in Trio, the
 *   cancel scope catches its own cancellation): the scope ends normally, with the body's
 *   value if the body finished, or `undefined` if the body was cut short (it has no value:
 *   TypeScript still types the result as the body's type, so a body whose value you use
 *   should not cancel its own scope before returning). `cancelledCaught` tells whether
 *   the cancellation interrupted something. A cleanup error raised on the way (a loop's
 *   source whose `return()` threw while the loop was being cancelled) still fails it.
 * - When its `timeout`/`deadline` passes, it rejects with the `TimeoutError`, unless a
 *   task failed for real (a cleanup that threw while being cancelled, say): the failure
 *   wins, as in Trio, and the `TimeoutError` is attached to the first one
 *   (`suppressedErrors`), never dropped. An error raised while closing a helper that its
 *   body left open (a source's `return()` failing, closed at the join after the timeout)
 *   is secondary: attached to the `TimeoutError`, as when the loop itself was cut.
 *
 * Use it through {@link scope}, or as `await using s = new Scope()`: leaving the block
 * waits for the tasks and throws their failures. A throw inside such a block does not
 * cancel the tasks (a disposer cannot see the error), so prefer `scope()` when the block
 * can fail. A `new Scope()` must be awaited (disposed): if one whose task failed is never
 * disposed, its failures are reported as an unhandled rejection when it is
 * garbage-collected or when the process is about to exit, rather than lost.
 *
 * @example
 * ```ts
 * import { Scope, sleep } from '@weft/core';
 *
 * {
 *   await using s = new Scope({ name: 'downloads', timeout: 5000 });
 *   s.spawn(({ signal }) => fetch('http://127.0.0.1:8080/a', { signal }));
 *   s.spawn(({ signal }) => sleep(100, { signal }));
 * } // waits here for both; throws if one failed
 * ```
 */
export class Scope implements AsyncDisposable {
  /** A process-unique number, shared with task ids. */
  readonly id: number = nextId();
  readonly #controller: AbortController = new AbortController();
  readonly #clock: Clock;
  readonly #deadline: number;
  readonly #name: string;
  readonly #run: object | undefined;
  // Where the scope was opened: the enclosing scope and the task (if any) it ran in.
  readonly #parent: Scope | undefined;
  readonly #parentTask: Task<unknown> | undefined;
  // The signals that cancel the scope from outside (the caller's task and/or an explicit
  // signal), and the one listener it keeps on each until it closes.
  readonly #parentSignals: readonly AbortSignal[];
  #onParentAbort: (() => void) | undefined;
  #cancelTimer: Cancel | undefined;
  #timeoutMs: number | undefined;
  #pending = 0;
  #holds = 0;
  // A scope that has work (a task or its body running, held work) keeps the scope it was
  // opened in from closing until that work ends, awaited or not: a `scope()`, `gather()`
  // or `new Scope()` left floating inside a task does not outlive the enclosing scope, and
  // `run()` waits for it. #holdTarget is that scope (none for a detached scope: shield,
  // toEffect, run), #holdsParent whether this scope counts in its #busyChildren now.
  readonly #holdTarget: Scope | undefined;
  #holdsParent = false;
  #busyChildren = 0;
  // The named holds among #holds: closes shown by tree() and the stuck check (see hold).
  #held: Set<Held> | undefined;
  // Errors of held work (helpers closed at the join) that failed after the scope's own
  // timeout cancelled it: attached to the TimeoutError, the primary error (review D5 of
  // corefix), unless the scope fails anyway (see #outcome).
  #afterTimeout: unknown[] | undefined;
  #state = OPEN;
  #cause: Cause = Cause.None;
  #external: unknown = NONE;
  #timeoutError: TimeoutError | undefined;
  #errors: unknown[] = [];
  // Whether the scope's own cancel()/timeout interrupted the body or a task.
  #caught = false;
  // Whether someone collects the outcome (a scope() body, or dispose); see `unjoined`.
  #collected = false;
  // The failures reported if the scope is never collected (see `unjoined`).
  #unjoined: Unjoined | undefined;
  #joinResolve: (() => void) | undefined;
  #joined: Promise<void> | undefined;
  // Hooks to run before the scope closes (see onJoin), once the body and tasks settled.
  #joinHooks: Set<() => unknown> | undefined;
  // onCurrentSettled callbacks of the body, and how the call ended once body and tasks
  // have settled (see #bodySettled).
  #bodyHooks: Set<(state: SettledState) => void> | undefined;
  #bodyState: SettledState | undefined;
  // Whether Node's listener limit was lifted on the signal (see the `signal` getter).
  #unlimited = false;
  // The oldest task whose function returned a native promise its handlers are not
  // attached to yet; every such task is in the chain from it to #newest (see #attachAll).
  #unattached: TaskImpl<unknown> | undefined;
  // Tasks that made their own signal: aborted by #cancel (no listener per task).
  #watched: Set<WatchedTask> | undefined;
  // Diagnostics: when it opened and was cancelled (its clock's time); its running tasks
  // and open child scopes as intrusive lists (for `tree()`, no allocation per task); and
  // the pending stuck-cancellation check.
  readonly #openedAt: number;
  #cancelledAt: number | undefined;
  // The tasks for `tree()` and the stuck check: a chain from the oldest to the newest
  // through `TaskImpl.newer`, holding every running task and maybe some settled ones (see
  // #listTask), and its length.
  #oldest: TaskImpl<unknown> | undefined;
  #newest: TaskImpl<unknown> | undefined;
  #listed = 0;
  #firstChild: Scope | undefined;
  #lastChild: Scope | undefined;
  #prevSibling: Scope | undefined;
  #nextSibling: Scope | undefined;
  #adopted = false;
  #stuckCheck: Cancel | undefined;
  // A `shield()` scope: work in it defers cancellation on purpose (see #inOpenShield).
  #shield = false;
  // The stuck check skipped something as waiting (see #checkStuck), and whether it
  // reported the body already.
  #stuckWaiting = false;
  #bodyReported = false;
  #bodyShieldReported = false;
  readonly #link: ScopeLink = {
    scope: this,
    sink: undefined,
    aborted: false,
    settled: (task, failure, cancelled) => {
      this.#unlistTask(task);
      const diag = task.diag;
      if (diag?.stuckCheck !== undefined) {
        diag.stuckCheck();
        diag.stuckCheck = undefined;
      }
      this.#pending--;
      if (cancelled && this.#ownCause()) this.#caught = true;
      if (failure !== NONE) this.#fail(failure);
      if (this.#stuckWaiting) this.#recheckStuck();
      if (this.#pending === 0 && this.#holds === 0) {
        // Closed (if being joined) before its holder hears it is quiet: a scope closes
        // before the scope it was opened in (probe9 R4).
        this.#idle();
        if (!this.#hasWork()) this.#quiet();
      }
    },
    observe: (task, result) => {
      if (task !== this.#newest) {
        // Its function spawned tasks into this scope before it returned: their promises
        // appeared first, so their handlers go first (the order of `TaskGroupError.errors`
        // and of awaiters), then its own.
        this.#attachAll();
        task.attachNow(result);
        return;
      }
      task.defer(result);
      if (this.#unattached === undefined) {
        this.#unattached = task;
        void Promise.resolve().then(() => this.#attachAll());
      }
    },
    watch: (task) => {
      (this.#watched ??= new Set()).add(task);
    },
    unwatch: (task) => {
      this.#watched?.delete(task);
    },
    cancelled: (task) => this.#taskCancelled(task),
  };

  static {
    scopeInternals = {
      spawn: (s, fn, name, sink, index) => s.#spawn(fn, name, sink, index, undefined, true),
      runBody: (s, body, passContext) => s.#runBody(body, passContext),
      // Decided on the rejection the caller gets (a helper may attach errors to it after
      // the scope ended, probe8 Q5): only a cancellation from above marks it handled.
      expose: (s, promise) => quietWhen(promise, (error) => s.#cancelledFromAbove(error)),
      interrupt: (s, reason) => s.#cancel(Cause.External, reason),
      timedOut: (s) => s.#timeoutError,
      runOf: (s) => s.#run,
      onJoin: (s, hook) => {
        if (s.#state === CLOSED) return undefined;
        const hooks = (s.#joinHooks ??= new Set());
        hooks.add(hook);
        return () => {
          hooks.delete(hook);
        };
      },
      hold: (s, work, name) => {
        if (s.#state === CLOSED) return false;
        s.#hold(work, name);
        return true;
      },
      listed: (s) => s.#listed,
      onBodySettled: (s, callback) => {
        const state = s.#bodyState;
        if (state !== undefined) {
          callback(state);
          return noop;
        }
        const set = (s.#bodyHooks ??= new Set());
        set.add(callback);
        return () => void set.delete(callback);
      },
    };
  }

  constructor(options: ScopeOptions = {}) {
    assertOptions('options', options, KNOWN);
    const { signal, timeout, deadline, name, clock } = options;
    assertSignal('options.signal', signal);
    if (timeout !== undefined) assertDuration('options.timeout', timeout);
    if (deadline !== undefined) assertTime('options.deadline', deadline);
    assertName('options.name', name);
    assertClock('options.clock', clock);

    const internal = options as { [kRootRun]?: object; [kDetached]?: boolean };
    const detached = internal[kDetached] === true;
    const root = detached && internal[kRootRun] !== undefined;
    this.#shield = detached && !root;
    // The one place that works out the caller's signal, clock and deadline.
    const caller: Caller = resolveCaller(signal, clock);
    const ctx = root ? undefined : caller.ctx;
    this.#name = name ?? 'scope';
    this.#clock = detached ? (clock ?? ctx?.clock ?? systemClock) : caller.clock;
    this.#run = internal[kRootRun] ?? (ctx === undefined ? undefined : ctx.scope.#run);
    this.#parent = ctx?.scope;
    this.#parentTask = ctx?.task;
    this.#holdTarget = detached ? undefined : ctx?.scope;
    // Detached scopes (shield, run) escape the caller's cancellation and deadline.
    const parentSignals = detached ? (signal === undefined ? [] : [signal]) : caller.signals;
    this.#parentSignals = parentSignals;
    const inherited = detached ? Number.POSITIVE_INFINITY : caller.deadline;
    let own = deadline ?? Number.POSITIVE_INFINITY;
    if (timeout !== undefined) own = Math.min(own, this.#clock.now() + timeout);
    this.#deadline = Math.min(own, inherited);
    this.#timeoutMs = timeout;
    // Diagnostics (tree, stuck check): the opening time, and a link from the parent
    // until this scope closes.
    // Without hooks, the reading its tasks take too (see startTime), so that a task never
    // looks older than a scope opened just before it (review D7).
    const h = hooks;
    this.#openedAt = h === null ? openTime(this.#clock) : this.#clock.now();
    if (this.#parent !== undefined) this.#parent.#adopt(this);
    if (h !== null) h.scopeOpen(this, this.#openedAt);

    const aborted = parentSignals.find((s) => s.aborted);
    if (aborted !== undefined) {
      this.#cancel(Cause.External, aborted.reason);
      return;
    }
    if (parentSignals.length > 0) {
      this.#onParentAbort = () => {
        const source = parentSignals.find((s) => s.aborted);
        if (source !== undefined) Scope.#cancelFromHolder(this, source.reason);
      };
      for (const s of parentSignals) {
        s.addEventListener('abort', this.#onParentAbort, { once: true });
      }
    }
    if (own < inherited && own !== Number.POSITIVE_INFINITY) {
      this.#cancelTimer = schedule(this.#clock, own - this.#clock.now(), () => this.#expire());
    }
  }

  /** Aborts when the scope is cancelled: first failure, parent abort, timeout or `cancel()`. */
  get signal(): AbortSignal {
    const signal = this.#controller.signal;
    if (!this.#unlimited) {
      // Everything that listens to the scope's signal gets it here (tasks, bodies, nested
      // scopes, user code), so the listener limit is lifted on first use, not per scope.
      this.#unlimited = true;
      unlimitListeners(signal);
    }
    return signal;
  }

  /** Where the scope and its tasks take time from. */
  get clock(): Clock {
    return this.#clock;
  }

  /** The scope's name (`options.name`, default `'scope'`), for diagnostics and errors. */
  get name(): string {
    return this.#name;
  }

  /** `open` until the body and every task have settled; then `closed`. */
  get state(): ScopeState {
    return this.#state === CLOSED ? 'closed' : 'open';
  }

  /**
   * The scope this one was opened in (the scope of the task or body that created it), or
   * `undefined` for a scope opened outside any task (a root).
   */
  get parent(): Scope | undefined {
    return this.#parent;
  }

  /** The task that opened this scope, or `undefined` (opened in a body or outside). */
  get parentTask(): Task<unknown> | undefined {
    return this.#parentTask;
  }

  /** The effective deadline on `clock`: the earliest of its own and every enclosing one. */
  get deadline(): number {
    return this.#deadline;
  }

  /** How many spawned tasks have not settled yet. */
  get pending(): number {
    return this.#pending;
  }

  /** `true` once the scope has settled; spawning then throws. */
  get closed(): boolean {
    return this.#state === CLOSED;
  }

  /** Whether the scope has been cancelled (its signal aborted). */
  get cancelled(): boolean {
    return this.#controller.signal.aborted;
  }

  /**
   * Whether the scope's own `cancel()`, `timeout` or `deadline` interrupted its body or
   * one of its tasks (Trio's `cancelled_caught`): `false` when it was never cancelled, or
   * when everything had finished anyway.
   */
  get cancelledCaught(): boolean {
    return this.#caught;
  }

  /**
   * Starts `fn` as a task of this scope and returns its {@link Task}. The task starts at
   * once (its synchronous part runs before `spawn` returns). Throws a `TypeError` when
   * the scope has closed.
   */
  spawn<T>(fn: TaskFn<T>, options?: SpawnOptions): Task<T> {
    assertFunction('fn', fn);
    if (options !== undefined) {
      assertOptions('options', options, SPAWN_KNOWN);
      assertName('options.name', options.name);
    }
    return this.#spawn(fn, options?.name);
  }

  /**
   * Starts `fn` as a task of this scope and resolves once it calls `ctx.started(value)`,
   * with that value (Trio's `nursery.start`): how a server task says "I am listening"
   * before its caller goes on. The task then keeps running in this scope.
   *
   * - If the task fails before `started()`, `start` rejects with its error, and the scope
   *   does not see that failure (the caller handles it).
   * - If it returns before `started()`, `start` rejects with an `Error` saying so.
   * - If the caller of `start` (the task it runs in) or this scope is cancelled before
   *   `started()`, the task is cancelled and `start` rejects with the cancellation.
   * - A `TypeError` (as a rejection) when the scope has closed.
   *
   * @example
   * ```ts
   * import { scope, type StartContext } from '@weft/core';
   *
   * await scope(async (s) => {
   *   const port = await s.start(async (ctx: StartContext<number>) => {
   *     ctx.started(8080); // after listen()
   *     await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
   *   });
   *   console.log(port); // 8080
   *   s.cancel();
   * });
   * ```
   */
  start<V = undefined>(fn: (ctx: StartContext<V>) => unknown, options?: SpawnOptions): Promise<V> {
    return rejectOnThrow(() => {
      assertFunction('fn', fn);
      if (options !== undefined) {
        assertOptions('options', options, SPAWN_KNOWN);
        assertName('options.name', options.name);
      }
      // Until started, the task also answers to its caller's cancellation (Trio).
      const caller = resolveCaller(undefined, undefined).signals;
      return new Promise<V>((resolve, reject) => {
        // Added only after `task` is set below.
        const onCallerAbort = (): void => {
          task.cancelWith(caller.find((c) => c.aborted)?.reason);
        };
        const detach = (): void => {
          for (const c of caller) c.removeEventListener('abort', onCallerAbort);
        };
        const hook: StartHook = {
          done: false,
          resolve: (value) => {
            detach();
            resolve(value as V);
          },
          reject: (error) => {
            detach();
            reject(error);
          },
        };
        const task = this.#spawn(fn as TaskFn<unknown>, options?.name, undefined, 0, hook);
        if (hook.done) return; // started (or ended) synchronously
        const aborted = caller.find((c) => c.aborted);
        if (aborted !== undefined) task.cancelWith(aborted.reason);
        else for (const c of caller) c.addEventListener('abort', onCallerAbort, { once: true });
      });
    });
  }

  /**
   * Cancels every task of the scope (and the body, through `signal`). This is a
   * cancellation the program asked for: it is never a failure of this scope or of an
   * enclosing one. The scope then ends normally: with the body's value if the body
   * finished, else `undefined` (see the class notes); `cancelledCaught` tells which.
   */
  cancel(reason?: unknown): void {
    this.#cancel(
      Cause.Explicit,
      markRequested(
        reason === undefined ? new CancelledError(`Scope "${this.#name}" was cancelled`) : reason,
      ),
    );
  }

  /** Waits for every task, then throws like `scope()` does. Called by `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#markCollected();
    await this.#join();
    this.#outcome(true, undefined);
  }

  /**
   * A snapshot of this scope's live tree: its running tasks, and under each task (or
   * under the scope, for a body) the scopes opened there that are still open, down to
   * the leaves. Each node has its id, name, state and age and, while it runs after being
   * cancelled, `cancelledFor`; scopes with a deadline have the time left to it. Settled
   * tasks are not in it. Print it with `formatTaskTree`. It works on any scope, inside
   * `run()` or not, with or without instrumentation.
   *
   * What it costs when nobody asks: each scope keeps its tasks in a chain through the
   * tasks (see `#listTask`), and each task one start time, read from the system clock
   * once per microtask checkpoint at most (so tasks started in the same synchronous
   * stretch share an age; any other clock is exact).
   *
   * @example
   * ```ts
   * import { formatTaskTree, scope, sleep } from '@weft/core';
   *
   * await scope(async (s) => {
   *   s.spawn(async function poll() { await sleep(50); });
   *   console.log(formatTaskTree(s.tree()));
   *   // scope (scope #1) · open · age 0.0 ms
   *   // └── poll (task #2) · running · age 0.0 ms
   * });
   * ```
   */
  tree(): TaskTreeNode {
    noteTreeUsed();
    return this.#node(this.#clock.now(), Number.POSITIVE_INFINITY);
  }

  get [Symbol.toStringTag](): string {
    return 'Scope';
  }

  /**
   * This scope's node. `cap`: the age of the node it goes under. No node is shown older
   * than its parent: start times on the system clock are shared readings (see
   * startTime), the clock may step back, and a child scope may run on another clock.
   */
  #node(now: number, cap: number): TaskTreeNode {
    const children: TaskTreeNode[] = [];
    const underTask = new Map<Task<unknown>, { own: TaskTreeNode[]; age: number }>();
    const scopeCancelled = this.#cancelledAt;
    const age = Math.min(now - this.#openedAt, cap);
    const tasks = this.#running();
    for (const t of tasks) {
      const diag = t.diag;
      const cancelledAt = diag?.cancelledAt ?? scopeCancelled;
      const taskAge = t.startedAt === undefined ? age : Math.min(now - t.startedAt, age);
      const cancelling =
        cancelledAt === undefined || t.state !== 'running'
          ? {}
          : { cancelledFor: now - cancelledAt };
      let own: TaskTreeNode[] = [];
      let ownAge = taskAge;
      const taskChildren = own;
      // A pool worker inside an item: the item is shown under it, and the scopes the
      // worker opened (the item did) under the item.
      const item = runningItem(diag);
      if (item !== undefined) {
        own = [];
        const itemAge = Math.min(now - item.since, taskAge);
        ownAge = itemAge;
        taskChildren.push({
          kind: 'task',
          id: item.id,
          name: item.label,
          state: 'running',
          age: itemAge,
          ...cancelling,
          children: own,
        });
      }
      // No node is older than its parent: a scope the item opened in its synchronous part
      // may have a reading from before the item's (see turnTime).
      underTask.set(t, { own, age: ownAge });
      children.push({
        kind: 'task',
        id: t.id,
        name: t.label,
        state: t.state,
        ...(t.startedAt === undefined ? {} : { age: taskAge }),
        ...cancelling,
        children: taskChildren,
      });
    }
    if (this.#held !== undefined) {
      for (const h of this.#held) {
        children.push({
          kind: 'close',
          id: h.id,
          name: h.name,
          state: 'running',
          age: now - h.since,
          cancelledFor: now - h.since,
          children: [],
        });
      }
    }
    for (let c = this.#firstChild; c !== undefined; c = c.#nextSibling) {
      const parentTask = c.#parentTask;
      const under = parentTask === undefined ? undefined : underTask.get(parentTask);
      // Ages on another clock cannot be compared: such a child is capped in its own subtree only.
      const node =
        c.#clock === this.#clock
          ? c.#node(now, under?.age ?? age)
          : c.#node(c.#clock.now(), Number.POSITIVE_INFINITY);
      (under?.own ?? children).push(node);
    }
    const byId = (a: TaskTreeNode, b: TaskTreeNode): number => a.id - b.id;
    children.sort(byId);
    for (const { own } of underTask.values()) own.sort(byId);
    const open = this.#state !== CLOSED;
    return {
      kind: 'scope',
      id: this.id,
      name: this.#name,
      state: open ? 'open' : 'closed',
      age,
      ...(this.#deadline === Number.POSITIVE_INFINITY ? {} : { deadline: this.#deadline - now }),
      ...(scopeCancelled === undefined || !open ? {} : { cancelledFor: now - scopeCancelled }),
      children,
    };
  }

  /**
   * Lists a new task. The list is a chain through the tasks themselves, oldest first,
   * because tasks mostly settle in the order they started: a settling task at the front
   * is dropped at once (and every settled one behind it), which writes nothing into other
   * tasks and keeps no settled task alive. One that settles out of order stays linked
   * until the front reaches it, or until the chain is compacted here, once more than half
   * of it has settled: the chain never holds more than twice the running tasks (plus 64),
   * at O(1) amortized per task. (An array of 100,000 tasks, or a doubly linked list, costs
   * the fan-out more garbage-collector work than the 5% diagnostics may take.)
   */
  #listTask(task: TaskImpl<unknown>): void {
    if (this.#listed >= 64 && this.#listed >= 2 * this.#pending) this.#compact();
    const newest = this.#newest;
    if (newest === undefined) this.#oldest = task;
    else newest.newer = task;
    this.#newest = task;
    this.#listed++;
  }

  /** A task settled: drop the settled tasks at the front of the chain. */
  #unlistTask(task: TaskImpl<unknown>): void {
    if (task !== this.#oldest) return;
    let t: TaskImpl<unknown> | undefined = task;
    do {
      const newer: TaskImpl<unknown> | undefined = t.newer;
      t.newer = undefined;
      this.#listed--;
      t = newer;
    } while (t !== undefined && t.state !== 'running');
    this.#oldest = t;
    if (t === undefined) this.#newest = undefined;
  }

  /** Unlinks every settled task from the chain. */
  #compact(): void {
    let oldest: TaskImpl<unknown> | undefined;
    let last: TaskImpl<unknown> | undefined;
    let listed = 0;
    for (let t = this.#oldest; t !== undefined; ) {
      const newer: TaskImpl<unknown> | undefined = t.newer;
      t.newer = undefined;
      if (t.state === 'running') {
        if (last === undefined) oldest = t;
        else last.newer = t;
        last = t;
        listed++;
      }
      t = newer;
    }
    this.#oldest = oldest;
    this.#newest = last;
    this.#listed = listed;
  }

  /** The running tasks, in spawn order. */
  #running(): TaskImpl<unknown>[] {
    const running: TaskImpl<unknown>[] = [];
    for (let t = this.#oldest; t !== undefined; t = t.newer) {
      if (t.state === 'running') running.push(t);
    }
    return running;
  }

  #adopt(child: Scope): void {
    child.#adopted = true;
    const last = this.#lastChild;
    child.#prevSibling = last;
    if (last === undefined) this.#firstChild = child;
    else last.#nextSibling = child;
    this.#lastChild = child;
  }

  #disown(child: Scope): void {
    child.#adopted = false;
    const prev = child.#prevSibling;
    const next = child.#nextSibling;
    if (prev === undefined) this.#firstChild = next;
    else prev.#nextSibling = next;
    if (next === undefined) this.#lastChild = prev;
    else next.#prevSibling = prev;
    child.#prevSibling = undefined;
    child.#nextSibling = undefined;
  }

  /** `cancel()` was called on one of its tasks: record when, and check it later. */
  #taskCancelled(task: TaskImpl<unknown>): void {
    const diag = (task.diag ??= newDiag());
    diag.cancelledAt = this.#clock.now();
    const stuck = (this.#run as RunMarker | undefined)?.stuck;
    if (stuck === undefined || diag.stuckCheck !== undefined) return;
    diag.stuckCheck = scheduleDiagnostic(this.#clock, stuck.after, () => {
      diag.stuckCheck = undefined;
      if (task.state !== 'running') return;
      if (this.#waitsOnCancelledScope(task)) this.#stuckWaiting = true;
      else if (this.#inOpenShield(task)) {
        this.#stuckWaiting = true;
        this.#reportShield(stuck, task, diag.cancelledAt!);
      } else this.#reportTask(stuck, task, diag.cancelledAt!);
    });
  }

  #reportTask(stuck: StuckPolicy, task: TaskImpl<unknown>, cancelledAt: number): void {
    const diag = (task.diag ??= newDiag());
    if (diag.reported) return;
    diag.reported = true;
    const report: StuckReport = {
      kind: 'task',
      ...stuckIdentity(task, diag),
      cancelledFor: this.#clock.now() - cancelledAt,
      reason: task.signal.reason,
    };
    reportStuck(stuck, report);
  }

  /**
   * A task in `shield()` defers its cancellation on purpose: it is not blamed for ignoring
   * it, but reported once, with kind `'shield'`, so that a shield that hangs is seen. It
   * is then checked again (as ignoring cancellation) once the shield ends.
   */
  #reportShield(stuck: StuckPolicy, task: TaskImpl<unknown>, cancelledAt: number): void {
    const diag = (task.diag ??= newDiag());
    if (diag.shieldReported) return;
    diag.shieldReported = true;
    reportStuck(stuck, {
      kind: 'shield',
      ...stuckIdentity(task, diag),
      cancelledFor: this.#clock.now() - cancelledAt,
      reason: task.signal.reason,
    });
  }

  /**
   * Whether `task` (or the body, for `undefined`) is inside a scope of its own that is
   * open and cancelled: it then waits for that scope, whose own check reports what in it
   * is stuck. Reporting the waiter too would blame code that honours its cancellation.
   */
  #waitsOnCancelledScope(task: TaskImpl<unknown> | undefined): boolean {
    for (let c = this.#firstChild; c !== undefined; c = c.#nextSibling) {
      if (c.#parentTask === task && c.#state !== CLOSED && c.#controller.signal.aborted) {
        return true;
      }
    }
    return false;
  }

  /** Whether `task` (or the body, for `undefined`) is inside an open `shield()` of its own. */
  #inOpenShield(task: TaskImpl<unknown> | undefined): boolean {
    for (let c = this.#firstChild; c !== undefined; c = c.#nextSibling) {
      if (c.#parentTask === task && c.#state !== CLOSED && c.#shield) return true;
    }
    return false;
  }

  /**
   * Something this check skipped as waiting (see #checkStuck) may have stopped waiting:
   * check again after the grace period, once.
   */
  #recheckStuck(): void {
    this.#stuckWaiting = false;
    const stuck = (this.#run as RunMarker | undefined)?.stuck;
    if (stuck === undefined || this.#stuckCheck !== undefined || this.#state === CLOSED) return;
    this.#stuckCheck = scheduleDiagnostic(this.#clock, stuck.after, () => this.#checkStuck(stuck));
  }

  /**
   * The stuck-cancellation check, `stuck.after` ms after the scope was cancelled. It
   * reports only the innermost stuck work: a task or body that waits for a cancelled
   * scope of its own, or a body whose tasks still run, is skipped as waiting, and checked
   * again when that scope closes or a task settles.
   */
  #checkStuck(stuck: StuckPolicy): void {
    this.#stuckCheck = undefined;
    if (this.#state === CLOSED) return;
    const now = this.#clock.now();
    const scopeCancelledAt = this.#cancelledAt;
    let waiting = false;
    const running = this.#running();
    for (const t of running) {
      const own = t.diag?.cancelledAt;
      const cancelledAt =
        own === undefined || (scopeCancelledAt !== undefined && scopeCancelledAt < own)
          ? scopeCancelledAt
          : own;
      // Not cancelled, or only just (its own check comes later). The slack: a system
      // timer set for `after` ms can fire when `now()` (Date.now) has moved `after - 1`
      // (timers run on a monotonic clock), and a scope-wide cancel has no later check.
      if (cancelledAt === undefined || now - cancelledAt < stuck.after - STUCK_SLACK_MS) continue;
      if (this.#waitsOnCancelledScope(t)) waiting = true;
      else if (this.#inOpenShield(t)) {
        waiting = true;
        this.#reportShield(stuck, t, cancelledAt);
      } else this.#reportTask(stuck, t, cancelledAt);
    }
    // The body (or a hold of no name) still runs; named holds report themselves.
    const bodyHolds = this.#holds - (this.#held?.size ?? 0);
    if (bodyHolds > 0 && !this.#bodyReported && scopeCancelledAt !== undefined) {
      if (running.length > 0 || this.#waitsOnCancelledScope(undefined)) waiting = true;
      else if (this.#inOpenShield(undefined)) {
        waiting = true;
        if (!this.#bodyShieldReported) {
          this.#bodyShieldReported = true;
          reportStuck(stuck, {
            kind: 'shield',
            id: this.id,
            name: this.#name,
            path: scopePath(this),
            cancelledFor: now - scopeCancelledAt,
            reason: this.signal.reason,
          });
        }
      } else {
        this.#bodyReported = true;
        reportStuck(stuck, {
          kind: 'scope',
          id: this.id,
          name: this.#name,
          path: scopePath(this),
          cancelledFor: now - scopeCancelledAt,
          reason: this.signal.reason,
        });
      }
    }
    this.#stuckWaiting = waiting;
  }

  #spawn<T>(
    fn: TaskFn<T>,
    name: string | undefined,
    sink?: TaskSink,
    index?: number,
    startHook?: StartHook,
    internal = false,
  ): TaskImpl<T> {
    if (this.#state === CLOSED) {
      throw new TypeError(
        `Cannot spawn \`${name ?? (fn.name || 'task')}\` into scope "${this.#name}": the scope has closed`,
      );
    }
    let slot = USER;
    if (internal) {
      slot = NO_SLOT;
      if (sink !== undefined) {
        // One sink per scope (gather's): its tasks keep only their index.
        const link = this.#link;
        if (link.sink === undefined) link.sink = sink;
        else if (link.sink !== sink) throw new Error('weft: one result sink per scope');
        slot = index ?? 0;
      }
    }
    const task = new TaskImpl<T>(this.#link, functionName(fn), name, slot);
    if (startHook !== undefined) task.expectStart(startHook);
    this.#pending++;
    if (!this.#holdsParent) this.#busy();
    this.#listTask(task as TaskImpl<unknown>);
    task.start(fn);
    return task;
  }

  async #runBody<T>(body: (arg: never) => T | PromiseLike<T>, passContext = false): Promise<T> {
    this.#holds++;
    if (!this.#holdsParent) this.#busy();
    this.#markCollected();
    let ok = true;
    let value: unknown;
    const ctx = new TaskContextImpl(this, undefined);
    try {
      // Started deep inside other starts: on a fresh stack instead (review D13).
      if (nestedTooDeep()) await Promise.resolve();
      value = await runInContext(ctx, body as (arg: unknown) => unknown, passContext ? ctx : this);
    } catch (error) {
      ok = false;
      value = error;
      if (this.#isOwnCancellation(error)) {
        if (this.#ownCause()) this.#caught = true;
      } else if (!isRequested(error)) this.#fail(error);
    }
    // Helpers the body opened and left open are closed once the tasks have settled too
    // (see onJoin): a task of this scope may still be using one.
    this.#holds--;
    const joined = this.#join(); // closes now if nothing runs any more
    if (!this.#hasWork()) this.#quiet();
    await joined;
    let result: unknown;
    try {
      result = this.#outcome(ok, value);
    } catch (error) {
      this.#bodySettled(
        isCancellation(error) || error instanceof TimeoutError ? 'cancelled' : 'rejected',
      );
      throw error;
    }
    // Resolved without the body's value (cut short by its own cancel()): cancelled.
    this.#bodySettled(ok ? 'fulfilled' : 'cancelled');
    return result as T;
  }

  /**
   * Runs the body's onCurrentSettled callbacks: once the body and every task of the scope
   * have settled (a task may still use what the body acquired), with how the call ends.
   */
  #bodySettled(state: SettledState): void {
    this.#bodyState = state;
    const bodyHooks = this.#bodyHooks;
    if (bodyHooks !== undefined) {
      this.#bodyHooks = undefined;
      for (const callback of bodyHooks) callback(state);
    }
  }

  #isOwnCancellation(error: unknown): boolean {
    const signal = this.#controller.signal;
    return signal.aborted && isCancellationOf(error, signal.reason);
  }

  /** Whether the scope was cancelled by its own `cancel()` or time limit. */
  #ownCause(): boolean {
    return this.#cause === Cause.Explicit || this.#cause === Cause.Timeout;
  }

  #markCollected(): void {
    if (this.#collected) return;
    this.#collected = true;
    if (this.#unjoined !== undefined) {
      unjoined?.unregister(this);
      untrackUnjoined(this.#unjoined);
      this.#unjoined = undefined;
    }
  }

  /**
   * Attaches each task's handlers to the promise its function returned, for the tasks
   * spawned since the last call: one microtask after the first of them, so within the
   * same microtask checkpoint (an early rejection is handled before any runtime would
   * call it unhandled). Batched because attaching a reaction to a settled promise right
   * after each `AsyncLocalStorage.run` costs V8 (Node 24) about three times as much CPU
   * per task as attaching them all after the runs: a loop spawning trivial tasks ran at a
   * third of the speed of `Promise.all` over the same `run`s. The batch is the tail of
   * the task chain (see #listTask) from the oldest task waiting: running tasks keep their
   * order in it, so no array per batch is needed.
   */
  #attachAll(): void {
    let t = this.#unattached;
    this.#unattached = undefined;
    while (t !== undefined) {
      const newer: TaskImpl<unknown> | undefined = t.newer;
      t.attach();
      t = newer;
    }
  }

  /** Calls the registered join hooks once each; the scope holds on to what they return. */
  #runJoinHooks(): void {
    const hooks = this.#joinHooks!;
    this.#joinHooks = undefined;
    for (const hook of hooks) {
      let work: unknown;
      try {
        work = hook();
      } catch (error) {
        work = Promise.reject(error);
      }
      if (isThenable(work)) this.#hold(work);
    }
  }

  #hold(work: PromiseLike<unknown>, name?: string): void {
    this.#holds++;
    if (!this.#holdsParent) this.#busy();
    const held = name === undefined ? undefined : this.#trackHeld(name);
    const release = (): void => {
      if (held !== undefined) {
        held.check?.();
        this.#held!.delete(held);
      }
      this.#holds--;
      if (this.#pending === 0 && this.#holds === 0) {
        // Closed (if being joined) before its holder hears it is quiet: a scope closes
        // before the scope it was opened in (probe9 R4).
        this.#idle();
        if (!this.#hasWork()) this.#quiet();
      }
    };
    work.then(release, (error: unknown) => {
      if (!this.#isOwnCancellation(error) && !isRequested(error)) {
        if (this.#cause === Cause.Timeout) (this.#afterTimeout ??= []).push(error);
        else this.#fail(error);
      }
      release();
    });
  }

  /**
   * Lists a named hold for `tree()`, and with `run()`'s stuck check, reports it once if it
   * has not settled `stuckAfter` ms later: a close is a cancellation request, and one
   * that never settles (a `return()` or a stream's `cancel()` that never does) would
   * otherwise keep the scope open with nothing to say why.
   */
  #trackHeld(name: string): Held {
    const held: Held = { id: nextId(), name, since: this.#clock.now(), check: undefined };
    (this.#held ??= new Set()).add(held);
    const stuck = (this.#run as RunMarker | undefined)?.stuck;
    if (stuck !== undefined) {
      held.check = scheduleDiagnostic(this.#clock, stuck.after, () => {
        held.check = undefined;
        reportStuck(stuck, {
          kind: 'close',
          id: held.id,
          name,
          path: [...scopePath(this), name],
          cancelledFor: this.#clock.now() - held.since,
          reason: undefined,
        });
      });
    }
    return held;
  }

  /**
   * Nothing runs any more: join hooks registered late run now (they close helpers the
   * body left open, whose scopes may be among the busy children), else the join ends
   * once no child scope has work either.
   */
  #idle(): void {
    const resolve = this.#joinResolve;
    if (resolve === undefined) return; // not being joined yet
    if (this.#joinHooks !== undefined) {
      this.#runJoinHooks();
      if (this.#holds > 0) return;
    }
    if (this.#busyChildren > 0) return;
    // Closed now, not a microtask later: a callback queued before this point (a task's
    // `.then`) must find the scope closed, not spawn into one whose join has ended
    // (probe7 P3).
    this.#close();
    resolve();
  }

  /**
   * This scope has work now (a task, its body, held work, or a busy scope of its own): the
   * scope it was opened in waits for it (see #holdTarget), and so on up. A holder that was
   * cancelled already cancels it at once: no signal of this scope's may reach it (opened
   * in the context of a task that has ended since).
   */
  #busy(): void {
    Scope.#holdUp(this);
  }

  /** Whether a task, the body, held work or a busy floating scope still runs in it. */
  #hasWork(): boolean {
    return this.#pending !== 0 || this.#holds !== 0 || this.#busyChildren !== 0;
  }

  /** #busy for `s`: a loop, not a recursion (a chain of floating scopes may be any length). */
  static #holdUp(s: Scope): void {
    for (;;) {
      const parent = s.#holdTarget;
      if (parent === undefined) return;
      // A holder cancelled already cancels it at once, closed or not (probe8 Q7).
      if (parent.#link.aborted) Scope.#cancelFromHolder(s, parent.#controller.signal.reason);
      if (parent.#state === CLOSED) return;
      s.#holdsParent = true;
      if (parent.#busyChildren++ !== 0 || parent.#holdsParent) return;
      s = parent;
    }
  }

  /**
   * This scope's work has ended, its busy scopes' too: its holder no longer waits for it,
   * and a holder left with nothing to wait for is quiet in turn (a loop, as in #busy).
   */
  #quiet(): void {
    Scope.#releaseUp(this);
  }

  static #releaseUp(s: Scope): void {
    while (s.#holdsParent) {
      s.#holdsParent = false;
      const parent = s.#holdTarget!;
      parent.#busyChildren--;
      if (parent.#hasWork()) return;
      parent.#idle();
      // Its join hooks may have given it work again (held: busy again), then it stays.
      if (parent.#hasWork()) return;
      s = parent;
    }
  }

  // Cancellations passed down from a scope to the scopes opened in it run inside one
  // another, as the abort events that carry them are dispatched (a child is aborted
  // before its parent's later listeners run), up to MAX_CANCEL_DEPTH levels; deeper ones
  // wait in a queue that the outermost level works through, so a chain of scopes each
  // opened in the one before is cancelled at any length without running out of stack
  // (probe8 Q4), and ordinary trees keep their order (probe9 R1).
  static #cancelQueue: unknown[] = [];
  static #cancelDepth = 0;

  /** Cancels `s` with `reason`, its holder's (or a parent signal's) cancellation. */
  static #cancelFromHolder(s: Scope, reason: unknown): void {
    const queue = Scope.#cancelQueue;
    if (Scope.#cancelDepth >= MAX_CANCEL_DEPTH) {
      queue.push(s, reason);
      return;
    }
    Scope.#cancelDepth++;
    try {
      s.#cancel(Cause.External, reason);
    } finally {
      Scope.#cancelDepth--;
    }
    if (Scope.#cancelDepth !== 0 || queue.length === 0) return;
    // The outermost level: the queued ones, each with the full depth again.
    let thrown: { error: unknown } | undefined;
    while (queue.length > 0) {
      const batch = queue.splice(0, queue.length);
      for (let k = 0; k < batch.length; k += 2) {
        Scope.#cancelDepth++;
        try {
          (batch[k] as Scope).#cancel(Cause.External, batch[k + 1]);
        } catch (error) {
          // (A clock whose schedule() throws, say): the rest are still cancelled.
          thrown ??= { error };
        } finally {
          Scope.#cancelDepth--;
        }
      }
    }
    if (thrown !== undefined) throw thrown.error;
  }

  /**
   * Whether this scope, ending with `error` (as its helper or `scope()` rejects), ends
   * with only its holder's cancellation or that of the task that opened it:
   * the holder reports that cancellation (or its failure) to whoever awaits it, so the
   * rejection of this scope's own promise is no news, and must not be reported as
   * unhandled when the scope floats (a crash on Node, exit 1 instead of 130 after Ctrl-C).
   * Marking it handled changes nothing for an awaiter, who still gets the rejection.
   */
  #cancelledFromAbove(error: unknown): boolean {
    const holder = this.#holdTarget;
    if (
      holder !== undefined &&
      holder.#link.aborted &&
      isCancellationOf(error, holder.#controller.signal.reason)
    ) {
      return true;
    }
    // The task that opened it was cancelled (`task.cancel()`, probe8 Q6).
    const task = this.#parentTask;
    return task !== undefined && task.signal.aborted && isCancellationOf(error, task.signal.reason);
  }

  #join(): Promise<void> {
    if (this.#joined === undefined) {
      if (this.#joinHooks !== undefined && this.#pending === 0 && this.#holds === 0) {
        this.#runJoinHooks();
      }
      if (!this.#hasWork()) {
        this.#close();
        this.#joined = Promise.resolve();
      } else {
        this.#joined = new Promise<void>((resolve) => {
          this.#joinResolve = resolve;
        });
      }
    }
    return this.#joined;
  }

  #close(): void {
    this.#state = CLOSED;
    this.#joinResolve = undefined;
    this.#stuckCheck?.();
    this.#stuckCheck = undefined;
    if (this.#adopted) {
      const parent = this.#parent!;
      parent.#disown(this);
      if (parent.#stuckWaiting) parent.#recheckStuck();
    }
    const h = hooks;
    if (h !== null) h.scopeClose(this, this.#clock.now());
    const onAbort = this.#onParentAbort;
    if (onAbort !== undefined) {
      for (const s of this.#parentSignals) s.removeEventListener('abort', onAbort);
      this.#onParentAbort = undefined;
    }
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  #outcome(ok: boolean, value: unknown): unknown {
    const errors = this.#errors;
    const afterTimeout = this.#afterTimeout;
    if (afterTimeout !== undefined) {
      this.#afterTimeout = undefined;
      // Secondary to the TimeoutError when that is the outcome; failures otherwise.
      if (errors.length > 0 || this.#external !== NONE) errors.push(...afterTimeout);
      else for (const error of afterTimeout) attachSuppressed(this.#timeoutError, error);
    }
    // Cleanup errors a loop attached to this scope's own cancellation reason (a source
    // whose return() threw while the loop was being cancelled) would vanish with it when
    // the scope swallows it (its cancel()) or replaces it (a failure): they are failures
    // (review D7 of corefix). A timeout's reason is thrown or attached, and carries them.
    if (this.#cause === Cause.Explicit || this.#cause === Cause.Failure) {
      for (const error of suppressedErrors(this.#controller.signal.reason)) {
        if (!isCancellation(error) && !errors.includes(error)) errors.push(error);
      }
    }
    if (errors.length > 0) {
      // A real failure wins over the timeout (as in Trio, where an error raised while a
      // cancel scope cancels propagates instead of its TooSlowError); the TimeoutError is
      // attached to the first failure, so the caller can still tell (`suppressedErrors`).
      const group = new TaskGroupError(errors, this.#name);
      if (this.#cause === Cause.Timeout) {
        attachSuppressed(errors[0], this.#timeoutError);
        attachSuppressed(group, this.#timeoutError);
      }
      throw group;
    }
    if (this.#external !== NONE) throw this.#external;
    if (this.#cause === Cause.Timeout) throw this.#timeoutError;
    if (!ok) {
      // Cut short by its own cancel(): a cancellation the program asked for ends the
      // scope normally (Trio); there is no body value, so it resolves `undefined`.
      if (this.#cause === Cause.Explicit && this.#isOwnCancellation(value)) return undefined;
      throw value;
    }
    return value;
  }

  #fail(error: unknown): void {
    if (this.#errors.includes(error)) return;
    this.#errors.push(error);
    if (this.#errors.length === 1 && !this.#collected) {
      // Nobody collects this scope's outcome yet: if it is never disposed, report the
      // failure when it is garbage-collected rather than lose it.
      if (unjoined === undefined) {
        unjoined =
          typeof FinalizationRegistry === 'function'
            ? new FinalizationRegistry(reportUnjoined)
            : null;
      }
      // V8 keeps an error's stack frames (and their receivers: this scope) until `stack` is
      // read; reading it now lets the scope be collected while the registry holds errors.
      for (const e of this.#errors) if (e instanceof Error) void e.stack;
      const held: Unjoined = { errors: this.#errors, name: this.#name };
      this.#unjoined = held;
      trackUnjoined(held);
      unjoined?.register(this, held, this);
    }
    if (this.#cause === Cause.None) {
      this.#cancel(
        Cause.Failure,
        new CancelledError(`Scope "${this.#name}" was cancelled because a task failed`, {
          cause: error,
        }),
      );
    }
  }

  #expire(): void {
    this.#cancelTimer = undefined;
    const ms = this.#timeoutMs;
    this.#timeoutError = new TimeoutError(
      ms === undefined
        ? `Scope "${this.#name}" passed its deadline`
        : `Scope "${this.#name}" timed out after ${ms} ms`,
      ms === undefined ? undefined : { timeout: ms },
    );
    this.#cancel(Cause.Timeout, this.#timeoutError);
  }

  #cancel(cause: Cause, reason: unknown): void {
    if (cause === Cause.External && this.#external === NONE && this.#state !== CLOSED) {
      this.#external = reason;
    }
    if (this.#cause !== Cause.None) return;
    this.#cause = cause;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#cancelledAt = this.#clock.now();
    const stuck = (this.#run as RunMarker | undefined)?.stuck;
    if (stuck !== undefined && this.#state !== CLOSED) {
      this.#stuckCheck = scheduleDiagnostic(this.#clock, stuck.after, () =>
        this.#checkStuck(stuck),
      );
    }
    this.#link.aborted = true;
    this.#controller.abort(reason);
    const watched = this.#watched;
    if (watched !== undefined) {
      this.#watched = undefined;
      for (const task of watched) task.abortFromScope(reason);
    }
    if (this.#busyChildren > 0) {
      // Scopes left floating inside this one: those opened in a task that has ended since
      // hear of it from no signal, yet this scope waits for them (the others were
      // cancelled through a signal just now).
      const floating: Scope[] = [];
      for (let c = this.#firstChild; c !== undefined; c = c.#nextSibling) {
        if (c.#holdsParent) floating.push(c);
      }
      for (const c of floating) Scope.#cancelFromHolder(c, reason);
    }
  }
}

/** See Scope.#cancelFromHolder. */
const MAX_CANCEL_DEPTH = 64;

/**
 * `promise`, as a promise whose rejection is marked handled when `quiet(error)` says so
 * (it still rejects: whoever awaits it gets the error).
 */
function quietWhen<T>(promise: Promise<T>, quiet: (error: unknown) => boolean): Promise<T> {
  const exposed: Promise<T> = promise.then(undefined, (error: unknown): never => {
    if (quiet(error)) exposed.then(undefined, noop);
    throw error;
  });
  return exposed;
}

/** `fn.name` as a task's default name uses it: a string, `''` for none (or a bad one). */
function functionName(fn: (ctx: never) => unknown): string {
  const name: unknown = fn.name;
  if (typeof name === 'string') return name;
  try {
    return name ? String(name) : '';
  } catch {
    return '';
  }
}

/**
 * Who a stuck report names: the task, or for a pool worker inside an item, the item (its
 * logical parent is the pool's scope, so the worker is not in the path).
 */
function stuckIdentity(
  task: TaskImpl<unknown>,
  diag: TaskDiag,
): { id: number; name: string; path: string[] } {
  const item = runningItem(diag);
  if (item === undefined) return { id: task.id, name: task.name, path: taskPath(task) };
  return { id: item.id, name: item.name, path: [...scopePath(task.scope), item.name] };
}

/**
 * Runs `body` with a new {@link Scope} and settles only when the body and every task it
 * spawned have settled: the structured form of `Promise.all` that cancels the other
 * tasks when one fails and waits for them before it rejects.
 *
 * Resolves with the body's value. Rejects with a {@link TaskGroupError} when the body or a
 * task failed, with the parent signal's reason when the parent cancelled it, or with a
 * `TimeoutError` when its `timeout`/`deadline` passed.
 *
 * An async-iterable helper (`buffer`, `merge`, `asCompleted`, …) whose first `next()` ran
 * in the body belongs to the scope: its tasks may read it too, and once the body and every
 * task have settled, the scope closes the helpers still open (their sources too) and
 * waits for them; an error raised while closing one fails the scope.
 *
 * @example
 * ```ts
 * import { scope, sleep } from '@weft/core';
 *
 * const [a, b] = await scope(async (s) => {
 *   const a = s.spawn(async ({ signal }) => { await sleep(100, { signal }); return 'a'; });
 *   const b = s.spawn(async ({ signal }) => { await sleep(200, { signal }); return 'b'; });
 *   return [await a, await b];
 * });
 * ```
 */
export function scope<T>(
  body: (s: Scope) => T | PromiseLike<T>,
  options?: ScopeOptions,
): Promise<T> {
  return rejectOnThrow(() => {
    assertFunction('body', body);
    const s = new Scope(options);
    return scopeInternals.expose(s, scopeInternals.runBody(s, body));
  });
}
