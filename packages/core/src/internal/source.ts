import { abortable, isThenable } from './abortable.ts';
import { macrotask, noop } from './schedule.ts';
import { attachSuppressed, isCancellation } from '../errors.ts';
import { describe } from './validate.ts';

/** An async iterator being consumed, with what is needed to close it safely. */
export interface Source<T> {
  /**
   * The iterator, opened (the source's iterator method called) on first access: the first
   * pull, or a close before any (the helper owns its source, and closes it).
   */
  readonly iterator: AsyncIterator<T> | Iterator<T>;
  /** The raw `next()` promise in flight, if any. */
  inflight: Promise<unknown> | undefined;
  /** The source ended (or failed) on its own: nothing to close. */
  done: boolean;
  /** Whether it is an async iterator (its `next()` may not overlap). */
  readonly async: boolean;
  /**
   * A failure of a `next()` that settled after its pull was abandoned (the signal aborted
   * first): typically the source's `finally` throwing while it was being cancelled.
   * Raised by `closeSource`, so it is never lost.
   */
  late?: { error: unknown } | undefined;
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

/**
 * The async iterator of `source`: for a `ReadableStream`, one over a reader of its own
 * (see {@link readStream}); else its `[Symbol.asyncIterator]()`. `undefined` if it has none.
 */
export function asyncIteratorOf<T>(source: unknown): AsyncIterator<T> | undefined {
  if (source === null || source === undefined) return undefined;
  if (typeof ReadableStream === 'function' && source instanceof ReadableStream) {
    return readStream(source as ReadableStream<T>);
  }
  const asyncIt = (source as AsyncIterable<T>)[Symbol.asyncIterator];
  if (typeof asyncIt !== 'function') return undefined;
  const iterator = asyncIt.call(source) as AsyncIterator<T>;
  return isNodeReadable(source) ? readNodeStream(source, iterator) : iterator;
}

/** The part of a Node.js `Readable` (node:stream, also in Bun and Deno) that weft uses. */
interface NodeReadableLike {
  destroy(error?: Error): unknown;
}

/**
 * Whether `source` is a Node.js `stream.Readable` (a socket, a request body, an objectMode
 * stream…), by duck typing: core imports nothing from `node:` so that it runs anywhere.
 */
function isNodeReadable(source: unknown): source is NodeReadableLike {
  const s = source as Record<string, unknown>;
  return (
    typeof s.destroy === 'function' &&
    typeof s.read === 'function' &&
    typeof s.pipe === 'function' &&
    typeof s.on === 'function' &&
    'readableFlowing' in s
  );
}

/**
 * A Node.js `Readable`'s own async iterator, except that `return()` takes effect at once:
 * that iterator (an async generator) queues `return()` behind a pending read, which for a
 * stream with no data never settles, so a helper (or a timeout around it) could never close
 * it and the socket would stay open. With a read pending, `return()` destroys the stream
 * (what the iterator's own `return()` does once it runs), and that read ends as `done`
 * rather than with the premature-close error the destroy causes.
 */
function readNodeStream<T>(stream: NodeReadableLike, iterator: AsyncIterator<T>): AsyncIterator<T> {
  let pending = 0;
  let released = false;
  const settled = (step: IteratorResult<T>): IteratorResult<T> => {
    pending--;
    return step;
  };
  const failed = (error: unknown): IteratorResult<T> => {
    pending--;
    if (released) return { done: true, value: undefined };
    throw error;
  };
  return {
    next(): Promise<IteratorResult<T>> {
      if (released) return Promise.resolve({ done: true, value: undefined });
      pending++;
      return Promise.resolve(iterator.next()).then(settled, failed);
    },
    async return(value?: unknown): Promise<IteratorResult<T>> {
      if (!released) {
        released = true;
        if (pending > 0) stream.destroy();
        if (typeof iterator.return === 'function') await iterator.return(value);
      }
      return { done: true, value: value as T };
    },
  };
}

/**
 * Reads `stream` like its own async iterator does (a lock on it; `return()` cancels it),
 * except that `return()` takes effect at once: the stream's iterator queues `return()`
 * behind a pending read, which for a stream with no data never settles, so a helper
 * reading ahead could never close it; `reader.cancel()` ends that read right away.
 */
function readStream<T>(stream: ReadableStream<T>): AsyncIterator<T> {
  const reader = stream.getReader();
  let finished = false;
  const finish = (): void => {
    finished = true;
    reader.releaseLock();
  };
  return {
    async next(): Promise<IteratorResult<T>> {
      if (finished) return { done: true, value: undefined };
      let step: ReadableStreamReadResult<T>;
      try {
        step = await reader.read();
      } catch (error) {
        if (!finished) finish();
        throw error;
      }
      if (step.done) {
        if (!finished) finish();
        return { done: true, value: undefined };
      }
      return { done: false, value: step.value };
    },
    async return(value?: unknown): Promise<IteratorResult<T>> {
      if (!finished) {
        finished = true;
        try {
          await reader.cancel();
        } finally {
          reader.releaseLock();
        }
      }
      return { done: true, value: value as T };
    },
  };
}

/**
 * A {@link Source} over `source`, opened (its iterator method called, a stream's reader
 * taken) at the first pull or close, not now: a helper built and dropped unused leaves a
 * stream unlocked and a cursor unopened (review D12). A `TypeError` naming `name` now if
 * it is not iterable; an error from opening it is raised by the first pull or close.
 */
export function openSource<T>(name: string, source: AsyncIterable<T> | Iterable<T>): Source<T> {
  if (source !== null && source !== undefined) {
    if (
      (typeof ReadableStream === 'function' && source instanceof ReadableStream) ||
      typeof (source as AsyncIterable<T>)[Symbol.asyncIterator] === 'function'
    ) {
      return new LazySource(true, () => asyncIteratorOf<T>(source)!);
    }
    const syncIt = (source as Iterable<T>)[Symbol.iterator];
    if (typeof syncIt === 'function') {
      return new LazySource(false, () => syncIt.call(source) as Iterator<T>);
    }
  }
  throw new TypeError(
    `Expected \`${name}\` to be an async iterable or iterable, got ${describe(source)}`,
  );
}

class LazySource<T> implements Source<T> {
  inflight: Promise<unknown> | undefined = undefined;
  done = false;
  late: { error: unknown } | undefined = undefined;
  readonly async: boolean;
  #iterator: AsyncIterator<T> | Iterator<T> | undefined;
  #open: (() => AsyncIterator<T> | Iterator<T>) | undefined;

  constructor(async: boolean, open: () => AsyncIterator<T> | Iterator<T>) {
    this.async = async;
    this.#open = open;
  }

  get iterator(): AsyncIterator<T> | Iterator<T> {
    let iterator = this.#iterator;
    if (iterator === undefined) {
      const open = this.#open!;
      this.#open = undefined;
      iterator = this.#iterator = open();
    }
    return iterator;
  }
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
    checkStep(src, step);
    if (step.done) src.done = true;
    return step;
  }
  return pullAsync(src, Promise.resolve(step), signal);
}

/**
 * Throws the `TypeError` a `for await` throws for an iterator result that is not an
 * object (review D2: read as `{ done: undefined }`, it was an endless stream of
 * `undefined`). The source is left as the language leaves it: not closed.
 */
function checkStep(src: Source<unknown>, step: unknown): void {
  if ((typeof step !== 'object' || step === null) && typeof step !== 'function') {
    src.done = true;
    throw new TypeError(
      `Expected the source's next() to give an iterator result object ({ done, value }), got ${describe(step)}`,
    );
  }
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
  raw.then(clear, (error: unknown) => {
    clear();
    // The pull already rejected with the abort reason: keep this failure for closeSource.
    if (signal?.aborted && !isCancellation(error)) {
      src.done = true;
      src.late = { error };
    }
  });
  try {
    const step = await (signal === undefined ? raw : abortable(raw, signal));
    checkStep(src, step);
    if (step.done) src.done = true;
    return step;
  } catch (error) {
    if (src.inflight === undefined && !signal?.aborted) src.done = true; // the source threw
    throw error;
  }
}

/**
 * Closes the source (`return()`) unless it ended by itself.
 *
 * With `late` (a scope to hand a late close to), the close is awaited one macrotask turn
 * at most, whether a read is in flight or not (below). Without it, a source with no read
 * in flight is closed as a `for await` closes it: `return()` is awaited to the end.
 *
 * When a `next()` is still pending (the reader was cancelled while the source was waiting),
 * `return()` is called at once all the same: an iterator such as `events.on` settles its
 * pending `next()` right away, and an async generator queues the `return()` until it gets
 * past its await — at once when that await was a weft one (cancelled with the reader).
 * The close is awaited for one macrotask turn, which is enough for both, and what failed
 * in it (the pending `next()`, unless with a cancellation, or `return()`) is raised. A
 * source still waiting after that (an await that ignores cancellation, a stream with no
 * data) is left to close in the background: the caller never hangs on it. That late close
 * is handed to `late` (the consumer's scope waits for it and raises its error, see
 * `handOver`). Every caller with a pull in flight passes `late`; without it (a source
 * that never started) a late error would be lost.
 */
export async function closeSource<T>(
  src: Source<T>,
  late?: (closing: Promise<void>) => void,
): Promise<void> {
  if (src.done) {
    const late = src.late;
    src.late = undefined;
    if (late !== undefined) throw late.error;
    return;
  }
  src.done = true;
  const iterator = src.iterator as AsyncIterator<T>;
  const inflight = src.inflight;
  let closing: Promise<void>;
  if (inflight === undefined) {
    if (typeof iterator.return !== 'function') return;
    // Without a scope to hand a late close to, wait for it (as a native for-await does).
    if (late === undefined) {
      await iterator.return();
      return;
    }
    // A return() that does not settle (a stream whose cancel() never does) is bounded
    // like the one with a read in flight: the caller goes on, its scope waits and shows
    // it (review D6 for take and batch).
    closing = Promise.resolve(iterator.return()).then(noop);
  } else closing = closeWhilePending(iterator, inflight);
  const outcome = await Promise.race([
    closing.then(
      () => CLOSED,
      (error: unknown) => ({ error }),
    ),
    macrotask().then(() => PENDING),
  ]);
  if (outcome === PENDING) {
    if (late === undefined) closing.then(noop, noop);
    else late(closing);
  } else if (typeof outcome === 'object') throw outcome.error;
}

const CLOSED = 0;
const PENDING = 1;

async function closeWhilePending<T>(
  iterator: AsyncIterator<T>,
  inflight: Promise<unknown>,
): Promise<void> {
  let failure: { error: unknown } | undefined;
  let returnFailure: { error: unknown } | undefined;
  let gaveUp!: () => void;
  const returnFailed = new Promise<void>((resolve) => {
    gaveUp = resolve;
  });
  // Observed at once (review D1: a return() that rejects while next() is pending is no
  // unhandled rejection), and a return() that fails ends the wait for the pending next(),
  // which may then never settle (its own late failure is kept by pullAsync).
  const returned =
    typeof iterator.return === 'function'
      ? Promise.resolve()
          .then(() => iterator.return!())
          .then(noop, (error: unknown) => {
            returnFailure = { error };
            gaveUp();
          })
      : undefined;
  await Promise.race([
    inflight.then(noop, (error: unknown) => {
      if (!isCancellation(error)) failure = { error };
    }),
    returnFailed,
  ]);
  await returned;
  if (returnFailure !== undefined) {
    failure =
      failure === undefined
        ? returnFailure
        : { error: attachSuppressed(failure.error, returnFailure.error) };
  }
  if (failure !== undefined) throw failure.error;
}

/**
 * Closes `src` after a loop over it ended; an error from closing is attached to the
 * loop's own error when it had one (the primary error wins), else raised.
 */
export async function closeSourceAfter<T>(
  src: Source<T>,
  failure: { error: unknown } | undefined,
  late?: (closing: Promise<void>) => void,
): Promise<void> {
  try {
    await closeSource(src, late);
  } catch (cleanup) {
    if (failure === undefined) throw cleanup;
    throw attachSuppressed(failure.error, cleanup);
  }
}
