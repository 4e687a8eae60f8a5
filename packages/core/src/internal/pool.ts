import type { Scope } from '../scope.ts';
import { scopeInternals } from '../scope.ts';
import type { TaskContext } from '../task.ts';
import { isThenable } from './abortable.ts';
import { hooks } from './instrument.ts';
import { itemEnded, pending, poolWorker } from './item-settled.ts';
import { endItem, type ItemLabel, startItem, tracksItems, workerDiag } from './pool-item.ts';
import { turnTime } from './start-time.ts';
import { NONE } from './symbols.ts';

/** What a pool's `next` returns when there are no more jobs. */
export const DONE: unique symbol = Symbol('weft.pool.done');

/** Options of {@link startPool}. */
export interface PoolOptions<J> {
  /**
   * How many jobs run at once: an integer from 1 up, or `Infinity` (no cap). Workers are
   * started lazily, one more each time a job is taken while every worker is busy, so a
   * pool never holds more workers than jobs.
   */
  readonly concurrency: number;
  /** Workers are named `${name}-worker` (diagnostics). */
  readonly name: string;
  /**
   * Names a job for diagnostics (`Scope.tree()`, the stuck report, hooks): the function's
   * name for a gather item, `fetchPage[3]` for a map item (see `pool-item.ts`).
   */
  readonly label: (job: J) => string;
  /**
   * Takes the next job, or returns {@link DONE} when there is none (the pool then stops
   * asking). When it returns a promise, the asking worker awaits it; calls from different
   * workers may overlap, so an async source must serialize itself (see `serialPull`).
   * `signal` is the asking worker's signal: reject with its reason when it aborts. A throw
   * or rejection fails the worker, and so the scope.
   */
  next(signal: AbortSignal): J | typeof DONE | PromiseLike<J | typeof DONE>;
  /**
   * Starts one job inside a worker task (`ctx` is that worker's context: its signal aborts
   * when the scope is cancelled) and returns its value or a promise of it, which the
   * worker awaits.
   */
  work(job: J, ctx: TaskContext): unknown;
  /** Receives a job's value. */
  onFulfilled?(job: J, value: unknown): void;
  /**
   * Receives a job's failure. Without it, or when it rethrows, the failure fails the
   * worker and so the scope (fail-fast); `settle` and `mapSettled` record it instead.
   */
  onRejected?(job: J, reason: unknown, ctx: TaskContext): void;
}

/**
 * The one worker pool of weft (`gather`/`settle` with `concurrency`, `map`, `mapSettled`,
 * `asCompleted`, `mapConcurrent`): runs `work(job)` for every job that `next()` yields, at
 * most `concurrency` at a time, as tasks of `s`, and hands each outcome to `onFulfilled`
 * or `onRejected`. Returns at once; the scope's join waits for the workers. Workers stop
 * taking jobs as soon as their signal aborts (the scope failed, was cancelled or timed
 * out) or `next()` returned `DONE`.
 *
 * @example
 * ```ts
 * let i = 0;
 * startPool<number>(scope, {
 *   concurrency: 4,
 *   name: 'fetch',
 *   label: (i) => `fetch[${i}]`,
 *   next: () => (i < urls.length ? i++ : DONE),
 *   work: (i, { signal }) => fetch(urls[i], { signal }),
 *   onFulfilled: (i, res) => { results[i] = res; },
 * });
 * ```
 */
export function startPool<J>(s: Scope, options: PoolOptions<J>): void {
  const { concurrency, next, work, onFulfilled, onRejected } = options;
  const workerName = `${options.name}-worker`;
  // Workers started (or about to be), workers inside a job, and whether `next` said DONE.
  let workers = 0;
  let busy = 0;
  let done = false;
  // Starting a worker runs its synchronous part at once, which may ask for another worker:
  // those requests are queued and started by the outermost call, so a pool of 100,000
  // synchronous jobs does not recurse 100,000 frames deep.
  let requested = 0;
  let starting = false;
  const requestWorker = (): void => {
    workers++;
    requested++;
    if (starting) return;
    starting = true;
    try {
      while (requested > 0) {
        requested--;
        scopeInternals.spawn(s, tracked ? trackedWorker : worker, workerName);
      }
    } finally {
      starting = false;
    }
  };
  const worker = async (ctx: TaskContext): Promise<void> => {
    const signal = ctx.signal;
    // The onCurrentSettled callbacks of each item are the item's (see item-settled.ts).
    poolWorker(ctx);
    while (!done && !signal.aborted) {
      let job = next(signal);
      if (isThenable(job)) job = await job;
      if (job === DONE) {
        done = true;
        return;
      }
      // Every worker is busy and there may be more jobs: start one more, up to the cap.
      if (++busy === workers && workers < concurrency) requestWorker();
      let value: unknown;
      try {
        value = work(job, ctx);
        if (isThenable(value)) value = await value;
      } catch (reason) {
        busy--;
        if (pending !== 0) itemEnded(ctx, false, reason);
        if (onRejected === undefined) throw reason;
        onRejected(job, reason, ctx);
        continue;
      }
      busy--;
      if (pending !== 0) itemEnded(ctx, true, value);
      onFulfilled?.(job, value);
    }
    replaceIfCancelledAlone(signal);
  };
  // Only this worker was cancelled, not the call: an item's `currentTask().cancel()`
  // reaches the worker it runs in. Another worker takes over the jobs left, so none is
  // dropped (the item itself ended as it chose: its value or its failure was recorded).
  // Each worker ran at least one job, so this ends.
  const replaceIfCancelledAlone = (signal: AbortSignal): void => {
    if (!done && signal.aborted && !s.signal.aborted) {
      workers--;
      requestWorker();
    }
  };
  // While diagnostics are on (see tracksItems), the workers are this copy of the loop
  // above, which also records the item each runs (tree, stuck report) and reports it to
  // the hooks, around the same awaits (no extra promise, so the same interleaving).
  // Otherwise the loop above runs untouched: even a field write around each item's
  // await costs a map of trivial async items about 5% more instructions.
  const tracked = tracksItems(s);
  const label = options.label as unknown as ItemLabel;
  const clock = s.clock;
  const trackedWorker = async (ctx: TaskContext): Promise<void> => {
    const signal = ctx.signal;
    const diag = workerDiag(ctx, label);
    poolWorker(ctx);
    while (!done && !signal.aborted) {
      let job = next(signal);
      if (isThenable(job)) job = await job;
      if (job === DONE) {
        done = true;
        return;
      }
      if (++busy === workers && workers < concurrency) requestWorker();
      if (hooks !== null) startItem(diag, ctx, job as number);
      let value: unknown;
      try {
        value = work(job, ctx);
        if (isThenable(value)) {
          diag.job = job;
          diag.since = turnTime(clock);
          value = await value;
          diag.job = NONE;
        }
      } catch (reason) {
        busy--;
        diag.job = NONE;
        endItem(diag, false, reason);
        if (pending !== 0) itemEnded(ctx, false, reason);
        if (onRejected === undefined) throw reason;
        onRejected(job, reason, ctx);
        continue;
      }
      busy--;
      endItem(diag, true, value);
      if (pending !== 0) itemEnded(ctx, true, value);
      onFulfilled?.(job, value);
    }
    replaceIfCancelledAlone(signal);
  };
  requestWorker();
}
