// Time across the boundary: a weft Clock seen as Effect's `Clock` service, and back.
import { Duration, Effect, Clock as EffectClock, Scheduler } from 'effect';
import type { Clock } from '../index.ts';
import { macrotask } from '../internal/schedule.ts';

/** An Effect `Clock` that reads and waits on a weft {@link Clock}. */
class WeftBackedClock implements EffectClock.Clock {
  readonly [EffectClock.ClockTypeId]: EffectClock.ClockTypeId = EffectClock.ClockTypeId;
  /** The weft clock behind it, so that `toEffect` can hand the same clock back to weft. */
  readonly weft: Clock;
  readonly currentTimeMillis: Effect.Effect<number>;
  readonly currentTimeNanos: Effect.Effect<bigint>;

  constructor(weft: Clock) {
    this.weft = weft;
    this.currentTimeMillis = Effect.sync(() => this.unsafeCurrentTimeMillis());
    this.currentTimeNanos = Effect.sync(() => this.unsafeCurrentTimeNanos());
  }

  unsafeCurrentTimeMillis(): number {
    return this.weft.now();
  }

  unsafeCurrentTimeNanos(): bigint {
    return BigInt(Math.round(this.weft.now() * 1_000_000));
  }

  sleep(duration: Duration.Duration): Effect.Effect<void> {
    const ms = Duration.toMillis(duration);
    return Effect.async<void>((resume, signal) => {
      let sleeping: Promise<void>;
      try {
        sleeping = this.weft.sleep(ms, signal);
      } catch (error) {
        resume(Effect.die(error));
        return;
      }
      sleeping.then(
        () => resume(Effect.void),
        (error: unknown) => {
          // An abort means the fiber was interrupted and no longer waits; anything else
          // is a broken clock, which the fiber sees as a defect.
          if (!signal.aborted) resume(Effect.die(error));
        },
      );
    });
  }
}

// One adapter per weft clock, so that fibers of the same task tree share it.
const adapters = new WeakMap<Clock, WeftBackedClock>();

/** Effect's `Clock` service backed by `clock` (the same object for the same clock). */
export function effectClockFor(clock: Clock): EffectClock.Clock {
  let adapter = adapters.get(clock);
  if (adapter === undefined) {
    adapter = new WeftBackedClock(clock);
    adapters.set(clock, adapter);
  }
  return adapter;
}

/** The weft clock behind an Effect `Clock` made by {@link effectClockFor}, if it is one. */
export function weftClockOf(clock: EffectClock.Clock): Clock | undefined {
  return clock instanceof WeftBackedClock ? clock.weft : undefined;
}

/** Microtask turns in a row before a fiber's scheduler yields a macrotask (Effect's own default). */
const MICROTASKS_BEFORE_MACROTASK = 2048;
/** How far ahead the short-lived "still busy" timer is set (it is cancelled in the next turn). */
const BUSY_MARK_MS = 2 ** 31;

/**
 * The Effect scheduler of fibers that run on a weft clock other than `systemClock` (a
 * `TestClock`). It runs tasks as Effect's default scheduler does (batches in microtasks,
 * and a macrotask turn after every 2,048 of them, so I/O is not starved), with one
 * difference: a fiber that yields a macrotask while it still has work is busy, not idle,
 * so it marks the clock busy for that turn (it sets a timer far ahead and cancels it
 * when the turn comes). An auto-advancing `TestClock` only jumps when a turn passes with
 * no timer set or cancelled: a fiber in the middle of a long computation would otherwise
 * look idle, and the clock would jump to its `Effect.timeout` or a racing `Effect.sleep`.
 */
class WeftClockScheduler implements Scheduler.Scheduler {
  readonly #clock: Clock;
  readonly #runner: (
    fiber?: Parameters<Scheduler.Scheduler['shouldYield']>[0],
  ) => Scheduler.SchedulerRunner;

  constructor(clock: Clock) {
    this.#clock = clock;
    this.#runner = Scheduler.SchedulerRunner.cached((depth, drain) => {
      if (depth < MICROTASKS_BEFORE_MACROTASK) {
        void Promise.resolve().then(() => drain(depth + 1));
        return;
      }
      // The turn is queued first, then the timer is set: a TestClock's idleness check
      // queued by setting it comes after this turn, which cancels the timer (a change).
      const busy = new AbortController();
      void macrotask().then(() => {
        busy.abort();
        drain(0);
      });
      try {
        this.#clock.sleep(BUSY_MARK_MS, busy.signal).catch(() => {});
      } catch {
        // A clock that cannot sleep: the fiber goes on; Effect.sleep reports the clock.
      }
    });
  }

  shouldYield(fiber: Parameters<Scheduler.Scheduler['shouldYield']>[0]): number | false {
    return Scheduler.defaultShouldYield(fiber);
  }

  scheduleTask(
    task: Scheduler.Task,
    priority: number,
    fiber?: Parameters<Scheduler.Scheduler['shouldYield']>[0],
  ): void {
    this.#runner(fiber).scheduleTask(task, priority);
  }
}

const schedulers = new WeakMap<Clock, Scheduler.Scheduler>();

/** The Effect scheduler for fibers on `clock` (the same object for the same clock). */
export function effectSchedulerFor(clock: Clock): Scheduler.Scheduler {
  let scheduler = schedulers.get(clock);
  if (scheduler === undefined) {
    scheduler = new WeftClockScheduler(clock);
    schedulers.set(clock, scheduler);
  }
  return scheduler;
}
