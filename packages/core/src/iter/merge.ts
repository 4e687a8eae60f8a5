import { drain, Pipe, type PipeOptions } from '../internal/pipe.ts';
import { openSource, type Source } from '../internal/source.ts';

/**
 * Interleaves several sources: yields each item as soon as any source produces it, and
 * ends when all of them have ended. The first source failure stops the others (they are
 * closed) and is raised after the items already received. Stopping early closes every
 * source.
 *
 * @example
 * ```ts
 * import { merge } from '@weft/core';
 *
 * for await (const event of merge(clicks, keys, ticks)) handle(event);
 * ```
 */
export function merge<T>(
  ...sources: Array<AsyncIterable<T> | Iterable<T>>
): AsyncGenerator<T, void, undefined>;
export function merge<T>(
  ...args: Array<AsyncIterable<T> | Iterable<T> | PipeOptions>
): AsyncGenerator<T, void, undefined> {
  const srcs: Source<T>[] = args.map((s, i) => openSource(`sources[${i}]`, s as AsyncIterable<T>));
  return drain(() => {
    const pipe = new Pipe<T>(Math.max(1, srcs.length), undefined, 'merge');
    srcs.forEach((src, i) => pipe.pump(`merge-source-${i}`, src));
    return pipe;
  });
}
