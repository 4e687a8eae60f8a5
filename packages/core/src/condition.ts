import type { CallerContext } from './caller.ts';
import type { AcquireOptions, Permit } from './interfaces.ts';
import { enqueue, WaiterList, waitContext } from './internal/waiters.ts';
import { assertCount, assertFunction, assertOptions, assertSignal } from './internal/validate.ts';

/**
 * A condition variable (asyncio's `Condition`): tasks hold its lock, check some shared
 * state, and `wait()` until another task changes it and calls `notify()`.
 *
 * `wait()` must be called while holding the lock: it releases the lock, waits for a
 * notification, and takes the lock back before it returns — also when it is cancelled,
 * so that the caller's `using` releases a lock it really holds.
 *
 * @example
 * ```ts
 * import { Condition } from '@weft/core';
 *
 * const items: string[] = [];
 * const cond = new Condition();
 *
 * async function consume(): Promise<string> {
 *   using lock = await cond.acquire();
 *   await cond.waitFor(() => items.length > 0);
 *   return items.shift()!;
 * }
 *
 * async function produce(item: string): Promise<void> {
 *   using lock = await cond.acquire();
 *   items.push(item);
 *   cond.notify();
 * }
 * ```
 */
export class Condition {
  #locked = false;
  readonly #lockWaiters: WaiterList<void> = new WaiterList();
  readonly #notifyWaiters: WaiterList<void> = new WaiterList();

  /** Whether someone holds the lock. */
  get locked(): boolean {
    return this.#locked;
  }

  /** How many callers wait in `wait()` for a notification. */
  get waiting(): number {
    return this.#notifyWaiters.size;
  }

  /** Takes the lock (FIFO) and resolves with a permit that releases it. */
  async acquire(options?: AcquireOptions): Promise<Permit> {
    const caller = waitContext(options);
    if (caller instanceof Promise) return caller;
    await this.#lock(caller);
    let released = false;
    const release = (): void => {
      if (released) throw new TypeError('This permit was already released');
      released = true;
      this.#unlock();
    };
    return {
      get released() {
        return released;
      },
      release,
      [Symbol.dispose]() {
        if (!released) release();
      },
      [Symbol.asyncDispose]() {
        if (!released) release();
        return Promise.resolve();
      },
    };
  }

  /**
   * Releases the lock, waits until notified, and takes the lock back. Throws a
   * `TypeError` when the lock is not held.
   */
  async wait(options?: AcquireOptions): Promise<void> {
    assertOptions('options', options, ['signal']);
    assertSignal('options.signal', options?.signal);
    if (!this.#locked) throw new TypeError('Condition.wait() needs the lock: call acquire() first');
    const caller = waitContext(options);
    const notified =
      caller instanceof Promise ? caller : enqueue(this.#notifyWaiters, caller).promise;
    this.#unlock();
    try {
      await notified;
    } finally {
      // Take the lock back even when cancelled: the caller releases it afterwards.
      await this.#lock(undefined);
    }
  }

  /** Waits (as `wait()` does) until `predicate()` is true; returns its last value. */
  async waitFor<T>(predicate: () => T, options?: AcquireOptions): Promise<T> {
    assertFunction('predicate', predicate);
    let result = predicate();
    while (!result) {
      await this.wait(options);
      result = predicate();
    }
    return result;
  }

  /** Wakes up to `n` waiters (default 1). Throws a `TypeError` when the lock is not held. */
  notify(n = 1): void {
    assertCount('n', n, 0);
    if (!this.#locked)
      throw new TypeError('Condition.notify() needs the lock: call acquire() first');
    for (let i = 0; i < n && this.#notifyWaiters.head !== undefined; i++) {
      this.#notifyWaiters.head.fulfil();
    }
  }

  /** Wakes every waiter. */
  notifyAll(): void {
    this.notify(Number.POSITIVE_INFINITY);
  }

  #lock(caller: CallerContext | undefined): Promise<void> {
    if (!this.#locked && this.#lockWaiters.size === 0) {
      caller?.[Symbol.dispose]();
      this.#locked = true;
      return Promise.resolve();
    }
    return enqueue(this.#lockWaiters, caller).promise;
  }

  #unlock(): void {
    const next = this.#lockWaiters.head;
    if (next !== undefined) next.fulfil();
    else this.#locked = false;
  }
}
