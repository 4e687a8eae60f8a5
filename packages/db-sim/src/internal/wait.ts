import { type Clock, systemClock } from '@weft/core';

/** Cancels a scheduled callback. */
export type Cancel = () => void;

/** Calls `callback` after `ms` of `clock` time; `clock.schedule` when it has one. */
export function schedule(clock: Clock, ms: number, callback: () => void): Cancel {
  if (ms === Number.POSITIVE_INFINITY) return () => {};
  if (clock.schedule !== undefined) return clock.schedule(ms, callback);
  const controller = new AbortController();
  clock.sleep(ms, controller.signal).then(callback, () => {});
  return () => controller.abort();
}

/** The longest delay `setTimeout` takes. */
const MAX_TIMER = 2 ** 31 - 1;

/**
 * Like {@link schedule}, but on the system clock the timer does not keep the process
 * alive (housekeeping such as closing idle connections must not hold a program open,
 * the complaint behind pg-pool's `allowExitOnIdle`). Past `setTimeout`'s longest delay
 * the callback fires early: callers re-check what is due.
 */
export function scheduleUnref(clock: Clock, ms: number, callback: () => void): Cancel {
  if (clock !== systemClock) return schedule(clock, ms, callback);
  if (ms === Number.POSITIVE_INFINITY) return () => {};
  const handle: unknown = setTimeout(callback, Math.min(ms, MAX_TIMER));
  if (typeof (handle as { unref?: unknown } | null)?.unref === 'function') {
    (handle as { unref(): void }).unref();
  } else if (typeof handle === 'number') {
    (globalThis as { Deno?: { unrefTimer?(id: number): void } }).Deno?.unrefTimer?.(handle);
  }
  return () => clearTimeout(handle as Parameters<typeof clearTimeout>[0]);
}

/** The first aborted signal's reason, else `undefined`. */
export function abortedReason(
  signals: readonly (AbortSignal | undefined)[],
): { reason: unknown } | undefined {
  for (const s of signals) if (s?.aborted) return { reason: s.reason };
  return undefined;
}

/**
 * Waits `ms` of clock time. Rejects with a signal's reason when one aborts first (at once
 * when one already has), or with `onTimeout()` when `timeout` ms pass first. Removes its
 * listeners and timers however it ends. Returns `undefined` (no wait at all) when `ms`
 * is 0 and nothing is aborted.
 */
export function wait(
  clock: Clock,
  ms: number,
  signals: readonly (AbortSignal | undefined)[],
  timeout?: number,
  onTimeout?: () => unknown,
): Promise<void> | undefined {
  const aborted = abortedReason(signals);
  if (aborted !== undefined) return Promise.reject(aborted.reason);
  if (ms === 0) return undefined;
  if (timeout !== undefined && timeout <= 0) return Promise.reject(onTimeout?.());
  return new Promise<void>((resolve, reject) => {
    let cancelTimeout: Cancel | undefined;
    const listeners: [AbortSignal, () => void][] = [];
    const cleanup = (): void => {
      cancelTimer();
      cancelTimeout?.();
      for (const [s, l] of listeners) s.removeEventListener('abort', l);
    };
    const cancelTimer = schedule(clock, ms, () => {
      cleanup();
      resolve();
    });
    if (timeout !== undefined && timeout < ms && Number.isFinite(timeout)) {
      cancelTimeout = schedule(clock, timeout, () => {
        cleanup();
        reject(onTimeout?.());
      });
    }
    for (const s of signals) {
      if (s === undefined) continue;
      const l = (): void => {
        cleanup();
        reject(s.reason);
      };
      listeners.push([s, l]);
      s.addEventListener('abort', l, { once: true });
    }
  });
}
