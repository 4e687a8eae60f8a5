// Time across the boundary: a weft Clock seen as Effect's `Clock` service, and back.
import { Duration, Effect, Clock as EffectClock } from 'effect';
import type { Clock } from '../index.ts';

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
