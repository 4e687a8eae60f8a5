import { noop } from './schedule.ts';

/**
 * Settles like `promise`, or rejects with `signal.reason` as soon as `signal` aborts.
 * The promise is observed, not owned: a later rejection of it is handled, never left
 * unhandled; the abort listener is removed once either side settles. With `onAbort`, the
 * caller takes over the abandoned promise instead: `onAbort` runs when the signal wins
 * (at once if it already has), before the rejection.
 */
export function abortable<T>(
  promise: PromiseLike<T>,
  signal: AbortSignal,
  onAbort?: () => void,
): Promise<T> {
  if (signal.aborted) {
    if (onAbort === undefined) Promise.resolve(promise).then(noop, noop);
    else onAbort();
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => {
      onAbort?.();
      reject(signal.reason);
    };
    signal.addEventListener('abort', abort, { once: true });
    Promise.resolve(promise).then(
      (value) => {
        signal.removeEventListener('abort', abort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(error);
      },
    );
  });
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
