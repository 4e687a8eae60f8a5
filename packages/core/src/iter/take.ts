import { callerContext } from '../caller.ts';
import { isThenable } from '../internal/abortable.ts';
import { helperIterator } from '../internal/pipe.ts';
import { assertIterable, closeSourceAfter, openSource, pull } from '../internal/source.ts';
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
 * loop's own error (`suppressedErrors`).
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
    async function* () {
      using caller = callerContext(explicit === undefined ? undefined : { signal: explicit });
      const signal = caller.signal;
      let failure: { error: unknown } | undefined;
      try {
        for (let i = 0; i < count; i++) {
          const pulled = pull(src, signal);
          const step = isThenable(pulled) ? await pulled : pulled;
          if (step.done) return;
          yield step.value;
        }
      } catch (error) {
        failure = { error };
        throw error;
      } finally {
        await closeSourceAfter(src, failure);
      }
    },
    [src],
  );
}
