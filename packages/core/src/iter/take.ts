import { callerContext } from '../caller.ts';
import { attachSuppressed, suppressedErrors } from '../errors.ts';
import { isThenable } from '../internal/abortable.ts';
import { currentContext, joinSignals, runInContext } from '../internal/context.ts';
import {
  abortReasons,
  type Adoption,
  adoptByTask,
  handOver,
  helperIterator,
} from '../internal/pipe.ts';
import {
  assertIterable,
  closeSourceAfter,
  openSource,
  pull,
  type Source,
} from '../internal/source.ts';
import { assertCount, assertSignal } from '../internal/validate.ts';
import { assertHelperOptions } from './options.ts';

/** Options of {@link take}. */
export interface TakeOptions {
  /** How many items to yield at most: an integer from 0 up, or `Infinity`. */
  count: number;
  /**
   * Stops the loop when it aborts (a pending pull rejects at once with its reason). Inside
   * a task the task's cancellation applies too; this signal adds to it.
   * @default undefined (inside a task: the task's signal)
   */
  signal?: AbortSignal | undefined;
}

const KEYS: readonly string[] = ['count', 'signal'];

/**
 * Yields the first `count` items of `source`, then closes it (`return()`). Closes it too
 * when the consumer stops early, before the first item, or when `signal` aborts (a
 * pending pull rejects at once with the reason: cancellation is a rejection, never a
 * quiet end). An error thrown while closing the source is raised, or attached to the
 * loop's own error (`suppressedErrors`). Opened in a task, the loop is closed when that
 * task ends; opened in a scope body, once the body and every task of that scope have
 * settled (its tasks may read it). The source is always pulled in the context of the task
 * or body of the first `next()`, so a later `next()` cut by a nested time limit
 * (`moveOnAfter(ms, () => it.next())`) keeps its item for the next call, as with the
 * other helpers.
 *
 * @example
 * ```ts
 * import { take } from '@weft/core';
 *
 * for await (const line of take(readLines(file), { count: 10 })) console.log(line);
 * ```
 */
export function take<T>(
  source: AsyncIterable<T> | Iterable<T>,
  options: TakeOptions,
): AsyncGenerator<T, void, undefined> {
  assertIterable('source', source);
  assertHelperOptions(options, 'count', KEYS, '{ count: 10 }');
  const count = options.count;
  assertCount('options.count', count, 0);
  assertSignal('options.signal', options.signal);
  const src = openSource('source', source);
  const explicit = options.signal;
  return helperIterator(
    async function* (self) {
      using caller = callerContext(explicit === undefined ? undefined : { signal: explicit });
      const signal = caller.signal;
      const task = currentContext();
      // Inside a task: if the task ends without closing the loop, its scope closes it. In a
      // body: once the body and the scope's tasks have settled (one of them may read it).
      const adoption = adoptByTask('take', task, (error) => self.abandon(error));
      // Owned: a pull still pending then (a reader that left) is cut short too.
      const joined =
        adoption === undefined
          ? undefined
          : joinSignals(signal === undefined ? [self.signal] : [signal, self.signal]);
      const pullSignal = joined === undefined ? signal : joined.signal;
      // The source is pulled in the context of the task (or body) that opened the loop,
      // as the other helpers pull it from tasks of their own: a `next()` called from a
      // nested body (a `moveOnAfter` poll) must not lend the source that body's
      // cancellation, or its first time limit would close the source (review D7).
      const pullInOwner = (): IteratorResult<T> | Promise<IteratorResult<T>> =>
        pull(src, pullSignal);
      let failure: { error: unknown } | undefined;
      try {
        for (let i = 0; i < count; i++) {
          const pulled =
            task === undefined ? pull(src, pullSignal) : runInContext(task, pullInOwner, undefined);
          const step = isThenable(pulled) ? await pulled : pulled;
          if (step.done) return;
          yield step.value;
        }
      } catch (error) {
        // Abandoned mid-pull: not the loop's failure; cleanup errors are raised as such.
        if (!(self.abandoned && self.signal.aborted && error === self.signal.reason)) {
          failure = { error };
        }
        throw error;
      } finally {
        joined?.dispose();
        // Abandoned: no loop fails with a cancellation, cleanup errors are raised as such.
        const signals = self.abandoned ? [] : [signal, task?.signal, explicit];
        await closeTake(src, failure, signals, adoption);
      }
    },
    [src],
  );
}

/**
 * Closes take's source (see `closeSource`). A cleanup error goes to the loop's own error;
 * when the loop was cancelled, to the cancellation reasons (a for-await failing with one
 * discards `return()`'s error); inside a task, a late close goes to the task's scope.
 */
async function closeTake<T>(
  src: Source<T>,
  failure: { error: unknown } | undefined,
  signals: ReadonlyArray<AbortSignal | undefined>,
  adoption: Adoption | undefined,
): Promise<void> {
  const reasons = failure === undefined ? abortReasons(signals) : [];
  let closing: Promise<void> | undefined;
  try {
    await closeSourceAfter(
      src,
      failure ?? (reasons.length > 0 ? { error: reasons[0] } : undefined),
      (late) => {
        closing = late;
      },
    );
  } catch (error) {
    for (const reason of reasons.slice(1)) {
      for (const cleanup of suppressedErrors(error)) attachSuppressed(reason, cleanup);
    }
    throw error;
  } finally {
    // A source still closing late: the consumer's scope waits and gets its error (outside
    // any scope it is reported as unhandled, see handOver).
    const late = closing;
    if (adoption !== undefined) {
      adoption.finish(
        late === undefined
          ? undefined
          : () =>
              late.then(
                () => [],
                (error: unknown) => [error],
              ),
      );
    } else if (late !== undefined) handOver(undefined, late);
  }
}
