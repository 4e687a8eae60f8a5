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

/** How long zero-latency round trips may run on the system clock without an event-loop turn. */
const SLICE_MS = 5;
/** When the current run of zero-latency round trips began, if the event loop has not turned since. */
let sliceStart: number | undefined;

/** Calls `callback` on the next turn of the event loop (`setImmediate` where there is one: Node, Bun, Deno). */
const nextTurn: (callback: () => void) => void =
  typeof (globalThis as { setImmediate?: unknown }).setImmediate === 'function'
    ? (callback) =>
        void (globalThis as { setImmediate(cb: () => void): unknown }).setImmediate(callback)
    : (callback) => void setTimeout(callback, 0);

/**
 * Whether a zero-latency round trip on the system clock must give the event loop a turn.
 * A real driver always waits on I/O; a loop of 0 ms queries would otherwise run in
 * microtasks only, and no timer (a scope's timeout, a watchdog) could fire while it runs.
 * The first round trip of a run arms a marker for the next turn; only a run that has gone
 * on for `SLICE_MS` without that turn happening waits for one itself.
 */
function mustYield(): boolean {
  const now = performance.now();
  if (sliceStart === undefined) {
    sliceStart = now;
    nextTurn(() => {
      sliceStart = undefined;
    });
    return false;
  }
  return now - sliceStart >= SLICE_MS;
}

/**
 * Waits `ms` of clock time. Rejects with a signal's reason when one aborts first (at once
 * when one already has), or with `onTimeout()` when `timeout` ms pass first. Removes its
 * listeners and timers however it ends. Returns `undefined` (no wait at all) when `ms`
 * is 0 and nothing is aborted, except that on the system clock a run of 0 ms waits that has
 * kept the event loop busy for 5 ms waits for one turn of it (see `mustYield`).
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
  if (ms === 0) {
    if (clock !== systemClock || !mustYield()) return undefined;
    return new Promise<void>((resolve, reject) =>
      nextTurn(() => {
        const aborted = abortedReason(signals);
        if (aborted === undefined) resolve();
        else reject(aborted.reason);
      }),
    );
  }
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

/**
 * Aborts every handshake in flight at once (a database's or pool's close) without adding a
 * listener per handshake to one shared signal: Node 20 warns (`MaxListenersExceededWarning`)
 * past 10 listeners on one signal, though nothing leaks (review dbx11 X4). Each handshake
 * gets its own signal from `take()` and gives it back with `done()`.
 */
export class Handshakes {
  readonly #live: Set<AbortController> = new Set();
  #reason: { reason: unknown } | undefined;

  /** How many handshakes are in flight (for the tests). */
  get size(): number {
    return this.#live.size;
  }

  take(): { signal: AbortSignal; done(): void } {
    const controller = new AbortController();
    if (this.#reason !== undefined) controller.abort(this.#reason.reason);
    else this.#live.add(controller);
    return { signal: controller.signal, done: () => void this.#live.delete(controller) };
  }

  abort(reason: unknown): void {
    if (this.#reason !== undefined) return;
    this.#reason = { reason };
    const live = [...this.#live];
    this.#live.clear();
    for (const controller of live) controller.abort(reason);
  }
}
