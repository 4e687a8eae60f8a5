import { Effect } from 'effect';
import {
  CancelledError,
  type Clock,
  Scope,
  type ScopeOptions,
  systemClock,
  TaskGroupError,
  type TaskFn,
} from '../index.ts';
import { firstError } from '../errors.ts';
import { kDetached } from '../internal/symbols.ts';
import { assertClock, assertFunction, assertOptions } from '../internal/validate.ts';
import { weftClockOf } from './clock.ts';
import { TaskRejectedError } from './errors.ts';

/** Options of {@link toEffect}. */
export interface ToEffectOptions {
  /**
   * The clock of the weft task (`ctx.clock`, and what a bare `sleep()` inside waits on).
   * Default: the weft clock behind the fiber's `Clock` service when the fiber runs under
   * {@link fromEffect} with a non-system clock; otherwise `systemClock`. Effect's own
   * `TestClock` does not drive weft time: pass a weft `TestClock` here to control both.
   * @default systemClock
   */
  clock?: Clock | undefined;
}

/**
 * Makes an `Effect` that runs the weft task function `fn` as a real weft task: `fn` gets a
 * full `TaskContext` (`signal`, `scope` to spawn into, `clock`), and weft calls inside it
 * (`sleep`, `gather`, `timeout`, …) belong to that task. The effect needs no services.
 *
 * - **Success**: the effect succeeds with `fn`'s value.
 * - **Rejection**: a typed failure, {@link TaskRejectedError}, whose `cause` is the original
 *   error (not a defect), so `Effect.catchTag('TaskRejectedError', …)` handles it.
 * - **Interruption** (`Fiber.interrupt`, `Effect.timeout`, a losing `Effect.race`): the
 *   task's signal aborts with a `CancelledError`, and the interruption completes only
 *   after the task has settled, i.e. after its `finally` blocks and every task it spawned.
 *   When the task fails while being cancelled (a `finally` that throws, a spawned task
 *   that fails), that error is a defect next to the interruption in the fiber's `Cause`
 *   (`Fiber.interrupt` returns it), never dropped; `Effect.timeout` and `Effect.race`
 *   discard the loser's `Cause`, as they do for any failing finalizer.
 * - **Spawned tasks**: when a task spawned into `ctx.scope` fails, `fn`'s task is
 *   cancelled and the failure is that first error (as `gather` reports it), not the
 *   cancellation it caused; the scope's later errors (another child failing, a `finally`
 *   that throws while cancelled) are attached to it, `suppressedErrors(err.cause)`.
 * - **Cancelled from the weft side**: a task that cancels its own scope
 *   (`ctx.scope.cancel()`) produced no value, while the fiber was not interrupted: the
 *   effect fails with a {@link TaskRejectedError} whose `cause` is that `CancelledError`
 *   (as `gather` rejects with it), the counterpart of `fromEffect`'s
 *   `EffectInterruptedError`. A task that catches the cancellation and returns a value
 *   succeeds with it.
 * - **Isolation**: the task is governed by this fiber alone (its scope is detached). It does not join whatever
 *   weft task happens to be current in the JavaScript async context when the fiber runs
 *   (Effect's scheduler runs many fibers in one callback), so it cannot be cancelled by,
 *   or inherit the deadline of, an unrelated task. Cancellation from an enclosing weft task
 *   reaches it through the fiber: `fromEffect` interrupts the fiber, which aborts the task.
 *
 * Each run of the effect calls `fn` again, so `Effect.retry` and `Effect.repeat` work.
 * Throws a `TypeError` when `fn` is not a function or an option is invalid.
 *
 * @example
 * ```ts
 * import { gather, sleep } from '@weft/core';
 * import { toEffect } from '@weft/core/effect';
 * import { Effect } from 'effect';
 *
 * const both = toEffect(() =>
 *   gather([
 *     async ({ signal }) => (await fetch('http://127.0.0.1:8080/a', { signal })).text(),
 *     async () => { await sleep(100); return 'b'; },
 *   ]),
 * );
 * // Effect.timeout interrupts the fiber: both weft tasks are cancelled and awaited.
 * const result = await Effect.runPromise(both.pipe(Effect.timeout('5 seconds')));
 * ```
 */
export function toEffect<T>(
  fn: TaskFn<T>,
  options?: ToEffectOptions,
): Effect.Effect<T, TaskRejectedError> {
  assertFunction('fn', fn);
  assertOptions('options', options, ['clock']);
  assertClock('options.clock', options?.clock);
  const explicitClock = options?.clock;
  return Effect.clockWith((effectClock) =>
    Effect.async<T, TaskRejectedError>((resume) => {
      const clock = explicitClock ?? weftClockOf(effectClock) ?? systemClock;
      const controller = new AbortController();
      const outcome = runDetached(fn, controller.signal, clock);
      // runDetached never rejects; should it ever, the fiber still ends (with a defect).
      outcome.then(
        (o) => resume(o.ok ? Effect.succeed(o.value) : Effect.fail(new TaskRejectedError(o.error))),
        (error: unknown) => resume(Effect.die(error)),
      );
      // Runs on interruption; the interruption completes when this effect does. A task
      // that fails while being cancelled (a `finally` that throws, say) is not lost: its
      // error becomes a defect next to the interruption in the fiber's Cause.
      return Effect.flatMap(
        Effect.promise(() => {
          controller.abort(
            new CancelledError('The Effect fiber running this task was interrupted'),
          );
          return outcome;
        }),
        (o) => (o.ok || !o.failed ? Effect.void : Effect.die(o.error)),
      );
    }),
  );
}

/** How a task run by {@link runDetached} ended; `failed` tells a failure from a cancellation. */
type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: unknown; readonly failed: boolean };

/**
 * Runs `fn` as a task governed only by `signal` and `clock`, and never rejects. The scope
 * is detached: it takes nothing from whatever weft task is current in the async context
 * (Effect's scheduler runs fibers in whichever context started its batch), neither that
 * task's signal and deadline nor, since `clock` is explicit, its clock. `fn` gets a task of
 * its own, so weft calls inside it belong to that task.
 *
 * A failure wins over a cancellation, as in `gather`: when a task spawned into `fn`'s
 * scope fails, `fn`'s task is cancelled, and the outcome is that first failure (with the
 * scope's later errors attached to it, `suppressedErrors`), not the cancellation. When
 * `fn`'s task was cancelled without any failure, the outcome is its rejection: the
 * signal's reason, or the `CancelledError` of a `ctx.scope.cancel()` the task asked for
 * itself (the scope then ends without an error, but the task produced no value).
 */
async function runDetached<T>(
  fn: TaskFn<T>,
  signal: AbortSignal,
  clock: Clock,
): Promise<Outcome<T>> {
  try {
    const s = new Scope({ signal, clock, name: 'toEffect', [kDetached]: true } as ScopeOptions);
    const task = s.spawn(fn);
    try {
      await s[Symbol.asyncDispose]();
    } catch (scopeError) {
      if (scopeError instanceof TaskGroupError) {
        return { ok: false, error: firstError(scopeError), failed: true };
      }
    }
    return await task.then(
      (value): Outcome<T> => ({ ok: true, value }),
      (error: unknown): Outcome<T> => ({ ok: false, error, failed: false }),
    );
  } catch (error) {
    return { ok: false, error, failed: true };
  }
}
