import { Pipe, type PipeOptions } from '../internal/pipe.ts';
import { openSource } from '../internal/source.ts';
import {
  assertCount,
  assertDuration,
  assertOptions,
  assertSignal,
  describe,
} from '../internal/validate.ts';
import { moveOnAfter } from '../timeout.ts';

/** Options of {@link batch}. */
export interface BatchOptions extends PipeOptions {
  /** The most items in a batch. */
  size: number;
  /** Emit a partial batch this many ms after its first item arrived. Default `Infinity`. */
  maxWait?: number;
}

/**
 * Groups items into arrays of up to `size`, emitting a partial batch once `maxWait` ms
 * have passed since its first item (on the injected clock), and whatever is left when the
 * source ends. Stopping early closes the source.
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
  const src = openSource('source', source);
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `Expected \`options\` to be an object with \`size\`, got ${describe(options)}`,
    );
  }
  assertOptions('options', options);
  assertCount('options.size', options.size);
  const maxWait = options.maxWait ?? Number.POSITIVE_INFINITY;
  assertDuration('options.maxWait', maxWait);
  assertSignal('options.signal', options.signal);
  const size = options.size;
  return (async function* () {
    const pipe = new Pipe<T>(size, options, 'batch');
    pipe.pump('batch-reader', src);
    try {
      for (;;) {
        const first = await pipe.next();
        if (first.done) return;
        const group: T[] = [first.value];
        const due = pipe.clock.now() + maxWait;
        let ended = false;
        while (group.length < size) {
          const ready = pipe.queue.tryGet();
          if (ready !== undefined) {
            group.push(ready.value);
            continue;
          }
          const left = due - pipe.clock.now();
          if (left <= 0) break;
          // Waits on the queue itself: when time is up the wait is cancelled, taking nothing.
          const waited = await moveOnAfter(left, ({ signal }) => pipe.next(signal), {
            clock: pipe.clock,
            signal: pipe.outer,
          });
          if (waited.timedOut) break;
          const next = waited.value;
          if (next.done) {
            ended = true;
            break;
          }
          group.push(next.value);
        }
        yield group;
        if (ended) return;
      }
    } finally {
      await pipe.close();
    }
  })();
}
