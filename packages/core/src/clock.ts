import { type Cancel, noop, sleepWith } from './internal/schedule.ts';
import { assertDuration, assertSignal } from './internal/validate.ts';

/**
 * The source of time for every weft primitive that waits. Pass one to `run`, `scope` or
 * any function's options; it flows to every task through `ctx.clock`.
 *
 * `now()` is a monotonic time in milliseconds (only differences matter, as with
 * `performance.now()`). `sleep(ms, signal)` resolves after `ms` milliseconds of this
 * clock's time, or rejects with `signal.reason` when the signal aborts (at once when it
 * is already aborted).
 *
 * @example
 * ```ts
 * import { type Clock, systemClock } from '@weft/core';
 *
 * const clock: Clock = systemClock;
 * const started = clock.now();
 * await clock.sleep(100);
 * console.log(clock.now() - started >= 100);
 * ```
 */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Optional fast path: calls `callback` after `ms` ms and returns a function that
   * cancels it. weft uses it for timeouts when present, `sleep` otherwise.
   */
  schedule?(ms: number, callback: () => void): () => void;
}

/** The largest delay `setTimeout` accepts; longer ones fire after 1 ms. */
const MAX_TIMER = 2 ** 31 - 1;

function setLongTimeout(ms: number, callback: () => void): Cancel {
  if (ms === Number.POSITIVE_INFINITY) return noop;
  if (ms <= MAX_TIMER) {
    const handle = setTimeout(callback, ms);
    return () => clearTimeout(handle);
  }
  const target = performance.now() + ms;
  let handle: ReturnType<typeof setTimeout>;
  const arm = (remaining: number): void => {
    handle = setTimeout(
      () => {
        const left = target - performance.now();
        if (left > 0) arm(left);
        else callback();
      },
      Math.min(remaining, MAX_TIMER),
    );
  };
  arm(ms);
  return () => clearTimeout(handle);
}

class SystemClock implements Clock {
  now(): number {
    return performance.now();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    assertDuration('ms', ms);
    assertSignal('signal', signal);
    return sleepWith(setLongTimeout, ms, signal);
  }

  schedule(ms: number, callback: () => void): Cancel {
    return setLongTimeout(ms, callback);
  }
}

/**
 * The real clock: `performance.now()` and timers. Durations longer than `setTimeout`'s
 * 2^31−1 ms limit are chained so they never fire early; `Infinity` never fires.
 *
 * @example
 * ```ts
 * import { systemClock } from '@weft/core';
 *
 * await systemClock.sleep(50);
 * ```
 */
export const systemClock: Clock = new SystemClock();
