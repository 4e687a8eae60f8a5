/** Test helpers that work the same on Node, Bun and Deno (no module mocks). */

/** An AbortController whose signal counts its live 'abort' listeners. */
export function countingController(): {
  controller: AbortController;
  signal: AbortSignal;
  listeners: () => number;
  peak: () => number;
} {
  const controller = new AbortController();
  const signal = controller.signal;
  const live = new Set<unknown>();
  let peak = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((
    type: string,
    listener: EventListener,
    options?: AddEventListenerOptions,
  ) => {
    if (type === 'abort') {
      live.add(listener);
      peak = Math.max(peak, live.size);
    }
    add(type, listener, options);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((
    type: string,
    listener: EventListener,
    options?: EventListenerOptions,
  ) => {
    if (type === 'abort') live.delete(listener);
    remove(type, listener, options);
  }) as typeof signal.removeEventListener;
  return { controller, signal, listeners: () => live.size, peak: () => peak };
}

/** Records unhandled promise rejections while `fn` runs and one macrotask after it. */
export async function collectUnhandled(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onNode = (reason: unknown): void => {
    seen.push(reason);
  };
  const onWeb = (event: Event): void => {
    event.preventDefault();
    seen.push((event as PromiseRejectionEvent).reason);
  };
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  const isDeno = typeof (globalThis as { Deno?: unknown }).Deno === 'object';
  if (isDeno) globalThis.addEventListener('unhandledrejection', onWeb);
  else proc?.on('unhandledRejection', onNode);
  try {
    await fn();
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 0));
  } finally {
    if (isDeno) globalThis.removeEventListener('unhandledrejection', onWeb);
    else proc?.off('unhandledRejection', onNode);
  }
  return seen;
}

/** A deferred promise. */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending microtask and one macrotask run. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

// --- Fixtures of the async-iterable helper tests (iter/*.test.ts) ---

import { sleep as weftSleep } from '../src/sleep.ts';

/** What a {@link tracked} source recorded: items pulled, whether and how it was closed. */
export interface SourceState {
  pulled: number;
  closed: boolean;
  /** Whether its `finally` ran while a pull was pending (closed by `return()`). */
  returned: boolean;
}

/**
 * An async generator over `items` that records how it is consumed, sleeping `gap` ms
 * (weft `sleep`, so on the caller's clock and cancellable) before each item. `onClose`
 * runs in its `finally` (throw there to simulate a failing cleanup).
 */
export function tracked<T>(
  items: readonly T[],
  gap = 0,
  onClose?: () => void,
): { source: AsyncGenerator<T, void, undefined>; state: SourceState } {
  const state: SourceState = { pulled: 0, closed: false, returned: false };
  const source = (async function* () {
    let finished = false;
    try {
      for (const item of items) {
        if (gap > 0) await weftSleep(gap);
        state.pulled++;
        yield item;
      }
      finished = true;
    } finally {
      state.closed = true;
      state.returned = !finished;
      onClose?.();
    }
  })();
  return { source, state };
}

/** An endless source (one item every `gap` ms on the caller's clock) that records its use. */
export function ticking(gap: number): {
  source: AsyncGenerator<number, void, undefined>;
  state: SourceState;
} {
  const state: SourceState = { pulled: 0, closed: false, returned: false };
  const source = (async function* () {
    try {
      for (let i = 0; ; i++) {
        await weftSleep(gap);
        state.pulled++;
        yield i;
      }
    } finally {
      state.closed = true;
      state.returned = true;
    }
  })();
  return { source, state };
}

/** Every item of an async iterable, in order. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Lets microtasks and a few macrotasks run. */
export async function settleTicks(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await tick();
}

/** Node's process warnings emitted while `fn` runs (none on runtimes without them). */
export async function collectWarnings(fn: () => Promise<void>): Promise<Error[]> {
  const seen: Error[] = [];
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  const onWarning = (warning: Error): void => {
    seen.push(warning);
  };
  proc?.on?.('warning', onWarning);
  try {
    await fn();
    await tick();
  } finally {
    proc?.off?.('warning', onWarning);
  }
  return seen;
}
