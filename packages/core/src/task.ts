import type { Clock } from './clock.ts';
import { CancelledError, isCancellationOf, isRequested, markRequested } from './errors.ts';
import { isThenable } from './internal/abortable.ts';
import {
  type ContextTask,
  nestedTooDeep,
  nextId,
  runInContext,
  TaskContextImpl,
  unlimitListeners,
} from './internal/context.ts';
import { hooks, type TaskDiag } from './internal/instrument.ts';
import { startTime } from './internal/start-time.ts';
import { NONE } from './internal/symbols.ts';
import type { Scope } from './scope.ts';

/**
 * What every task function (and `timeout`/`run` body) receives: the `signal` that aborts
 * when the task is cancelled (pass it to `fetch`, `sleep`, …), the `scope` it runs in (to
 * spawn siblings), and the `clock` it should take time from. It is not the {@link Task}
 * (a task is awaitable; the context is not, so returning it is safe). Its fields are
 * getters on a class instance, not own properties: `{ ...ctx }` or `Object.keys(ctx)`
 * copies none of them, so pass `ctx` itself, or name the fields you copy
 * (`{ signal: ctx.signal, scope: ctx.scope, clock: ctx.clock }`).
 *
 * @example
 * ```ts
 * import { scope, type TaskContext } from '@weft/core';
 *
 * async function poll({ signal, scope: s, clock }: TaskContext): Promise<void> {
 *   while (!signal.aborted) {
 *     s.spawn(({ signal }) => fetch('http://127.0.0.1:8080/health', { signal }));
 *     await clock.sleep(1000, signal);
 *   }
 * }
 * await scope((s) => void s.spawn(poll), { timeout: 5000 }).catch(() => {});
 * ```
 */
export interface TaskContext {
  readonly signal: AbortSignal;
  readonly scope: Scope;
  readonly clock: Clock;
  /**
   * For a task started with `Scope.start`: says "I am ready" and makes `start()` resolve
   * with `value` (Trio's `task_status.started`). Calling it twice throws. In a task that
   * was spawned, or in a scope body, it does nothing.
   */
  started(value?: unknown): void;
}

/**
 * The context of a task started with `Scope.start`: `started(value)` resolves `start()`
 * with `value`.
 *
 * @example
 * ```ts
 * import { scope, type StartContext } from '@weft/core';
 *
 * async function serve(ctx: StartContext<number>): Promise<void> {
 *   const port = 8080; // bind here
 *   ctx.started(port);
 *   await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
 * }
 * await scope(async (s) => {
 *   const port = await s.start(serve);
 *   console.log(`listening on ${port}`);
 *   s.cancel();
 * });
 * ```
 */
export interface StartContext<V> extends TaskContext {
  started(value: V): void;
}

/**
 * A unit of work that weft can run and cancel: it receives a {@link TaskContext} and
 * returns a value or a promise.
 *
 * @example
 * ```ts
 * import { type TaskFn, sleep } from '@weft/core';
 *
 * const fetchData: TaskFn<string> = async ({ signal }) => {
 *   await sleep(2000, { signal });
 *   return 'data';
 * };
 * ```
 */
export type TaskFn<T> = (ctx: TaskContext) => T | PromiseLike<T>;

/** `running` until the task settles; then `fulfilled`, `rejected` or `cancelled`. */
export type TaskState = 'running' | 'fulfilled' | 'rejected' | 'cancelled';

/** Options of `Scope.spawn`. */
export interface SpawnOptions {
  /**
   * A name for diagnostics and error messages.
   * @default the function's name and the task id (`load#12`)
   */
  name?: string;
}

/**
 * A running task, as returned by `scope.spawn`. Await it for its value. It is also a
 * handle: `cancel()` aborts its signal without failing its scope; awaiting a cancelled
 * task rejects with the cancellation reason.
 *
 * @example
 * ```ts
 * import { scope, sleep } from '@weft/core';
 *
 * await scope(async (s) => {
 *   const slow = s.spawn(() => sleep(60_000), { name: 'slow' });
 *   slow.cancel();
 *   console.log(slow.state); // 'running' until it reacts, then 'cancelled'
 * });
 * ```
 */
export interface Task<T> extends PromiseLike<T> {
  /** A process-unique number. */
  readonly id: number;
  readonly name: string;
  readonly state: TaskState;
  /** Aborts when the task or its scope is cancelled. */
  readonly signal: AbortSignal;
  /** The scope the task runs in (its parent in the task tree). */
  readonly scope: Scope;
  /**
   * Cancels this task only. Does nothing once the task has settled. A cancellation the
   * program asked for is never a failure: the task ends `cancelled` and its scope goes on.
   * A `reason` that is not an object (a string, a number) is wrapped in a
   * `CancelledError` whose `cause` it is, so that it stays recognisable as a cancellation
   * wherever it travels; an object reason is used as it is.
   * Awaiting it rejects with the cancellation; code that lets that rejection through is
   * not failed either: another task that does ends `cancelled` too, and a scope body that
   * does makes its scope reject with the `CancelledError` (not a `TaskGroupError`), which
   * an enclosing scope does not count as a failure. (weft's own item tasks, in `gather`
   * or `map`, do fail: they have no value to give.)
   */
  cancel(reason?: unknown): void;
}

/** What a task does with its outcome besides keeping it (used by gather and settle). */
export interface TaskSink {
  readonly results: unknown[];
  /** Record failures as `{ status: 'rejected' }` entries instead of failing the scope. */
  readonly contained: boolean;
}

/** How a task talks to its scope (one object per scope, shared by its tasks). */
export interface ScopeLink {
  /** The scope. */
  readonly scope: Scope;
  /** Where weft's own tasks with a result slot write their outcome (gather, settle). */
  sink: TaskSink | undefined;
  /** Whether the scope has been cancelled (its signal aborted). */
  aborted: boolean;
  /** The task settled; `failure` is `NONE` unless it failed its scope. */
  settled(task: TaskImpl<unknown>, failure: unknown, cancelled: boolean): void;
  /** `cancel()` was called on the task itself (diagnostics: the stuck-cancellation check). */
  cancelled(task: TaskImpl<unknown>): void;
  /**
   * The task's function returned the native promise `result`: the scope attaches the
   * task's handlers to it within the same microtask checkpoint, in the order the promises
   * appeared, mostly in one batch with its siblings (see Scope's `#attachAll`).
   */
  observe(task: TaskImpl<unknown>, result: Promise<unknown>): void;
  /** The task made its own signal: abort it when the scope is cancelled. */
  watch(task: WatchedTask): void;
  unwatch(task: WatchedTask): void;
}

/** A task whose signal its scope aborts directly. */
export interface WatchedTask {
  abortFromScope(reason: unknown): void;
}

/** What `Scope.start` waits for: the value passed to `ctx.started()`, or a failure. */
export interface StartHook {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  done: boolean;
}

const noopOff = (): void => {};

/** `TaskImpl`'s slot for a user's task. */
export const USER = -2;
/** `TaskImpl`'s slot for weft's own task without a result slot. */
export const NO_SLOT = -1;

/**
 * The parts of a task that most tasks never use, made on first need: a fan-out keeps
 * every one of its tasks alive at once, and the size of each is garbage-collector work.
 */
interface TaskRare {
  /** The name given in `SpawnOptions`. */
  name: string | undefined;
  /** Created on the first read of `signal`. */
  controller: AbortController | undefined;
  /** The reason given to `cancel()`/`cancelWith()`; `NONE` until then. */
  cancelReason: unknown;
  /** What awaiting the task before it settled waits on. */
  deferred:
    | { promise: Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void }
    | undefined;
  /** Set by `Scope.start` until the task calls `ctx.started()` or settles. */
  startHook: StartHook | undefined;
  /** Callbacks of helpers opened in this task, called when it settles (see onSettled). */
  onSettled: Set<() => void> | undefined;
  /** Cancel time and stuck check (see `TaskDiag`), made on `cancel()`. */
  diag: TaskDiag | undefined;
  /** It settled after its scope was cancelled, before anyone read its signal. */
  endedAborted: boolean;
}

export class TaskImpl<T> implements Task<T>, ContextTask, WatchedTask {
  readonly id: number;
  // Its scope, as `#link.scope`.
  readonly #link: ScopeLink;
  readonly #fnName: string;
  #state: TaskState;
  // The outcome once settled; while running, the native promise the function returned
  // until the scope attaches the task's handlers to it (see `attach`).
  #value: unknown;
  // `USER` for a user's task; else weft's own task (gather item, pool worker), which
  // must produce a value, so a requested cancellation from elsewhere that ends it is a
  // failure: `NO_SLOT`, or the index of its result slot in `#link.sink`.
  readonly #slot: number;
  // The next task spawned into the same scope while this one was listed: the scope's
  // list of its tasks, for `Scope.tree()`, the stuck check and attaching handlers (see
  // its #listTask).
  newer: TaskImpl<unknown> | undefined;
  // When it started, on its scope's clock (see startTime), for its age in `Scope.tree()`.
  startedAt: number | undefined;
  #rare: TaskRare | undefined;

  constructor(link: ScopeLink, fnName: string, name: string | undefined, slot: number) {
    this.id = nextId();
    this.#link = link;
    this.#fnName = fnName;
    this.#state = 'running';
    this.#value = undefined;
    this.#slot = slot;
    this.newer = undefined;
    this.startedAt = undefined;
    this.#rare = name === undefined ? undefined : newRare(name);
  }

  #more(): TaskRare {
    return (this.#rare ??= newRare(undefined));
  }

  get name(): string {
    return this.#rare?.name ?? `${this.#fnName || 'task'}#${this.id}`;
  }

  /** For `Scope.tree()`, which shows the id apart: the name given, else the function's. */
  get label(): string {
    return this.#rare?.name ?? (this.#fnName || 'task');
  }

  get state(): TaskState {
    return this.#state;
  }

  /** Cancel time and stuck check, made only on `cancel()` (see `TaskDiag`). */
  get diag(): TaskDiag | undefined {
    return this.#rare?.diag;
  }

  set diag(diag: TaskDiag | undefined) {
    this.#more().diag = diag;
  }

  get signal(): AbortSignal {
    const rare = this.#more();
    let controller = rare.controller;
    if (controller === undefined) {
      controller = rare.controller = new AbortController();
      unlimitListeners(controller.signal);
      const parent = this.#link.scope.signal;
      if (rare.cancelReason !== NONE) controller.abort(rare.cancelReason);
      // Made after the task settled: aborted only if it was when the task ended, so the
      // answer does not depend on when it is first read.
      else if (parent.aborted && (this.#state === 'running' || rare.endedAborted)) {
        controller.abort(parent.reason);
      }
      // No listener on the scope's signal (a gather of 20 tasks would add 20): the scope
      // aborts the signals of the tasks it watches itself when it is cancelled.
      else if (this.#state === 'running') this.#link.watch(this);
    }
    return controller.signal;
  }

  get scope(): Scope {
    return this.#link.scope;
  }

  cancel(reason?: unknown): void {
    if (this.#state !== 'running') return;
    this.cancelWith(
      markRequested(
        reason === undefined
          ? new CancelledError(`Task "${this.name}" was cancelled`)
          : (typeof reason === 'object' && reason !== null) || typeof reason === 'function'
            ? reason
            : // A string or a number cannot be told from a failure once it travels on
              // (review D14): it becomes the cause of a CancelledError, which can.
              new CancelledError(`Task "${this.name}" was cancelled: ${String(reason)}`, {
                cause: reason,
              }),
      ),
    );
  }

  /** Cancels with a reason that comes from elsewhere (not marked as requested). */
  cancelWith(reason: unknown): void {
    if (this.#state !== 'running') return;
    const rare = this.#more();
    if (rare.cancelReason !== NONE) return;
    // Its scope's cancellation reached it first: a signal made later must say so too, as
    // one made before would (so the signal is made now, aborted with the scope's reason).
    if (rare.controller === undefined && this.#link.aborted) void this.signal;
    rare.cancelReason = reason;
    rare.controller?.abort(reason);
    this.#link.cancelled(this as TaskImpl<unknown>);
  }

  /** Called by the scope when it is cancelled, for a task that made its signal. */
  abortFromScope(reason: unknown): void {
    this.#rare?.controller?.abort(reason);
  }

  /** Makes `Scope.start` wait for `ctx.started()`. Called once, before `start`. */
  expectStart(hook: StartHook): void {
    this.#more().startHook = hook;
  }

  onSettled(callback: () => void): () => void {
    if (this.#state !== 'running') {
      callback();
      return noopOff;
    }
    const set = (this.#more().onSettled ??= new Set());
    set.add(callback);
    return () => void set.delete(callback);
  }

  markStarted(value: unknown): void {
    const hook = this.#rare?.startHook;
    if (hook === undefined) return; // spawned, not started: nobody waits (as in Trio)
    if (hook.done) {
      throw new Error(`Task "${this.name}" called ctx.started() more than once`);
    }
    hook.done = true;
    hook.resolve(value);
  }

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    let promise: Promise<T>;
    if (this.#state === 'running') {
      const rare = this.#more();
      if (rare.deferred === undefined) {
        let resolve!: (v: unknown) => void;
        let reject!: (e: unknown) => void;
        const pending = new Promise<unknown>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        rare.deferred = { promise: pending, resolve, reject };
      }
      promise = rare.deferred.promise as Promise<T>;
    } else if (this.#state === 'fulfilled') {
      promise = Promise.resolve(this.#value as T);
    } else {
      promise = Promise.reject(this.#value);
    }
    return promise.then(onfulfilled, onrejected);
  }

  get [Symbol.toStringTag](): string {
    return 'Task';
  }

  /** Runs `fn` in this task's context. Called once, by the scope, right after creation. */
  start(fn: TaskFn<T>): void {
    if (nestedTooDeep()) {
      // Started deep inside other starts: on a fresh stack instead (review D13).
      queueMicrotask(() => this.start(fn));
      return;
    }
    let result: T | PromiseLike<T>;
    const ctx = new TaskContextImpl(this.#link.scope, this);
    const h = hooks;
    if (h === null) this.startedAt = startTime(this.#link.scope.clock);
    else {
      const at = this.#link.scope.clock.now();
      this.startedAt = at;
      h.taskStart(this, at);
    }
    try {
      result = runInContext(ctx, fn, ctx);
    } catch (error) {
      this.#finish(false, error);
      return;
    }
    if ((result as unknown) === this) {
      // Like a promise resolved with itself: awaiting it would wait forever.
      this.#finish(false, new TypeError(`Task "${this.name}" returned itself`));
      return;
    }
    let native: boolean;
    let thenable = false;
    try {
      native = isNativePromise(result);
      if (!native) thenable = isThenable(result);
    } catch (error) {
      // A `then` (or `constructor`) getter that throws: what `await` would reject with.
      this.#finish(false, error);
      return;
    }
    if (native) {
      // The scope attaches the handlers within the same microtask checkpoint (ScopeLink).
      this.#link.observe(this as TaskImpl<unknown>, result as Promise<unknown>);
      return;
    }
    // Any other thenable (a Promise subclass too, whose `then` may call back at once or
    // throw) is adopted by a native promise, which calls its `then` in a job of its own.
    // (Not `Promise.resolve`: it gives back a native promise with an own `then` as it is,
    // and `#follow` would skip that `then`, which an async function's return calls.)
    if (thenable) this.#follow(new Promise((resolve) => resolve(result)));
    else this.#finish(true, result);
  }

  /** Keeps `result` until the scope calls `attach` (see `ScopeLink.observe`). */
  defer(result: Promise<unknown>): void {
    this.#value = result;
  }

  /**
   * Attaches the task's handlers to the promise its function returned, kept by `defer`;
   * does nothing for any other task.
   */
  attach(): void {
    const result = this.#value;
    if (this.#state !== 'running' || result === undefined) return;
    this.#value = undefined;
    this.#follow(result as Promise<unknown>);
  }

  /** Attaches the task's handlers to `result` now. */
  attachNow(result: Promise<unknown>): void {
    this.#follow(result);
  }

  /**
   * Settles the task with the outcome of `promise`, a native promise (attaching to it runs
   * no user code). The handlers are two closures over the task: they take more bytes
   * than two bound functions, but a reaction job calls them faster (Node 24: 7% of the
   * fan-out's CPU time).
   */
  #follow(promise: Promise<unknown>): void {
    try {
      // The `then` read when it was checked (see isNativePromise), not a second read: a
      // getter may give something else, or throw, the next time.
      void nativeThen.call(
        promise,
        (value) => this.#finish(true, value),
        (error: unknown) => this.#finish(false, error),
      );
    } catch (error) {
      // A `constructor` getter that throws (`then` looks up the species): what `await`
      // would reject with. Never thrown out of the batch, which attaches its siblings too.
      this.#finish(false, error);
    }
  }

  #finish(ok: boolean, value: unknown): void {
    if (this.#state !== 'running') return;
    const link = this.#link;
    if (link.aborted) {
      const more = this.#more();
      if (more.controller === undefined) more.endedAborted = true;
    }
    const owner = link.scope;
    const slot = this.#slot;
    const rare = this.#rare;
    if (rare?.controller !== undefined) this.#link.unwatch(this);
    let failure: unknown = NONE;
    const cancelReason = rare === undefined ? NONE : rare.cancelReason;
    if (cancelReason !== NONE && slot === USER && (ok || isCancellationOf(value, cancelReason))) {
      // Cancelled on its own: the outcome is the cancellation, and the scope goes on.
      // (weft's own item task has no value to give: its cancellation is its failure.)
      this.#state = 'cancelled';
      this.#value = cancelReason;
    } else if (ok) {
      this.#state = 'fulfilled';
      this.#value = value;
      if (slot >= 0) {
        const sink = this.#link.sink!;
        sink.results[slot] = sink.contained ? { status: 'fulfilled', value } : value;
      }
    } else {
      const signal = owner.signal;
      this.#value = value;
      if (
        (signal.aborted && isCancellationOf(value, signal.reason)) ||
        (slot === USER && isRequested(value))
      ) {
        // Its scope's cancellation, or one the program asked for (a `t.cancel()` it
        // awaited, a nested scope's `cancel()`): never a failure of this scope.
        this.#state = 'cancelled';
      } else {
        this.#state = 'rejected';
        const sink = slot >= 0 ? this.#link.sink! : undefined;
        if (sink?.contained) sink.results[slot] = { status: 'rejected', reason: value };
        else failure = value;
      }
    }
    if (rare !== undefined) {
      const hook = rare.startHook;
      if (hook !== undefined && !hook.done) {
        // Ended before `ctx.started()`: `start()` raises it, the scope does not (Trio).
        hook.done = true;
        failure = NONE;
        hook.reject(
          this.#state === 'fulfilled'
            ? new Error(`Task "${this.name}" returned before calling ctx.started()`)
            : this.#value,
        );
      }
      const deferred = rare.deferred;
      if (deferred !== undefined) {
        rare.deferred = undefined;
        if (this.#state === 'fulfilled') deferred.resolve(this.#value);
        else deferred.reject(this.#value);
      }
    }
    const h = hooks;
    if (h !== null) h.taskSettle(this, owner.clock.now());
    this.#link.settled(this as TaskImpl<unknown>, failure, this.#state === 'cancelled');
    const onSettled = rare?.onSettled;
    if (onSettled !== undefined) {
      rare!.onSettled = undefined;
      for (const callback of onSettled) callback();
    }
  }
}

const nativeThen = Promise.prototype.then;

/**
 * A promise of the runtime's own `Promise` with its own `then`: attaching handlers to it
 * runs no user code, so a batch of them can be attached in one loop (see Scope's
 * `#attachAll`).
 */
function isNativePromise(value: unknown): value is Promise<unknown> {
  return (
    value instanceof Promise &&
    value.constructor === Promise &&
    (value as Promise<unknown>).then === nativeThen
  );
}

function newRare(name: string | undefined): TaskRare {
  return {
    name,
    controller: undefined,
    cancelReason: NONE,
    deferred: undefined,
    startHook: undefined,
    onSettled: undefined,
    diag: undefined,
    endedAborted: false,
  };
}
