import type { Clock } from './clock.ts';
import { joinSignals, resolveCaller } from './internal/context.ts';
import {
  assertClock,
  assertDuration,
  assertOptions,
  assertSignal,
  rejectOnThrow,
} from './internal/validate.ts';

/** Options of {@link sleep}. */
export interface SleepOptions {
  /**
   * Rejects with `signal.reason` when it aborts. Inside a task the task's signal applies
   * too: this one adds to it, it never replaces it.
   */
  signal?: AbortSignal;
  /** Where time comes from. Inside a task: the task's clock; else `systemClock`. */
  clock?: Clock;
}

/**
 * Waits `ms` milliseconds of clock time (`asyncio.sleep`). Inside a task it is cancelled
 * with the task, without passing anything (an explicit `signal` adds to the task's);
 * once the task is cancelled, every later `sleep` in it rejects at once (cancellation is
 * level-triggered, as in Trio). In a callback left behind by a task that has settled (a
 * timer, a listener), it runs as outside any task.
 *
 * `Infinity` waits until the signal aborts. Rejects with a `RangeError` for a negative or
 * NaN duration.
 *
 * @example
 * ```ts
 * import { sleep } from '@weft/core';
 *
 * await sleep(1000);
 * await sleep(1000, { signal: AbortSignal.timeout(100) }); // rejects after 100 ms
 * ```
 */
export function sleep(ms: number, options?: SleepOptions): Promise<void> {
  return rejectOnThrow(() => {
    assertDuration('ms', ms);
    assertOptions('options', options, KNOWN);
    assertSignal('options.signal', options?.signal);
    assertClock('options.clock', options?.clock);
    const { signals, clock } = resolveCaller(options?.signal, options?.clock);
    const aborted = signals.find((s) => s.aborted);
    if (aborted !== undefined) return Promise.reject(aborted.reason);
    if (signals.length < 2) return clock.sleep(ms, signals[0]);
    // Inside a task with an explicit signal: either one cancels the sleep.
    const joined = joinSignals(signals);
    return clock.sleep(ms, joined.signal).finally(joined.dispose);
  });
}

const KNOWN = ['signal', 'clock'] as const;
