import { type CallerContext, callerContext } from '@weft/core';
import { assertOptions } from './validate.ts';

/**
 * One local waiter: what it asks for, how to settle it. Its effective signal comes from
 * `callerContext` (the enclosing task's signal and deadline, plus an explicit signal).
 */
export interface Waiter<T, D> {
  readonly data: D;
  readonly signal: AbortSignal | undefined;
  /** The enclosing scopes' deadline on `performance.now()`'s scale; `Infinity` if none. */
  readonly deadline: number;
  settled: boolean;
  /**
   * Set while the waiter's own command is in flight, when a cancellation must wait for its
   * outcome (a put that may have added its message): the abort then only sets `cancelled`,
   * and whoever set `hold` settles the waiter.
   */
  hold: boolean;
  /** Whether the signal aborted (or {@link WaitList.cancelAll} ran) while `hold` was set. */
  readonly cancelled: boolean;
  /** Why it was cancelled: the signal's reason, or the error given to `cancelAll`. */
  readonly reason: unknown;
  fulfil(value: T): void;
  fail(error: unknown): void;
}

/**
 * A FIFO of local waiters. A waiter whose signal aborts leaves at once and rejects with
 * the reason; settling removes the abort listener and disposes the caller context.
 */
export class WaitList<T, D> {
  readonly #items = new Set<Waiter<T, D>>();
  readonly #onLeave: () => void;

  /** `onLeave` runs after a waiter left because it was cancelled. */
  constructor(onLeave: () => void) {
    this.#onLeave = onLeave;
  }

  get size(): number {
    return this.#items.size;
  }

  get head(): Waiter<T, D> | undefined {
    for (const w of this.#items) return w;
    return undefined;
  }

  [Symbol.iterator](): IterableIterator<Waiter<T, D>> {
    return this.#items.values();
  }

  /**
   * Adds a waiter for `data` with the caller's signal, or rejects at once if that signal
   * already aborted. `known` are the option keys the caller accepts.
   */
  add(
    name: string,
    options: { signal?: AbortSignal | undefined } | undefined,
    known: readonly string[],
    data: D,
  ): { waiter: Waiter<T, D> | undefined; promise: Promise<T> } {
    assertOptions(name, options, known);
    const ctx = callerContext(
      options?.signal === undefined ? undefined : { signal: options.signal },
    );
    const signal = ctx.signal;
    if (signal?.aborted) {
      ctx[Symbol.dispose]();
      return { waiter: undefined, promise: Promise.reject(signal.reason) };
    }
    const waiter = new Entry<T, D>(this.#items, data, ctx, this.#onLeave);
    this.#items.add(waiter);
    if (signal !== undefined) signal.addEventListener('abort', waiter, { once: true });
    return { waiter, promise: waiter.promise };
  }

  failAll(error: unknown): void {
    for (const w of [...this.#items]) w.fail(error);
  }

  /**
   * As `failAll`, except that a waiter whose command is in flight (`hold`) is only marked
   * cancelled with `error`: whoever set `hold` settles it from the command's outcome.
   */
  cancelAll(error: unknown): void {
    for (const w of [...this.#items]) {
      if (w.hold) (w as Entry<T, D>).cancel(error);
      else w.fail(error);
    }
  }
}

// One waiter. It is its own abort listener (`handleEvent`): no closures to allocate.
class Entry<T, D> implements Waiter<T, D> {
  readonly data: D;
  readonly signal: AbortSignal | undefined;
  readonly deadline: number;
  settled = false;
  hold = false;
  cancelled = false;
  reason: unknown;
  readonly promise: Promise<T>;
  readonly #items: Set<Waiter<T, D>>;
  readonly #ctx: CallerContext;
  readonly #onLeave: () => void;
  #resolve!: (value: T) => void;
  #reject!: (error: unknown) => void;

  constructor(items: Set<Waiter<T, D>>, data: D, ctx: CallerContext, onLeave: () => void) {
    this.#items = items;
    this.data = data;
    this.#ctx = ctx;
    this.signal = ctx.signal;
    this.#onLeave = onLeave;
    this.deadline =
      ctx.deadline === Number.POSITIVE_INFINITY
        ? ctx.deadline
        : performance.now() + (ctx.deadline - ctx.clock.now());
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  // The signal aborted: leave with its reason.
  handleEvent(): void {
    if (this.hold) {
      this.cancel(this.signal?.reason);
      return;
    }
    this.fail(this.signal?.reason);
    this.#onLeave();
  }

  // Marks a waiter whose command is in flight cancelled (the first reason wins).
  cancel(reason: unknown): void {
    if (this.cancelled || this.settled) return;
    this.cancelled = true;
    this.reason = reason;
  }

  fulfil(value: T): void {
    if (this.#done()) this.#resolve(value);
  }

  fail(error: unknown): void {
    if (this.#done()) this.#reject(error);
  }

  #done(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.#items.delete(this);
    this.signal?.removeEventListener('abort', this);
    this.#ctx[Symbol.dispose]();
    return true;
  }
}

/** A cancellable timer; `cancel()` clears it. */
export function timer(ms: number, fn: () => void): () => void {
  const id = setTimeout(fn, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
  return () => clearTimeout(id);
}

/** A small random delay so that processes woken together do not all hit Redis at once. */
export function jitter(ms: number): number {
  return Math.random() * Math.min(5, 1 + ms / 20);
}
