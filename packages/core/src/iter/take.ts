import { callerContext } from '../caller.ts';
import { closeSource, openSource, pull } from '../internal/source.ts';
import { assertCount, assertOptions, assertSignal } from '../internal/validate.ts';
import type { PipeOptions } from '../internal/pipe.ts';

/**
 * Yields the first `n` items of `source`, then closes it (`return()`). Closes it too when
 * the consumer stops early or `signal` aborts (a pending pull rejects at once).
 *
 * @example
 * ```ts
 * import { take } from '@weft/core';
 *
 * for await (const line of take(readLines(file), 10)) console.log(line);
 * ```
 */
export function take<T>(
  source: AsyncIterable<T> | Iterable<T>,
  n: number,
  options?: PipeOptions,
): AsyncGenerator<T, void, undefined> {
  const src = openSource('source', source);
  assertCount('n', n, 0);
  assertOptions('options', options);
  assertSignal('options.signal', options?.signal);
  return (async function* () {
    using caller = callerContext(
      options?.signal === undefined ? undefined : { signal: options.signal },
    );
    const signal = caller.signal;
    try {
      for (let i = 0; i < n; i++) {
        const step = await pull(src, signal);
        if (step.done) return;
        yield step.value;
      }
    } finally {
      await closeSource(src);
    }
  })();
}
