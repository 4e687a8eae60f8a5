import { type Clock, systemClock } from './clock.ts';
import { currentContext } from './internal/context.ts';
import { assertClock, assertOptions, assertSignal } from './internal/validate.ts';

/** What a caller passes to {@link callerContext}: the usual `signal` and `clock` options. */
export interface CallerOptions {
  /** An explicit signal. Inside a task it adds to the task's signal; it never replaces it. */
  signal?: AbortSignal | undefined;
  /** An explicit clock. Default: the enclosing task's clock, else `systemClock`. */
  clock?: Clock | undefined;
}

/**
 * The effective cancellation and time of a caller, worked out once: what a library built
 * on weft (an HTTP client, a database driver) uses so that it is structured by default.
 * Dispose it when the operation ends: that removes the listeners that join the signals.
 */
export interface CallerContext extends Disposable {
  /**
   * Aborts when the enclosing task is cancelled (its scope failed, timed out or was
   * cancelled) or when the explicit `signal` aborts, with that signal's reason.
   * `undefined` outside any task when no signal was given.
   */
  readonly signal: AbortSignal | undefined;
  /** The explicit clock, else the enclosing task's, else `systemClock`. */
  readonly clock: Clock;
  /**
   * The enclosing scopes' effective deadline on `clock` (`clock.now()` scale), or
   * `Infinity` when there is none. Deadlines of scopes on another clock are not inherited.
   */
  readonly deadline: number;
  /** Whether the caller runs inside a live weft task or scope body. */
  readonly inTask: boolean;
}

const NO_DEADLINE = Number.POSITIVE_INFINITY;

/**
 * Works out the caller's effective `signal`, `clock` and `deadline`: inside a weft task
 * the task's signal and deadline apply without being passed, and an explicit `signal`
 * adds to them (as in Trio, only `shield` escapes the enclosing cancellation). Outside any
 * task it is just the options. Throws a `TypeError` for an invalid option.
 *
 * The returned context holds listeners while both a task signal and an explicit signal
 * are in play; dispose it (`using ctx = callerContext(options)`) when the operation ends.
 *
 * @example
 * ```ts
 * import { callerContext } from '@weft/core';
 *
 * async function query(sql: string, options?: { signal?: AbortSignal }): Promise<Response> {
 *   using ctx = callerContext(options);
 *   return fetch(`http://127.0.0.1:8080/?q=${encodeURIComponent(sql)}`, { signal: ctx.signal });
 * }
 * ```
 */
export function callerContext(options?: CallerOptions): CallerContext {
  assertOptions('options', options);
  const explicit = options?.signal;
  assertSignal('options.signal', explicit);
  assertClock('options.clock', options?.clock);
  const task = currentContext();
  const clock = options?.clock ?? task?.clock ?? systemClock;
  const deadline = task !== undefined && task.clock === clock ? task.scope.deadline : NO_DEADLINE;
  const inner = task?.signal;
  if (explicit === undefined || inner === undefined || explicit === inner) {
    return new Context(explicit ?? inner, clock, deadline, task !== undefined, undefined);
  }
  return new Context(undefined, clock, deadline, true, [inner, explicit]);
}

class Context implements CallerContext {
  readonly clock: Clock;
  readonly deadline: number;
  readonly inTask: boolean;
  readonly #signal: AbortSignal | undefined;
  // When two signals are joined: the sources and the listener to remove on dispose.
  #sources: AbortSignal[] | undefined;
  #onAbort: (() => void) | undefined;

  constructor(
    signal: AbortSignal | undefined,
    clock: Clock,
    deadline: number,
    inTask: boolean,
    sources: AbortSignal[] | undefined,
  ) {
    this.clock = clock;
    this.deadline = deadline;
    this.inTask = inTask;
    if (sources === undefined) {
      this.#signal = signal;
      return;
    }
    const controller = new AbortController();
    this.#signal = controller.signal;
    const first = sources.find((s) => s.aborted);
    if (first !== undefined) {
      controller.abort(first.reason);
      return;
    }
    this.#sources = sources;
    this.#onAbort = () => {
      const source = sources.find((s) => s.aborted);
      this.#detach();
      controller.abort(source?.reason);
    };
    for (const source of sources) {
      source.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  get signal(): AbortSignal | undefined {
    return this.#signal;
  }

  #detach(): void {
    const onAbort = this.#onAbort;
    if (this.#sources === undefined || onAbort === undefined) return;
    for (const source of this.#sources) source.removeEventListener('abort', onAbort);
    this.#sources = undefined;
    this.#onAbort = undefined;
  }

  [Symbol.dispose](): void {
    this.#detach();
  }
}
