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
