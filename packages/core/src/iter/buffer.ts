import { drain, PIPE_KEYS, Pipe, type PipeOptions } from '../internal/pipe.ts';
import { assertIterable, openSource } from '../internal/source.ts';
import { assertClock, assertCount, assertSignal } from '../internal/validate.ts';
import { assertHelperOptions } from './options.ts';

/** Options of {@link buffer}. */
export interface BufferOptions extends PipeOptions {
  /** How many items to read ahead at most: an integer from 1 up, or `Infinity`. */
  size: number;
}

const KEYS: readonly string[] = ['size', ...PIPE_KEYS];

/**
 * Reads ahead: pulls up to `size` items from `source` in the background while the
 * consumer works on earlier ones, so a slow producer and a slow consumer overlap. At most
 * `size` items are read and not yet taken by the consumer, never more. Items keep their
 * order; a source failure is raised after the items read before it.
 *
 * Cancellation (`signal`, or the enclosing task being cancelled) rejects the loop with the
 * reason, never ends it quietly. Stopping for any reason (break, error, cancellation, or
 * `return()` before the first item) cancels the read-ahead, closes the source (`return()`)
 * and waits for both; an error thrown while closing the source is raised (or attached to
 * the loop's own error, see `suppressedErrors`). Inside a task the read-ahead belongs to
 * the task's scope: it stops and the source is closed when the task ends, and the scope
 * waits for that. Opened in a scope body, it belongs to that scope (its tasks may read
 * it too): it is closed once the body and every task have settled, before the scope
 * settles.
 *
 * @example
 * ```ts
 * import { buffer } from '@weft/core';
 *
 * for await (const page of buffer(fetchPages(), { size: 4 })) await render(page); // 4 ahead
 * ```
 */
export function buffer<T>(
  source: AsyncIterable<T> | Iterable<T>,
  options: BufferOptions,
): AsyncGenerator<T, void, undefined> {
  assertIterable('source', source);
  assertHelperOptions(options, 'size', KEYS, '{ size: 4 }');
  assertCount('options.size', options.size);
  assertSignal('options.signal', options.signal);
  assertClock('options.clock', options.clock);
  const src = openSource('source', source);
  return drain(() => {
    const pipe = new Pipe<T>(options.size, options, 'buffer');
    pipe.pump('buffer-reader', src);
    return pipe;
  }, [src]);
}
