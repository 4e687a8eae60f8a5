import type { Clock } from './clock.ts';
import { CancelledError, isCancellation } from './errors.ts';
import { isThenable } from './internal/abortable.ts';
import { runInContext } from './internal/context.ts';
import { NONE } from './internal/symbols.ts';
import type { Scope } from './scope.ts';

/**
 * What every task function receives: the `signal` that aborts when the task is
 * cancelled (pass it to `fetch`, `sleep`, …), the `scope` it runs in (to spawn
 * siblings), and the `clock` it should take time from.
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
  /** A name for diagnostics and error messages. Default: the function's name. */
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
  /** Cancels this task only. Does nothing once the task has settled. */
  cancel(reason?: unknown): void;
}

/** How a task reports its end to its scope: `failure` is `NONE` unless it failed. */
export type SettledHook = (failure: unknown) => void;

/** What a task does with its outcome besides keeping it (used by gather and settle). */
export interface TaskSink {
  readonly results: unknown[];
  /** Record failures as `{ status: 'rejected' }` entries instead of failing the scope. */
  readonly contained: boolean;
}

// Task ids are process-wide so that diagnostics can name a task unambiguously.
let lastTaskId = 0;

export class TaskImpl<T> implements Task<T>, TaskContext {
  readonly id: number = ++lastTaskId;
  readonly #owner: Scope;
  readonly #settled: SettledHook;
  readonly #sink: TaskSink | undefined;
  readonly #index: number;
  #fnName: string;
  #name: string | undefined;
  #state: TaskState = 'running';
  #value: unknown;
  #controller: AbortController | undefined;
  #onOwnerAbort: (() => void) | undefined;
  #cancelReason: unknown = NONE;
  #deferred:
    | { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void }
    | undefined;

  constructor(
    owner: Scope,
    settled: SettledHook,
    fnName: string,
    name: string | undefined,
    sink?: TaskSink,
    index = 0,
  ) {
    this.#owner = owner;
    this.#settled = settled;
    this.#fnName = fnName;
    this.#name = name;
    this.#sink = sink;
    this.#index = index;
  }

  get name(): string {
    return (this.#name ??= `${this.#fnName || 'task'}#${this.id}`);
  }

  get state(): TaskState {
    return this.#state;
  }

  get signal(): AbortSignal {
    let controller = this.#controller;
    if (controller === undefined) {
      // Created on first use: most short tasks never look at their signal.
      controller = this.#controller = new AbortController();
      const parent = this.#owner.signal;
      if (this.#cancelReason !== NONE) controller.abort(this.#cancelReason);
      else if (parent.aborted) controller.abort(parent.reason);
      else if (this.#state === 'running') {
        const c = controller;
        this.#onOwnerAbort = () => c.abort(parent.reason);
        parent.addEventListener('abort', this.#onOwnerAbort, { once: true });
      }
    }
    return controller.signal;
  }

  get clock(): Clock {
    return this.#owner.clock;
  }

  get scope(): Scope {
    return this.#owner;
  }

  cancel(reason?: unknown): void {
    if (this.#state !== 'running' || this.#cancelReason !== NONE) return;
    this.#cancelReason =
      reason === undefined ? new CancelledError(`Task "${this.name}" was cancelled`) : reason;
    this.#controller?.abort(this.#cancelReason);
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
    try {
      result = runInContext(this, fn, this);
    } catch (error) {
      this.#finish(false, error);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (value: T) => this.#finish(true, value),
        (error: unknown) => this.#finish(false, error),
      );
    } else if (isThenable(result)) {
      Promise.resolve(result).then(
        (value) => this.#finish(true, value),
        (error: unknown) => this.#finish(false, error),
      );
    } else {
      this.#finish(true, result);
    }
  }

  #finish(ok: boolean, value: unknown): void {
    if (this.#state !== 'running') return;
    const owner = this.#owner;
    if (this.#onOwnerAbort !== undefined) {
      owner.signal.removeEventListener('abort', this.#onOwnerAbort);
      this.#onOwnerAbort = undefined;
    }
    let failure: unknown = NONE;
    const cancelReason = this.#cancelReason;
    if (cancelReason !== NONE && (ok || value === cancelReason || isCancellation(value))) {
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
      if (signal.aborted && (value === signal.reason || isCancellation(value))) {
        this.#state = 'cancelled';
      } else {
        this.#state = 'rejected';
        const sink = this.#sink;
        if (sink?.contained) sink.results[this.#index] = { status: 'rejected', reason: value };
        else failure = value;
      }
    }
    const deferred = this.#deferred;
    if (deferred !== undefined) {
      this.#deferred = undefined;
      if (this.#state === 'fulfilled') deferred.resolve(this.#value as T);
      else deferred.reject(this.#value);
    }
    this.#settled(failure);
  }
}
