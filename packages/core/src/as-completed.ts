import type { Clock } from './clock.ts';
import { firstError } from './errors.ts';
import type { GatherInput, GatherItem, GatherValue } from './gather.ts';
import { isThenable } from './internal/abortable.ts';
import { resolveItem, toArray } from './internal/items.ts';
import { DONE, startPool } from './internal/pool.ts';
import { noop } from './internal/schedule.ts';
import { assertCount, assertName, assertOptions } from './internal/validate.ts';
import { Scope, scopeInternals } from './scope.ts';
import type { TaskContext } from './task.ts';

/** Options of {@link asCompleted}. */
export interface AsCompletedOptions {
  /** Cancels everything when it aborts. Inside a task it adds to the task's signal. */
  signal?: AbortSignal;
  /** Cancels everything with a `TimeoutError` after this many ms. */
  timeout?: number;
  /**
   * How many task functions run at once (promises are already running and plain values
   * are ready: they do not count).
   * @default Infinity
   */
  concurrency?: number;
  /** Where time comes from. Inside a task: the task's clock, else `systemClock`. */
  clock?: Clock;
  /**
   * A name for diagnostics and error messages.
   * @default 'asCompleted'
   */
  name?: string;
}

const KNOWN = ['signal', 'timeout', 'concurrency', 'clock', 'name'] as const;

/**
 * Runs every item like {@link gather} and yields their values in the order they complete
 * (asyncio's `as_completed`). Items are task functions (run as cancellable tasks),
 * promises (observed at once) or plain values (ready first).
 *
 * - The first failure cancels the rest, waits for them, and is thrown by the loop.
 * - Leaving the loop early (`break`, `return`, a throw) cancels the items still running
 *   and waits for them before the loop statement completes; a failure among them other
 *   than that cancellation is thrown then (after a `break`), never dropped.
 * - Nothing starts before the first `next()`; bad arguments throw a `TypeError` or
 *   `RangeError` at the call.
 *
 * @example
 * ```ts
 * import { asCompleted, sleep } from '@weft/core';
 *
 * const jobs = [300, 100, 200].map((ms) => async () => { await sleep(ms); return ms; });
 * for await (const ms of asCompleted(jobs)) console.log(ms); // 100, 200, 300
 * ```
 */
export function asCompleted<const I extends readonly GatherInput[]>(
  items: I,
  options?: AsCompletedOptions,
): AsyncGenerator<GatherValue<I[number]>, void, undefined>;
export function asCompleted<T>(
  items: Iterable<GatherItem<T>>,
  options?: AsCompletedOptions,
): AsyncGenerator<T, void, undefined>;
export function asCompleted(
  items: Iterable<unknown>,
  options?: AsCompletedOptions,
): AsyncGenerator<unknown, void, undefined> {
  const list = toArray('items', items);
  assertOptions('options', options, KNOWN);
  if (options?.concurrency !== undefined) assertCount('options.concurrency', options.concurrency);
  assertName('options.name', options?.name);
  return iterate(list, options);
}

async function* iterate(
  list: unknown[],
  options: AsCompletedOptions | undefined,
): AsyncGenerator<unknown, void, undefined> {
  const name = options?.name ?? 'asCompleted';
  const s = new Scope({
    signal: options?.signal,
    timeout: options?.timeout,
    clock: options?.clock,
    name,
  });
  // Values in completion order, not yet yielded; and the waiting consumer, if any.
  const ready: unknown[] = [];
  let wake: (() => void) | undefined;
  const push = (value: unknown): void => {
    ready.push(value);
    wake?.();
  };
  const body = (scope: Scope): void => {
    const jobs: number[] = [];
    list.forEach((item, i) => {
      if (typeof item === 'function') jobs.push(i);
      else if (isThenable(item)) {
        scopeInternals.spawn(scope, async (ctx) => push(await resolveItem(item, ctx)), 'promise');
      } else push(item);
    });
    let next = 0;
    if (jobs.length > 0) {
      startPool<number>(scope, {
        concurrency: options?.concurrency ?? Number.POSITIVE_INFINITY,
        name,
        next: () => (next < jobs.length ? jobs[next++]! : DONE),
        work: async (i: number, ctx: TaskContext) => push(await resolveItem(list[i], ctx)),
      });
    }
  };
  let settled = false;
  let failure: { error: unknown } | undefined;
  const outcome = scopeInternals.runBody(s, body).then(
    () => {
      settled = true;
      wake?.();
    },
    (error: unknown) => {
      settled = true;
      failure = { error };
      wake?.();
    },
  );
  let delivered = 0;
  try {
    while (delivered < list.length) {
      if (ready.length > 0) {
        delivered++;
        yield ready.shift();
        continue;
      }
      if (failure !== undefined) throw firstError(failure.error);
      if (settled) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
    await outcome;
    if (failure !== undefined) throw firstError(failure.error);
  } finally {
    if (!settled) {
      // Left early: stop the rest and wait for them (a cancellation we asked for).
      s.cancel();
      await outcome.then(noop, noop);
      if (failure !== undefined) throw firstError(failure.error);
    }
  }
}
