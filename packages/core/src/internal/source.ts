import { abortable, isThenable } from './abortable.ts';
import { noop } from './schedule.ts';
import { attachSuppressed } from '../errors.ts';
import { describe } from './validate.ts';

/** An async iterator being consumed, with what is needed to close it safely. */
export interface Source<T> {
  readonly iterator: AsyncIterator<T> | Iterator<T>;
  /** The raw `next()` promise in flight, if any. */
  inflight: Promise<unknown> | undefined;
  /** The source ended (or failed) on its own: nothing to close. */
  done: boolean;
  /** Whether it is an async iterator (its `next()` may not overlap). */
  readonly async: boolean;
}

/** Throws a `TypeError` naming `name` unless `source` is an async iterable or an iterable. */
export function assertIterable(name: string, source: unknown): void {
  if (source !== null && source !== undefined) {
    if (typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') return;
    if (typeof (source as Iterable<unknown>)[Symbol.iterator] === 'function') return;
  }
  throw new TypeError(
    `Expected \`${name}\` to be an async iterable or iterable, got ${describe(source)}`,
  );
}

/** Opens `source` (calls its iterator method); a `TypeError` naming `name` if it has none. */
export function openSource<T>(name: string, source: AsyncIterable<T> | Iterable<T>): Source<T> {
  if (source !== null && source !== undefined) {
    const asyncIt = (source as AsyncIterable<T>)[Symbol.asyncIterator];
    if (typeof asyncIt === 'function')
      return { iterator: asyncIt.call(source), inflight: undefined, done: false, async: true };
    const syncIt = (source as Iterable<T>)[Symbol.iterator];
    if (typeof syncIt === 'function')
      return { iterator: syncIt.call(source), inflight: undefined, done: false, async: false };
  }
  throw new TypeError(
    `Expected \`${name}\` to be an async iterable or iterable, got ${describe(source)}`,
  );
}

/**
 * Pulls the next value. From a sync iterator it returns the step as is (no promise). From
 * an async one, with a signal, it rejects as soon as the signal aborts even when the
 * source is stuck in an await that ignores cancellation (its `next()` keeps running and is
 * observed, so its outcome is never unhandled).
 */
export function pull<T>(
  src: Source<T>,
  signal: AbortSignal | undefined,
): IteratorResult<T> | Promise<IteratorResult<T>> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  let step: IteratorResult<T> | Promise<IteratorResult<T>>;
  try {
    step = src.iterator.next();
  } catch (error) {
    src.done = true;
    throw error;
  }
  if (!isThenable(step)) {
    if (step.done) src.done = true;
    return step;
  }
  return pullAsync(src, Promise.resolve(step), signal);
}

/**
 * A `pull` for several concurrent consumers: calls on an async source are chained so that
 * its `next()` calls never overlap; a sync source is pulled directly.
 */
export function serialPull<T>(
  src: Source<T>,
): (signal: AbortSignal) => IteratorResult<T> | Promise<IteratorResult<T>> {
  if (!src.async) return (signal) => pull(src, signal);
  let pulling: Promise<unknown> = Promise.resolve();
  return (signal) => {
    const step = pulling.then(() => pull(src, signal));
    pulling = step.then(noop, noop);
    return step;
  };
}

async function pullAsync<T>(
  src: Source<T>,
  raw: Promise<IteratorResult<T>>,
  signal: AbortSignal | undefined,
): Promise<IteratorResult<T>> {
  src.inflight = raw;
  const clear = (): void => {
    if (src.inflight === raw) src.inflight = undefined;
  };
  raw.then(clear, clear);
  try {
    const step = await (signal === undefined ? raw : abortable(raw, signal));
    if (step.done) src.done = true;
    return step;
  } catch (error) {
    if (src.inflight === undefined && !signal?.aborted) src.done = true; // the source threw
    throw error;
  }
}

/**
 * Closes the source (`return()`) unless it ended by itself. When a `next()` is still in
 * flight (the source is stuck in an await), `return()` is requested for when it gets
 * there, without waiting for it: the caller ends promptly, and nothing is unhandled.
 */
export async function closeSource<T>(src: Source<T>): Promise<void> {
  if (src.done) return;
  src.done = true;
  const iterator = src.iterator as AsyncIterator<T>;
  if (typeof iterator.return !== 'function') return;
  if (src.inflight !== undefined) {
    const closeLater = (): Promise<void> => Promise.resolve(iterator.return!()).then(noop, noop);
    src.inflight.then(closeLater, noop);
    return;
  }
  await iterator.return();
}

/**
 * Closes `src` after a loop over it ended; an error from closing is attached to the
 * loop's own error when it had one (the primary error wins), else raised.
 */
export async function closeSourceAfter<T>(
  src: Source<T>,
  failure: { error: unknown } | undefined,
): Promise<void> {
  try {
    await closeSource(src);
  } catch (cleanup) {
    if (failure === undefined) throw cleanup;
    throw attachSuppressed(failure.error, cleanup);
  }
}
