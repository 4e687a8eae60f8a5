import { callerContext } from '@weft/core';
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
    const ctx = callerContext({ signal: options?.signal });
    const signal = ctx.signal;
    if (signal?.aborted) {
      ctx[Symbol.dispose]();
      return { waiter: undefined, promise: Promise.reject(signal.reason) };
    }
    let resolve!: (value: T) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const items = this.#items;
    const onAbort = (): void => {
      waiter.fail(signal?.reason);
      this.#onLeave();
    };
    const done = (): boolean => {
      if (waiter.settled) return false;
      waiter.settled = true;
      items.delete(waiter);
      signal?.removeEventListener('abort', onAbort);
      ctx[Symbol.dispose]();
      return true;
    };
    const waiter: Waiter<T, D> = {
      data,
      signal,
      deadline:
        ctx.deadline === Number.POSITIVE_INFINITY
          ? ctx.deadline
          : performance.now() + (ctx.deadline - ctx.clock.now()),
      settled: false,
      fulfil(value) {
        if (done()) resolve(value);
      },
      fail(error) {
        if (done()) reject(error);
      },
    };
    items.add(waiter);
    signal?.addEventListener('abort', onAbort, { once: true });
    return { waiter, promise };
  }

  failAll(error: unknown): void {
    for (const w of [...this.#items]) w.fail(error);
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
