import { isCancellationOf } from '../errors.ts';
import type { SettledState } from '../scope.ts';
import type { TaskContext } from '../task.ts';
import type { TaskContextImpl } from './context.ts';

type Callback = (state: SettledState) => void;

/**
 * The `onCurrentSettled` callbacks of the items of a pool (see `pool-item.ts`: a limited
 * `gather`/`settle`/`asCompleted`, `map`, `mapSettled`, `mapConcurrent`). An item has no
 * task of its own, but a callback registered inside it is the item's: it is called when
 * the item ends, with how it ended, not when its worker does, which may be much later
 * and fulfilled (`settle` records an item's failure and its worker goes on to the next
 * item). Probe P7: a pooled connection acquired by a failed `settle` item was never
 * handed back.
 *
 * Cost when no callback is registered: one `WeakMap.set` per worker (the mark that makes
 * `onCurrentSettled` look here) and, per item, one read of the module's {@link pending}
 * count, so that a `map` of trivial items runs as before (no extra local live across the
 * item's await, no write).
 */
class ItemSettled {
  /** The callbacks registered since the worker's last item ended; `undefined`: none. */
  #callbacks: Set<Callback> | undefined = undefined;
  /** Unregisters the fallback on the worker (see `add`). */
  #off: (() => void) | undefined = undefined;
  readonly #ctx: TaskContextImpl;

  constructor(ctx: TaskContextImpl) {
    this.#ctx = ctx;
  }

  /** Registers `callback` for the item running now; returns its unregister function. */
  add(callback: Callback): () => void {
    let set = this.#callbacks;
    if (set === undefined) {
      const fresh: Set<Callback> = new Set();
      set = fresh;
      this.#callbacks = fresh;
      pending++;
      // Callbacks registered while the worker pulled its next item from a source (or
      // found none), or in an item whose end the worker's loop did not see (the worker
      // failed out of it), are called when the worker settles, with its state.
      const task = this.#ctx.task!;
      this.#off = task.onSettled(() => {
        if (this.#callbacks !== fresh) return;
        this.#take();
        const state = task.state as SettledState;
        for (const cb of fresh) cb(state);
      });
    }
    set.add(callback);
    const own = set;
    return () => void own.delete(callback);
  }

  /**
   * The worker's item ended (`ok`: with a value, else failing with `value`): calls the
   * callbacks registered in it with `'fulfilled'`, `'cancelled'` (it failed with the
   * call's cancellation) or `'rejected'`: the state the item has for instrumentation
   * hooks (`PoolItem.settle`), so an item whose `currentTask().cancel()` cancelled its
   * worker alone is `'rejected'`, as `settle` records it.
   */
  end(ok: boolean, value: unknown): void {
    const set = this.#callbacks;
    if (set === undefined) return;
    this.#off!();
    this.#take();
    let state: SettledState = 'fulfilled';
    if (!ok) {
      const signal = this.#ctx.scope.signal;
      state = signal.aborted && isCancellationOf(value, signal.reason) ? 'cancelled' : 'rejected';
    }
    for (const cb of set) cb(state);
  }

  #take(): void {
    this.#callbacks = undefined;
    this.#off = undefined;
    pending--;
  }
}

/**
 * How many pool workers have item callbacks waiting for their item to end, in the whole
 * process: a worker's loop looks its item's callbacks up only while this is not 0.
 */
export let pending = 0;

// The pool workers, by their context: `null` until a callback is registered in one of its
// items. A WeakMap: callbacks an item left behind may keep a worker's context; the entry
// goes with it.
const workers: WeakMap<object, ItemSettled | null> = new WeakMap();

/** Marks the task of `ctx` as a pool worker: its items own their `onCurrentSettled` callbacks. */
export function poolWorker(ctx: TaskContext): void {
  workers.set(ctx, null);
}

/**
 * Registers `callback` for the item that the pool worker of `ctx` runs now, and returns
 * its unregister function; `undefined` when `ctx`'s task is no pool worker.
 */
export function onItemSettled(ctx: TaskContextImpl, callback: Callback): (() => void) | undefined {
  let items = workers.get(ctx);
  if (items === undefined) return undefined;
  if (items === null) {
    items = new ItemSettled(ctx);
    workers.set(ctx, items);
  }
  return items.add(callback);
}

/**
 * The item that the pool worker of `ctx` ran has ended (`ok`: with `value`, else failing
 * with it): its callbacks are called. Only worth calling while {@link pending} is not 0.
 */
export function itemEnded(ctx: TaskContext, ok: boolean, value: unknown): void {
  workers.get(ctx)?.end(ok, value);
}
