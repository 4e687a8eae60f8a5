/**
 * The small async interfaces that a rate limiter, a semaphore and a queue offer, whoever
 * implements them: the in-process {@link RateLimiter}, {@link Semaphore} and {@link Queue}
 * of `@weft/core`, and distributed ones such as `@weft/redis`. Code that only needs "wait
 * for a permit", "run this under the limit" or "put/get with a signal" (for example
 * `@weft/http`'s `rateLimit` option) accepts these types, so either kind plugs in.
 *
 * Every method is async and takes a `signal`: inside a weft task the task's cancellation
 * applies too, and an explicit `signal` adds to it (it never replaces it).
 *
 * @module
 */

/** Options of every waiting call (`acquire`, `run`, `put`, `get`, `wait`…). */
export interface AcquireOptions {
  /**
   * Stop waiting when it aborts, rejecting with its reason and taking nothing. Inside a
   * weft task the task's own cancellation applies as well: this signal adds to it.
   * @default undefined
   */
  signal?: AbortSignal | undefined;
}

/** Options of a rate limiter's `acquire` and `run`. */
export interface RateAcquireOptions extends AcquireOptions {
  /**
   * How many units of the limit this call uses.
   * @default 1
   */
  cost?: number | undefined;
}

/**
 * Something held from a limiter: a semaphore permit, a rate-limiter pass, a distributed
 * lease. Release it once, or let `await using` do it; disposing a released permit does
 * nothing. `release()` may be asynchronous (a distributed lease is given back over the
 * network); await it, or use `await using`.
 *
 * @example
 * ```ts
 * import type { AsyncPermit, SemaphoreLike } from '@weft/core';
 *
 * async function guarded(sem: SemaphoreLike): Promise<void> {
 *   await using permit: AsyncPermit = await sem.acquire();
 *   // … at most `permits` callers here at once
 * }
 * ```
 */
export interface AsyncPermit extends AsyncDisposable {
  /** Gives the permit back. Calling it twice throws a `TypeError` (always a bug). */
  release(): void | Promise<void>;
  /** Whether it was released (or disposed). */
  readonly released: boolean;
}

/**
 * An in-process permit: released synchronously, so both `using` and `await using` work.
 *
 * @example
 * ```ts
 * import { Semaphore } from '@weft/core';
 *
 * const sem = new Semaphore(2);
 * {
 *   using permit = await sem.acquire();
 *   // … at most 2 callers here at once
 * } // released here
 * ```
 */
export interface Permit extends AsyncPermit, Disposable {
  /** Gives the permit back. Calling it twice throws a `TypeError` (always a bug). */
  release(): void;
}

/**
 * What `run(fn)` passes to `fn`: a `signal` to hand to the work done under the limit. It
 * aborts when the caller's effective signal aborts (the enclosing task's, and the explicit
 * `signal` option); a distributed implementation also aborts it when the permit is lost
 * (a lease that expired). It is always an `AbortSignal`, never `undefined`.
 */
export interface RunContext {
  readonly signal: AbortSignal;
}

/** A function run under a limit: gets a {@link RunContext}. */
export type RunFn<T> = (ctx: RunContext) => T | PromiseLike<T>;

/**
 * A semaphore: at most N holders at once, waiters served in FIFO order.
 *
 * @example
 * ```ts
 * import { type SemaphoreLike, Semaphore } from '@weft/core';
 *
 * async function download(sem: SemaphoreLike, url: string): Promise<Response> {
 *   return sem.run(({ signal }) => fetch(url, { signal }));
 * }
 * await download(new Semaphore(4), 'http://127.0.0.1:8080/');
 * ```
 */
export interface SemaphoreLike {
  /** Waits for a permit (FIFO). Rejects with the signal's reason when it aborts first. */
  acquire(options?: AcquireOptions): Promise<AsyncPermit>;
  /** Runs `fn` while holding a permit and releases it however `fn` ends. */
  run<T>(fn: RunFn<T>, options?: AcquireOptions): Promise<T>;
}

/**
 * A rate limiter: at most `limit` units of cost per `interval`, waiters served in FIFO
 * order. The permit `acquire` resolves with only records that the cost was let through;
 * releasing it does not give the cost back (time does).
 *
 * @example
 * ```ts
 * import { type RateLimiterLike, RateLimiter } from '@weft/core';
 *
 * async function call(limiter: RateLimiterLike, url: string): Promise<Response> {
 *   return limiter.run(({ signal }) => fetch(url, { signal }));
 * }
 * await call(new RateLimiter({ limit: 5, interval: 1000 }), 'http://127.0.0.1:8080/');
 * ```
 */
export interface RateLimiterLike {
  /** Waits until `cost` units may go through (FIFO). Rejects with the signal's reason. */
  acquire(options?: RateAcquireOptions): Promise<AsyncPermit>;
  /** Runs `fn` once `cost` units may go through. */
  run<T>(fn: RunFn<T>, options?: RateAcquireOptions): Promise<T>;
}

/**
 * A FIFO queue between producers and consumers: `put` waits while it is full, `get`
 * waits while it is empty, both cancellable; `close()` lets consumers drain what is left,
 * after which `get` rejects and async iteration ends.
 *
 * @example
 * ```ts
 * import { type QueueLike, Queue } from '@weft/core';
 *
 * async function drainAll(queue: QueueLike<string>): Promise<string[]> {
 *   const out: string[] = [];
 *   for await (const item of queue) out.push(item);
 *   return out;
 * }
 * const q = new Queue<string>();
 * await q.put('a');
 * await q.close();
 * console.log(await drainAll(q)); // ['a']
 * ```
 */
export interface QueueLike<T> extends AsyncIterable<T> {
  /** Adds `item`, waiting while the queue is full. Rejects once the queue is closed. */
  put(item: T, options?: AcquireOptions): Promise<void>;
  /** Takes the oldest item, waiting while the queue is empty. Rejects once closed and empty. */
  get(options?: AcquireOptions): Promise<T>;
  /** No more puts; gets drain what is left, then end. */
  close(): void | Promise<void>;
}
