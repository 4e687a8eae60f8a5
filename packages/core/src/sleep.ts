import { type Clock, systemClock } from './clock.ts';
import { currentContext } from './internal/context.ts';
import { assertClock, assertDuration, assertOptions, assertSignal } from './internal/validate.ts';

/** Options of {@link sleep}. */
export interface SleepOptions {
  /** Rejects with `signal.reason` when it aborts. Inside a task: the task's signal. */
  signal?: AbortSignal;
  /** Where time comes from. Inside a task: the task's clock; else `systemClock`. */
  clock?: Clock;
}

/**
 * Waits `ms` milliseconds of clock time (`asyncio.sleep`). Inside a task it is cancelled
 * with the task, without passing anything; once the task is cancelled, every later
 * `sleep` in it rejects at once (cancellation is level-triggered, as in Trio).
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
  try {
    assertDuration('ms', ms);
    assertOptions('options', options);
    assertSignal('options.signal', options?.signal);
    assertClock('options.clock', options?.clock);
  } catch (error) {
    return Promise.reject(error);
  }
  const ctx =
    options?.signal === undefined || options.clock === undefined ? currentContext() : undefined;
  const signal = options?.signal ?? ctx?.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const clock = options?.clock ?? ctx?.clock ?? systemClock;
  return clock.sleep(ms, signal);
}
