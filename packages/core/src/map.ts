import type { Clock } from './clock.ts';
import { attachSuppressed, firstError, isCancellation, TimeoutError } from './errors.ts';
import { isThenable } from './internal/abortable.ts';
import { currentContext } from './internal/context.ts';
import { functionName } from './internal/items.ts';
import { handOver } from './internal/pipe.ts';
import { DONE, type PoolOptions, startPool } from './internal/pool.ts';
import { macrotask, noop } from './internal/schedule.ts';
import {
  asyncIteratorOf,
  closeSource,
  openSource,
  type Source,
  serialPull,
} from './internal/source.ts';
import {
  assertCount,
  assertFunction,
  assertName,
  assertOptions,
  rejectOnThrow,
} from './internal/validate.ts';
import { Scope, scopeInternals } from './scope.ts';
import type { TaskContext } from './task.ts';

/** Options of {@link map} and {@link mapSettled}. */
export interface MapOptions {
  /**
   * How many calls of `fn` run at once.
   * @default Infinity
   */
  concurrency?: number;
  /** Cancels everything when it aborts. Inside a task it adds to the task's signal. */
  signal?: AbortSignal;
  /** Cancels everything with a `TimeoutError` after this many ms. */
  timeout?: number;
  /** Where time comes from. Inside a task: the task's clock. */
  clock?: Clock;
  /**
   * A name for diagnostics and error messages.
   * @default 'map' (or 'mapSettled')
   */
  name?: string;
}

/** The mapper of {@link map}: an item, the context of the task running it, its index. */
export type Mapper<T, R> = (item: T, ctx: TaskContext, index: number) => R | PromiseLike<R>;

const KNOWN = ['concurrency', 'signal', 'timeout', 'clock', 'name'] as const;

function mapInto<T, R>(
  source: Iterable<T> | AsyncIterable<T>,
  fn: Mapper<T, R>,
  options: MapOptions | undefined,
  contained: boolean,
  name: string,
): Promise<unknown[]> {
  // A failure of the source's own next() that no worker receives (it came after the
  // worker's wait was cancelled: the source's `finally` threw) is kept to be attached.
  let lateFailure: { error: unknown } | undefined;
  const src = openSource(
    'source',
    watchFailures(source, (error) => {
      if (!isCancellation(error)) lateFailure ??= { error };
    }),
  );
  assertFunction('fn', fn);
  assertOptions('options', options, KNOWN);
  const concurrency = options?.concurrency ?? Number.POSITIVE_INFINITY;
  assertCount('options.concurrency', concurrency);
  assertName('options.name', options?.name);

  // Each slot holds its item until the call for it settles, then the result.
  const results: unknown[] = [];
  let index = 0;
  // Several workers share the source; an async one is pulled one call at a time.
  const pull = serialPull(src);
  const toJob = (step: IteratorResult<T>): number | typeof DONE => {
    if (step.done) return DONE;
    results[index] = step.value;
    return index++;
  };
  const next = (signal: AbortSignal): number | typeof DONE | Promise<number | typeof DONE> => {
    const step = pull(signal);
    return isThenable(step) ? step.then(toJob) : toJob(step);
  };
  // How diagnostics name item `i`: `fetchPage[3]` (see pool-item.ts).
  const fnName = functionName(fn);
  const itemPrefix = fnName || (options?.name ?? name);
  const pool: PoolOptions<number> = {
    concurrency,
    name: fnName || name,
    label: (i) => `${itemPrefix}[${i}]`,
    next,
    work: (i, ctx) => fn(results[i] as T, ctx, i),
    onFulfilled: contained
      ? (i, value) => {
          results[i] = { status: 'fulfilled', value };
        }
      : (i, value) => {
          results[i] = value;
        },
    onRejected: contained
      ? (i, reason, ctx) => {
          if (ctx.scope.signal.aborted) throw reason;
          results[i] = { status: 'rejected', reason };
        }
      : undefined,
  };
  // The caller's scope: it waits for a source that closes late, and gets its error.
  const owner = currentContext()?.scope;
  const s = new Scope({
    signal: options?.signal,
    timeout: options?.timeout,
    clock: options?.clock,
    name: options?.name ?? name,
  });
  const body = (scope: Scope): void => startPool(scope, pool);
  const outcome = scopeInternals.runBody(s, body).then(
    async () => {
      await closeFully(src, () => lateFailure?.error, owner);
      // Cancelled on request (`ctx.scope.cancel()` in `fn`): the items it stopped have no
      // result, so the call fails with the cancellation rather than return a partial list.
      if (s.cancelled) throw s.signal.reason;
      return results;
    },
    async (error: unknown) => {
      // The primary error wins (the first failure, or the scope's TimeoutError or
      // cancellation); an error from closing the source is attached to it, never dropped.
      // (The same in both modes: mapSettled records the calls' failures as results, so a
      // failure here, the source's, rejects as it does with map, review D8.)
      let primary = firstError(error);
      // A cancellation from outside is the enclosing scope's reason, shared by everything
      // it cancelled: map does not write on it. A failure while closing is then the
      // outcome, that cancellation attached to it (a failure wins over a cancellation,
      // as in a scope; probe9 R2).
      let foreign =
        (isCancellation(primary) || primary instanceof TimeoutError) &&
        primary !== scopeInternals.timedOut(s);
      const add = (secondary: unknown): void => {
        primary = foreign
          ? attachSuppressed(secondary, primary)
          : attachSuppressed(primary, secondary);
        foreign = false;
      };
      try {
        await closeFully(src, () => lateFailure?.error, owner);
      } catch (closeError) {
        add(closeError);
      }
      if (lateFailure !== undefined) add(lateFailure.error);
      throw primary;
    },
  );
  return scopeInternals.expose(s, outcome);
}

/**
 * Closes the source, raising what its `return()` throws. When a worker was inside the
 * source's `next()`, `return()` is requested at once (an `events.on` iterator settles its
 * pending `next()` then; an async generator runs it after its pending await) and waited
 * for one macrotask turn: a source that closes by then has its cleanup error attached to
 * the primary error. One that is still stuck closes in the background (`map` never waits
 * unboundedly on a source): the caller's scope (`owner`) waits for it and fails with a
 * cleanup error it raises then; outside any scope that error is reported as an unhandled
 * rejection (see `handOver`) rather than dropped.
 */
async function closeFully<T>(
  src: Source<T>,
  late: () => unknown,
  owner: Scope | undefined,
): Promise<void> {
  const inflight = src.inflight;
  if (src.done || inflight === undefined) {
    // A return() still pending after a turn closes in the background, held by `owner`.
    return closeSource(src, (closing) => handOver(owner, closing, 'close map'));
  }
  src.done = true;
  const iterator = src.iterator as AsyncIterator<T>;
  const closing = Promise.all([
    inflight.then(noop, noop), // its failure, if any, is recorded by watchFailures
    typeof iterator.return === 'function' ? iterator.return() : undefined,
  ]).then(noop);
  const outcome: { state: 'late' | 'closed' | 'failed'; error?: unknown } = { state: 'late' };
  await Promise.race([
    closing.then(
      () => {
        outcome.state = 'closed';
      },
      (error: unknown) => {
        outcome.state = 'failed';
        outcome.error = error;
      },
    ),
    macrotask(),
  ]);
  if (outcome.state === 'late') {
    handOver(
      owner,
      closing.then(() => {
        const failure = late();
        if (failure !== undefined) throw failure;
      }),
      'close map',
    );
    return;
  }
  if (outcome.state === 'failed') throw outcome.error;
}

/** An async iterable like `source` whose `next()` failures are also reported to `report`. */
function watchFailures<T>(
  source: Iterable<T> | AsyncIterable<T>,
  report: (error: unknown) => void,
): Iterable<T> | AsyncIterable<T> {
  const open = (source as AsyncIterable<T> | null | undefined)?.[Symbol.asyncIterator];
  if (typeof open !== 'function') return source;
  return {
    [Symbol.asyncIterator]: (): AsyncIterator<T> => {
      const it = asyncIteratorOf<T>(source)!;
      const wrapped: AsyncIterator<T> = {
        next: () =>
          Promise.resolve(it.next()).then(undefined, (error: unknown) => {
            report(error);
            throw error;
          }),
      };
      if (typeof it.return === 'function') wrapped.return = (value) => it.return!(value);
      return wrapped;
    },
  };
}

/**
 * Calls `fn(item, ctx, index)` for every item of `source` (an iterable or async
 * iterable), at most `concurrency` at a time, and resolves with the results in input
 * order. Like {@link gather}, the first failure cancels the calls in flight, waits for
 * them, closes the source (`return()`), and rejects with that failure.
 *
 * @example
 * ```ts
 * import { map } from '@weft/core';
 *
 * const pages = await map(urls, async (url, { signal }) => {
 *   const res = await fetch(url, { signal });
 *   return res.text();
 * }, { concurrency: 4 });
 * ```
 */
export function map<T, R>(
  source: Iterable<T> | AsyncIterable<T>,
  fn: Mapper<T, R>,
  options?: MapOptions,
): Promise<Awaited<R>[]> {
  return rejectOnThrow(() => mapInto(source, fn, options, false, 'map') as Promise<Awaited<R>[]>);
}

/**
 * Like {@link map}, but a failing call does not stop the others: resolves with a
 * `PromiseSettledResult` per item, in input order.
 *
 * @example
 * ```ts
 * import { mapSettled } from '@weft/core';
 *
 * const outcomes = await mapSettled(ids, (id, { signal }) => load(id, signal), { concurrency: 8 });
 * const failed = outcomes.filter((o) => o.status === 'rejected');
 * ```
 */
export function mapSettled<T, R>(
  source: Iterable<T> | AsyncIterable<T>,
  fn: Mapper<T, R>,
  options?: MapOptions,
): Promise<PromiseSettledResult<Awaited<R>>[]> {
  return rejectOnThrow(
    () =>
      mapInto(source, fn, options, true, 'mapSettled') as Promise<
        PromiseSettledResult<Awaited<R>>[]
      >,
  );
}
