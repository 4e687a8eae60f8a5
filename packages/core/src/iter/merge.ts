import { drain, PIPE_KEYS, Pipe, type PipeOptions } from '../internal/pipe.ts';
import { assertIterable, openSource, type Source } from '../internal/source.ts';
import { assertClock, assertOptions, assertSignal, describe } from '../internal/validate.ts';

/** Options of {@link merge}. */
export type MergeOptions = PipeOptions;

/**
 * Interleaves several sources: yields each item as soon as any source produces it, and
 * ends when all of them have ended (at once for no source). At most as many items as
 * there are sources are read ahead of the consumer. The first source failure stops the others (they are
 * closed) and is raised after the items already received.
 *
 * Cancellation (`signal`, or the enclosing task being cancelled) rejects the loop with the
 * reason. Stopping for any reason (break, error, cancellation, or `return()` before the
 * first item) stops every reader, closes every source and waits for them; an error thrown
 * while closing a source is raised (or attached to the loop's own error). Inside a task
 * the readers belong to the task's scope: when the task ends they stop and the sources
 * are closed, and the scope waits for that. Opened in a scope body, they belong to that
 * scope (its tasks may read the loop too) and stop once the body and every task have
 * settled, before the scope settles.
 *
 * @example
 * ```ts
 * import { merge } from '@weft/core';
 *
 * for await (const event of merge([clicks, keys, ticks])) handle(event);
 * ```
 */
export function merge<T>(
  sources: Iterable<AsyncIterable<T> | Iterable<T>>,
  options?: MergeOptions,
): AsyncGenerator<T, void, undefined> {
  if (
    sources === null ||
    typeof sources !== 'object' ||
    typeof (sources as Iterable<unknown>)[Symbol.iterator] !== 'function'
  ) {
    throw new TypeError(
      `Expected \`sources\` to be an array (or iterable) of sources, got ${describe(sources)}`,
    );
  }
  const list = [...sources];
  list.forEach((s, i) => assertIterable(`sources[${i}]`, s));
  assertOptions('options', options, PIPE_KEYS);
  assertSignal('options.signal', options?.signal);
  assertClock('options.clock', options?.clock);
  const srcs: Source<T>[] = list.map((s, i) => openSource(`sources[${i}]`, s));
  return drain(() => {
    const pipe = new Pipe<T>(Math.max(1, srcs.length), options, 'merge');
    srcs.forEach((src, i) => pipe.pump(`merge-source-${i}`, src));
    return pipe;
  }, srcs);
}
