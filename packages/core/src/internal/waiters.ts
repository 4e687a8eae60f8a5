import { currentContext } from './context.ts';
import { assertOptions, assertSignal } from './validate.ts';

/**
 * A FIFO list of pending waiters with O(1) removal, shared by every coordination
 * primitive. A waiter whose signal aborts leaves the list at once and rejects with the
 * signal's reason; settling a waiter removes its abort listener, so nothing is left on a
 * long-lived signal.
 */
export class Waiter<T> {
  prev: Waiter<T> | undefined;
  next: Waiter<T> | undefined;
  list: WaiterList<T> | undefined;
  resolve!: (value: T) => void;
  reject!: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  /** What the waiter asks for: an item to put, a cost… (primitive-specific). */
  data: unknown;

  /** Settles with `value` and leaves the list. */
  fulfil(value: T): void {
    this.list?.remove(this);
    this.#unlisten();
    this.resolve(value);
  }

  /** Settles with `error` and leaves the list. */
  fail(error: unknown): void {
    this.list?.remove(this);
    this.#unlisten();
    this.reject(error);
  }

  #unlisten(): void {
    if (this.onAbort !== undefined) {
      this.signal!.removeEventListener('abort', this.onAbort);
      this.onAbort = undefined;
    }
  }
}

export class WaiterList<T> {
  head: Waiter<T> | undefined;
  tail: Waiter<T> | undefined;
  size = 0;

  push(waiter: Waiter<T>): void {
    waiter.list = this;
    waiter.prev = this.tail;
    waiter.next = undefined;
    if (this.tail === undefined) this.head = waiter;
    else this.tail.next = waiter;
    this.tail = waiter;
    this.size++;
  }

  remove(waiter: Waiter<T>): void {
    if (waiter.list !== this) return;
    if (waiter.prev === undefined) this.head = waiter.next;
    else waiter.prev.next = waiter.next;
    if (waiter.next === undefined) this.tail = waiter.prev;
    else waiter.next.prev = waiter.prev;
    waiter.prev = waiter.next = waiter.list = undefined;
    this.size--;
  }

  /** Rejects every waiter with `error` (used by close/shutdown/abort). */
  failAll(error: unknown): void {
    while (this.head !== undefined) this.head.fail(error);
  }
}

/**
 * Enqueues a waiter and returns its promise. `onCancel` runs after a waiter left the
 * list because its signal aborted (so a primitive can hand on what it reserved).
 */
export function enqueue<T>(
  list: WaiterList<T>,
  signal: AbortSignal | undefined,
  data?: unknown,
  onCancel?: (waiter: Waiter<T>) => void,
): { promise: Promise<T>; waiter: Waiter<T> } {
  const waiter = new Waiter<T>();
  waiter.data = data;
  const promise = new Promise<T>((resolve, reject) => {
    waiter.resolve = resolve;
    waiter.reject = reject;
  });
  list.push(waiter);
  if (signal !== undefined) {
    waiter.signal = signal;
    waiter.onAbort = () => {
      waiter.onAbort = undefined;
      list.remove(waiter);
      waiter.reject(signal.reason);
      onCancel?.(waiter);
    };
    signal.addEventListener('abort', waiter.onAbort, { once: true });
  }
  return { promise, waiter };
}

/** The signal to honour: the explicit one, else the running task's (if any). */
export function callerSignal(signal: AbortSignal | undefined): AbortSignal | undefined {
  return signal ?? currentContext()?.signal;
}

/**
 * The preamble of every waiting method: validates `options`, and returns the signal to
 * honour — or a rejected promise to return at once when the options are invalid or the
 * signal already aborted.
 */
export function waitSignal(
  options: { signal?: AbortSignal } | undefined,
): AbortSignal | undefined | Promise<never> {
  try {
    assertOptions('options', options);
    assertSignal('options.signal', options?.signal);
  } catch (error) {
    return Promise.reject(error);
  }
  const signal = callerSignal(options?.signal);
  return signal?.aborted ? Promise.reject(signal.reason) : signal;
}
