import { drain, Pipe, type PipeOptions } from '../internal/pipe.ts';
import { openSource } from '../internal/source.ts';
import { assertCount, assertOptions, assertSignal } from '../internal/validate.ts';

/**
 * Reads ahead: pulls up to `size` items from `source` in the background while the
 * consumer works on earlier ones, so a slow producer and a slow consumer overlap. Items
 * keep their order; a source failure is raised after the items read before it.
 * Stopping early (break, error, `signal`) cancels the read-ahead, closes the source and
 * waits for both.
 *
 * @example
 * ```ts
 * import { buffer } from '@weft/core';
 *
 * for await (const page of buffer(fetchPages(), 4)) await render(page); // fetches 4 ahead
 * ```
 */
export function buffer<T>(
  source: AsyncIterable<T> | Iterable<T>,
  size: number,
  options?: PipeOptions,
): AsyncGenerator<T, void, undefined> {
  const src = openSource('source', source);
  assertCount('size', size);
  assertOptions('options', options);
  assertSignal('options.signal', options?.signal);
  return drain(() => {
    const pipe = new Pipe<T>(size, options, 'buffer');
    pipe.pump('buffer-reader', src);
    return pipe;
  });
}
