import type { Clock } from './clock.ts';
import { attachSuppressed, firstError, TaskGroupError } from './errors.ts';
import { isThenable } from './internal/abortable.ts';
import { DONE, startPool } from './internal/pool.ts';
import { closeSource, openSource, serialPull } from './internal/source.ts';
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
  /** How many calls of `fn` run at once. Default `Infinity`. */
  concurrency?: number;
  /** Cancels everything when it aborts. Inside a task: the task's signal. */
  signal?: AbortSignal;
  /** Cancels everything with a `TimeoutError` after this many ms. */
  timeout?: number;
  /** Where time comes from. Inside a task: the task's clock. */
  clock?: Clock;
  /** A name for diagnostics and error messages. */
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
  const src = openSource('source', source);
  assertFunction('fn', fn);
  assertOptions('options', options, KNOWN);
  const concurrency = options?.concurrency ?? Number.POSITIVE_INFINITY;
  assertCount('options.concurrency', concurrency);
  assertName('options.name', options?.name);

  const results: unknown[] = [];
  let index = 0;
  // Several workers share the source; an async one is pulled one call at a time.
  const pull = serialPull(src);
  const next = (signal: AbortSignal): Job<T> | typeof DONE | Promise<Job<T> | typeof DONE> => {
    const step = pull(signal);
    return isThenable(step) ? step.then(toJob) : toJob(step);
  };
  const toJob = (step: IteratorResult<T>): Job<T> | typeof DONE => {
    if (step.done) return DONE;
    const i = index++;
    results.length = index;
    return { item: step.value, index: i };
  };
  const work = async (job: Job<T>, ctx: TaskContext): Promise<void> => {
    try {
      const value = await fn(job.item, ctx, job.index);
      results[job.index] = contained ? { status: 'fulfilled', value } : value;
    } catch (reason) {
      if (!contained || ctx.signal.aborted) throw reason;
      results[job.index] = { status: 'rejected', reason };
    }
  };
  const s = new Scope({
    signal: options?.signal,
    timeout: options?.timeout,
    clock: options?.clock,
    name: options?.name ?? name,
  });
  const body = (scope: Scope): void =>
    startPool<Job<T>>(scope, { concurrency, name: fn.name || name, next, work });
  return scopeInternals.runBody(s, body).then(
    async () => {
      await closeSource(src);
      return results;
    },
    async (error: unknown) => {
      // The primary error wins (the first failure, or the scope's TimeoutError or
      // cancellation); an error from closing the source is attached to it, never dropped.
      const primary = contained && error instanceof TaskGroupError ? error : firstError(error);
      try {
        await closeSource(src);
      } catch (closeError) {
        throw attachSuppressed(primary, closeError);
      }
      throw primary;
    },
  );
}

interface Job<T> {
  readonly item: T;
  readonly index: number;
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
