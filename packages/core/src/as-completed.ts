import type { Clock } from './clock.ts';
import { attachSuppressed, CancelledError, firstError, isCancellation } from './errors.ts';
import type { GatherInput, GatherItem, GatherValue } from './gather.ts';
import { isThenable } from './internal/abortable.ts';
import { currentContext } from './internal/context.ts';
import { itemLabel, observeAll, resolveItem, toArray } from './internal/items.ts';
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
 * - Opened in a task, the items still running are cancelled when that task ends; opened
 *   in a scope body, once the body and every task of that scope have settled (its tasks
 *   may read the loop). The scope waits for them either way.
 * - Nothing starts before the first `next()`; bad arguments throw a `TypeError` or
 *   `RangeError` at the call. A loop opened in a task or scope body and never started
 *   (or closed before its first `next()`): a promise item that has rejected by the time
 *   that scope ends fails it; outside any, its rejection is only observed.
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
  // Promises are already running: observe them now, so that a rejection is never
  // unhandled even if the loop never starts (or is closed before its first next()), or
  // an option below is bad (review D5).
  observeAll(list);
  assertOptions('options', options, KNOWN);
  if (options?.concurrency !== undefined) assertCount('options.concurrency', options.concurrency);
  assertName('options.name', options?.name);
  return iterate(list, options, watchUnstarted(list));
}

/**
 * A loop opened in a task or scope body and never started (no `next()`, or `return()`
 * before it) receives nothing: a promise item that rejected by the time that scope joins
 * fails the scope instead of vanishing (review D4). Returns what the loop calls when it
 * starts: from then on, the loop itself raises what its items do.
 */
function watchUnstarted(list: readonly unknown[]): () => void {
  const ctx = currentContext();
  if (ctx === undefined || !list.some((item) => isThenable(item))) return noop;
  let started = false;
  let failure: { error: unknown } | undefined;
  for (const item of list) {
    if (!isThenable(item)) continue;
    Promise.resolve(item).then(noop, (error: unknown) => {
      if (!started && !isCancellation(error)) failure ??= { error };
    });
  }
  const unhook = scopeInternals.onJoin(ctx.scope, () => {
    if (!started && failure !== undefined) throw failure.error;
  });
  return () => {
    started = true;
    unhook?.();
  };
}

async function* iterate(
  list: unknown[],
  options: AsCompletedOptions | undefined,
  onStart: () => void,
): AsyncGenerator<unknown, void, undefined> {
  onStart();
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
        label: itemLabel(list),
        next: () => (next < jobs.length ? jobs[next++]! : DONE),
        work: (i: number, ctx: TaskContext) => resolveItem(list[i], ctx),
        onFulfilled: (_: number, value: unknown) => push(value),
      });
    }
  };
  let settled = false;
  let failure: { error: unknown } | undefined;
  // Whether the consumer received the failure (else the keeper below raises it).
  let delivered = false;
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
  // Set when the consumer that started the loop ended without finishing it (see adopt).
  let abandoned: CancelledError | undefined;
  const release = adopt(
    s,
    outcome,
    () => (delivered || failure === undefined ? undefined : failure.error),
    (reason) => {
      abandoned = reason;
    },
  );
  const raise = (error: unknown): never => {
    delivered = true;
    throw firstError(error);
  };
  let yielded = 0;
  // An error the consumer threw into the loop (`it.throw(e)`): it stays the primary one.
  let thrown: { error: unknown } | undefined;
  try {
    while (yielded < list.length) {
      if (ready.length > 0) {
        yielded++;
        yield ready.shift();
        continue;
      }
      if (failure !== undefined) raise(failure.error);
      // Items were cancelled because the task that started the loop ended: a later
      // consumer must not mistake the loop for complete.
      if (abandoned !== undefined) throw abandoned;
      if (settled) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
    await outcome;
    if (failure !== undefined) raise(failure.error);
  } catch (error) {
    thrown = { error };
    throw error;
  } finally {
    release();
    if (!settled) {
      // Left early: stop the rest and wait for them (a cancellation we asked for).
      s.cancel();
      await outcome;
    }
    // A failure not handed to the consumer yet, also one that settled the items while the
    // consumer was in the loop body (review D4): raised at the `break`, or attached to
    // what the consumer threw in, never dropped.
    if (failure !== undefined && !delivered) {
      delivered = true;
      if (thrown === undefined) throw firstError(failure.error);
      attachSuppressed(thrown.error, firstError(failure.error));
    }
  }
}

/**
 * Ties the items' scope `s` to the consumer (review D5), so that the consumer's scope
 * cannot end while items still run, and a failure no consumer received (`undelivered()`)
 * fails that scope instead of being dropped. Outside any task, `s` answers to the
 * caller's signal only.
 *
 * - Opened in a task: a keeper task in the task's scope waits until `s` has settled, and
 *   when the task ends without finishing the loop, `s` is cancelled.
 * - Opened in a body: the loop belongs to the body's scope, whose tasks may use it too
 *   (review D8). Once the body and every task of that scope have settled, a join hook
 *   cancels `s` if the loop is still open, and the scope waits for it. (A keeper task
 *   there would keep the scope from ever reaching that point.)
 */
function adopt(
  s: Scope,
  outcome: Promise<void>,
  undelivered: () => unknown,
  onAbandon: (reason: CancelledError) => void,
): () => void {
  const ctx = currentContext();
  if (ctx === undefined || ctx.scope.closed || ctx.scope === s) return noop;
  let released = false;
  const owner = ctx.scope;
  const task = ctx.task;
  const abandon = (): void => {
    if (released || s.closed) return;
    const reason = new CancelledError(
      task === undefined
        ? `The ${s.name} loop was abandoned: scope "${owner.name}", whose body opened it, ended first`
        : `The ${s.name} loop was abandoned: the task that opened it ended first`,
    );
    onAbandon(reason);
    s.cancel(reason);
  };
  const raiseUndelivered = (): void => {
    const error = undelivered();
    if (error !== undefined && !isCancellation(error)) throw firstError(error);
  };
  // Unregistered when the loop ends, so a long-lived task or body running many loops
  // keeps nothing.
  let off: () => void;
  if (task === undefined) {
    const unhook = scopeInternals.onJoin(owner, () => {
      abandon();
      return outcome.then(raiseUndelivered);
    });
    if (unhook === undefined) return noop;
    off = unhook;
  } else {
    off = task.onSettled(abandon);
    scopeInternals.spawn(
      owner,
      async () => {
        await outcome;
        raiseUndelivered();
      },
      `${s.name}-keeper`,
    );
  }
  return () => {
    released = true;
    off();
  };
}
