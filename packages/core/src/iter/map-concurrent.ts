import { isThenable } from '../internal/abortable.ts';
import { currentContext } from '../internal/context.ts';
import { itemEnded, pending, poolWorker } from '../internal/item-settled.ts';
import { functionName } from '../internal/items.ts';
import { hooks } from '../internal/instrument.ts';
import { endItem, startItem, tracksItems, workerDiag } from '../internal/pool-item.ts';
import { turnTime } from '../internal/start-time.ts';
import { NONE } from '../internal/symbols.ts';
import { drain, PIPE_KEYS, Pipe, type PipeOptions } from '../internal/pipe.ts';
import { assertIterable, openSource, serialPull } from '../internal/source.ts';
import {
  assertClock,
  assertCount,
  assertFunction,
  assertSignal,
  describe,
} from '../internal/validate.ts';
import type { TaskContext } from '../task.ts';
import { assertHelperOptions } from './options.ts';

/** Options of {@link mapConcurrent}. */
export interface MapConcurrentOptions extends PipeOptions {
  /**
   * How many items are in progress at once, counting both calls of `fn` running and
   * results waiting for the consumer: an integer from 1 up, or `Infinity`.
   */
  concurrency: number;
  /**
   * Yield results in input order (`true`) or as they complete (`false`).
   * @default true
   */
  ordered?: boolean | undefined;
}

const KEYS: readonly string[] = ['concurrency', 'ordered', ...PIPE_KEYS];

/**
 * A streaming `map`: calls `fn(item, ctx, index)` on items of `source` as they arrive and
 * yields the results in input order (or as they complete with `ordered: false`). `ctx` is
 * the calling task's context: pass `ctx.signal` on.
 *
 * Backpressure, exactly: at most `concurrency` items are in progress at once — running in
 * `fn`, or finished and waiting for the consumer (in ordered mode, also a result waiting
 * for an earlier one). An item leaves that count when the consumer takes its result, so a
 * slow consumer holds the source back. Any `concurrency` is honoured (calls start lazily,
 * one more only when every running one is busy).
 *
 * The first failure of `fn` or of the source cancels the calls in flight, closes the
 * source, and is raised after the results already yielded. Cancellation (`signal`, or the
 * enclosing task being cancelled) rejects the loop with the reason. Stopping for any
 * reason (break, error, cancellation, `return()` before the first item) cancels the calls
 * in flight, closes the source and waits for both; an error thrown while closing the
 * source is raised (or attached to the loop's own error). Tasks `fn` spawns into
 * `ctx.scope` are waited for when the loop ends normally (a failure of one is raised by
 * the loop's last `next()`), and cancelled when it stops early. Inside a task the calls belong
 * to the task's scope: they are cancelled when the task ends, and the scope waits. Opened
 * in a scope body, they belong to that scope (its tasks may read the loop too) and are
 * cancelled once the body and every task have settled, before the scope settles.
 *
 * @example
 * ```ts
 * import { mapConcurrent } from '@weft/core';
 *
 * const pages = mapConcurrent(urls, (url, { signal }) => fetch(url, { signal }), { concurrency: 4 });
 * for await (const res of pages) console.log(res.status);
 * ```
 */
export function mapConcurrent<T, R>(
  source: AsyncIterable<T> | Iterable<T>,
  fn: (item: T, ctx: TaskContext, index: number) => R | PromiseLike<R>,
  options: MapConcurrentOptions,
): AsyncGenerator<Awaited<R>, void, undefined> {
  assertIterable('source', source);
  assertFunction('fn', fn);
  assertHelperOptions(options, 'concurrency', KEYS, '{ concurrency: 4 }');
  assertCount('options.concurrency', options.concurrency);
  assertSignal('options.signal', options.signal);
  assertClock('options.clock', options.clock);
  const ordered = options.ordered ?? true;
  if (typeof ordered !== 'boolean') {
    throw new TypeError(`Expected \`options.ordered\` to be a boolean, got ${describe(ordered)}`);
  }
  const concurrency = options.concurrency;
  const src = openSource('source', source);
  const setup = (): Pipe<Awaited<R>> => {
    const pipe = new Pipe<Awaited<R>>(concurrency, options, 'mapConcurrent');
    pipe.own(src);
    // Several workers share the source; an async one is pulled one call at a time.
    const next = serialPull(src);
    let index = 0;
    let exhausted = false;
    // Ordered mode: results that finished before an earlier one, by index.
    const early = new Map<number, Awaited<R>>();
    let nextOut = 0;
    // Workers started, and how many are inside `fn`; starts are queued, not recursive.
    let workers = 0;
    let busy = 0;
    let requested = 0;
    let starting = false;
    const deliver = (i: number, value: Awaited<R>): void => {
      if (!ordered) {
        pipe.push(value);
        return;
      }
      if (i !== nextOut) {
        early.set(i, value);
        return;
      }
      pipe.push(value);
      nextOut++;
      while (early.size > 0 && early.has(nextOut)) {
        const v = early.get(nextOut) as Awaited<R>;
        early.delete(nextOut++);
        pipe.push(v);
      }
    };
    // Only this worker was cancelled (a call's `currentTask().cancel()` reaches the worker
    // it runs in), not the loop: another worker takes over, so no item is dropped.
    const handedOver = (signal: AbortSignal): boolean => {
      if (!signal.aborted || pipe.signal.aborted) return false;
      if (!exhausted) {
        workers--;
        request();
      }
      return true;
    };
    const worker = async (ctx: TaskContext): Promise<void> => {
      // The onCurrentSettled callbacks of each call of `fn` are its own (item-settled.ts):
      // a failure of `fn` ends the worker, and so the call's, caught here once per worker
      // rather than around each call (no extra work per item).
      poolWorker(ctx);
      try {
        await loop(ctx);
      } catch (error) {
        if (pending !== 0) itemEnded(ctx, false, error);
        throw error;
      }
    };
    const loop = async (ctx: TaskContext): Promise<void> => {
      const { signal } = ctx;
      for (;;) {
        if (handedOver(signal)) return;
        // A slot first: at most `concurrency` items in progress, results included.
        const room = pipe.reserve();
        if (room !== undefined) await room;
        if (exhausted) {
          pipe.unreserve();
          return;
        }
        // Synchronous steps stay synchronous: no await for a sync source or a sync fn.
        let step: IteratorResult<T>;
        try {
          const pulled = next(signal);
          step = isThenable(pulled) ? await pulled : pulled;
        } catch (error) {
          pipe.unreserve();
          throw error;
        }
        if (step.done) {
          exhausted = true;
          pipe.unreserve();
          return;
        }
        const i = index++;
        if (++busy === workers && workers < concurrency) request();
        let value = fn(step.value, ctx, i);
        if (isThenable(value)) value = await value;
        if (pending !== 0) itemEnded(ctx, true, value);
        busy--;
        deliver(i, value as Awaited<R>);
      }
    };
    // While diagnostics are on (see tracksItems), the workers are this copy of the loop
    // above, which also records the item each runs (tree, stuck report) and reports it to
    // the hooks, around the same awaits (no extra promise, so the same interleaving).
    // Otherwise the loop above runs untouched (see pool.ts).
    const tracked = tracksItems(currentContext()?.scope);
    const prefix = functionName(fn) || 'mapConcurrent';
    const label = (i: number): string => `${prefix}[${i}]`;
    const trackedWorker = async (ctx: TaskContext): Promise<void> => {
      const { signal, clock } = ctx;
      const diag = workerDiag(ctx, label);
      poolWorker(ctx);
      for (;;) {
        if (handedOver(signal)) return;
        const room = pipe.reserve();
        if (room !== undefined) await room;
        if (exhausted) {
          pipe.unreserve();
          return;
        }
        let step: IteratorResult<T>;
        try {
          const pulled = next(signal);
          step = isThenable(pulled) ? await pulled : pulled;
        } catch (error) {
          pipe.unreserve();
          throw error;
        }
        if (step.done) {
          exhausted = true;
          pipe.unreserve();
          return;
        }
        const i = index++;
        if (++busy === workers && workers < concurrency) request();
        if (hooks !== null) startItem(diag, ctx, i);
        let value: unknown;
        try {
          value = fn(step.value, ctx, i);
          if (isThenable(value)) {
            diag.job = i;
            diag.since = turnTime(clock);
            value = await value;
            diag.job = NONE;
          }
        } catch (error) {
          diag.job = NONE;
          endItem(diag, false, error);
          if (pending !== 0) itemEnded(ctx, false, error);
          throw error;
        }
        endItem(diag, true, value);
        if (pending !== 0) itemEnded(ctx, true, value);
        busy--;
        deliver(i, value as Awaited<R>);
      }
    };
    const request = (): void => {
      workers++;
      requested++;
      if (starting) return;
      starting = true;
      try {
        while (requested > 0) {
          requested--;
          pipe.produce('mapConcurrent-worker', tracked ? trackedWorker : worker);
        }
      } finally {
        starting = false;
      }
    };
    request();
    return pipe;
  };
  return drain(setup, [src]);
}
