import type { Clock } from './clock.ts';
import { TaskGroupError } from './errors.ts';
import { closeSource, openSource, serialPull } from './internal/source.ts';
import { assertCount, assertFunction, assertName, assertOptions } from './internal/validate.ts';
import { Scope, scopeInternals } from './scope.ts';
import type { TaskContext, TaskSink } from './task.ts';

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

function mapInto<T, R>(
  source: Iterable<T> | AsyncIterable<T>,
  fn: Mapper<T, R>,
  options: MapOptions | undefined,
  contained: boolean,
  name: string,
): Promise<unknown[]> {
  const src = openSource('source', source);
  assertFunction('fn', fn);
  assertOptions('options', options);
  const concurrency = options?.concurrency ?? Number.POSITIVE_INFINITY;
  assertCount('options.concurrency', concurrency);
  assertName('options.name', options?.name);

  const results: unknown[] = [];
  let finished = false;
  let index = 0;
  // Several workers share the source; an async one is pulled one call at a time.
  const next = serialPull(src);
  const s = new Scope({
    signal: options?.signal,
    timeout: options?.timeout,
    clock: options?.clock,
    name: options?.name ?? name,
  });
  const body = async (scope: Scope): Promise<void> => {
    if (concurrency === Number.POSITIVE_INFINITY) {
      // Unlimited: the body pulls and starts one task per item.
      const sink: TaskSink = { results, contained };
      for (;;) {
        const step = await next(scope.signal);
        if (step.done) break;
        const i = index++;
        const item = step.value;
        results.length = index;
        scopeInternals.spawn(
          scope,
          (ctx: TaskContext) => fn(item, ctx, i),
          fn.name || 'map',
          sink,
          i,
        );
      }
      finished = true;
      return;
    }
    const worker = async (ctx: TaskContext): Promise<void> => {
      while (!finished && !ctx.signal.aborted) {
        const step = await next(ctx.signal);
        if (step.done) {
          finished = true;
          return;
        }
        const i = index++;
        results.length = index;
        try {
          const value = await fn(step.value, ctx, i);
          results[i] = contained ? { status: 'fulfilled', value } : value;
        } catch (reason) {
          if (!contained || ctx.signal.aborted) throw reason;
          results[i] = { status: 'rejected', reason };
        }
      }
    };
    for (let w = 0; w < concurrency; w++) scopeInternals.spawn(scope, worker, `${name}-worker`);
  };
  const close = async (): Promise<void> => {
    finished = true;
    await closeSource(src);
  };
  return scopeInternals.runBody(s, body).then(
    async () => {
      await close();
      return results;
    },
    async (error: unknown) => {
      try {
        await close();
      } catch (closeError) {
        if (!(error instanceof TaskGroupError)) throw closeError;
      }
      if (error instanceof TaskGroupError) throw contained ? error : error.errors[0];
      throw error;
    },
  );
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
  try {
    return mapInto(source, fn, options, false, 'map') as Promise<Awaited<R>[]>;
  } catch (error) {
    return Promise.reject(error);
  }
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
  try {
    return mapInto(source, fn, options, true, 'mapSettled') as Promise<
      PromiseSettledResult<Awaited<R>>[]
    >;
  } catch (error) {
    return Promise.reject(error);
  }
}
