import { closePipe, helperIterator, PIPE_KEYS, Pipe, type PipeOptions } from '../internal/pipe.ts';
import { assertIterable, openSource } from '../internal/source.ts';
import { assertClock, assertCount, assertDuration, assertSignal } from '../internal/validate.ts';
import { assertHelperOptions } from './options.ts';

/** Options of {@link batch}. */
export interface BatchOptions extends PipeOptions {
  /** The most items in a batch: an integer from 1 up. Also how many are read ahead. */
  size: number;
  /**
   * Emit a partial batch this many ms (of `clock` time) after its first item arrived.
   * @default Infinity
   */
  maxWait?: number | undefined;
}

const KEYS: readonly string[] = ['size', 'maxWait', ...PIPE_KEYS];

/**
 * Groups items into arrays of up to `size`, emitting a partial batch once `maxWait` ms
 * have passed since its first item (on the injected clock), and whatever is left when the
 * source ends. The source is read in the background, at most `size` items ahead.
 *
 * When the source fails, the items already read are delivered (a last, partial batch),
 * then the failure is raised. Cancellation (`signal`, or the enclosing task being
 * cancelled) rejects the loop with the reason. Stopping for any reason (break, error,
 * cancellation, or `return()` before the first batch) closes the source and waits for the
 * reader; an error thrown while closing the source is raised (or attached to the loop's
 * own error). Opened in a task, the loop is closed when that task ends; opened in a scope
 * body, once the body and every task of that scope have settled (its tasks may read it).
 *
 * @example
 * ```ts
 * import { batch } from '@weft/core';
 *
 * for await (const rows of batch(events, { size: 100, maxWait: 50 })) await db.insertMany(rows);
 * ```
 */
export function batch<T>(
  source: AsyncIterable<T> | Iterable<T>,
  options: BatchOptions,
): AsyncGenerator<T[], void, undefined> {
  assertIterable('source', source);
  assertHelperOptions(options, 'size', KEYS, '{ size: 100 }');
  assertCount('options.size', options.size);
  if (options.size === Number.POSITIVE_INFINITY) {
    throw new RangeError(
      'Expected `options.size` to be a finite integer from 1 up, got `Infinity` (number)',
    );
  }
  const maxWait = options.maxWait ?? Number.POSITIVE_INFINITY;
  assertDuration('options.maxWait', maxWait);
  assertSignal('options.signal', options.signal);
  assertClock('options.clock', options.clock);
  const size = options.size;
  const src = openSource('source', source);
  return helperIterator(
    async function* () {
      const pipe = new Pipe<T>(size, options, 'batch');
      pipe.pump('batch-reader', src);
      pipe.seal();
      let failure: { error: unknown } | undefined;
      try {
        for (;;) {
          const first = (await pipe.next())!;
          if (first.done) return;
          const group: T[] = [first.value];
          const due = maxWait === Number.POSITIVE_INFINITY ? maxWait : pipe.clock.now() + maxWait;
          let ended = false;
          let failed: { error: unknown } | undefined;
          while (group.length < size) {
            const ready = pipe.tryNext();
            if (ready !== undefined) {
              group.push(ready.value);
              continue;
            }
            let step: IteratorResult<T, undefined> | undefined;
            try {
              step = await pipe.next(due);
            } catch (error) {
              // Cancelled: stop now. Failed: deliver what was read first.
              if (pipe.cancelled) throw error;
              failed = { error };
              break;
            }
            if (step === undefined) break; // maxWait passed
            if (step.done) {
              ended = true;
              break;
            }
            group.push(step.value);
          }
          yield group;
          if (failed !== undefined) throw failed.error;
          if (ended) return;
        }
      } catch (error) {
        failure = { error };
        throw error;
      } finally {
        await closePipe(pipe, failure);
      }
    },
    [src],
  );
}
