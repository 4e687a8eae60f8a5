import { enqueue, WaiterList, waitContext } from './internal/waiters.ts';
import { assertCount } from './internal/validate.ts';
import type { AcquireOptions } from './interfaces.ts';

/**
 * Raised by {@link Barrier.wait} when the barrier is broken: `abort()` was called, or is
 * called while tasks wait.
 *
 * @example
 * ```ts
 * import { Barrier, BrokenBarrierError } from '@weft/core';
 *
 * const barrier = new Barrier(2);
 * const waiting = barrier.wait();
 * barrier.abort();
 * await waiting.catch((err) => console.log(err instanceof BrokenBarrierError)); // true
 * ```
 */
export class BrokenBarrierError extends Error {
  override readonly name: string = 'BrokenBarrierError';

  constructor(message = 'The barrier is broken') {
    super(message);
  }
}

/**
 * Lets `parties` tasks wait until all of them have arrived (asyncio's `Barrier`). Each
 * `wait()` resolves with the caller's arrival index (0 … parties−1) once the last one
 * arrives; the barrier then resets for the next round. A waiter cancelled before the
 * round fills leaves it, so the round still needs `parties` arrivals.
 *
 * @example
 * ```ts
 * import { Barrier, gather } from '@weft/core';
 *
 * const barrier = new Barrier(3);
 * await gather([1, 2, 3].map((n) => async () => {
 *   await warmUp(n);
 *   await barrier.wait(); // all three start the measured part together
 *   return measure(n);
 * }));
 * ```
 */
export class Barrier {
  readonly #parties: number;
  readonly #waiters: WaiterList<number> = new WaiterList();
  #broken = false;

  constructor(parties: number) {
    assertCount('parties', parties);
    if (parties === Number.POSITIVE_INFINITY) {
      throw new RangeError(
        'Expected `parties` to be a finite integer from 1 up, got `Infinity` (number)',
      );
    }
    this.#parties = parties;
  }

  get parties(): number {
    return this.#parties;
  }

  /** How many tasks wait in the current round. */
  get waiting(): number {
    return this.#waiters.size;
  }

  get broken(): boolean {
    return this.#broken;
  }

  /** Arrives and waits for the others; resolves with this arrival's index. */
  wait(options?: AcquireOptions): Promise<number> {
    const caller = waitContext(options);
    if (caller instanceof Promise) return caller;
    const index = this.#waiters.size;
    if (this.#broken || index === this.#parties - 1) caller[Symbol.dispose]();
    if (this.#broken) return Promise.reject(new BrokenBarrierError());
    if (index === this.#parties - 1) {
      let i = 0;
      while (this.#waiters.head !== undefined) this.#waiters.head.fulfil(i++);
      return Promise.resolve(index);
    }
    return enqueue(this.#waiters, caller).promise;
  }

  /** Breaks the barrier: current and later waiters reject with `BrokenBarrierError`. */
  abort(): void {
    this.#broken = true;
    this.#waiters.failAll(new BrokenBarrierError());
  }

  /** Mends a broken barrier (waiters of the current round reject, as with `abort()`). */
  reset(): void {
    this.#waiters.failAll(new BrokenBarrierError('The barrier was reset'));
    this.#broken = false;
  }
}
