// Review D12 of rv-core4: a helper opens its source (takes a stream's reader, calls the
// iterable's iterator method) at its first next(), not when it is built: a pipeline built
// and never run leaves a stream unlocked and opens no cursor.
import { describe, expect, test } from 'vitest';
import { batch } from '../src/iter/batch.ts';
import { buffer } from '../src/iter/buffer.ts';
import { mapConcurrent } from '../src/iter/map-concurrent.ts';
import { merge } from '../src/iter/merge.ts';
import { take } from '../src/iter/take.ts';

const helpers: Record<
  string,
  (src: AsyncIterable<string>) => AsyncGenerator<unknown, void, undefined>
> = {
  buffer: (src) => buffer(src, { size: 4 }),
  take: (src) => take(src, { count: 4 }),
  merge: (src) => merge([src]),
  batch: (src) => batch(src, { size: 2 }),
  mapConcurrent: (src) => mapConcurrent(src, (x) => x, { concurrency: 2 }),
};

/** An iterable that counts how often its iterator method is called. */
function counting(): AsyncIterable<string> & { opened: number } {
  const it = {
    opened: 0,
    [Symbol.asyncIterator](): AsyncIterator<string> {
      it.opened++;
      let i = 0;
      return {
        next: async () =>
          i < 2 ? { done: false, value: `v${i++}` } : { done: true, value: undefined },
      };
    },
  };
  return it;
}

describe('a helper opens its source at the first next(), not when built (review D12)', () => {
  for (const [name, open] of Object.entries(helpers)) {
    test(`${name}: a response body stays readable until the loop starts`, async () => {
      const res = new Response('error details');
      open(res.body as unknown as AsyncIterable<string>);
      expect(res.body!.locked).toBe(false);
      expect(await res.text()).toBe('error details');
    });

    test(`${name}: the iterator method is called at the first next(), once; not for a helper left unused`, async () => {
      const src = counting();
      open(src);
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(src.opened).toBe(0);
      const again = counting();
      const items: unknown[] = [];
      for await (const x of open(again)) items.push(x);
      expect(again.opened).toBe(1);
      expect(items.flat()).toEqual(['v0', 'v1']);
    });
  }

  test('a stream locked by someone else fails the first next(), not the call', async () => {
    const stream = new ReadableStream<string>();
    const reader = stream.getReader();
    const it = buffer(stream as unknown as AsyncIterable<string>, { size: 2 });
    await expect(it.next()).rejects.toBeInstanceOf(TypeError);
    reader.releaseLock();
  });
});
