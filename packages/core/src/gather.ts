import type { Clock } from './clock.ts';
import { attachSuppressed, firstError, isCancellation } from './errors.ts';
import { abortable, isThenable } from './internal/abortable.ts';
import { itemLabel, observeAll, toArray } from './internal/items.ts';
import { DONE, startPool } from './internal/pool.ts';
import {
  assertCount,
  assertFunction,
  assertName,
  assertOptions,
  rejectOnThrow,
} from './internal/validate.ts';
import { Scope, scopeInternals } from './scope.ts';
import type { TaskContext, TaskFn, TaskSink } from './task.ts';

/** Options of {@link gather} and {@link settle}. */
export interface GatherOptions {
  /** Cancels everything when it aborts. Inside a task it adds to the task's signal. */
  signal?: AbortSignal;
  /** Cancels everything with a `TimeoutError` after this many ms. */
  timeout?: number;
  /**
   * How many task functions run at once (promises and plain values take no slot).
   * @default Infinity
   */
  concurrency?: number;
  /** Called after each item completes, with how many have and how many there are. */
  onProgress?: (completed: number, total: number) => void;
  /** Where time comes from. Inside a task: the task's clock. */
  clock?: Clock;
  /**
   * A name for diagnostics and error messages.
   * @default 'gather' (or 'settle')
   */
  name?: string;
}

/** What an item of `gather` resolves to: a task function's value, or the awaited value. */
export type GatherValue<I> = I extends (ctx: TaskContext) => infer R ? Awaited<R> : Awaited<I>;

/** A gather item: a task function (cancellable), a promise (observed) or a plain value. */
export type GatherItem<T> = TaskFn<T> | PromiseLike<T> | T;

/**
 * Any gather item. Spelled as a union with the task function first, so that
 * `gather([({ signal }) => …])` types `signal` from context.
 */
export type GatherInput =
  | TaskFn<unknown>
  | PromiseLike<unknown>
  | string
  | number
  | boolean
  | bigint
  | symbol
  | null
  | undefined
  | readonly unknown[]
  | Record<PropertyKey, unknown>;

const KNOWN = ['signal', 'timeout', 'concurrency', 'onProgress', 'clock', 'name'] as const;

/** A plain copy of `items` (not `slice()`, which calls a subclass's constructor). */
function copy(items: readonly unknown[]): unknown[] {
  const n = items.length;
  const list = new Array<unknown>(n);
  for (let i = 0; i < n; i++) list[i] = items[i];
  return list;
}

function validate(items: unknown, options: GatherOptions | undefined): unknown[] {
  // The items as they are now: the caller may reuse its array (or an item may change it)
  // before a later item starts.
  const list = Array.isArray(items) ? copy(items) : toArray('items', items);
  try {
    assertOptions('options', options, KNOWN);
    if (options !== undefined) {
      if (options.concurrency !== undefined) {
        assertCount('options.concurrency', options.concurrency);
      }
      if (options.onProgress !== undefined) {
        assertFunction('options.onProgress', options.onProgress);
      }
      assertName('options.name', options.name);
    }
  } catch (error) {
    // The promise items are running: the caller gets this error, never an unhandled
    // rejection besides (review D5).
    observeAll(list);
    throw error;
  }
  return list;
}

function collect(
  list: unknown[],
  options: GatherOptions | undefined,
  contained: boolean,
  name: string,
): Promise<unknown[]> {
  const total = list.length;
  const results: unknown[] = new Array(total);
  const concurrency = options?.concurrency ?? Number.POSITIVE_INFINITY;
  const onProgress = options?.onProgress;
  const s = new Scope({
    signal: options?.signal,
    timeout: options?.timeout,
    clock: options?.clock,
    name: options?.name ?? name,
  });
  const body = (scope: Scope): void => {
    let completed = 0;
    const progress = onProgress === undefined ? undefined : () => onProgress(++completed, total);
    // Runs one item to its result slot, counting progress; in `settle` a failure is an entry.
    const into = async (i: number, ctx: TaskContext, value: () => unknown): Promise<void> => {
      try {
        const v = await value();
        results[i] = contained ? { status: 'fulfilled', value: v } : v;
      } catch (reason) {
        if (!contained || ctx.scope.signal.aborted) throw reason;
        results[i] = { status: 'rejected', reason };
      }
      progress?.();
    };
    const sink: TaskSink = { results, contained };
    // Without a limit or progress, each task function is a task that writes its own slot.
    const direct = concurrency >= total && progress === undefined;
    let jobs: number[] | undefined;
    for (let i = 0; i < total; i++) {
      const item = list[i];
      if (typeof item === 'function') {
        if (direct) scopeInternals.spawn(scope, item as TaskFn<unknown>, undefined, sink, i);
        else (jobs ??= []).push(i);
      } else if (isThenable(item)) {
        // A promise is already running: it is observed at once, whatever the concurrency,
        // so its rejection is never unhandled, even after an earlier failure.
        if (progress === undefined) {
          scopeInternals.spawn(scope, (ctx) => abortable(item, ctx.signal), 'promise', sink, i);
        } else {
          scopeInternals.spawn(
            scope,
            (ctx) => into(i, ctx, () => abortable(item, ctx.signal)),
            'promise',
          );
        }
      } else {
        results[i] = contained ? { status: 'fulfilled', value: item } : item;
        progress?.();
      }
    }
    if (jobs === undefined) return;
    const queue = jobs;
    let next = 0;
    startPool<number>(scope, {
      concurrency,
      name,
      label: itemLabel(list),
      next: () => (next < queue.length ? queue[next++]! : DONE),
      work: (i, ctx) => (list[i] as TaskFn<unknown>)(ctx),
      onFulfilled: (i, value) => {
        results[i] = contained ? { status: 'fulfilled', value } : value;
        progress?.();
      },
      onRejected: (i, reason, ctx) => {
        if (!contained || ctx.scope.signal.aborted) throw reason;
        results[i] = { status: 'rejected', reason };
        progress?.();
      },
    });
  };
  const outcome = scopeInternals.runBody(s, body).then(
    () => {
      // Cancelled on request (`ctx.scope.cancel()` in an item): the items it stopped have
      // no value; never a hole in the results.
      if (s.cancelled) {
        const reason = s.signal.reason;
        for (let i = 0; i < total; i++) {
          if (i in results) continue;
          if (!contained) throw reason;
          results[i] = { status: 'rejected', reason };
        }
      }
      return results;
    },
    (error: unknown) => {
      // gather rejects with the first failure itself, like asyncio.gather.
      const primary = firstError(error);
      if (contained && isCancellation(primary)) {
        // settle cancelled from outside: an item that had failed for real (its cleanup
        // while being cancelled, say) is the outcome, the cancellation attached to it,
        // rather than dropped with the results (probe8 Q3).
        for (const result of results) {
          const failed = result as { status?: string; reason?: unknown } | undefined;
          if (failed?.status === 'rejected' && !isCancellation(failed.reason)) {
            throw attachSuppressed(failed.reason, primary);
          }
        }
      }
      throw primary;
    },
  );
  return scopeInternals.expose(s, outcome);
}

/**
 * Runs every item concurrently and resolves with their values in input order
 * (`asyncio.gather`). Items may be task functions (run as cancellable tasks), promises
 * (observed) or plain values.
 *
 * Unlike `Promise.all`, the first failure cancels every other task function, waits for
 * them to settle, and only then rejects with that first error. Promises cannot be
 * cancelled: after a failure, gather stops waiting for them but still handles their
 * rejections. For every outcome, failures included, use {@link settle}.
 *
 * @example
 * ```ts
 * import { gather, sleep } from '@weft/core';
 *
 * const fetchData = async (name: string) => { await sleep(2000); return `Data from ${name}`; };
 * const results = await gather([() => fetchData('API-1'), () => fetchData('API-2')]);
 * // 2 s, not 4 s
 * ```
 */
export function gather<const I extends readonly GatherInput[]>(
  items: I,
  options?: GatherOptions,
): Promise<{ -readonly [K in keyof I]: GatherValue<I[K]> }>;
export function gather<T>(items: Iterable<GatherItem<T>>, options?: GatherOptions): Promise<T[]>;
export function gather(items: Iterable<unknown>, options?: GatherOptions): Promise<unknown[]> {
  return rejectOnThrow(() => collect(validate(items, options), options, false, 'gather'));
}

/**
 * Like {@link gather}, but never rejects because an item failed
 * (`gather(return_exceptions=True)`): resolves with `{ status: 'fulfilled', value }` or
 * `{ status: 'rejected', reason }` per item, in input order, after every item settled.
 * It still rejects when its own `signal` aborts or its `timeout` passes.
 *
 * @example
 * ```ts
 * import { settle } from '@weft/core';
 *
 * const outcomes = await settle([() => 1, async () => { throw new Error('boom'); }]);
 * // [{ status: 'fulfilled', value: 1 }, { status: 'rejected', reason: Error('boom') }]
 * ```
 */
export function settle<const I extends readonly GatherInput[]>(
  items: I,
  options?: GatherOptions,
): Promise<{ -readonly [K in keyof I]: PromiseSettledResult<GatherValue<I[K]>> }>;
export function settle<T>(
  items: Iterable<GatherItem<T>>,
  options?: GatherOptions,
): Promise<PromiseSettledResult<T>[]>;
export function settle(items: Iterable<unknown>, options?: GatherOptions): Promise<unknown[]> {
  return rejectOnThrow(() => collect(validate(items, options), options, true, 'settle'));
}
