import type { Clock } from './clock.ts';
import { unwrapSingle } from './errors.ts';
import { resolveCaller } from './internal/context.ts';
import { kDetached } from './internal/symbols.ts';
import {
  assertClock,
  assertFunction,
  assertOptions,
  assertSignal,
  rejectOnThrow,
} from './internal/validate.ts';
import { Scope, scopeInternals } from './scope.ts';
import type { TaskFn } from './task.ts';

/** Options of {@link shield}. */
export interface ShieldOptions {
  /**
   * An outer signal whose cancellation is deferred too. Inside a task the task's own
   * cancellation is always deferred; this one adds to it.
   */
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
export function shield<T>(fn: TaskFn<T>, options?: ShieldOptions): Promise<T> {
  return rejectOnThrow(() => {
    assertFunction('fn', fn);
    assertOptions('options', options, KNOWN);
    assertSignal('options.signal', options?.signal);
    assertClock('options.clock', options?.clock);
    // The outer cancellation (the task's signal and the explicit one) is deferred, not
    // ignored: it is raised once the shielded work is done.
    const outer = resolveCaller(options?.signal, options?.clock);
    const inner = new Scope({
      clock: outer.clock,
      name: 'shield',
      [kDetached]: true,
    } as ConstructorParameters<typeof Scope>[0]);
    return scopeInternals.runBody(inner, fn, true).then(
      (value) => {
        const aborted = outer.signals.find((s) => s.aborted);
        if (aborted !== undefined) throw aborted.reason;
        return value;
      },
      (error: unknown) => {
        throw unwrapSingle(error);
      },
    );
  });
}

const KNOWN = ['signal', 'clock'] as const;
