import { callerContext } from './caller.ts';
import type { Clock } from './clock.ts';
import {
  assertClock,
  assertCount,
  assertDuration,
  assertFunction,
  assertOptions,
  assertSignal,
  describe,
} from './internal/validate.ts';
import { attachSuppressed, isCancellation } from './errors.ts';
import { errorText } from './internal/error-text.ts';

/** What each attempt of {@link retry} receives. */
export interface RetryContext {
  /**
   * Aborts when the caller's effective signal aborts: the enclosing task's, joined with
   * the `signal` option. `undefined` outside any task when no `signal` was given.
   */
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
  /**
   * How many attempts in all (the first one included).
   * @default 3
   */
  attempts?: number | undefined;
  /**
   * The first wait in ms, and how it grows.
   * @default { initial: 100, factor: 2 }
   */
  backoff?: { initial?: number | undefined; factor?: number | undefined } | undefined;
  /**
   * `'full'`: wait a random time up to the backoff; `'equal'`: half fixed, half random;
   * `'none'`: the backoff itself.
   * @default 'full'
   */
  jitter?: 'full' | 'equal' | 'none' | undefined;
  /**
   * The longest wait, in ms.
   * @default 30000
   */
  maxDelay?: number | undefined;
  /**
   * Whether to retry after `error`. An error it throws fails the call, with the attempts'
   * error attached to it (see `suppressedErrors`).
   * @default retry every error but a cancellation
   */
  retryIf?: ((error: unknown, attempt: number) => boolean) | undefined;
  /**
   * Cancels the attempt in flight and the wait; no retry follows. Inside a task the task's
   * cancellation applies too: this signal adds to it.
   * @default undefined (inside a task: the task's signal)
   */
  signal?: AbortSignal | undefined;
  /** Called before each wait; an error it throws fails the call, as with `retryIf`. */
  onRetry?: ((event: RetryEvent) => void) | undefined;
  /**
   * Where the waits take their time from.
   * @default the calling task's clock, else `systemClock`
   */
  clock?: Clock | undefined;
  /**
   * A source of random numbers in [0, 1) for the jitter (seed it in tests). A value
   * outside [0, 1) fails the call with a `RangeError` naming `options.random`.
   * @default Math.random
   */
  random?: (() => number) | undefined;
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
    const text = errorText(last);
    super(errors, `Failed after ${errors.length} attempts; last: ${text}`, { cause: last });
    this.attempts = errors.length;
  }
}

const RETRY_KEYS: readonly string[] = [
  'attempts',
  'backoff',
  'jitter',
  'maxDelay',
  'retryIf',
  'signal',
  'onRetry',
  'clock',
  'random',
];
const BACKOFF_KEYS: readonly string[] = ['initial', 'factor'];

function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || isCancellation(error);
}

/**
 * Runs `fn` until it succeeds, up to `attempts` times, waiting between attempts with
 * exponential backoff and jitter. The wait is cancellable, and nothing is retried once
 * the signal aborts (the abort reason is raised). When the first attempt is the only
 * one, its error is raised as is; otherwise a {@link RetryError} holds every attempt's
 * error.
 *
 * Inside a weft task the task's cancellation applies without being passed, and an
 * explicit `signal` adds to it (never replaces it): a `timeout` around `retry` stops it.
 * An unknown option key (`retries` for `attempts`) is a `TypeError`, not ignored.
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
  assertOptions('options', options, RETRY_KEYS);
  assertOptions('options.backoff', options.backoff, BACKOFF_KEYS);
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
  if (options.random !== undefined) assertFunction('options.random', options.random);
  // Inside a task, an explicit signal adds to the task's (it never replaces it).
  using caller = callerContext({ signal: options.signal, clock: options.clock });
  const signal = caller.signal;
  const clock = caller.clock;
  const random = options.random ?? Math.random;

  const errors: unknown[] = [];
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn({ signal, attempt, clock });
    } catch (error) {
      if (isAbort(error, signal)) throw signal?.aborted ? signal.reason : error;
      errors.push(error);
      // What an option's function throws fails the call; the attempts' error is attached
      // to it, never dropped (review D6).
      const attemptsError = (): unknown => (errors.length === 1 ? error : new RetryError(errors));
      let again: boolean;
      try {
        again = attempt < attempts && (options.retryIf?.(error, attempt) ?? true);
      } catch (hook) {
        throw attachSuppressed(hook, attemptsError());
      }
      if (!again) throw attemptsError();
      const base = Math.min(maxDelay, initial * factor ** (attempt - 1));
      let delay = base;
      if (jitter !== 'none') {
        let r: number;
        try {
          r = random();
        } catch (hook) {
          throw attachSuppressed(hook, attemptsError());
        }
        if (typeof r !== 'number' || !(r >= 0 && r < 1)) {
          throw attachSuppressed(
            new RangeError(
              `Expected \`options.random\` to return a number from 0 up to (not including) 1, got ${describe(r)}`,
            ),
            attemptsError(),
          );
        }
        delay = jitter === 'full' ? r * base : base / 2 + (r * base) / 2;
      }
      try {
        options.onRetry?.({ attempt, error, delay });
      } catch (hook) {
        throw attachSuppressed(hook, attemptsError());
      }
      await clock.sleep(delay, signal);
    }
  }
}
