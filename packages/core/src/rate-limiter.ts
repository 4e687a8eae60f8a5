import { type Clock, systemClock } from './clock.ts';
import { currentContext } from './internal/context.ts';
import { type Cancel, schedule } from './internal/schedule.ts';
import { enqueue, WaiterList, waitSignal } from './internal/waiters.ts';
import {
  assertClock,
  assertCount,
  assertDuration,
  assertFunction,
  describe,
} from './internal/validate.ts';

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** How many units of cost are let through per `interval`. */
  limit: number;
  /** The length of the window `limit` applies to, in ms. */
  interval: number;
  /** How much cost may go through at once after a quiet period. Default: `limit`. */
  burst?: number;
  /** Where time comes from. Default: the running task's clock, else `systemClock`. */
  clock?: Clock;
}

/** Options of {@link RateLimiter.acquire}. */
export interface RateAcquireOptions {
  /** Stop waiting when it aborts. Inside a task: the task's signal. */
  signal?: AbortSignal;
  /** How many units this call uses. Default 1; at most `burst`. */
  cost?: number;
}

/**
 * A token bucket on the injected clock: `limit` units per `interval`, with bursts of up
 * to `burst` (default `limit`). Callers are served in FIFO order; a cancelled waiter
 * leaves the queue without using any capacity.
 *
 * The guarantee, in any time window of length `w`: the cost let through is at most
 * `burst + limit × w / interval`. With `burst: 1`, calls are spaced evenly,
 * `interval / limit` apart.
 *
 * @example
 * ```ts
 * import { gather, RateLimiter } from '@weft/core';
 *
 * const limiter = new RateLimiter({ limit: 5, interval: 1000 }); // 5 requests per second
 * await gather(urls.map((url) => ({ signal }) => limiter.run(() => fetch(url, { signal }))));
 * ```
 */
export class RateLimiter {
  readonly #limit: number;
  readonly #interval: number;
  readonly #burst: number;
  readonly #clock: Clock | undefined;
  /** Time per unit of cost. */
  readonly #emission: number;
  /** The theoretical arrival time (GCRA): when the bucket would be full again. */
  #tat = Number.NEGATIVE_INFINITY;
  readonly #waiters: WaiterList<void> = new WaiterList();
  #timer: Cancel | undefined;
  #timerClock: Clock | undefined;

  constructor(options: RateLimiterOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`Expected \`options\` to be an object, got ${describe(options)}`);
    }
    const { limit, interval, burst, clock } = options;
    assertCount('options.limit', limit);
    assertDuration('options.interval', interval);
    if (limit === Number.POSITIVE_INFINITY)
      throw new RangeError('Expected `options.limit` to be finite, got `Infinity` (number)');
    if (interval === 0 || interval === Number.POSITIVE_INFINITY) {
      throw new RangeError(
        `Expected \`options.interval\` to be a finite number of ms above 0, got ${describe(interval)}`,
      );
    }
    if (burst !== undefined) assertCount('options.burst', burst);
    assertClock('options.clock', clock);
    this.#limit = limit;
    this.#interval = interval;
    this.#burst = burst ?? limit;
    this.#clock = clock;
    this.#emission = interval / limit;
  }

  get limit(): number {
    return this.#limit;
  }

  get interval(): number {
    return this.#interval;
  }

  get burst(): number {
    return this.#burst;
  }

  /** How many callers wait. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /**
   * Waits until `cost` units may go through, in FIFO order. Rejects with the signal's
   * reason when it aborts first (using nothing).
   */
  acquire(options?: RateAcquireOptions): Promise<void> {
    const signal = waitSignal(options);
    if (signal instanceof Promise) return signal;
    const cost = options?.cost ?? 1;
    try {
      assertCount('options.cost', cost);
      if (cost > this.#burst) {
        throw new RangeError(
          `Expected \`options.cost\` to be at most the burst (${this.#burst}), got ${describe(cost)}`,
        );
      }
    } catch (error) {
      return Promise.reject(error);
    }
    const clock = this.#clockNow();
    if (this.#waiters.size === 0 && this.#tryTake(cost, clock.now())) return Promise.resolve();
    const { promise } = enqueue(this.#waiters, signal, cost, () => this.#onCancel(clock));
    this.#arm(clock);
    return promise;
  }

  /** Runs `fn` once `cost` (default 1) units may go through. */
  async run<T>(fn: () => T | PromiseLike<T>, options?: RateAcquireOptions): Promise<T> {
    assertFunction('fn', fn);
    await this.acquire(options);
    return fn();
  }

  #clockNow(): Clock {
    return this.#clock ?? currentContext()?.clock ?? systemClock;
  }

  /** GCRA: let `cost` through at `now` if the bucket allows it. */
  #tryTake(cost: number, now: number): boolean {
    const tat = Math.max(this.#tat, now);
    const next = tat + cost * this.#emission;
    if (next - now > this.#burst * this.#emission + 1e-9) return false;
    this.#tat = next;
    return true;
  }

  /** When `cost` could go through, on the clock. */
  #readyAt(cost: number, now: number): number {
    const tat = Math.max(this.#tat, now);
    return tat + cost * this.#emission - this.#burst * this.#emission;
  }

  #arm(clock: Clock): void {
    this.#timer?.();
    this.#timer = undefined;
    const head = this.#waiters.head;
    if (head === undefined) return;
    const now = clock.now();
    const delay = Math.max(0, this.#readyAt(head.data as number, now) - now);
    this.#timerClock = clock;
    this.#timer = schedule(clock, delay, () => {
      this.#timer = undefined;
      this.#serve(clock);
    });
  }

  #serve(clock: Clock): void {
    const now = clock.now();
    for (let head = this.#waiters.head; head !== undefined; head = this.#waiters.head) {
      if (!this.#tryTake(head.data as number, now)) break;
      head.fulfil();
    }
    this.#arm(clock);
  }

  #onCancel(clock: Clock): void {
    // A waiter left: the new head may be ready sooner (or nobody waits: drop the timer).
    if (this.#waiters.head === undefined) {
      this.#timer?.();
      this.#timer = undefined;
      return;
    }
    this.#arm(this.#timerClock ?? clock);
  }
}
