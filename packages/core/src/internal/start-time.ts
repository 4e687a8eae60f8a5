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
