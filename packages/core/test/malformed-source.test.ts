// Review D2 of rv-core4: a source whose next() gives something other than an object is a
// TypeError raised by the loop, as the language's `for await` raises it, not an endless
// stream of `undefined` items.
import { describe, expect, test } from 'vitest';
import { batch } from '../src/iter/batch.ts';
import { buffer } from '../src/iter/buffer.ts';
import { mapConcurrent } from '../src/iter/map-concurrent.ts';
import { merge } from '../src/iter/merge.ts';
import { take } from '../src/iter/take.ts';
import { map, mapSettled } from '../src/map.ts';

function badAsync(): AsyncIterable<number> {
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => Promise.resolve(5 as never),
      return: () => Promise.resolve({ done: true, value: undefined }),
    }),
  };
}

function badSync(): Iterable<number> {
  return {
    [Symbol.iterator]: () => ({
      next: () => 5 as never,
    }),
  };
}

/** Reads at most 50 items, so a source read as an endless stream fails the test, not hangs. */
async function read(it: AsyncIterable<unknown>): Promise<unknown[]> {
  const got: unknown[] = [];
  for await (const x of it) {
    got.push(x);
    if (got.length >= 50) break;
  }
  return got;
}

const loops: Record<string, (src: AsyncIterable<number> | Iterable<number>) => Promise<unknown>> = {
  buffer: (src) => read(buffer(src, { size: 2 })),
  take: (src) => read(take(src, { count: 100 })),
  merge: (src) => read(merge([src])),
  batch: (src) => read(batch(src, { size: 2 })),
  mapConcurrent: (src) => read(mapConcurrent(src, (x) => x, { concurrency: 2 })),
  map: (src) => {
    let calls = 0;
    return map(src, (x) => {
      if (++calls > 50) throw new Error('endless');
      return x;
    });
  },
  mapSettled: async (src) => {
    const results = await mapSettled(src, (x) => x);
    if (results.length > 0) throw new Error('items were read');
    return results;
  },
};

describe('a source whose next() gives a non-object is a TypeError (review D2)', () => {
  for (const [name, loop] of Object.entries(loops)) {
    for (const [kind, source] of Object.entries({
      'async iterator': badAsync,
      'sync iterator': badSync,
    })) {
      test(`${name} over an ${kind}`, async () => {
        const outcome = await loop(source()).then(
          (value) => ({ value }),
          (error: unknown) => error,
        );
        expect(outcome).toBeInstanceOf(TypeError);
        expect(String(outcome)).toMatch(/iterator result object.*`5` \(number\)/);
      });
    }
  }
});
