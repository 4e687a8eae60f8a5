import { currentContext } from './internal/context.ts';
import { errorText } from './internal/error-text.ts';
import { onItemSettled } from './internal/item-settled.ts';
import { assertFunction } from './internal/validate.ts';
import { type Scope, type SettledState, scopeInternals } from './scope.ts';
import type { Task } from './task.ts';

/**
 * The task the caller runs in (asyncio's `current_task()`), or `undefined` outside any
 * task: at top level, in a scope body (the body is not a task: see {@link currentScope}),
 * and in a callback (timer, listener) left behind by a task that has since settled.
 *
 * The task's `id`, `name`, `state` and `scope` (its parent; then `scope.parent` and
 * `scope.parentTask` upwards) identify it for diagnostics and logging.
 *
 * Inside an item of a limited `gather`/`settle`/`asCompleted`, a `map`/`mapSettled` or a
 * `mapConcurrent`, it is the worker task running the item (`map-worker`): items have no
 * task of their own, which is what keeps a limited `map` cheap. Diagnostics still show
 * each item (`Scope.tree()` under its worker, `instrument` hooks and the timeline as a
 * task-like object, the stuck report by the item's name).
 *
 * @example
 * ```ts
 * import { currentTask, scope } from '@weft/core';
 *
 * await scope((s) => {
 *   s.spawn(() => console.log(currentTask()?.name), { name: 'worker' }); // 'worker'
 * });
 * ```
 */
export function currentTask(): Task<unknown> | undefined {
  return currentContext()?.task;
}

/**
 * The scope the caller runs in: the scope of the current task, or the scope whose body is
 * running; `undefined` outside any scope (and in callbacks left behind by a task or scope
 * that has settled). A library uses it to name where it was called from; to start work
 * there, use the task's `ctx.scope`.
 *
 * @example
 * ```ts
 * import { currentScope, scope } from '@weft/core';
 *
 * await scope(async () => {
 *   console.log(currentScope()?.name); // 'jobs'
 * }, { name: 'jobs' });
 * ```
 */
export function currentScope(): Scope | undefined {
  return currentContext()?.scope;
}

/**
 * Calls `callback` once the task or scope body the caller runs in has settled, with how
 * it ended: `'fulfilled'`, `'rejected'` (it failed) or `'cancelled'` (it ended with a
 * cancellation: its scope's, its own `cancel()`, a timeout). A hook for libraries that
 * hand out resources (a pooled connection, a lock) and must take them back from work that
 * ended without giving them back. A body is a `scope()` body, a `run()` function, a
 * `timeout()` or `shield()` function.
 *
 * Inside an item of a limited `gather`/`settle`/`asCompleted` (or one with `onProgress`),
 * a `map`/`mapSettled` or a `mapConcurrent`, it is the item, although `currentTask()` is
 * the worker task running it: the callback is called when the item ends, with
 * `'fulfilled'`, `'rejected'` or `'cancelled'` (it failed with the call's cancellation),
 * before the worker takes its next item. Registered while the worker pulls an item from
 * the call's source, it is that item's; when the source has ended, the worker's.
 *
 * - Returns a function that unregisters the callback (call it when the resource comes
 *   back, so a long-lived task keeps nothing), or `undefined` outside any task or body:
 *   nothing will call it then.
 * - Called once, synchronously: for a task, right after it settled (its shielded cleanup
 *   has run by then), with its `state`; for a body, once the body and every task of its
 *   scope have settled (a task may still use what the body acquired), with how the call
 *   ends (`'fulfilled'` only when it resolves with the body's value); at once if that
 *   has already happened.
 *   Keep it short and start no work from it (the context it runs in is not the task's).
 * - An error it throws is not raised anywhere (the task has settled): it is emitted as a
 *   `SettledCallbackWarning` process warning (`console.error` where there is none).
 *
 * @example
 * ```ts
 * import { onCurrentSettled, scope } from '@weft/core';
 *
 * await scope(async () => {
 *   const lease = pool.take();
 *   const off = onCurrentSettled((state) => {
 *     if (state !== 'fulfilled') pool.giveBack(lease); // cancelled or failed while holding it
 *   });
 *   await use(lease);
 *   pool.giveBack(lease);
 *   off?.();
 * });
 * ```
 */
export function onCurrentSettled(
  callback: (state: SettledState) => void,
): (() => void) | undefined {
  assertFunction('callback', callback);
  const ctx = currentContext();
  if (ctx === undefined) return undefined;
  const guarded = (state: SettledState): void => {
    try {
      callback(state);
    } catch (error) {
      warnCallbackFailed(error);
    }
  };
  const task = ctx.task;
  if (task !== undefined) {
    // Inside an item of a pool, the item's (probe P7).
    const off = onItemSettled(ctx, guarded);
    if (off !== undefined) return off;
    return task.onSettled(() => guarded(task.state as SettledState));
  }
  return scopeInternals.onBodySettled(ctx.scope, guarded);
}

function warnCallbackFailed(error: unknown): void {
  const warning = new Error(
    `An onCurrentSettled callback threw after its task had settled (${errorText(error)})`,
    { cause: error },
  );
  warning.name = 'SettledCallbackWarning';
  const proc = (globalThis as { process?: { emitWarning?: (warning: Error) => void } }).process;
  if (typeof proc?.emitWarning === 'function') proc.emitWarning(warning);
  else console.error(warning);
}
