import { errorText } from './internal/error-text.ts';
/**
 * The error a task sees when it is cancelled: its scope was cancelled, a sibling failed,
 * or someone called `task.cancel()`.
 *
 * Its `name` is `'AbortError'`, the name the platform gives to aborted operations
 * (`fetch`, `AbortSignal.abort()`), so existing `err.name === 'AbortError'` checks keep
 * working. When a scope cancels its tasks because one of them failed, `cause` holds that
 * failure.
 *
 * @example
 * ```ts
 * import { CancelledError, scope } from '@weft/core';
 *
 * const s = new AbortController();
 * s.abort(new CancelledError('shutting down'));
 * ```
 */
export class CancelledError extends Error {
  override readonly name: 'AbortError' = 'AbortError';

  constructor(message = 'The operation was cancelled', options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * Raised when a `timeout`, `deadline` or scope `timeout` expires. The signal of the work
 * that overran is aborted with this same error, so the work can tell a timeout from
 * other cancellations.
 *
 * Its `name` is `'TimeoutError'`, like the `DOMException` that `AbortSignal.timeout()`
 * produces.
 *
 * @example
 * ```ts
 * import { timeout, TimeoutError } from '@weft/core';
 *
 * try {
 *   await timeout(10, ({ signal }) => fetch('http://127.0.0.1:8080/slow', { signal }));
 * } catch (err) {
 *   if (err instanceof TimeoutError) console.log(`gave up after ${err.timeout} ms`);
 * }
 * ```
 */
export class TimeoutError extends Error {
  override readonly name: 'TimeoutError' = 'TimeoutError';
  /** The duration that expired, in milliseconds, when it is known. */
  readonly timeout: number | undefined;

  constructor(message = 'The operation timed out', options?: ErrorOptions & { timeout?: number }) {
    super(message, options);
    this.timeout = options?.timeout;
  }
}

/**
 * The rejection of a scope in which one or more tasks (or the body) failed. `errors` holds
 * every failure in the order they happened; cancellations caused by the scope itself are
 * left out. Extends `AggregateError`.
 *
 * @example
 * ```ts
 * import { scope, TaskGroupError } from '@weft/core';
 *
 * try {
 *   await scope(async (s) => {
 *     s.spawn(async () => { throw new Error('a'); });
 *   });
 * } catch (err) {
 *   if (err instanceof TaskGroupError) console.log(err.errors.map(String));
 * }
 * ```
 */
export class TaskGroupError extends AggregateError {
  override readonly name: 'TaskGroupError' = 'TaskGroupError';

  constructor(errors: readonly unknown[], scopeName?: string) {
    const first = errors[0];
    const what = errors.length === 1 ? '1 task failed' : `${errors.length} tasks failed`;
    const where = scopeName ? ` in scope "${scopeName}"` : '';
    const firstText = errorText(first);
    super(errors, `${what}${where}; first: ${firstText}`);
  }
}

/**
 * Tells whether `err` is a cancellation: a weft `CancelledError` or any error named
 * `'AbortError'` (such as the `DOMException` that `fetch` rejects with when aborted).
 * A `TimeoutError` is not a cancellation by itself: it is the failure a caller sees.
 * A `SuppressedError` (what `await using` throws when a disposer throws while the block
 * is already throwing) is a cancellation when both its `error` and `suppressed` are: a
 * disposer that waits in `shield` re-raises the cancellation the block is unwinding from.
 *
 * @example
 * ```ts
 * import { isCancellation } from '@weft/core';
 *
 * try {
 *   await work();
 * } catch (err) {
 *   if (!isCancellation(err)) report(err);
 *   throw err;
 * }
 * ```
 */
export function isCancellation(err: unknown): boolean {
  return isCancellationOf(err, NO_REASON);
}

const NO_REASON: unique symbol = Symbol('no reason');

interface SuppressedPair {
  error: unknown;
  suppressed: unknown;
}

/**
 * A native `SuppressedError` (or a lowered one: same name and fields), as `await using`
 * makes when a disposer throws while the block is already throwing.
 */
function isSuppressedPair(err: unknown): err is SuppressedPair {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { name?: unknown }).name === 'SuppressedError' &&
    'error' in err &&
    'suppressed' in err
  );
}

/**
 * Whether `err` is a cancellation, or `reason` itself (a scope's or task's own abort
 * reason, such as a `TimeoutError`). A `SuppressedError` counts when both its parts do:
 * an `await using` block unwinding from a cancellation whose disposer re-raised it (a
 * `shield` inside `[Symbol.asyncDispose]` does) is still that cancellation, not a failure.
 * A real error on either side keeps it a failure.
 * @internal
 */
export function isCancellationOf(err: unknown, reason: unknown): boolean {
  try {
    return cancellationOf(err, reason);
  } catch {
    // A value whose inspection throws (a Proxy's traps, a `name` getter) is no cancellation.
    return false;
  }
}

function cancellationOf(err: unknown, reason: unknown): boolean {
  for (let depth = 0; depth < 32; depth++) {
    if (err === reason || err instanceof CancelledError) return true;
    if (
      typeof err === 'object' &&
      err !== null &&
      (err as { name?: unknown }).name === 'AbortError'
    ) {
      return true;
    }
    if (!isSuppressedPair(err) || !cancellationOf(err.error, reason)) return false;
    err = err.suppressed;
  }
  return false;
}

/**
 * Unwraps a `TaskGroupError` that holds exactly one error, recursively, and returns that
 * error; returns anything else unchanged. Use it where only one task can fail and the
 * group wrapper is noise (anyio#668).
 *
 * @example
 * ```ts
 * import { scope, unwrapError } from '@weft/core';
 *
 * try {
 *   await scope(async (s) => { s.spawn(() => load()); });
 * } catch (err) {
 *   throw unwrapError(err); // the error `load` threw, not a one-element group
 * }
 * ```
 */
export function unwrapError(err: unknown): unknown {
  let current = err;
  while (current instanceof TaskGroupError && current.errors.length === 1) {
    current = current.errors[0];
  }
  return current;
}

// Secondary errors (a cleanup that failed while a primary error was already on its way)
// recorded against the primary error, keyed weakly so frozen errors work too and nothing
// is kept alive.
const suppressedByError = new WeakMap<object, unknown[]>();

/**
 * Raised instead of a non-object primary error (a thrown string) that had cleanup errors
 * attached to it: `error` is the primary error, `suppressed` the cleanup errors. Mirrors
 * the standard `SuppressedError` without relying on a global that Node 20 lacks.
 *
 * @example
 * ```ts
 * import { suppressedErrors, WeftSuppressedError } from '@weft/core';
 *
 * const err = new WeftSuppressedError('boom', [new Error('close failed')]);
 * console.log(err.error, suppressedErrors(err).length); // 'boom' 1
 * ```
 */
export class WeftSuppressedError extends Error {
  override readonly name: 'SuppressedError' = 'SuppressedError';
  readonly error: unknown;
  readonly suppressed: readonly unknown[];

  constructor(error: unknown, suppressed: readonly unknown[]) {
    super(`${errorText(error)} (and ${suppressed.length} cleanup error(s) while handling it)`);
    this.error = error;
    this.suppressed = suppressed;
  }
}

/**
 * Records `secondary` (e.g. an error thrown by a source's `finally` while weft closed it
 * after a failure) on `primary` and returns the error to throw. The primary error wins:
 * it is returned as itself when it is an object, and `suppressedErrors(primary)` lists the
 * secondary ones; a primitive primary comes back wrapped in a {@link WeftSuppressedError}.
 * Nothing is dropped.
 */
export function attachSuppressed(primary: unknown, secondary: unknown): unknown {
  if (primary === secondary) return primary;
  if ((typeof primary === 'object' && primary !== null) || typeof primary === 'function') {
    const list = suppressedByError.get(primary);
    if (list === undefined) suppressedByError.set(primary, [secondary]);
    else list.push(secondary);
    return primary;
  }
  const wrapped = new WeftSuppressedError(primary, [secondary]);
  suppressedByError.set(wrapped, [secondary]);
  return wrapped;
}

/**
 * The secondary errors weft attached to `error` because they happened while `error` was
 * already being raised (cleanup that failed after a timeout, a source whose `finally`
 * threw after the loop failed). Empty when there are none.
 *
 * @example
 * ```ts
 * import { suppressedErrors } from '@weft/core';
 *
 * try {
 *   await work();
 * } catch (err) {
 *   for (const cleanup of suppressedErrors(err)) console.warn('also failed:', cleanup);
 *   throw err;
 * }
 * ```
 */
export function suppressedErrors(error: unknown): readonly unknown[] {
  if ((typeof error === 'object' && error !== null) || typeof error === 'function') {
    return suppressedByError.get(error) ?? [];
  }
  return [];
}

/**
 * weft's one internal unwrap rule for helpers that run a single piece of work (`timeout`,
 * `deadline`, `moveOnAfter`, `shield`, `run`): a `TaskGroupError` holding exactly one
 * error becomes that error (one level only: a group the work itself threw stays intact);
 * anything else comes back unchanged. Not exported from the package.
 */
export function unwrapSingle(err: unknown): unknown {
  return err instanceof TaskGroupError && err.errors.length === 1 ? err.errors[0] : err;
}

/**
 * The rule of `gather` and `map` (asyncio.gather): a `TaskGroupError` becomes its first
 * error, with the later ones attached to it (`suppressedErrors`), never dropped; anything
 * else comes back unchanged. Not exported from the package.
 */
export function firstError(err: unknown): unknown {
  if (!(err instanceof TaskGroupError)) return err;
  let first = err.errors[0];
  for (let i = 1; i < err.errors.length; i++) first = attachSuppressed(first, err.errors[i]);
  return first;
}

// Cancellation reasons the program asked for itself (`task.cancel()`, `scope.cancel()`):
// a rejection with one of them is never a failure of an enclosing scope (as in Trio,
// where a cancel scope catches its own cancellation). Weak, so nothing is kept alive.
const requested = new WeakSet<object>();

/** Records `reason` as a cancellation the program requested and returns it. Internal. */
export function markRequested(reason: unknown): unknown {
  if ((typeof reason === 'object' && reason !== null) || typeof reason === 'function') {
    requested.add(reason);
  }
  return reason;
}

/** Whether `error` is a cancellation reason the program requested. Internal. */
export function isRequested(error: unknown): boolean {
  return (typeof error === 'object' && error !== null) || typeof error === 'function'
    ? requested.has(error)
    : false;
}
