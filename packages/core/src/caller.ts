import { type Clock, systemClock } from './clock.ts';
import { currentContext, joinSignals, resolveCaller } from './internal/context.ts';
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

/**
 * Works out the caller's effective `signal`, `clock` and `deadline`: inside a weft task
 * the task's signal and deadline apply without being passed, and an explicit `signal`
 * adds to them (as in Trio, only `shield` escapes the enclosing cancellation). Outside any
 * task it is just the options. Throws a `TypeError` for an invalid `signal` or `clock`;
 * other keys are ignored, so a library can pass its own options object as is. A task or
 * scope that has settled counts as no task (callbacks it left behind run outside it).
 *
 * The returned context holds listeners while both a task signal and an explicit signal
 * are in play; dispose it (`using ctx = callerContext(options)`) when the operation ends.
 * Called without options outside any task, it returns one shared, frozen context (no
 * signal, `systemClock`, no deadline) whose disposal does nothing.
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
  // The commonest case, no options outside any task, shares one context (nothing to join
  // or dispose): a library calls this once per operation.
  if (options === undefined && currentContext() === undefined) {
    outside ??= Object.freeze(new Context([], systemClock, Number.POSITIVE_INFINITY, false));
    return outside;
  }
  // Other keys are allowed: a library passes its own options object (`{ signal, clock,
  // headers, … }`), whose other keys it checks itself.
  assertOptions('options', options);
  assertSignal('options.signal', options?.signal);
  assertClock('options.clock', options?.clock);
  const caller = resolveCaller(options?.signal, options?.clock);
  return new Context(caller.signals, caller.clock, caller.deadline, caller.ctx !== undefined);
}

let outside: CallerContext | undefined;

class Context implements CallerContext {
  readonly signal: AbortSignal | undefined;
  readonly clock: Clock;
  readonly deadline: number;
  readonly inTask: boolean;
  // Removes the listeners that join the task's signal and the explicit one, if both.
  readonly #dispose: () => void;

  constructor(signals: readonly AbortSignal[], clock: Clock, deadline: number, inTask: boolean) {
    const joined = joinSignals(signals);
    this.signal = joined.signal;
    this.#dispose = joined.dispose;
    this.clock = clock;
    this.deadline = deadline;
    this.inTask = inTask;
  }

  [Symbol.dispose](): void {
    this.#dispose();
  }
}
