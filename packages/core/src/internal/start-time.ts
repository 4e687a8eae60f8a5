import { type Clock, systemClock } from '../clock.ts';

// The system clock's time, read once for every task started in the same microtask
// checkpoint (the one piece of module state this needs): a clock read per task, and the
// number it allocates, would cost the fan-out more than the tree's ages are worth.
let tickAt: number | undefined;
const forget = (): void => {
  tickAt = undefined;
};

/**
 * When a task starts, for its age in `Scope.tree()` and the stuck check. On the system
 * clock, tasks started in the same synchronous stretch share one reading (a stretch that
 * runs long shows up in `monitorEventLoop` anyway); any other clock is read every time,
 * so a `TestClock` gives exact ages.
 */
export function startTime(clock: Clock): number {
  if (clock !== systemClock) return clock.now();
  if (tickAt === undefined) {
    tickAt = clock.now();
    queueMicrotask(forget);
  }
  return tickAt;
}

/**
 * When a scope opens, for its age in `Scope.tree()`: the reading tasks started in the
 * same synchronous stretch share, if one was taken, so that a task started after the
 * scope never looks older than it (a later reading is never earlier); else a fresh one,
 * without arming the reset (opening a scope costs no microtask).
 */
export function openTime(clock: Clock): number {
  if (clock !== systemClock) return clock.now();
  return tickAt ?? clock.now();
}

// The system clock's time, read once per macrotask turn for the items of pools (see
// turnTime), and the reset armed with it.
let turnAt: number | undefined;
const forgetTurn = (): void => {
  turnAt = undefined;
};

/**
 * When a pool item that waits (see `pool-item.ts`) started, for its age in `Scope.tree()`.
 * On the system clock, items started in the same macrotask turn share one reading: an
 * item resumes its worker in a microtask of its own, so a reading per microtask checkpoint
 * (as {@link startTime}) would be a clock read and a microtask per item, measured at +14%
 * of the instructions of a `map` of 100,000 trivial async items. A turn long enough to
 * make the shared reading wrong by much is a blocked event loop, which `monitorEventLoop`
 * reports. Any other clock is read every time.
 */
export function turnTime(clock: Clock): number {
  if (clock !== systemClock) return clock.now();
  if (turnAt === undefined) {
    turnAt = clock.now();
    const immediate = (globalThis as { setImmediate?: (cb: () => void) => unknown }).setImmediate;
    if (immediate !== undefined) immediate(forgetTurn);
    else setTimeout(forgetTurn, 0);
  }
  return turnAt;
}
