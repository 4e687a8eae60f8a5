import { enqueue, WaiterList, waitContext } from './internal/waiters.ts';
import type { AcquireOptions } from './interfaces.ts';

/**
 * A flag that tasks can wait for (asyncio's `Event`). `set()` wakes every waiter and
 * lets later `wait()` calls through at once, until `clear()`.
 *
 * @example
 * ```ts
 * import { Event, scope } from '@weft/core';
 *
 * const ready = new Event();
 * await scope(async (s) => {
 *   s.spawn(async ({ signal }) => {
 *     await ready.wait({ signal });
 *     console.log('go');
 *   });
 *   ready.set();
 * });
 * ```
 */
export class Event {
  #set = false;
  readonly #waiters: WaiterList<void> = new WaiterList();

  /** Whether the event is set. */
  get isSet(): boolean {
    return this.#set;
  }

  /** How many callers wait. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /** Sets the flag and wakes every waiter. */
  set(): void {
    if (this.#set) return;
    this.#set = true;
    while (this.#waiters.head !== undefined) this.#waiters.head.fulfil();
  }

  /** Clears the flag: later `wait()` calls wait again. */
  clear(): void {
    this.#set = false;
  }

  /** Resolves once the flag is set (at once if it is). Rejects with the signal's reason. */
  wait(options?: AcquireOptions): Promise<void> {
    const caller = waitContext(options);
    if (caller instanceof Promise) return caller;
    if (this.#set) {
      caller[Symbol.dispose]();
      return Promise.resolve();
    }
    return enqueue(this.#waiters, caller).promise;
  }
}
