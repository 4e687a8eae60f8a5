import type { AcquireOptions, Permit, RunFn, SemaphoreLike } from './interfaces.ts';
import { enqueue, runContext, WaiterList, waitContext } from './internal/waiters.ts';
import { assertCount, assertFunction } from './internal/validate.ts';

export type { AcquireOptions, Permit } from './interfaces.ts';

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

  [Symbol.asyncDispose](): Promise<void> {
    this[Symbol.dispose]();
    return Promise.resolve();
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
export class Semaphore implements SemaphoreLike {
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
    const caller = waitContext(options);
    if (caller instanceof Promise) return caller;
    if (this.#available > 0 && this.#waiters.size === 0) {
      caller[Symbol.dispose]();
      this.#available--;
      return Promise.resolve(new SemaphorePermit(this.#releaseOne));
    }
    return enqueue(this.#waiters, caller).promise;
  }

  /** Takes a permit if one is free right now; `undefined` otherwise. Never waits. */
  tryAcquire(): Permit | undefined {
    if (this.#available > 0 && this.#waiters.size === 0) {
      this.#available--;
      return new SemaphorePermit(this.#releaseOne);
    }
    return undefined;
  }

  /**
   * Runs `fn` while holding a permit, and releases it however `fn` ends. `fn` receives a
   * {@link RunContext} whose `signal` is the caller's effective signal (the enclosing
   * task's, joined with `options.signal`): hand it to the work so that cancelling the
   * caller stops it. Rejects without calling `fn` when the signal aborts while waiting.
   *
   * @example
   * ```ts
   * import { Semaphore } from '@weft/core';
   *
   * const sem = new Semaphore(4);
   * const res = await sem.run(({ signal }) => fetch('http://127.0.0.1:8080/', { signal }));
   * ```
   */
  async run<T>(fn: RunFn<T>, options?: AcquireOptions): Promise<T> {
    assertFunction('fn', fn);
    const caller = waitContext(options);
    if (caller instanceof Promise) return caller;
    try {
      let permit: Permit;
      if (this.#available > 0 && this.#waiters.size === 0) {
        this.#available--;
        permit = new SemaphorePermit(this.#releaseOne);
      } else permit = await enqueue(this.#waiters, caller.signal).promise;
      try {
        return await fn(runContext(caller.signal));
      } finally {
        permit.release();
      }
    } finally {
      caller[Symbol.dispose]();
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
export class Mutex implements SemaphoreLike {
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

  /** Same as `lock()`: what {@link SemaphoreLike} code calls. */
  acquire(options?: AcquireOptions): Promise<Permit> {
    return this.#semaphore.acquire(options);
  }

  /** Takes the lock if it is free right now; `undefined` otherwise. */
  tryLock(): Permit | undefined {
    return this.#semaphore.tryAcquire();
  }

  /**
   * Runs `fn` while holding the lock; `fn` gets a {@link RunContext} with the caller's
   * effective signal (see {@link Semaphore.run}).
   */
  run<T>(fn: RunFn<T>, options?: AcquireOptions): Promise<T> {
    return this.#semaphore.run(fn, options);
  }
}
