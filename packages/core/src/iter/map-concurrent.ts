import { drain, Pipe, type PipeOptions } from '../internal/pipe.ts';
import { closeSource, openSource, pull } from '../internal/source.ts';
import {
  assertCount,
  assertFunction,
  assertOptions,
  assertSignal,
  describe,
} from '../internal/validate.ts';
import { type Permit, Semaphore } from '../semaphore.ts';
import type { TaskContext } from '../task.ts';

/** Options of {@link mapConcurrent}. */
export interface MapConcurrentOptions extends PipeOptions {
  /** How many calls of `fn` run at once. */
  concurrency: number;
  /** Yield results in input order (default `true`) or as they complete. */
  ordered?: boolean;
}

/**
 * A streaming `map`: calls `fn(item, ctx, index)` on items of `source` as they arrive,
 * at most `concurrency` at once, and yields the results in input order (or as they
 * complete with `ordered: false`). Backpressure: at most `concurrency` calls run at
 * once, and at most `concurrency` finished results wait for the consumer. The first failure cancels the calls in flight,
 * closes the source, and is raised after the results already yielded.
 *
 * @example
 * ```ts
 * import { mapConcurrent } from '@weft/core';
 *
 * const pages = mapConcurrent(urls, (url, { signal }) => fetch(url, { signal }), { concurrency: 4 });
 * for await (const res of pages) console.log(res.status);
 * ```
 */
export function mapConcurrent<T, R>(
  source: AsyncIterable<T> | Iterable<T>,
  fn: (item: T, ctx: TaskContext, index: number) => R | PromiseLike<R>,
  options: MapConcurrentOptions,
): AsyncGenerator<Awaited<R>, void, undefined> {
  const src = openSource('source', source);
  assertFunction('fn', fn);
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(
      `Expected \`options\` to be an object with \`concurrency\`, got ${describe(options)}`,
    );
  }
  assertOptions('options', options);
  assertCount('options.concurrency', options.concurrency);
  assertSignal('options.signal', options.signal);
  const ordered = options.ordered ?? true;
  if (typeof ordered !== 'boolean') {
    throw new TypeError(`Expected \`options.ordered\` to be a boolean, got ${describe(ordered)}`);
  }
  const concurrency = options.concurrency;
  return (async function* () {
    const capacity = Math.min(concurrency, 1024);
    const pipe = new Pipe<Awaited<R>>(capacity, options, 'mapConcurrent');
    const slots = new Semaphore(concurrency);
    const finished = new Map<number, { value: Awaited<R>; permit: Permit }>();
    let nextOut = 0;
    let emitting = false;
    // Emits finished results in input order; one emitter at a time.
    const emitInOrder = async (signal: AbortSignal): Promise<void> => {
      if (emitting) return;
      emitting = true;
      try {
        for (let r = finished.get(nextOut); r !== undefined; r = finished.get(nextOut)) {
          finished.delete(nextOut);
          nextOut++;
          try {
            await pipe.queue.put(r.value, { signal });
          } finally {
            r.permit.release();
          }
        }
      } finally {
        emitting = false;
      }
    };
    pipe.produce('mapConcurrent-feeder', async ({ signal }) => {
      try {
        for (let index = 0; ; index++) {
          const permit = await slots.acquire({ signal });
          let step: IteratorResult<T>;
          try {
            step = await pull(src, signal);
          } catch (error) {
            permit.release();
            throw error;
          }
          if (step.done) {
            permit.release();
            return;
          }
          const item = step.value;
          const i = index;
          pipe.produce(`mapConcurrent#${i}`, async (ctx) => {
            let value: Awaited<R>;
            try {
              value = await fn(item, ctx, i);
            } catch (error) {
              permit.release();
              throw error;
            }
            if (!ordered) {
              try {
                await pipe.queue.put(value, { signal: ctx.signal });
              } finally {
                permit.release();
              }
              return;
            }
            finished.set(i, { value, permit });
            await emitInOrder(ctx.signal);
          });
        }
      } finally {
        await closeSource(src);
      }
    });
    yield* drain(pipe);
  })();
}
