import type { AcquireOptions, QueueLike } from './interfaces.ts';
import { enqueue, WaiterList, waitContext } from './internal/waiters.ts';
import { assertCount, assertOptions, describe } from './internal/validate.ts';

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
  /**
   * How many items it holds before `put` waits (backpressure).
   * @default Infinity
   */
  capacity?: number | undefined;
}

/** Options of {@link Queue.shutdown}. */
export interface ShutdownOptions {
  /**
   * Drop the items still queued and reject every pending `get` at once.
   * @default false
   */
  immediate?: boolean | undefined;
}

const QUEUE_KEYS: readonly string[] = ['capacity'];
const SHUTDOWN_KEYS: readonly string[] = ['immediate'];
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
export class Queue<T> implements QueueLike<T> {
  readonly #capacity: number;
  #items: T[] = [];
  #head = 0;
  #state = OPEN;
  readonly #getters: WaiterList<T> = new WaiterList();
  readonly #putters: WaiterList<void> = new WaiterList();
  // Items put and not yet marked done with taskDone() (Python's `unfinished_tasks`).
  #unfinished = 0;
  readonly #joiners: WaiterList<void> = new WaiterList();

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
    assertOptions('options', options, QUEUE_KEYS);
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
    const caller = waitContext(options);
    if (caller instanceof Promise) return caller;
    if (this.#state === CLOSED) {
      caller[Symbol.dispose]();
      return Promise.reject(new QueueShutDownError('Cannot put: the queue is closed'));
    }
    if (this.#offer(item)) {
      caller[Symbol.dispose]();
      return Promise.resolve();
    }
    return enqueue(this.#putters, caller, item).promise;
  }

  /** Adds `item` if there is room now; returns whether it did. Throws once closed. */
  tryPut(item: T): boolean {
    if (this.#state === CLOSED) throw new QueueShutDownError('Cannot put: the queue is closed');
    return this.#offer(item);
  }

  /** Takes the oldest item, waiting while the queue is empty. */
  get(options?: AcquireOptions): Promise<T> {
    const caller = waitContext(options);
    if (caller instanceof Promise) return caller;
    if (this.size > 0 || this.#state === CLOSED) {
      caller[Symbol.dispose]();
      if (this.size > 0) return Promise.resolve(this.#take());
      return Promise.reject(new QueueShutDownError());
    }
    return enqueue(this.#getters, caller).promise;
  }

  /** Takes the oldest item if there is one: `{ value }`, else `undefined`. Never waits. */
  tryGet(): { value: T } | undefined {
    return this.size > 0 ? { value: this.#take() } : undefined;
  }

  /** How many items were put and not yet marked done with {@link Queue.taskDone}. */
  get unfinished(): number {
    return this.#unfinished;
  }

  /**
   * Marks one item taken from the queue as processed (Python's `task_done()`): every
   * item put counts as unfinished until a `taskDone()` call, and {@link Queue.join}
   * waits until none is. Throws a `RangeError` when called more times than items were
   * put, since that is always a bug.
   */
  taskDone(): void {
    if (this.#unfinished === 0) {
      throw new RangeError('taskDone() was called more times than items were put');
    }
    if (--this.#unfinished === 0) this.#wakeJoiners();
  }

  /**
   * Waits until every item put has been marked done with {@link Queue.taskDone}
   * (Python's `join()`); resolves at once when none is unfinished. Rejects with the
   * signal's reason when it aborts first (inside a task: also when the task is
   * cancelled).
   *
   * @example
   * ```ts
   * import { Queue, scope } from '@weft/core';
   *
   * const jobs = new Queue<string>();
   * await scope(async (s) => {
   *   s.spawn(async () => {
   *     for await (const job of jobs) {
   *       await handle(job);
   *       jobs.taskDone();
   *     }
   *   });
   *   for (const job of ['a', 'b']) await jobs.put(job);
   *   await jobs.join(); // both handled
   *   jobs.close();
   * });
   * ```
   */
  join(options?: AcquireOptions): Promise<void> {
    const caller = waitContext(options);
    if (caller instanceof Promise) return caller;
    if (this.#unfinished === 0) {
      caller[Symbol.dispose]();
      return Promise.resolve();
    }
    return enqueue(this.#joiners, caller).promise;
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
    assertOptions('options', options, SHUTDOWN_KEYS);
    if (options.immediate !== undefined && typeof options.immediate !== 'boolean') {
      throw new TypeError(
        `Expected \`options.immediate\` to be a boolean, got ${describe(options.immediate)}`,
      );
    }
    this.#state = CLOSED;
    this.#putters.failAll(new QueueShutDownError('Cannot put: the queue was shut down'));
    if (options.immediate) {
      // As in Python 3.13: the dropped items count as done, so join() does not hang.
      this.#unfinished = Math.max(0, this.#unfinished - this.size);
      this.#items = [];
      this.#head = 0;
      if (this.#unfinished === 0) this.#wakeJoiners();
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
      this.#unfinished++;
      getter.fulfil(item);
      return true;
    }
    if (this.size < this.#capacity) {
      this.#unfinished++;
      this.#items.push(item);
      return true;
    }
    return false;
  }

  #wakeJoiners(): void {
    while (this.#joiners.head !== undefined) this.#joiners.head.fulfil();
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
      this.#unfinished++;
      this.#items.push(putter.data as T);
      putter.fulfil();
    }
    if (this.#state === CLOSED && this.size === 0) this.#getters.failAll(new QueueShutDownError());
    return item;
  }
}
