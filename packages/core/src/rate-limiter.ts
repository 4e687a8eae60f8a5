import type { Clock } from './clock.ts';
import type { CallerContext } from './caller.ts';
import type { Permit, RateAcquireOptions, RateLimiterLike, RunFn } from './interfaces.ts';
import { type Cancel, schedule } from './internal/schedule.ts';
import { enqueue, runContext, WaiterList, waitContext } from './internal/waiters.ts';
import {
  assertClock,
  assertCount,
  assertDuration,
  assertFunction,
  assertOptions,
  describe,
} from './internal/validate.ts';

export type { RateAcquireOptions } from './interfaces.ts';

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** How many units of cost are let through per `interval`. */
  limit: number;
  /** The length of the window `limit` applies to, in ms. */
  interval: number;
  /**
   * Opt in to a token bucket instead of the strict sliding window: up to `burst` units go
   * through at once after a quiet period, then `limit` per `interval` on average. In any
   * window of `w` ms at most `burst + limit × w / interval` units go through, so over one
   * `interval` up to `burst + limit` (twice the limit when `burst` equals it).
   * @default undefined (strict sliding window)
   */
  burst?: number | undefined;
  /**
   * Where time comes from.
   * @default the calling task's clock, else `systemClock`
   */
  clock?: Clock | undefined;
}

const LIMITER_KEYS: readonly string[] = ['limit', 'interval', 'burst', 'clock'];
const ACQUIRE_KEYS: readonly string[] = ['signal', 'cost'];

/** How a limiter decides whether `cost` may go through at `now`, and when it could. */
interface Policy {
  /** Takes `cost` at `now` if allowed; returns whether it did. */
  take(cost: number, now: number): boolean;
  /** The earliest clock time at which `cost` could go through (≤ now when it can now). */
  readyAt(cost: number, now: number): number;
}

/**
 * The strict policy: a sliding-window log. At most `limit` units in any half-open window
 * `[t, t + interval)`: a grant at time `g` stops counting at `g + interval` exactly.
 */
class SlidingWindow implements Policy {
  readonly #limit: number;
  readonly #interval: number;
  // The grants still inside the window, oldest first: times and costs, from `#head` on.
  #times: number[] = [];
  #costs: number[] = [];
  #head = 0;
  // The sum of the costs from `#head` on.
  #used = 0;

  constructor(limit: number, interval: number) {
    this.#limit = limit;
    this.#interval = interval;
  }

  #prune(now: number): void {
    while (this.#head < this.#times.length && this.#times[this.#head]! + this.#interval <= now) {
      this.#used -= this.#costs[this.#head]!;
      this.#head++;
    }
    if (this.#head === this.#times.length) {
      this.#times = [];
      this.#costs = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#times.length) {
      this.#times = this.#times.slice(this.#head);
      this.#costs = this.#costs.slice(this.#head);
      this.#head = 0;
    }
  }

  take(cost: number, now: number): boolean {
    this.#prune(now);
    if (this.#used + cost > this.#limit) return false;
    this.#times.push(now);
    this.#costs.push(cost);
    this.#used += cost;
    return true;
  }

  readyAt(cost: number, now: number): number {
    this.#prune(now);
    let used = this.#used;
    for (let i = this.#head; i < this.#times.length && used + cost > this.#limit; i++) {
      used -= this.#costs[i]!;
      if (used + cost <= this.#limit) return this.#times[i]! + this.#interval;
    }
    return now;
  }
}

/** The opt-in policy: a token bucket (GCRA) holding up to `burst` units. */
class TokenBucket implements Policy {
  readonly #burst: number;
  /** Time per unit of cost. */
  readonly #emission: number;
  /** The theoretical arrival time: when the bucket would be full again. */
  #tat = Number.NEGATIVE_INFINITY;

  constructor(limit: number, interval: number, burst: number) {
    this.#burst = burst;
    this.#emission = interval / limit;
  }

  take(cost: number, now: number): boolean {
    const tat = Math.max(this.#tat, now);
    const next = tat + cost * this.#emission;
    if (next - now > this.#burst * this.#emission + 1e-9) return false;
    this.#tat = next;
    return true;
  }

  readyAt(cost: number, now: number): number {
    const tat = Math.max(this.#tat, now);
    return tat + cost * this.#emission - this.#burst * this.#emission;
  }
}

class RatePermit implements Permit {
  #released = false;

  get released(): boolean {
    return this.#released;
  }

  release(): void {
    if (this.#released) throw new TypeError('This permit was already released');
    this.#released = true;
  }

  [Symbol.dispose](): void {
    this.#released = true;
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.#released = true;
    return Promise.resolve();
  }
}

/**
 * Lets at most `limit` units of cost through per `interval` ms, on the injected clock.
 * Callers are served in FIFO order (a big `cost` at the head is not overtaken); a
 * cancelled waiter leaves the queue without using any capacity.
 *
 * By default it is strict, a sliding window: in any window of `interval` ms (half-open,
 * `[t, t + interval)`) at most `limit` units go through — "5 per second" never lets a 6th
 * call into any second, which is what keeps a client under a server's limit. A unit let
 * through at time `g` is available again at `g + interval` exactly.
 *
 * With `burst` it is a token bucket instead: up to `burst` units at once after a quiet
 * period, then a steady `limit` per `interval`. Its bound, in any window of `w` ms: at most
 * `burst + limit × w / interval` units (with `burst: 1`, calls are spaced evenly,
 * `interval / limit` apart).
 *
 * @example
 * ```ts
 * import { gather, RateLimiter } from '@weft/core';
 *
 * const limiter = new RateLimiter({ limit: 5, interval: 1000 }); // never more than 5 in any second
 * await gather(urls.map((url) => () => limiter.run(({ signal }) => fetch(url, { signal }))));
 * ```
 */
export class RateLimiter implements RateLimiterLike {
  readonly #limit: number;
  readonly #interval: number;
  readonly #burst: number | undefined;
  readonly #clock: Clock | undefined;
  readonly #policy: Policy;
  readonly #waiters: WaiterList<Permit> = new WaiterList();
  #timer: Cancel | undefined;
  // The clock the pending waiters wait on (the first waiter's, when none was configured).
  #timerClock: Clock | undefined;

  constructor(options: RateLimiterOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`Expected \`options\` to be an object, got ${describe(options)}`);
    }
    assertOptions('options', options, LIMITER_KEYS);
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
    if (burst !== undefined) {
      assertCount('options.burst', burst);
      if (burst === Number.POSITIVE_INFINITY)
        throw new RangeError('Expected `options.burst` to be finite, got `Infinity` (number)');
    }
    assertClock('options.clock', clock);
    this.#limit = limit;
    this.#interval = interval;
    this.#burst = burst;
    this.#clock = clock;
    this.#policy =
      burst === undefined
        ? new SlidingWindow(limit, interval)
        : new TokenBucket(limit, interval, burst);
  }

  get limit(): number {
    return this.#limit;
  }

  get interval(): number {
    return this.#interval;
  }

  /** The token bucket's size, or `undefined` for the strict sliding window. */
  get burst(): number | undefined {
    return this.#burst;
  }

  /** How many callers wait. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /**
   * Waits until `cost` units may go through, in FIFO order, and resolves with a permit
   * (releasing it is optional and gives nothing back: time does). Rejects with the
   * signal's reason when it aborts first, using nothing; rejects with a `RangeError` when
   * `cost` exceeds what can ever go through at once (`limit`, or `burst`).
   */
  acquire(options?: RateAcquireOptions): Promise<Permit> {
    const caller = waitContext(options, ACQUIRE_KEYS);
    if (caller instanceof Promise) return caller;
    const cost = options?.cost ?? 1;
    const clock = this.#clock ?? caller.clock;
    try {
      this.#assertCost(cost);
    } catch (error) {
      caller[Symbol.dispose]();
      return Promise.reject(error);
    }
    if (this.#waiters.size === 0 && this.#policy.take(cost, clock.now())) {
      caller[Symbol.dispose]();
      return Promise.resolve(new RatePermit());
    }
    return this.#wait(caller, cost, clock);
  }

  /**
   * Runs `fn` once `cost` (default 1) units may go through. `fn` receives a
   * {@link RunContext} whose `signal` is the caller's effective signal (the enclosing
   * task's, joined with `options.signal`).
   *
   * @example
   * ```ts
   * import { RateLimiter } from '@weft/core';
   *
   * const limiter = new RateLimiter({ limit: 10, interval: 1000 });
   * const res = await limiter.run(({ signal }) => fetch('http://127.0.0.1:8080/', { signal }));
   * ```
   */
  async run<T>(fn: RunFn<T>, options?: RateAcquireOptions): Promise<T> {
    assertFunction('fn', fn);
    const caller = waitContext(options, ACQUIRE_KEYS);
    if (caller instanceof Promise) return caller;
    try {
      const cost = options?.cost ?? 1;
      this.#assertCost(cost);
      const clock = this.#clock ?? caller.clock;
      if (!(this.#waiters.size === 0 && this.#policy.take(cost, clock.now()))) {
        await this.#wait(caller.signal, cost, clock);
      }
      return await fn(runContext(caller.signal));
    } finally {
      caller[Symbol.dispose]();
    }
  }

  #assertCost(cost: unknown): void {
    assertCount('options.cost', cost);
    const max = this.#burst ?? this.#limit;
    if (cost > max) {
      throw new RangeError(
        `Expected \`options.cost\` to be at most the ${this.#burst === undefined ? 'limit' : 'burst'} (${max}), got ${describe(cost)}`,
      );
    }
  }

  #wait(
    caller: CallerContext | AbortSignal | undefined,
    cost: number,
    clock: Clock,
  ): Promise<Permit> {
    const { promise } = enqueue(this.#waiters, caller, cost, () => this.#arm());
    if (this.#waiters.size === 1) this.#timerClock = clock;
    this.#arm();
    return promise;
  }

  /** (Re)arms the timer for the head waiter, or drops it when nobody waits. */
  #arm(): void {
    this.#timer?.();
    this.#timer = undefined;
    const head = this.#waiters.head;
    const clock = this.#timerClock;
    if (head === undefined || clock === undefined) return;
    const now = clock.now();
    const delay = Math.max(0, this.#policy.readyAt(head.data as number, now) - now);
    this.#timer = schedule(clock, delay, () => {
      this.#timer = undefined;
      this.#serve(clock);
    });
  }

  #serve(clock: Clock): void {
    const now = clock.now();
    for (let head = this.#waiters.head; head !== undefined; head = this.#waiters.head) {
      if (!this.#policy.take(head.data as number, now)) break;
      head.fulfil(new RatePermit());
    }
    this.#arm();
  }
}
