import { type CallerContext, callerContext } from '../caller.ts';
import type { RunContext } from '../interfaces.ts';
import { assertOptions } from './validate.ts';

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
  /** The caller context whose listeners go when the waiter settles. */
  caller: Disposable | undefined;
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
    if (this.caller !== undefined) {
      this.caller[Symbol.dispose]();
      this.caller = undefined;
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
 * Enqueues a waiter and returns its promise. `caller` is a {@link CallerContext} (or a
 * bare signal) to wait with; a context is disposed when the waiter settles. `onCancel`
 * runs after a waiter left the list because its signal aborted (so a primitive can hand
 * on what it reserved).
 */
export function enqueue<T>(
  list: WaiterList<T>,
  caller: CallerContext | AbortSignal | undefined,
  data?: unknown,
  onCancel?: (waiter: Waiter<T>) => void,
): { promise: Promise<T>; waiter: Waiter<T> } {
  const waiter = new Waiter<T>();
  waiter.data = data;
  let signal: AbortSignal | undefined;
  if (caller === undefined || isSignal(caller)) signal = caller;
  else {
    signal = caller.signal;
    waiter.caller = caller;
  }
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
      waiter.caller?.[Symbol.dispose]();
      waiter.caller = undefined;
      waiter.reject(signal.reason);
      onCancel?.(waiter);
    };
    signal.addEventListener('abort', waiter.onAbort, { once: true });
  }
  return { promise, waiter };
}

/**
 * The preamble of every waiting method: validates `options` (only `known` keys), and
 * works out the caller's effective signal through {@link callerContext} (inside a task an
 * explicit signal adds to the task's). Returns the context to wait with — dispose it when
 * the wait ends (a waiter does so when it settles) — or a rejected promise to return at
 * once when the options are invalid or the signal already aborted.
 */
export function waitContext(
  options: { signal?: AbortSignal | undefined } | undefined,
  known: readonly string[] = SIGNAL_ONLY,
): CallerContext | Promise<never> {
  let ctx: CallerContext;
  try {
    assertOptions('options', options, known);
    ctx = callerContext(options?.signal === undefined ? undefined : { signal: options.signal });
  } catch (error) {
    return Promise.reject(error);
  }
  const signal = ctx.signal;
  if (signal?.aborted) {
    ctx[Symbol.dispose]();
    return Promise.reject(signal.reason);
  }
  return ctx;
}

const SIGNAL_ONLY: readonly string[] = ['signal'];

function isSignal(value: CallerContext | AbortSignal): value is AbortSignal {
  return typeof (value as AbortSignal).addEventListener === 'function';
}

/**
 * The {@link RunContext} that `run(fn)` passes to `fn`: the caller's effective signal, or
 * (when there is none) a fresh signal that never aborts, created only if `fn` reads it.
 */
export function runContext(signal: AbortSignal | undefined): RunContext {
  if (signal !== undefined) return { signal };
  let own: AbortSignal | undefined;
  return {
    get signal(): AbortSignal {
      own ??= new AbortController().signal;
      return own;
    },
  };
}
