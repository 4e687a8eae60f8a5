import { type Clock, systemClock } from './clock.ts';
import { CancelledError, isCancellation, TaskGroupError, TimeoutError } from './errors.ts';
import { currentContext, runInContext } from './internal/context.ts';
import { type Cancel, schedule } from './internal/schedule.ts';
import { kDetached, kRootRun, NONE } from './internal/symbols.ts';
import {
  assertClock,
  assertDuration,
  assertFunction,
  assertName,
  assertOptions,
  assertSignal,
  assertTime,
} from './internal/validate.ts';
import {
  type SettledHook,
  type SpawnOptions,
  type Task,
  type TaskContext,
  type TaskFn,
  TaskImpl,
  type TaskSink,
} from './task.ts';

/** What weft's own modules may do with a scope beyond its public API. */
export interface ScopeInternals {
  spawn<T>(
    s: Scope,
    fn: TaskFn<T>,
    name: string | undefined,
    sink?: TaskSink,
    index?: number,
  ): Task<T>;
  /** Runs `body` as the scope's body; with `passContext` it gets a TaskContext. */
  runBody<T>(s: Scope, body: (arg: never) => T | PromiseLike<T>, passContext?: boolean): Promise<T>;
  /** Cancels the scope as if its parent had aborted (used by `run` for OS signals). */
  interrupt(s: Scope, reason: unknown): void;
  /** The `TimeoutError` the scope raised itself, if its own timeout or deadline passed. */
  timedOut(s: Scope): TimeoutError | undefined;
  /** The `run()` the scope belongs to, if any. */
  runOf(s: Scope): object | undefined;
}

/** Set once by `Scope`'s static block; read by gather, timeout, run and friends. */
export let scopeInternals: ScopeInternals;

/** Options of {@link scope} and `new Scope()`. */
export interface ScopeOptions {
  /**
   * Cancels the scope when it aborts; the scope then rejects with its reason. Inside a
   * running task it defaults to that task's signal.
   */
  signal?: AbortSignal;
  /** Cancels the scope with a `TimeoutError` after this many ms of `clock` time. */
  timeout?: number;
  /** Cancels the scope with a `TimeoutError` at this `clock.now()` time. */
  deadline?: number;
  /** A name for diagnostics and error messages. */
  name?: string;
  /** Where time comes from. Defaults to the enclosing task's clock, else `systemClock`. */
  clock?: Clock;
}

/** Why a scope was cancelled; the first cause wins. */
type Cause = 0 | 1 | 2 | 3 | 4;
const Cause = { None: 0, Failure: 1, External: 2, Timeout: 3, Explicit: 4 } as const;

const OPEN = 0;
const CLOSED = 1;

/**
 * A nursery (asyncio's `TaskGroup`): the tasks spawned into it never outlive it.
 *
 * - It settles only after its body and every task have settled.
 * - The first failure aborts its `signal`, so the body and every sibling see it; it then
 *   waits for them all and rejects with a {@link TaskGroupError} listing every failure in
 *   order. Cancellations it caused itself are not failures.
 * - When the parent `signal` aborts, it cancels everything and rejects with the parent's
 *   reason; when its `timeout`/`deadline` passes, with a `TimeoutError`.
 * - `cancel()` stops every task; the scope then ends with the body's result if the body
 *   finished, else with the cancellation.
 *
 * Use it through {@link scope}, or as `await using s = new Scope()`: leaving the block
 * waits for the tasks. A throw inside such a block does not cancel the tasks (a
 * disposer cannot see the error), so prefer `scope()` when the block can fail.
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
  readonly #controller: AbortController = new AbortController();
  readonly #clock: Clock;
  readonly #deadline: number;
  readonly #name: string;
  readonly #run: object | undefined;
  readonly #parentSignal: AbortSignal | undefined;
  #onParentAbort: (() => void) | undefined;
  #cancelTimer: Cancel | undefined;
  #timeoutMs: number | undefined;
  #pending = 0;
  #holds = 0;
  #state = OPEN;
  #cause: Cause = Cause.None;
  #external: unknown = NONE;
  #timeoutError: TimeoutError | undefined;
  #errors: unknown[] = [];
  #joinResolve: (() => void) | undefined;
  #joined: Promise<void> | undefined;
  readonly #settled: SettledHook = (failure) => {
    this.#pending--;
    if (failure !== NONE) this.#fail(failure);
    if (this.#pending === 0 && this.#holds === 0) this.#joinResolve?.();
  };

  static {
    scopeInternals = {
      spawn: (s, fn, name, sink, index) => s.#spawn(fn, name, sink, index),
      runBody: (s, body, passContext) => s.#runBody(body, passContext),
      interrupt: (s, reason) => s.#cancel(Cause.External, reason),
      timedOut: (s) => s.#timeoutError,
      runOf: (s) => s.#run,
    };
  }

  constructor(options: ScopeOptions = {}) {
    assertOptions('options', options);
    const { signal, timeout, deadline, name, clock } = options;
    assertSignal('options.signal', signal);
    if (timeout !== undefined) assertDuration('options.timeout', timeout);
    if (deadline !== undefined) assertTime('options.deadline', deadline);
    assertName('options.name', name);
    assertClock('options.clock', clock);

    const internal = options as { [kRootRun]?: object; [kDetached]?: boolean };
    const detached = internal[kDetached] === true;
    const ctx = detached && internal[kRootRun] !== undefined ? undefined : currentContext();
    this.#name = name ?? 'scope';
    this.#clock = clock ?? ctx?.clock ?? systemClock;
    this.#run = internal[kRootRun] ?? (ctx === undefined ? undefined : ctx.scope.#run);
    const parentSignal = detached ? signal : (signal ?? ctx?.signal);
    this.#parentSignal = parentSignal;
    const inherited =
      ctx !== undefined && !detached && (signal === undefined || signal === ctx.signal)
        ? ctx.scope.#deadline
        : Number.POSITIVE_INFINITY;
    let own = deadline ?? Number.POSITIVE_INFINITY;
    if (timeout !== undefined) own = Math.min(own, this.#clock.now() + timeout);
    this.#deadline = Math.min(own, inherited);
    this.#timeoutMs = timeout;

    if (parentSignal !== undefined) {
      if (parentSignal.aborted) {
        this.#cancel(Cause.External, parentSignal.reason);
        return;
      }
      this.#onParentAbort = () => this.#cancel(Cause.External, parentSignal.reason);
      parentSignal.addEventListener('abort', this.#onParentAbort, { once: true });
    }
    if (own < inherited && own !== Number.POSITIVE_INFINITY) {
      this.#cancelTimer = schedule(this.#clock, own - this.#clock.now(), () => this.#expire());
    }
  }

  /** Aborts when the scope is cancelled: first failure, parent abort, timeout or `cancel()`. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get clock(): Clock {
    return this.#clock;
  }

  get name(): string {
    return this.#name;
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
   * Starts `fn` as a task of this scope and returns its {@link Task}. The task starts at
   * once (its synchronous part runs before `spawn` returns).
   */
  spawn<T>(fn: TaskFn<T>, options?: SpawnOptions): Task<T> {
    assertFunction('fn', fn);
    if (options !== undefined) {
      assertOptions('options', options);
      assertName('options.name', options.name);
    }
    return this.#spawn(fn, options?.name);
  }

  /** Cancels every task of the scope (and the body, through `signal`). */
  cancel(reason?: unknown): void {
    this.#cancel(
      Cause.Explicit,
      reason === undefined ? new CancelledError(`Scope "${this.#name}" was cancelled`) : reason,
    );
  }

  /** Waits for every task, then throws like `scope()` does. Called by `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#join();
    this.#outcome(true, undefined);
  }

  get [Symbol.toStringTag](): string {
    return 'Scope';
  }

  #spawn<T>(fn: TaskFn<T>, name: string | undefined, sink?: TaskSink, index?: number): Task<T> {
    if (this.#state === CLOSED) {
      throw new TypeError(
        `Cannot spawn \`${name ?? (fn.name || 'task')}\` into scope "${this.#name}": the scope has closed`,
      );
    }
    const task = new TaskImpl<T>(this, this.#settled, fn.name, name, sink, index);
    this.#pending++;
    task.start(fn);
    return task;
  }

  async #runBody<T>(body: (arg: never) => T | PromiseLike<T>, passContext = false): Promise<T> {
    this.#holds++;
    let ok = true;
    let value: unknown;
    const ctx: TaskContext = { signal: this.#controller.signal, clock: this.#clock, scope: this };
    try {
      value = await runInContext(ctx, body as (arg: unknown) => unknown, passContext ? ctx : this);
    } catch (error) {
      ok = false;
      value = error;
      if (!this.#isOwnCancellation(error)) this.#fail(error);
    }
    this.#holds--;
    await this.#join();
    return this.#outcome(ok, value) as T;
  }

  #isOwnCancellation(error: unknown): boolean {
    const signal = this.#controller.signal;
    return signal.aborted && (error === signal.reason || isCancellation(error));
  }

  #join(): Promise<void> {
    if (this.#joined === undefined) {
      if (this.#pending === 0 && this.#holds === 0) {
        this.#close();
        this.#joined = Promise.resolve();
      } else {
        this.#joined = new Promise<void>((resolve) => {
          this.#joinResolve = resolve;
        }).then(() => this.#close());
      }
    }
    return this.#joined;
  }

  #close(): void {
    this.#state = CLOSED;
    this.#joinResolve = undefined;
    if (this.#onParentAbort !== undefined) {
      this.#parentSignal!.removeEventListener('abort', this.#onParentAbort);
      this.#onParentAbort = undefined;
    }
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  #outcome(ok: boolean, value: unknown): unknown {
    if (this.#errors.length > 0) throw new TaskGroupError(this.#errors, this.#name);
    if (this.#external !== NONE) throw this.#external;
    if (this.#cause === Cause.Timeout) throw this.#timeoutError;
    if (!ok) throw value;
    return value;
  }

  #fail(error: unknown): void {
    if (this.#errors.includes(error)) return;
    this.#errors.push(error);
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
    this.#controller.abort(reason);
  }
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
  try {
    assertFunction('body', body);
    return scopeInternals.runBody(new Scope(options), body);
  } catch (error) {
    return Promise.reject(error);
  }
}
