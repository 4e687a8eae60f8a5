import { currentContext } from './internal/context.ts';
import type { Scope } from './scope.ts';
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
