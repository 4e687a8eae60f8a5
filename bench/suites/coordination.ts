// Benchmarks of issue 4: Semaphore, mapConcurrent and Queue against their peers.
import { mapConcurrent, Queue, Semaphore } from '@weft/core';
import { Semaphore as AsyncMutexSemaphore } from 'async-mutex';
import pLimit from 'p-limit';
import { pMapIterable } from 'p-map';
import type { Case } from '../harness.ts';

const N = 100_000;
const items = Array.from({ length: N }, (_, i) => i);
const noop = async (): Promise<void> => {};
const identity = async (x: number): Promise<number> => x;

/** The floor for a queue: an array plus one pending resolver, no backpressure, no cancellation. */
class ArrayChannel<T> {
  #items: T[] = [];
  #head = 0;
  #waiter: ((value: T) => void) | undefined;
  put(item: T): void {
    const w = this.#waiter;
    if (w !== undefined) {
      this.#waiter = undefined;
      w(item);
    } else this.#items.push(item);
  }
  get(): Promise<T> {
    if (this.#head < this.#items.length) return Promise.resolve(this.#items[this.#head++]!);
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }
}

export const cases: Case[] = [
  {
    suite: 'coordination',
    case: 'semaphore, contended: 100,000 concurrent acquire/release, 16 permits',
    unit: '100,000 acquisitions',
    subjects: [
      {
        subject: 'weft',
        fn: () => {
          const sem = new Semaphore(16);
          return Promise.all(items.map(() => sem.acquire().then((p) => p.release())));
        },
      },
      {
        subject: 'async-mutex Semaphore',
        fn: () => {
          const sem = new AsyncMutexSemaphore(16);
          return Promise.all(items.map(() => sem.acquire().then(([, release]) => release())));
        },
      },
      {
        subject: 'p-limit',
        fn: () => {
          const limit = pLimit(16);
          return Promise.all(items.map(() => limit(noop)));
        },
      },
    ],
  },
  {
    suite: 'coordination',
    case: 'semaphore, uncontended: 100,000 sequential acquire/release',
    unit: '100,000 acquisitions',
    subjects: [
      {
        subject: 'weft',
        fn: async () => {
          const sem = new Semaphore(1);
          for (let i = 0; i < N; i++) (await sem.acquire()).release();
        },
      },
      {
        subject: 'weft tryAcquire',
        fn: () => {
          const sem = new Semaphore(1);
          for (let i = 0; i < N; i++) sem.tryAcquire()!.release();
        },
      },
      {
        subject: 'async-mutex Semaphore',
        fn: async () => {
          const sem = new AsyncMutexSemaphore(1);
          for (let i = 0; i < N; i++) {
            const [, release] = await sem.acquire();
            release();
          }
        },
      },
      {
        subject: 'p-limit',
        fn: async () => {
          const limit = pLimit(1);
          for (let i = 0; i < N; i++) await limit(noop);
        },
      },
    ],
  },
  {
    suite: 'coordination',
    case: 'mapConcurrent: 100,000 items at concurrency 16, consumed with for await',
    unit: '100,000 items',
    subjects: [
      {
        subject: 'weft',
        fn: async () => {
          let sum = 0;
          for await (const x of mapConcurrent(items, identity, { concurrency: 16 })) sum += x;
          return sum;
        },
      },
      {
        subject: 'weft unordered',
        fn: async () => {
          let sum = 0;
          for await (const x of mapConcurrent(items, identity, { concurrency: 16, ordered: false }))
            sum += x;
          return sum;
        },
      },
      {
        subject: 'p-map pMapIterable',
        fn: async () => {
          let sum = 0;
          for await (const x of pMapIterable(items, identity, { concurrency: 16 })) sum += x;
          return sum;
        },
      },
    ],
  },
  {
    suite: 'coordination',
    case: 'queue: 100,000 items from a producer to a consumer',
    unit: '100,000 items',
    baseline: 'weft',
    subjects: [
      {
        subject: 'weft',
        fn: async () => {
          const q = new Queue<number>();
          const consumer = (async () => {
            let sum = 0;
            for (let i = 0; i < N; i++) sum += await q.get();
            return sum;
          })();
          for (let i = 0; i < N; i++) await q.put(i);
          return consumer;
        },
      },
      {
        subject: 'weft capacity 16',
        fn: async () => {
          const q = new Queue<number>({ capacity: 16 });
          const consumer = (async () => {
            let sum = 0;
            for (let i = 0; i < N; i++) sum += await q.get();
            return sum;
          })();
          for (let i = 0; i < N; i++) await q.put(i);
          return consumer;
        },
      },
      {
        subject: 'array + promise (floor)',
        fn: async () => {
          const q = new ArrayChannel<number>();
          const consumer = (async () => {
            let sum = 0;
            for (let i = 0; i < N; i++) sum += await q.get();
            return sum;
          })();
          for (let i = 0; i < N; i++) q.put(i);
          return consumer;
        },
      },
    ],
  },
];
