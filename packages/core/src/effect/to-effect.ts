import { Effect } from 'effect';
import {
  CancelledError,
  type Clock,
  Scope,
  type ScopeOptions,
  systemClock,
  type TaskFn,
} from '../index.ts';
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
      const settled = runDetached(fn, controller.signal, clock).then(
        (value) => resume(Effect.succeed(value)),
        (error: unknown) => resume(Effect.fail(new TaskRejectedError(error))),
      );
      // Runs on interruption; the interruption completes when this effect does.
      return Effect.promise(() => {
        controller.abort(new CancelledError('The Effect fiber running this task was interrupted'));
        return settled;
      });
    }),
  );
}

/**
 * Runs `fn` as a task governed only by `signal` and `clock`. The scope is detached: it
 * takes nothing from whatever weft task is current in the async context (Effect's
 * scheduler runs fibers in whichever context started its batch), neither that task's
 * signal and deadline nor, since `clock` is explicit, its clock. `fn` gets a task of its
 * own, so weft calls inside it belong to that task.
 */
async function runDetached<T>(fn: TaskFn<T>, signal: AbortSignal, clock: Clock): Promise<T> {
  const s = new Scope({ signal, clock, name: 'toEffect', [kDetached]: true } as ScopeOptions);
  const task = s.spawn(fn);
  try {
    await s[Symbol.asyncDispose]();
  } catch (scopeError) {
    // The task's own outcome (its error, or the cancellation reason) is what the caller
    // sees, not the scope's wrapper around it.
    if (task.state === 'rejected' || task.state === 'cancelled') return task;
    throw scopeError;
  }
  return task;
}
