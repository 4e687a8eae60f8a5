import type { Clock } from './clock.ts';
import { CancelledError, isCancellationOf, isRequested, markRequested } from './errors.ts';
import { isThenable } from './internal/abortable.ts';
import {
  type ContextTask,
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
 * spawn siblings), and the `clock` it should take time from. It is a plain object, not
 * the {@link Task} (a task is awaitable; the context is not, so returning it is safe).
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
  /** The task settled; `failure` is `NONE` unless it failed its scope. */
  settled(task: TaskImpl<unknown>, failure: unknown, cancelled: boolean): void;
  /** `cancel()` was called on the task itself (diagnostics: the stuck-cancellation check). */
  cancelled(task: TaskImpl<unknown>): void;
  /**
   * The task's function returned the native promise `result`: the scope attaches the
   * task's handlers to it (`task.observe(result)`) within the same microtask checkpoint,
   * in one batch with its siblings (see Scope's `#observe`).
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

export class TaskImpl<T> implements Task<T>, ContextTask, WatchedTask {
  readonly id: number = nextId();
  readonly #owner: Scope;
  readonly #link: ScopeLink;
  readonly #sink: TaskSink | undefined;
  readonly #index: number;
  #fnName: string;
  #name: string | undefined;
  #state: TaskState = 'running';
  #value: unknown;
  // Created on the first read of `signal`: most short tasks never look at it.
  #controller: AbortController | undefined;
  #cancelReason: unknown = NONE;
  #deferred:
    | { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void }
    | undefined;
  // Set by `Scope.start` until the task calls `ctx.started()` or settles.
  #startHook: StartHook | undefined;
  // The next task spawned into the same scope while this one was listed: the scope's
  // list of its tasks, for `Scope.tree()` and the stuck check (see its #listTask).
  newer: TaskImpl<unknown> | undefined = undefined;
  // When it started, on its scope's clock (see startTime), for its age in `Scope.tree()`.
  // Declared `undefined` first so the field holds a shared number, not a box per task.
  startedAt: number | undefined = undefined;
  // Cancel time and stuck check, made only on `cancel()`: a plain task carries one empty
  // field.
  diag: TaskDiag | undefined;
  // Callbacks of helpers opened in this task, called when it settles (see onSettled).
  #onSettled: Set<() => void> | undefined;
  // weft's own task (gather item, pool worker): it must produce a value, so a requested
  // cancellation from elsewhere that ends it is a failure.
  readonly #internal: boolean;

  constructor(
    owner: Scope,
    link: ScopeLink,
    fnName: string,
    name: string | undefined,
    sink?: TaskSink,
    index = 0,
    internal = false,
  ) {
    this.#internal = internal;
    this.#owner = owner;
    this.#link = link;
    this.#fnName = fnName;
    this.#name = name;
    this.#sink = sink;
    this.#index = index;
  }

  get name(): string {
    return (this.#name ??= `${this.#fnName || 'task'}#${this.id}`);
  }

  /** For `Scope.tree()`, which shows the id apart: the name given, else the function's. */
  get label(): string {
    const fnName = this.#fnName || 'task';
    const name = this.name;
    return name === `${fnName}#${this.id}` ? fnName : name;
  }

  get state(): TaskState {
    return this.#state;
  }

  get signal(): AbortSignal {
    let controller = this.#controller;
    if (controller === undefined) {
      controller = this.#controller = new AbortController();
      unlimitListeners(controller.signal);
      const parent = this.#owner.signal;
      if (this.#cancelReason !== NONE) controller.abort(this.#cancelReason);
      else if (parent.aborted) controller.abort(parent.reason);
      // No listener on the scope's signal (a gather of 20 tasks would add 20): the scope
      // aborts the signals of the tasks it watches itself when it is cancelled.
      else if (this.#state === 'running') this.#link.watch(this);
    }
    return controller.signal;
  }

  get scope(): Scope {
    return this.#owner;
  }

  cancel(reason?: unknown): void {
    this.cancelWith(
      markRequested(
        reason === undefined ? new CancelledError(`Task "${this.name}" was cancelled`) : reason,
      ),
    );
  }

  /** Cancels with a reason that comes from elsewhere (not marked as requested). */
  cancelWith(reason: unknown): void {
    if (this.#state !== 'running' || this.#cancelReason !== NONE) return;
    this.#cancelReason = reason;
    this.#controller?.abort(reason);
    this.#link.cancelled(this as TaskImpl<unknown>);
  }

  /** Called by the scope when it is cancelled, for a task that made its signal. */
  abortFromScope(reason: unknown): void {
    this.#controller?.abort(reason);
  }

  /** Makes `Scope.start` wait for `ctx.started()`. Called once, before `start`. */
  expectStart(hook: StartHook): void {
    this.#startHook = hook;
  }

  onSettled(callback: () => void): () => void {
    if (this.#state !== 'running') {
      callback();
      return noopOff;
    }
    const set = (this.#onSettled ??= new Set());
    set.add(callback);
    return () => void set.delete(callback);
  }

  markStarted(value: unknown): void {
    const hook = this.#startHook;
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
      if (this.#deferred === undefined) {
        let resolve!: (v: T) => void;
        let reject!: (e: unknown) => void;
        promise = new Promise<T>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        this.#deferred = { promise, resolve, reject };
      }
      promise = this.#deferred.promise;
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
    let result: T | PromiseLike<T>;
    const ctx = new TaskContextImpl(this.#owner, this);
    const h = hooks;
    if (h === null) this.startedAt = startTime(this.#owner.clock);
    else {
      const at = this.#owner.clock.now();
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
    if (result instanceof Promise) {
      this.#link.observe(this as TaskImpl<unknown>, result);
    } else if (isThenable(result)) {
      Promise.resolve(result).then(
        (value) => this.#finish(true, value),
        (error: unknown) => this.#finish(false, error),
      );
    } else {
      this.#finish(true, result);
    }
  }

  /** Settles the task with `result`'s outcome (see `ScopeLink.observe`). */
  observe(result: Promise<unknown>): void {
    result.then(
      (value) => this.#finish(true, value),
      (error: unknown) => this.#finish(false, error),
    );
  }

  #finish(ok: boolean, value: unknown): void {
    if (this.#state !== 'running') return;
    const owner = this.#owner;
    if (this.#controller !== undefined) this.#link.unwatch(this);
    let failure: unknown = NONE;
    const cancelReason = this.#cancelReason;
    if (cancelReason !== NONE && (ok || isCancellationOf(value, cancelReason))) {
      // Cancelled on its own: the outcome is the cancellation, and the scope goes on.
      this.#state = 'cancelled';
      this.#value = cancelReason;
    } else if (ok) {
      this.#state = 'fulfilled';
      this.#value = value;
      const sink = this.#sink;
      if (sink !== undefined) {
        sink.results[this.#index] = sink.contained ? { status: 'fulfilled', value } : value;
      }
    } else {
      const signal = owner.signal;
      this.#value = value;
      if (
        (signal.aborted && isCancellationOf(value, signal.reason)) ||
        (!this.#internal && isRequested(value))
      ) {
        // Its scope's cancellation, or one the program asked for (a `t.cancel()` it
        // awaited, a nested scope's `cancel()`): never a failure of this scope.
        this.#state = 'cancelled';
      } else {
        this.#state = 'rejected';
        const sink = this.#sink;
        if (sink?.contained) sink.results[this.#index] = { status: 'rejected', reason: value };
        else failure = value;
      }
    }
    const hook = this.#startHook;
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
    const deferred = this.#deferred;
    if (deferred !== undefined) {
      this.#deferred = undefined;
      if (this.#state === 'fulfilled') deferred.resolve(this.#value as T);
      else deferred.reject(this.#value);
    }
    const h = hooks;
    if (h !== null) h.taskSettle(this, owner.clock.now());
    this.#link.settled(this as TaskImpl<unknown>, failure, this.#state === 'cancelled');
    const onSettled = this.#onSettled;
    if (onSettled !== undefined) {
      this.#onSettled = undefined;
      for (const callback of onSettled) callback();
    }
  }
}
