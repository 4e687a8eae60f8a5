import { enqueue, WaiterList, waitSignal } from './internal/waiters.ts';
import { assertCount, assertFunction } from './internal/validate.ts';

/** Options of `acquire` and `run` on coordination primitives. */
export interface AcquireOptions {
  /** Stop waiting when it aborts (reject with its reason). Inside a task: the task's signal. */
  signal?: AbortSignal;
}

/**
 * A permit held from a {@link Semaphore} (or {@link Mutex}). Release it once with
 * `release()`, or let `using` do it: disposing a released permit does nothing, but
 * calling `release()` twice throws, since that is always a bug.
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
export interface Permit extends Disposable {
  release(): void;
  readonly released: boolean;
}

class SemaphorePermit implements Permit {
  #release: (() => void) | undefined;

  constructor(release: () => void) {
    this.#release = release;
  }

  get released(): boolean {
    return this.#release === undefined;
  }

  release(): void {
    const release = this.#release;
    if (release === undefined) throw new TypeError('This permit was already released');
    this.#release = undefined;
    release();
  }

  [Symbol.dispose](): void {
    if (this.#release !== undefined) this.release();
  }
}

/**
 * Limits how many tasks run a section at once — the tutorials' "bouncer at a club: only 3
 * can enter". Waiters are served in FIFO order, and a released permit goes straight to the
 * next waiter (no barging). A waiter cancelled while queued leaves the queue without
 * consuming a permit.
 *
 * @example
 * ```ts
 * import { gather, Semaphore } from '@weft/core';
 *
 * const sem = new Semaphore(3);
 * await gather(urls.map((url) => async ({ signal }) => {
 *   using permit = await sem.acquire({ signal });
 *   return fetch(url, { signal });
 * })); // at most 3 requests in flight
 * ```
 */
export class Semaphore {
  readonly #permits: number;
  #available: number;
  readonly #waiters: WaiterList<Permit> = new WaiterList();
  readonly #releaseOne = (): void => this.#release();

  constructor(permits: number) {
    assertCount('permits', permits);
    this.#permits = permits;
    this.#available = permits;
  }

  /** The total number of permits. */
  get permits(): number {
    return this.#permits;
  }

  /** How many permits are free now. */
  get available(): number {
    return this.#available;
  }

  /** How many callers wait for a permit. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /**
   * Waits for a permit (FIFO) and resolves with it. Rejects with the signal's reason when
   * it aborts first; the permit it would have had goes to the next waiter.
   */
  acquire(options?: AcquireOptions): Promise<Permit> {
    const signal = waitSignal(options);
    if (signal instanceof Promise) return signal;
    if (this.#available > 0 && this.#waiters.size === 0) {
      this.#available--;
      return Promise.resolve(new SemaphorePermit(this.#releaseOne));
    }
    return enqueue(this.#waiters, signal).promise;
  }

  /** Takes a permit if one is free right now; `undefined` otherwise. Never waits. */
  tryAcquire(): Permit | undefined {
    if (this.#available > 0 && this.#waiters.size === 0) {
      this.#available--;
      return new SemaphorePermit(this.#releaseOne);
    }
    return undefined;
  }

  /** Runs `fn` while holding a permit, and releases it however `fn` ends. */
  async run<T>(fn: () => T | PromiseLike<T>, options?: AcquireOptions): Promise<T> {
    assertFunction('fn', fn);
    const permit = await this.acquire(options);
    try {
      return await fn();
    } finally {
      permit.release();
    }
  }

  #release(): void {
    const next = this.#waiters.head;
    if (next !== undefined) next.fulfil(new SemaphorePermit(this.#releaseOne));
    else this.#available++;
  }
}

/**
 * A lock: a {@link Semaphore} with one permit. `lock()` resolves with a {@link Permit};
 * `run(fn)` holds the lock while `fn` runs.
 *
 * @example
 * ```ts
 * import { Mutex } from '@weft/core';
 *
 * const mutex = new Mutex();
 * await mutex.run(async () => {
 *   const balance = await read();
 *   await write(balance + 1); // no other run() interleaves here
 * });
 * ```
 */
export class Mutex {
  readonly #semaphore: Semaphore = new Semaphore(1);

  /** Whether someone holds the lock. */
  get locked(): boolean {
    return this.#semaphore.available === 0;
  }

  /** How many callers wait for the lock. */
  get waiting(): number {
    return this.#semaphore.waiting;
  }

  /** Waits for the lock (FIFO) and resolves with its permit. */
  lock(options?: AcquireOptions): Promise<Permit> {
    return this.#semaphore.acquire(options);
  }

  /** Takes the lock if it is free right now; `undefined` otherwise. */
  tryLock(): Permit | undefined {
    return this.#semaphore.tryAcquire();
  }

  /** Runs `fn` while holding the lock. */
  run<T>(fn: () => T | PromiseLike<T>, options?: AcquireOptions): Promise<T> {
    return this.#semaphore.run(fn, options);
  }
}
