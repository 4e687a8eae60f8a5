import { Cause, Chunk, Effect, Exit, Runtime } from 'effect';
import {
  attachSuppressed,
  type Clock,
  suppressedErrors,
  systemClock,
  type TaskContext,
  type TaskFn,
} from '../index.ts';
import { assertOptions, describe } from '../internal/validate.ts';
import { effectClockFor, effectSchedulerFor } from './clock.ts';
import { EffectDefectError, EffectInterruptedError } from './errors.ts';

/** Options of {@link fromEffect}. */
export interface FromEffectOptions<R> {
  /**
   * The Effect runtime that runs the effect: its services (`R`), runtime flags and fiber
   * refs. Use it for an effect that needs services, e.g. from
   * `await ManagedRuntime.make(layer).runtime()`.
   * @default Runtime.defaultRuntime
   */
  runtime?: Runtime.Runtime<R> | undefined;
}

// The whole Cause behind each rejection fromEffect produced (object rejections only).
const causes = new WeakMap<object, Cause.Cause<unknown>>();

/**
 * Makes a weft task function that runs `effect` in a new fiber each time it is called, so
 * an Effect program runs inside weft's structure: `s.spawn(fromEffect(eff))`,
 * `gather([fromEffect(a), fromEffect(b)])`, `timeout(1000, fromEffect(eff))`.
 *
 * - **Success**: the task resolves with the effect's value.
 * - **Failure** (`Effect.fail(e)`): the task rejects with `e` itself, so `instanceof` and
 *   `_tag` checks work as usual. When `e` is an object, further failures and defects in
 *   the same `Cause` are attached to it (`suppressedErrors(e)`) and {@link effectCause}`(e)`
 *   returns the whole `Cause`; a primitive `e` (`Effect.fail('a')`) is rejected as is. A
 *   failure object reused across runs (a sentinel) carries those of its latest run only.
 * - **Defect** (`Effect.die`, a throw in `Effect.sync`): the task rejects with an
 *   {@link EffectDefectError}, so a defect is never mistaken for a failure.
 * - **Cancellation**: when the task's signal aborts (its scope failed, timed out or was
 *   cancelled), the fiber is interrupted; the task settles only after the fiber has ended,
 *   i.e. after every finalizer (`Effect.ensuring`, `acquireRelease`, scopes) has run, and
 *   then rejects with the signal's reason, so the scope sees a cancellation, not a
 *   failure. A finalizer that fails turns that into an {@link EffectDefectError}. An
 *   already aborted signal rejects at once without starting the effect; an abort during
 *   the fiber's first synchronous steps interrupts it as soon as `runFork` returns.
 * - **Interruption from the Effect side** (`Effect.interrupt`) while the task was not
 *   cancelled: an {@link EffectInterruptedError}.
 * - **Time**: when the task's clock is not `systemClock` (a `TestClock`, say), the fiber
 *   uses it as Effect's `Clock` service, so `Effect.sleep`, `Effect.timeout` and schedules
 *   follow weft's clock; `Clock.currentTimeMillis` then reads that clock's `now()`. With
 *   `systemClock` Effect keeps its own real-time clock. An effect that provides its own
 *   `Clock` (Effect's `TestClock`) overrides this. On such a clock the fiber's scheduler
 *   marks the clock busy while the fiber has work, so an auto-advancing `TestClock` does
 *   not jump while the fiber computes (Effect yields a macrotask turn every 2,048
 *   microtask turns); a fiber that never stops computing keeps virtual time still.
 *
 * The effect must need no services unless a `runtime` that provides them is given.
 * Throws a `TypeError` when `effect` is not an Effect or an option is invalid.
 *
 * @example
 * ```ts
 * import { gather } from '@weft/core';
 * import { fromEffect } from '@weft/core/effect';
 * import { Effect } from 'effect';
 *
 * const fetchUser = Effect.tryPromise((signal) =>
 *   fetch('http://127.0.0.1:8080/users/1', { signal }).then((res) => res.json()),
 * );
 * // Both run as weft tasks: if one fails, the other fiber is interrupted and awaited.
 * const [user, again] = await gather([fromEffect(fetchUser), fromEffect(fetchUser)]);
 * ```
 */
export function fromEffect<A, E>(
  effect: Effect.Effect<A, E, never>,
  options?: FromEffectOptions<never>,
): TaskFn<A>;
export function fromEffect<A, E, R>(
  effect: Effect.Effect<A, E, R>,
  options: FromEffectOptions<R> & { runtime: Runtime.Runtime<R> },
): TaskFn<A>;
export function fromEffect(
  effect: Effect.Effect<unknown, unknown, unknown>,
  options?: FromEffectOptions<never>,
): TaskFn<unknown> {
  if (!Effect.isEffect(effect)) {
    throw new TypeError(`Expected \`effect\` to be an Effect, got ${describe(effect)}`);
  }
  assertOptions('options', options, ['runtime']);
  const runtime = options?.runtime ?? Runtime.defaultRuntime;
  if (!isRuntime(runtime)) {
    throw new TypeError(
      `Expected \`options.runtime\` to be an Effect Runtime, got ${describe(runtime)}`,
    );
  }
  const fork = Runtime.runFork(runtime);
  return (ctx: TaskContext): Promise<unknown> => {
    // Called by weft with a full context; tolerate a bare call with a partial one.
    const signal: AbortSignal | undefined = ctx?.signal;
    const clock: Clock | undefined = ctx?.clock;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const program =
      clock === undefined || clock === systemClock
        ? effect
        : Effect.withScheduler(
            Effect.withClock(effect, effectClockFor(clock)),
            effectSchedulerFor(clock),
          );
    // The overloads ensure that `runtime` provides what the effect needs.
    const fiber = fork(program as Effect.Effect<unknown, unknown, never>);
    return new Promise<unknown>((resolve, reject) => {
      const onAbort = (): void => fiber.unsafeInterruptAsFork(fiber.id());
      // runFork runs the fiber synchronously up to its first async boundary, so the
      // signal may have aborted during `fork` itself: interrupt now in that case.
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      fiber.addObserver((exit) => {
        signal?.removeEventListener('abort', onAbort);
        if (Exit.isSuccess(exit)) resolve(exit.value);
        else reject(rejectionOf(exit.cause, signal));
      });
    });
  };
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

function isRuntime(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    'context' in value &&
    'runtimeFlags' in value &&
    'fiberRefs' in value
  );
}

/** What a failed exit becomes on the weft side (see fromEffect's JSDoc). */
function rejectionOf(cause: Cause.Cause<unknown>, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted && Cause.isInterruptedOnly(cause)) return signal.reason;
  const failures = Chunk.toReadonlyArray(Cause.failures(cause));
  const defects = Chunk.toReadonlyArray(Cause.defects(cause));
  let primary: unknown;
  if (failures.length > 0) primary = failures[0];
  else if (defects.length > 0) primary = new EffectDefectError(defects[0], cause);
  else primary = new EffectInterruptedError(cause);
  // A primitive (`Effect.fail('a')`) has nowhere to keep the others: it is rejected as is,
  // and the rest stays in the Cause (which a primitive cannot carry either).
  if (!isObject(primary)) return primary;
  const others: unknown[] = [...failures.slice(1)];
  const firstDefect = failures.length > 0 ? 0 : 1;
  for (const defect of defects.slice(firstDefect)) {
    others.push(new EffectDefectError(defect, cause));
  }
  // A failure object reused across runs (a sentinel `Effect.fail(NotFound)`) carries the
  // others of its latest run only, as `effectCause` does: what an earlier run attached is
  // taken off first, so the list does not grow with every run.
  detachPrevious(primary);
  for (const other of others) primary = attachSuppressed(primary, other);
  if (others.length > 0) attachedByRun.set(primary as object, others);
  causes.set(primary as object, cause);
  return primary;
}

// What rejectionOf attached to each failure object in its latest run (see detachPrevious).
const attachedByRun = new WeakMap<object, unknown[]>();

/**
 * Takes the errors an earlier run attached to `primary` off its `suppressedErrors` list,
 * leaving whatever else attached errors to it (a `gather` it failed in). The list is the
 * one `suppressedErrors` returns (weft's own, which it hands out as is).
 */
function detachPrevious(primary: object): void {
  const previous = attachedByRun.get(primary);
  if (previous === undefined) return;
  attachedByRun.delete(primary);
  const list = suppressedErrors(primary) as unknown[];
  for (const error of previous) {
    const at = list.indexOf(error);
    if (at !== -1) list.splice(at, 1);
  }
}

/**
 * The whole Effect `Cause` behind a rejection of a {@link fromEffect} task (every
 * failure, defect and interruption, with Effect's traces), or `undefined` for any other
 * error. Available when the rejection is an object (a failure with a string value has
 * no place to keep it).
 *
 * @example
 * ```ts
 * import { gather } from '@weft/core';
 * import { effectCause, fromEffect } from '@weft/core/effect';
 * import { Cause, Effect } from 'effect';
 *
 * try {
 *   await gather([fromEffect(Effect.fail(new Error('no stock')))]);
 * } catch (err) {
 *   const cause = effectCause(err);
 *   if (cause) console.log(Cause.pretty(cause));
 * }
 * ```
 */
export function effectCause(error: unknown): Cause.Cause<unknown> | undefined {
  if ((typeof error === 'object' && error !== null) || typeof error === 'function') {
    return causes.get(error);
  }
  return undefined;
}
