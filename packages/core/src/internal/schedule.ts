import type { Clock } from '../clock.ts';

export type Cancel = () => void;

export const noop = (): void => {};

export function schedule(clock: Clock, ms: number, callback: () => void): Cancel {
  if (ms === Number.POSITIVE_INFINITY) return noop;
  // The fast path: no AbortController, no promise.
  if (clock.schedule !== undefined) return clock.schedule(Math.max(0, ms), callback);
  const controller = new AbortController();
  clock.sleep(Math.max(0, ms), controller.signal).then(callback, noop);
  return () => controller.abort();
}

// The callbacks of timers that only diagnostics wait for (run()'s stuck checks), so that a
// `TestClock` with `autoAdvance` can tell them apart (see its #scheduleAuto). A WeakSet of
// functions: no API on the clock, and nothing kept once a callback is gone.
const diagnosticCallbacks = new WeakSet<() => void>();

/**
 * {@link schedule} for a timer that only diagnostics wait for: the program does not
 * depend on it, so an auto-advancing `TestClock` jumps to it only once the program has
 * also been idle in real time (review D9 of issue 10).
 */
export function scheduleDiagnostic(clock: Clock, ms: number, callback: () => void): Cancel {
  diagnosticCallbacks.add(callback);
  return schedule(clock, ms, callback);
}

/** Whether `callback` was scheduled with {@link scheduleDiagnostic}. */
export function isDiagnosticTimer(callback: () => void): boolean {
  return diagnosticCallbacks.has(callback);
}

/** Resolves on a later macrotask, after every pending microtask has run. */
export function macrotask(): Promise<void> {
  return new Promise((resolve) => {
    const immediate = (globalThis as { setImmediate?: (cb: () => void) => unknown }).setImmediate;
    if (immediate !== undefined) immediate(resolve);
    else setTimeout(resolve, 0);
  });
}

/** Shared implementation of `Clock.sleep` on top of a scheduler. */
export function sleepWith(
  scheduleFn: (ms: number, callback: () => void) => Cancel,
  ms: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    if (signal === undefined) {
      scheduleFn(ms, resolve);
      return;
    }
    const onAbort = (): void => {
      cancel();
      reject(signal.reason);
    };
    const cancel = scheduleFn(ms, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
