import { type Clock, systemClock } from './clock.ts';
import { currentContext } from './internal/context.ts';
import {
  assertClock,
  assertCount,
  assertDuration,
  assertFunction,
  assertOptions,
  assertSignal,
  describe,
} from './internal/validate.ts';

/** What each attempt of {@link retry} receives. */
export interface RetryContext {
  /** Aborts when the caller's signal aborts. */
  readonly signal: AbortSignal | undefined;
  /** 1 for the first attempt. */
  readonly attempt: number;
  readonly clock: Clock;
}

/** Passed to `onRetry` before each wait. */
export interface RetryEvent {
  /** The attempt that failed (1-based). */
  attempt: number;
  error: unknown;
  /** How long the wait before the next attempt is, in ms. */
  delay: number;
}

/** Options of {@link retry}. */
export interface RetryOptions {
  /** How many attempts in all (the first one included). Default 3. */
  attempts?: number;
  /** The first wait in ms, and how it grows: `{ initial: 100, factor: 2 }` by default. */
  backoff?: { initial?: number; factor?: number };
  /** `'full'` (default): wait a random time up to the backoff; `'equal'`: half fixed, half random; `'none'`. */
  jitter?: 'full' | 'equal' | 'none';
  /** The longest wait, in ms. Default 30,000. */
  maxDelay?: number;
  /** Whether to retry after `error` (default: yes, unless it is a cancellation). */
  retryIf?: (error: unknown, attempt: number) => boolean;
  /** Cancels the attempt in flight and the wait; no retry follows. Inside a task: its signal. */
  signal?: AbortSignal;
  /** Called before each wait. */
  onRetry?: (event: RetryEvent) => void;
  /** Where the waits take their time from. Inside a task: its clock. */
  clock?: Clock;
  /** A source of random numbers in [0, 1) for the jitter (seed it in tests). */
  random?: () => number;
}

/**
 * The error {@link retry} rejects with when every attempt failed, or a later attempt
 * failed with an error that `retryIf` refused. `errors` holds each attempt's error in
 * order; `cause` is the last one.
 *
 * @example
 * ```ts
 * import { retry, RetryError } from '@weft/core';
 *
 * try {
 *   await retry(() => fetch('http://127.0.0.1:8080/down'), { attempts: 3 });
 * } catch (err) {
 *   if (err instanceof RetryError) console.log(err.errors.length, err.cause); // 3, the last error
 * }
 * ```
 */
export class RetryError extends AggregateError {
  override readonly name: string = 'RetryError';
  readonly attempts: number;

  constructor(errors: unknown[]) {
    const last = errors.at(-1);
    const text = last instanceof Error ? `${last.name}: ${last.message}` : String(last);
    super(errors, `Failed after ${errors.length} attempts; last: ${text}`, { cause: last });
    this.attempts = errors.length;
  }
}

function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (error as { name?: unknown } | null)?.name === 'AbortError';
}

/**
 * Runs `fn` until it succeeds, up to `attempts` times, waiting between attempts with
 * exponential backoff and jitter. The wait is cancellable, and nothing is retried once
 * the signal aborts (the abort reason is raised). When the first attempt is the only
 * one, its error is raised as is; otherwise a {@link RetryError} holds every attempt's
 * error.
 *
 * @example
 * ```ts
 * import { retry } from '@weft/core';
 *
 * const res = await retry(({ signal }) => fetch('http://127.0.0.1:8080/flaky', { signal }), {
 *   attempts: 5,
 *   backoff: { initial: 200, factor: 2 },
 *   retryIf: (err) => err instanceof TypeError, // network errors only
 * });
 * ```
 */
export async function retry<T>(
  fn: (ctx: RetryContext) => T | PromiseLike<T>,
  options: RetryOptions = {},
): Promise<T> {
  assertFunction('fn', fn);
  assertOptions('options', options);
  const attempts = options.attempts ?? 3;
  assertCount('options.attempts', attempts);
  const initial = options.backoff?.initial ?? 100;
  const factor = options.backoff?.factor ?? 2;
  assertDuration('options.backoff.initial', initial);
  if (typeof factor !== 'number' || !(factor >= 1)) {
    throw new RangeError(
      `Expected \`options.backoff.factor\` to be a number from 1 up, got ${describe(factor)}`,
    );
  }
  const maxDelay = options.maxDelay ?? 30_000;
  assertDuration('options.maxDelay', maxDelay);
  const jitter = options.jitter ?? 'full';
  if (jitter !== 'full' && jitter !== 'equal' && jitter !== 'none') {
    throw new TypeError(
      `Expected \`options.jitter\` to be 'full', 'equal' or 'none', got ${describe(jitter)}`,
    );
  }
  if (options.retryIf !== undefined) assertFunction('options.retryIf', options.retryIf);
  if (options.onRetry !== undefined) assertFunction('options.onRetry', options.onRetry);
  assertSignal('options.signal', options.signal);
  assertClock('options.clock', options.clock);
  const ctx = currentContext();
  const signal = options.signal ?? ctx?.signal;
  const clock = options.clock ?? ctx?.clock ?? systemClock;
  const random = options.random ?? Math.random;

  const errors: unknown[] = [];
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn({ signal, attempt, clock });
    } catch (error) {
      if (isAbort(error, signal)) throw signal?.aborted ? signal.reason : error;
      errors.push(error);
      const again = attempt < attempts && (options.retryIf?.(error, attempt) ?? true);
      if (!again) throw errors.length === 1 ? error : new RetryError(errors);
      const base = Math.min(maxDelay, initial * factor ** (attempt - 1));
      const delay =
        jitter === 'full'
          ? random() * base
          : jitter === 'equal'
            ? base / 2 + (random() * base) / 2
            : base;
      options.onRetry?.({ attempt, error, delay });
      await clock.sleep(delay, signal);
    }
  }
}
