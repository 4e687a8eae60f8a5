import type { Clock } from './clock.ts';
import { TaskGroupError } from './errors.ts';
import { currentContext } from './internal/context.ts';
import { kDetached } from './internal/symbols.ts';
import { assertClock, assertFunction, assertOptions, assertSignal } from './internal/validate.ts';
import { Scope, scopeInternals } from './scope.ts';
import type { TaskFn } from './task.ts';

/** Options of {@link shield}. */
export interface ShieldOptions {
  /** The outer signal whose cancellation is deferred. Inside a task: the task's signal. */
  signal?: AbortSignal;
  /** The clock for the shielded work. Inside a task: the task's clock. */
  clock?: Clock;
}

/**
 * Runs `fn` protected from the outer cancellation: `fn` gets a fresh signal that the
 * outer `signal` (and any enclosing deadline) does not abort. When `fn` completes, an
 * outer cancellation that happened meanwhile is raised, so the caller still stops.
 *
 * Use it for cleanup that must finish, such as a rollback or a flush: once a task is
 * cancelled, every weft call it makes fails at once (level-triggered cancellation), so
 * awaiting in `finally` needs a shield. Give the shielded work its own `timeout` if it
 * could hang.
 *
 * @example
 * ```ts
 * import { shield, timeout } from '@weft/core';
 *
 * try {
 *   await tx.run(signal);
 * } finally {
 *   await shield(() => timeout(5000, ({ signal }) => tx.rollback(signal)));
 * }
 * ```
 */
export async function shield<T>(fn: TaskFn<T>, options?: ShieldOptions): Promise<T> {
  assertFunction('fn', fn);
  assertOptions('options', options);
  assertSignal('options.signal', options?.signal);
  assertClock('options.clock', options?.clock);
  const ctx = currentContext();
  const outer = options?.signal ?? ctx?.signal;
  const inner = new Scope({
    clock: options?.clock ?? ctx?.clock,
    name: 'shield',
    [kDetached]: true,
  } as ConstructorParameters<typeof Scope>[0]);
  let value: T;
  try {
    value = await scopeInternals.runBody(inner, fn, true);
  } catch (error) {
    if (error instanceof TaskGroupError && error.errors.length === 1) throw error.errors[0];
    throw error;
  }
  if (outer?.aborted) throw outer.reason;
  return value;
}
