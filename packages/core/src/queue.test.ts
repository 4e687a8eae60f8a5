import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { tick } from '../test/helpers.ts';
import { CancelledError } from './errors.ts';
import { Queue, QueueShutDownError } from './queue.ts';
import { scope } from './scope.ts';
import { sleep } from './sleep.ts';
import { TestClock } from './test-clock.ts';

describe('Queue', () => {
  test('put waits while full (backpressure), get waits while empty', async () => {
    const q = new Queue<number>({ capacity: 2 });
    await q.put(1);
    await q.put(2);
    let thirdIn = false;
    const third = q.put(3).then(() => {
      thirdIn = true;
    });
    await tick();
    expect(thirdIn).toBe(false);
    expect(q.size).toBe(2);
    expect(await q.get()).toBe(1);
    await third;
    expect(thirdIn).toBe(true);
    expect([await q.get(), await q.get()]).toEqual([2, 3]);
    const waiting = q.get();
    await q.put(4);
    expect(await waiting).toBe(4);
  });

  test('close(): later and pending puts reject, gets drain the rest and then end', async () => {
    const q = new Queue<string>({ capacity: 1 });
    await q.put('a');
    const blocked = q.put('b');
    q.close();
    await expect(blocked).rejects.toBeInstanceOf(QueueShutDownError);
    await expect(q.put('c')).rejects.toThrow(/closed/);
    expect(() => q.tryPut('d')).toThrow(QueueShutDownError);
    expect(await q.get()).toBe('a');
    await expect(q.get()).rejects.toBeInstanceOf(QueueShutDownError);
    const empty = new Queue<number>();
    const pending = [empty.get(), empty.get()];
    empty.close();
    for (const p of pending) await expect(p).rejects.toBeInstanceOf(QueueShutDownError); // no waiter left
  });

  test('shutdown({ immediate: true }) drops the items and rejects every waiter', async () => {
    const q = new Queue<number>({ capacity: 1 });
    await q.put(1);
    const putter = q.put(2);
    q.shutdown({ immediate: true });
    expect(q.size).toBe(0);
    await expect(putter).rejects.toBeInstanceOf(QueueShutDownError);
    await expect(q.get()).rejects.toBeInstanceOf(QueueShutDownError);
  });

  test('for await drains until closed; producers and consumers in a scope', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const q = new Queue<number>({ capacity: 3 });
    const got: number[] = [];
    await scope(
      async (s) => {
        s.spawn(async () => {
          for (let i = 0; i < 10; i++) {
            await q.put(i);
            await sleep(1);
          }
          q.close();
        });
        s.spawn(async () => {
          for await (const n of q) got.push(n);
        });
      },
      { clock },
    );
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('a cancelled get or put takes and puts nothing', async () => {
    const q = new Queue<number>({ capacity: 1 });
    const c = new AbortController();
    const get = q.get({ signal: c.signal });
    c.abort(new CancelledError());
    await expect(get).rejects.toBeInstanceOf(CancelledError);
    await q.put(1);
    expect(q.tryGet()).toEqual({ value: 1 });
    expect(q.tryGet()).toBeUndefined();
    await q.put(2);
    const d = new AbortController();
    const put = q.put(3, { signal: d.signal });
    d.abort(new CancelledError());
    await expect(put).rejects.toBeInstanceOf(CancelledError);
    expect(await q.get()).toBe(2);
    expect(q.size).toBe(0);
  });

  test('bad input', () => {
    expect(() => new Queue({ capacity: 0 })).toThrow(/`options.capacity`/);
    expect(() => new Queue<number>().shutdown({ immediate: 'yes' as never })).toThrow(TypeError);
  });

  test('property: every item is delivered exactly once, in FIFO order, whatever the interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.record({ producer: fc.nat(2), delay: fc.nat(5), cancel: fc.boolean() }), {
          maxLength: 30,
        }),
        fc.array(
          // Delays of at least 1 ms: a loop of 0 ms sleeps never lets virtual time move on.
          fc.record({
            delay: fc.integer({ min: 1, max: 5 }),
            cancel: fc.option(fc.integer({ min: 1, max: 5 }), { freq: 3 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        async (capacity, puts, consumers) => {
          const clock = new TestClock({ autoAdvance: true });
          const q = new Queue<string>({ capacity });
          const delivered: string[] = [];
          const accepted = new Map<number, string[]>();
          await scope(
            async (s) => {
              const producers = [0, 1, 2].map((p) =>
                s.spawn(async () => {
                  let n = 0;
                  for (const put of puts.filter((x) => x.producer === p)) {
                    await sleep(put.delay);
                    const item = `${p}:${n++}`;
                    const c = new AbortController();
                    if (put.cancel) queueMicrotask(() => c.abort(new CancelledError()));
                    try {
                      await q.put(item, { signal: c.signal });
                      accepted.set(p, [...(accepted.get(p) ?? []), item]);
                    } catch {
                      // cancelled: must not be delivered
                    }
                  }
                }),
              );
              for (const consumer of consumers) {
                s.spawn(async () => {
                  for (;;) {
                    await sleep(consumer.delay);
                    const c = new AbortController();
                    const stopTimer =
                      consumer.cancel === null
                        ? undefined
                        : clock.schedule(consumer.cancel, () => c.abort(new CancelledError()));
                    try {
                      delivered.push(await q.get({ signal: c.signal }));
                    } catch (e) {
                      if (e instanceof QueueShutDownError) return;
                    } finally {
                      stopTimer?.();
                    }
                  }
                });
              }
              for (const p of producers) await p;
              q.close();
            },
            { clock },
          );
          const all = [...accepted.values()].flat();
          expect([...delivered].sort()).toEqual([...all].sort()); // exactly once
          for (const [p, items] of accepted) {
            expect(delivered.filter((d) => d.startsWith(`${p}:`))).toEqual(items); // FIFO per producer
          }
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('Queue.join / taskDone (Python semantics)', () => {
  test('join waits until every item put has been marked done', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const q = new Queue<number>();
    const handled: number[] = [];
    let joinedAt = -1;
    await scope(
      async (s) => {
        s.spawn(async () => {
          for await (const n of q) {
            await sleep(10);
            handled.push(n);
            q.taskDone();
          }
        });
        for (const n of [1, 2, 3]) await q.put(n);
        expect(q.unfinished).toBe(3);
        await q.join();
        joinedAt = clock.now();
        expect(handled).toEqual([1, 2, 3]);
        q.close();
      },
      { clock },
    );
    expect(joinedAt).toBe(30);
    expect(q.unfinished).toBe(0);
  });

  test('join resolves at once when nothing is unfinished; taskDone too often is a RangeError', async () => {
    const q = new Queue<string>();
    await q.join();
    expect(() => q.taskDone()).toThrow(RangeError);
    q.tryPut('a');
    expect(q.tryGet()).toEqual({ value: 'a' });
    let joined = false;
    const joining = q.join().then(() => {
      joined = true;
    });
    await tick();
    expect(joined).toBe(false); // taken, but not marked done
    q.taskDone();
    await joining;
    expect(joined).toBe(true);
  });

  test('a put that waited for room counts once it is in; shutdown({ immediate }) releases join', async () => {
    const q = new Queue<number>({ capacity: 1 });
    q.tryPut(1);
    const waiting = q.put(2);
    expect(q.unfinished).toBe(1);
    q.tryGet();
    await waiting;
    expect(q.unfinished).toBe(2);
    const joining = q.join();
    q.taskDone(); // item 1
    q.shutdown({ immediate: true }); // item 2 dropped: counts as done
    await joining;
    expect(q.unfinished).toBe(0);
  });

  test('join is cancellable and leaves nothing behind', async () => {
    const q = new Queue<number>();
    q.tryPut(1);
    const controller = new AbortController();
    const reason = new CancelledError('stop');
    const joining = q.join({ signal: controller.signal });
    controller.abort(reason);
    await expect(joining).rejects.toBe(reason);
  });
});

describe('Queue options', () => {
  test('an unknown option key is a TypeError, not an unbounded queue', () => {
    expect(() => new Queue({ maxsize: 10 } as never)).toThrow(
      /Unknown option `options.maxsize`; expected one of `capacity`/,
    );
    const q = new Queue<number>();
    expect(() => q.shutdown({ immediat: true } as never)).toThrow(/`immediate`/);
    return expect(q.get({ sigal: undefined, signl: 1 } as never)).rejects.toThrow(
      /Unknown option `options.signl`/,
    );
  });
});
