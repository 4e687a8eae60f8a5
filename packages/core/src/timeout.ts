import type { Clock } from './clock.ts';
import { attachSuppressed, suppressedErrors, unwrapSingle } from './errors.ts';
import {
  assertDuration,
  assertFunction,
  assertOptions,
  assertTime,
  rejectOnThrow,
} from './internal/validate.ts';
import { Scope, scopeInternals } from './scope.ts';
import type { TaskFn } from './task.ts';

/** Options of {@link timeout}, {@link deadline} and {@link moveOnAfter}. */
export interface TimeoutOptions {
  /**
   * Cancels the work when it aborts. Inside a task the task's signal and deadline apply
   * too: this one adds to them, it never replaces them.
   */
  signal?: AbortSignal;
  /** Where time comes from; inside a task it defaults to the task's clock. */
  clock?: Clock;
  /**
   * A name for error messages.
   * @default 'timeout', 'deadline' or 'moveOnAfter'
   */
  name?: string;
}

/**
 * What {@link moveOnAfter} resolves with: `{ timedOut: false, value }` when `fn` finished
 * in time, `{ timedOut: true, value: undefined }` when the time ran out (then whatever
 * `fn` returned after swallowing its cancellation is discarded).
 *
 * @example
 * ```ts
 * import { moveOnAfter, type MoveOnResult } from '@weft/core';
 *
 * const r: MoveOnResult<string> = await moveOnAfter(100, async () => 'fresh');
 * if (!r.timedOut) console.log(r.value);
 * ```
 */
export type MoveOnResult<T> =
  | { readonly timedOut: false; readonly value: T }
  | { readonly timedOut: true; readonly value: undefined };

function runUntil<T>(
  fn: TaskFn<T>,
  options: TimeoutOptions | undefined,
  limits: { timeout?: number; deadline?: number },
  moveOn: boolean,
): Promise<T | MoveOnResult<T>> {
  const s = new Scope({
    signal: options?.signal,
    clock: options?.clock,
    name:
      options?.name ??
      (moveOn ? 'moveOnAfter' : limits.deadline === undefined ? 'timeout' : 'deadline'),
    ...limits,
  });
  const done = scopeInternals.runBody(s, fn, true);
  if (!moveOn) {
    // The work's own failure comes out as itself, not wrapped in a one-error group.
    return scopeInternals.expose(
      s,
      done.catch((error: unknown) => {
        throw unwrapSingle(error);
      }),
    );
  }
  const moved = done.then(
    (value): MoveOnResult<T> => ({ timedOut: false, value }),
    (error: unknown): MoveOnResult<T> => {
      if (error !== undefined && error === scopeInternals.timedOut(s)) {
        // Giving up is no failure, but a cleanup that failed on the way is (a helper's
        // source whose close threw): it is raised rather than dropped with the timeout.
        const [first, ...rest] = suppressedErrors(error);
        if (first === undefined) return { timedOut: true, value: undefined };
        let raised: unknown = first;
        for (const other of rest) raised = attachSuppressed(raised, other);
        throw raised;
      }
      throw unwrapSingle(error);
    },
  );
  return scopeInternals.expose(s, moved);
}

const KNOWN = ['signal', 'clock', 'name'] as const;

function validate(fn: unknown, options: unknown): void {
  assertFunction('fn', fn);
  assertOptions('options', options, KNOWN);
}

/**
 * Runs `fn` with a time limit. When `ms` passes first, `fn`'s signal is aborted with a
 * {@link TimeoutError}, `fn` is awaited (so its cleanup runs), and the returned promise
 * rejects with that `TimeoutError` — even if `fn` swallowed the cancellation.
 *
 * Limits nest: inside an outer `timeout` the effective deadline is the earlier of the two
 * (see `scope.deadline`), and a timeout raised by an inner `timeout` is never mistaken for
 * the outer one. `Infinity` means no limit; durations beyond `setTimeout`'s 2^31−1 ms
 * never fire early.
 *
 * @example
 * ```ts
 * import { timeout } from '@weft/core';
 *
 * const res = await timeout(5000, ({ signal }) => fetch('http://127.0.0.1:8080/', { signal }));
 * ```
 */
export function timeout<T>(ms: number, fn: TaskFn<T>, options?: TimeoutOptions): Promise<T> {
  return rejectOnThrow(() => {
    assertDuration('ms', ms);
    validate(fn, options);
    return runUntil(fn, options, { timeout: ms }, false) as Promise<T>;
  });
}

/**
 * Like {@link timeout}, with an absolute time on the clock (`clock.now()` scale) instead
 * of a duration.
 *
 * @example
 * ```ts
 * import { deadline, systemClock } from '@weft/core';
 *
 * const at = systemClock.now() + 30_000;
 * await deadline(at, async ({ signal }) => { await stepOne(signal); await stepTwo(signal); });
 * ```
 */
export function deadline<T>(at: number, fn: TaskFn<T>, options?: TimeoutOptions): Promise<T> {
  return rejectOnThrow(() => {
    assertTime('at', at);
    validate(fn, options);
    return runUntil(fn, options, { deadline: at }, false) as Promise<T>;
  });
}

/**
 * Like {@link timeout}, but does not reject when the time runs out (Trio's
 * `move_on_after`): resolves with a {@link MoveOnResult}, `{ timedOut: false, value }`
 * when `fn` finished in time, `{ timedOut: true, value: undefined }` when it was cut
 * short, so a `fn` that returns `undefined` is never mistaken for a timeout. `fn` is
 * cancelled and awaited before it resolves. Other failures (including an inner
 * `timeout`'s `TimeoutError`, and an outer cancellation) still reject.
 *
 * @example
 * ```ts
 * import { moveOnAfter } from '@weft/core';
 *
 * const fresh = await moveOnAfter(200, ({ signal }) => loadFromNetwork(signal));
 * const value = fresh.timedOut ? cachedValue : fresh.value;
 * ```
 */
export function moveOnAfter<T>(
  ms: number,
  fn: TaskFn<T>,
  options?: TimeoutOptions,
): Promise<MoveOnResult<T>> {
  return rejectOnThrow(() => {
    assertDuration('ms', ms);
    validate(fn, options);
    return runUntil(fn, options, { timeout: ms }, true);
  }) as Promise<MoveOnResult<T>>;
}
