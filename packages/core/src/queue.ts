import { enqueue, WaiterList, waitSignal } from './internal/waiters.ts';
import { assertCount, assertOptions, describe } from './internal/validate.ts';
import type { AcquireOptions } from './semaphore.ts';

/**
 * Raised by a {@link Queue} that was shut down: by `put` once it is closed, and by `get`
 * once it is closed and empty (or at once after `shutdown({ immediate: true })`).
 * Python 3.13's `QueueShutDown`.
 *
 * @example
 * ```ts
 * import { Queue, QueueShutDownError } from '@weft/core';
 *
 * const q = new Queue<number>();
 * q.close();
 * await q.put(1).catch((err) => console.log(err instanceof QueueShutDownError)); // true
 * ```
 */
export class QueueShutDownError extends Error {
  override readonly name: string = 'QueueShutDownError';

  constructor(message = 'The queue was shut down') {
    super(message);
  }
}

/** Options of {@link Queue}. */
export interface QueueOptions {
  /** How many items it holds before `put` waits (backpressure). Default `Infinity`. */
  capacity?: number;
}

/** Options of {@link Queue.shutdown}. */
export interface ShutdownOptions {
  /** Drop the items still queued and reject every pending `get` at once. Default `false`. */
  immediate?: boolean;
}

const OPEN = 0;
const CLOSED = 1;

/** What weft's own helpers may do with a queue beyond its public API. */
export interface QueueInternals {
  /**
   * `put` without a signal: the caller (a pipe) rejects its pending puts in bulk by
   * closing the queue when it is cancelled, instead of a listener per put.
   */
  put<T>(queue: Queue<T>, item: T): Promise<void>;
}

/** Set once by `Queue`'s static block. */
export let queueInternals: QueueInternals;

/**
 * A FIFO queue between tasks (asyncio's `Queue`), async-iterable.
 *
 * - `put` waits while the queue is full (backpressure); `get` waits while it is empty.
 *   Both take a `signal`; a cancelled waiter leaves without putting or taking anything.
 * - `close()` (= `shutdown()`): later and pending `put`s reject with
 *   {@link QueueShutDownError}; `get`s drain what is left, then reject with it, and
 *   `for await` ends.
 * - `shutdown({ immediate: true })` also drops the items and rejects every pending `get`.
 * - No waiter is ever left pending after a close or shutdown.
 *
 * @example
 * ```ts
 * import { Queue, scope } from '@weft/core';
 *
 * const jobs = new Queue<string>({ capacity: 10 });
 * await scope(async (s) => {
 *   s.spawn(async () => {
 *     for (const url of urls) await jobs.put(url); // waits while 10 are queued
 *     jobs.close();
 *   });
 *   s.spawn(async () => {
 *     for await (const url of jobs) await handle(url); // ends after the last one
 *   });
 * });
 * ```
 */
export class Queue<T> implements AsyncIterable<T> {
  readonly #capacity: number;
  #items: T[] = [];
  #head = 0;
  #state = OPEN;
  readonly #getters: WaiterList<T> = new WaiterList();
  readonly #putters: WaiterList<void> = new WaiterList();

  static {
    queueInternals = {
      put: (queue, item) => {
        if (queue.#state === CLOSED)
          return Promise.reject(new QueueShutDownError('Cannot put: the queue is closed'));
        if (queue.#offer(item)) return Promise.resolve();
        return enqueue(queue.#putters, undefined, item).promise;
      },
    };
  }

  constructor(options: QueueOptions = {}) {
    assertOptions('options', options);
    const capacity = options.capacity ?? Number.POSITIVE_INFINITY;
    assertCount('options.capacity', capacity);
    this.#capacity = capacity;
  }

  /** How many items are queued (not counting `put`s still waiting for room). */
  get size(): number {
    return this.#items.length - this.#head;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** `true` once `close()` or `shutdown()` was called. */
  get closed(): boolean {
    return this.#state === CLOSED;
  }

  /** Adds `item`, waiting while the queue is full. */
  put(item: T, options?: AcquireOptions): Promise<void> {
    const signal = waitSignal(options);
    if (signal instanceof Promise) return signal;
    if (this.#state === CLOSED)
      return Promise.reject(new QueueShutDownError('Cannot put: the queue is closed'));
    if (this.#offer(item)) return Promise.resolve();
    return enqueue(this.#putters, signal, item).promise;
  }

  /** Adds `item` if there is room now; returns whether it did. Throws once closed. */
  tryPut(item: T): boolean {
    if (this.#state === CLOSED) throw new QueueShutDownError('Cannot put: the queue is closed');
    return this.#offer(item);
  }

  /** Takes the oldest item, waiting while the queue is empty. */
  get(options?: AcquireOptions): Promise<T> {
    const signal = waitSignal(options);
    if (signal instanceof Promise) return signal;
    if (this.size > 0) return Promise.resolve(this.#take());
    if (this.#state === CLOSED) return Promise.reject(new QueueShutDownError());
    return enqueue(this.#getters, signal).promise;
  }

  /** Takes the oldest item if there is one: `{ value }`, else `undefined`. Never waits. */
  tryGet(): { value: T } | undefined {
    return this.size > 0 ? { value: this.#take() } : undefined;
  }

  /** Same as `shutdown()`: no more puts; gets drain the rest, then end. */
  close(): void {
    this.shutdown();
  }

  /**
   * Shuts the queue down (Python 3.13): pending and later `put`s reject with
   * {@link QueueShutDownError}. With `immediate`, the queued items are dropped and every
   * pending `get` rejects too; otherwise `get`s drain the items first.
   */
  shutdown(options: ShutdownOptions = {}): void {
    assertOptions('options', options);
    if (options.immediate !== undefined && typeof options.immediate !== 'boolean') {
      throw new TypeError(
        `Expected \`options.immediate\` to be a boolean, got ${describe(options.immediate)}`,
      );
    }
    this.#state = CLOSED;
    this.#putters.failAll(new QueueShutDownError('Cannot put: the queue was shut down'));
    if (options.immediate) {
      this.#items = [];
      this.#head = 0;
    }
    if (this.size === 0) this.#getters.failAll(new QueueShutDownError());
  }

  /** Iterates until the queue is closed and empty; `signal` stops a waiting `get`. */
  async *iterate(options?: AcquireOptions): AsyncGenerator<T, void, undefined> {
    for (;;) {
      let item: T;
      try {
        item = await this.get(options);
      } catch (error) {
        if (error instanceof QueueShutDownError) return;
        throw error;
      }
      yield item;
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    return this.iterate();
  }

  /** Puts without waiting if possible: to a waiting getter, else into free room. */
  #offer(item: T): boolean {
    const getter = this.#getters.head;
    if (getter !== undefined) {
      getter.fulfil(item);
      return true;
    }
    if (this.size < this.#capacity) {
      this.#items.push(item);
      return true;
    }
    return false;
  }

  #take(): T {
    const item = this.#items[this.#head]!;
    this.#items[this.#head] = undefined as T;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    // Room was made: the oldest waiting put goes in.
    const putter = this.#putters.head;
    if (putter !== undefined) {
      this.#items.push(putter.data as T);
      putter.fulfil();
    }
    if (this.#state === CLOSED && this.size === 0) this.#getters.failAll(new QueueShutDownError());
    return item;
  }
}
