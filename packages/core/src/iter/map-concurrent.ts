import { isThenable } from '../internal/abortable.ts';
import { drain, Pipe, type PipeOptions } from '../internal/pipe.ts';
import { closeSource, openSource, serialPull } from '../internal/source.ts';
import {
  assertCount,
  assertFunction,
  assertOptions,
  assertSignal,
  describe,
} from '../internal/validate.ts';
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
 * complete with `ordered: false`). Backpressure: at most `concurrency` calls run at once,
 * and at most `concurrency` finished results wait for the consumer. The first failure
 * cancels the calls in flight, closes the source, and is raised after the results
 * already yielded.
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
  const setup = (): Pipe<Awaited<R>> => {
    const pipe = new Pipe<Awaited<R>>(Math.min(concurrency, 1024), options, 'mapConcurrent');
    let index = 0;
    let exhausted = false;
    // Several workers share the source; an async one is pulled one call at a time.
    const next = serialPull(src);
    // Ordered mode: results go out in index order; a worker waits for its turn, so at
    // most `concurrency` finished results are held. A cancelled pipe rejects every turn.
    let nextOut = 0;
    const turns = new Map<number, { resolve: () => void; reject: (reason: unknown) => void }>();
    pipe.onCancel((reason) => {
      for (const turn of turns.values()) turn.reject(reason);
      turns.clear();
    });
    const waitTurn = (i: number, signal: AbortSignal): Promise<void> => {
      signal.throwIfAborted();
      return new Promise<void>((resolve, reject) => turns.set(i, { resolve, reject }));
    };
    const advance = (): void => {
      const turn = turns.get(++nextOut);
      if (turn !== undefined) {
        turns.delete(nextOut);
        turn.resolve();
      }
    };
    const worker = async (ctx: TaskContext): Promise<void> => {
      const { signal } = ctx;
      while (!exhausted) {
        // Synchronous steps stay synchronous: no await for a sync source or a sync fn.
        let step = next(signal);
        if (isThenable(step)) step = await step;
        if (step.done) {
          exhausted = true;
          return;
        }
        const i = index++;
        let value = fn(step.value, ctx, i);
        if (isThenable(value)) value = await value;
        if (ordered && i !== nextOut) await waitTurn(i, signal);
        // A put that must wait joins the queue's FIFO of pending puts at once, so the
        // turn can pass on before there is room: order holds, and workers keep going.
        const waiting = pipe.queue.tryPut(value as Awaited<R>)
          ? undefined
          : pipe.put(value as Awaited<R>);
        if (ordered) advance();
        if (waiting !== undefined) await waiting;
      }
    };
    for (let w = 0; w < concurrency && w < 1024; w++)
      pipe.produce(`mapConcurrent-worker-${w}`, worker);
    return pipe;
  };
  return drain(setup, () => closeSource(src));
}
