import { CancelledError, isCancellationOf } from '../errors.ts';
import type { Task, TaskContext, TaskImpl, TaskState } from '../task.ts';
import { type RunMarker, type Scope, scopeInternals } from '../scope.ts';
import { nextId, type TaskContextImpl } from './context.ts';
import { hooks, newDiag, type TaskDiag } from './instrument.ts';
import { NONE } from './symbols.ts';

/**
 * The items of a pool (a limited `gather`/`settle`/`asCompleted`, `map`, `mapSettled`,
 * `mapConcurrent`) run one after another inside a few worker tasks, without a task, a
 * context or an object of their own: that is what makes a limited `map` cheap. This
 * module makes them visible to diagnostics anyway, for the calls that start while
 * diagnostics are on (see {@link tracksItems}): such a call's workers run a copy of the
 * pool's loop (in `pool.ts`, `map-concurrent.ts`) that
 *
 * - records in its worker's {@link TaskDiag} which job an item that waits is, and since
 *   when, so that `Scope.tree()` and the stuck check can name the item a worker is
 *   waiting in (an item that returns at once cannot be seen running by either);
 * - while instrumentation hooks are registered, makes a {@link PoolItem} per item, a
 *   task-like object passed to `onTaskStart`/`onTaskSettle` (and so to the timeline).
 *
 * Any other call runs the pool's loop untouched: even one or two field writes around the
 * `await` of each item cost a `map` of 100,000 trivial async items 5–8% more
 * instructions (valgrind), so nothing is done per item unless something may look.
 *
 * The names, states and parents all come from here (one source of truth): an item's
 * `scope` is the pool's scope (its logical parent, as for a task of an unlimited
 * `gather`), its name its `label` plus `#id` (as for an unnamed task).
 */

/** Names a pool's job (`fetchPage[3]`, or a gather item's function name). */
export type ItemLabel = (job: number) => string;

// Whether `Scope.tree()` has been called in this process: from then on, every pool call
// tracks its items (module state: a snapshot can be taken of any scope, at any time).
let treeUsed = false;

/** `Scope.tree()` was called: pool calls started from now on track their items. */
export function noteTreeUsed(): void {
  treeUsed = true;
}

/**
 * Whether a pool call starting now in `s` tracks its items: while instrumentation hooks
 * are registered, inside a `run()` whose stuck check or `dumpTasksOn` is on, or once
 * `Scope.tree()` has been called in the process.
 */
export function tracksItems(s: Scope | undefined): boolean {
  if (hooks !== null || treeUsed) return true;
  const run = s === undefined ? undefined : (scopeInternals.runOf(s) as RunMarker | undefined);
  return run !== undefined && (run.stuck !== undefined || run.dump === true);
}

/**
 * Makes the worker task of `ctx` a pool worker: its diag (made now) records which job
 * it runs. Called once per worker.
 */
export function workerDiag(ctx: TaskContext, label: ItemLabel): TaskDiag {
  const worker = (ctx as TaskContextImpl).task as TaskImpl<unknown>;
  const diag = (worker.diag ??= newDiag());
  diag.label = label;
  return diag;
}

/**
 * The item `job` that `diag`'s worker starts now, made only while hooks are registered
 * (the caller checks), and reported to them.
 */
export function startItem(diag: TaskDiag, worker: TaskContext, job: number): PoolItem {
  const at = worker.clock.now();
  const item = new PoolItem(worker, diag.label!(job), at);
  diag.item = item;
  hooks?.taskStart(item, at);
  return item;
}

/**
 * The id of the item object (made while hooks are registered) that `task` runs, if it is
 * a pool worker inside one: the timeline nests the scopes an item opens under it.
 */
export function runningItemId(task: Task<unknown> | undefined): number | undefined {
  return (task as { diag?: TaskDiag } | undefined)?.diag?.item?.id;
}

/** The name (`page[1]#17`) of the item that `task` runs, if it is a pool worker inside one. */
export function runningItemName(task: Task<unknown>): string | undefined {
  return runningItem((task as { diag?: TaskDiag }).diag)?.name;
}

/** What `Scope.tree()` and the stuck check show for a pool worker inside an item. */
export interface RunningItem {
  readonly id: number;
  /** The name without the id (`fetchPage[3]`). */
  readonly label: string;
  /** `Task.name`'s form: `label#id`. */
  readonly name: string;
  /** When it started, on the worker's clock. */
  readonly since: number;
}

/** The item `diag`'s worker runs right now, if any. */
export function runningItem(diag: TaskDiag | undefined): RunningItem | undefined {
  if (diag === undefined || diag.label === undefined) return undefined;
  const item = diag.item;
  if (item !== undefined) {
    return { id: item.id, label: item.label, name: item.name, since: item.since };
  }
  if (diag.job === NONE) return undefined;
  // No hooks: the id is given the first time the item is looked at, and kept for it.
  if (diag.idJob !== diag.job) {
    diag.idJob = diag.job;
    diag.itemId = nextId();
  }
  const label = diag.label(diag.job as number);
  return { id: diag.itemId, label, name: `${label}#${diag.itemId}`, since: diag.since };
}

/**
 * An item of a pool, as instrumentation hooks see it: a `Task` whose `scope` is the pool's
 * scope, whose `signal` is its worker's, and whose `cancel()` cancels its worker (an item
 * has no signal of its own), which fails the whole call: as for an item task of an
 * unlimited `gather`, but for `settle`/`mapSettled` too, where an unlimited call would
 * record that one item as rejected. Awaiting it waits for its outcome.
 */
export class PoolItem implements Task<unknown> {
  readonly id: number = nextId();
  readonly label: string;
  /** When it started, on its worker's clock. */
  readonly since: number;
  readonly #ctx: TaskContext;
  #state: TaskState = 'running';
  #value: unknown;
  #deferred:
    | { promise: Promise<unknown>; resolve(v: unknown): void; reject(e: unknown): void }
    | undefined;

  constructor(ctx: TaskContext, label: string, since: number) {
    this.#ctx = ctx;
    this.label = label;
    this.since = since;
  }

  get name(): string {
    return `${this.label}#${this.id}`;
  }

  get state(): TaskState {
    return this.#state;
  }

  get signal(): AbortSignal {
    return this.#ctx.signal;
  }

  get scope(): Scope {
    return this.#ctx.scope;
  }

  cancel(reason?: unknown): void {
    if (this.#state !== 'running') return;
    const worker = (this.#ctx as TaskContextImpl).task;
    worker?.cancel(
      reason === undefined ? new CancelledError(`Task "${this.name}" was cancelled`) : reason,
    );
  }

  then<R1 = unknown, R2 = never>(
    onfulfilled?: ((value: unknown) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    let promise: Promise<unknown>;
    if (this.#state === 'running') {
      if (this.#deferred === undefined) {
        let resolve!: (v: unknown) => void;
        let reject!: (e: unknown) => void;
        const pending = new Promise<unknown>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        this.#deferred = { promise: pending, resolve, reject };
      }
      promise = this.#deferred.promise;
    } else if (this.#state === 'fulfilled') promise = Promise.resolve(this.#value);
    else promise = Promise.reject(this.#value);
    return promise.then(onfulfilled, onrejected);
  }

  get [Symbol.toStringTag](): string {
    return 'Task';
  }

  /**
   * The item ended (`ok`: with `value`, else failing with it): `cancelled` when that is
   * its scope's cancellation, else `fulfilled` or `rejected`; reported to the hooks.
   */
  settle(ok: boolean, value: unknown): void {
    if (this.#state !== 'running') return;
    const signal = this.#ctx.scope.signal;
    this.#value = value;
    this.#state = ok
      ? 'fulfilled'
      : signal.aborted && isCancellationOf(value, signal.reason)
        ? 'cancelled'
        : 'rejected';
    const deferred = this.#deferred;
    if (deferred !== undefined) {
      this.#deferred = undefined;
      if (ok) deferred.resolve(value);
      else deferred.reject(value);
    }
    hooks?.taskSettle(this, this.#ctx.clock.now());
  }
}

/**
 * The item made by {@link startItem} for `diag`'s worker ended (`ok`: with `value`, else
 * failing with it): it settles, and is reported to the hooks.
 */
export function endItem(diag: TaskDiag, ok: boolean, value: unknown): void {
  const item = diag.item;
  if (item === undefined) return;
  diag.item = undefined;
  item.settle(ok, value);
}
