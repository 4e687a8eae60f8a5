import { describe, expect, test } from 'vitest';
import { countingController } from '../test/helpers.ts';
import { Barrier } from './barrier.ts';
import { Condition } from './condition.ts';
import { TimeoutError } from './errors.ts';
import { Event } from './event.ts';
import { Queue } from './queue.ts';
import { RateLimiter } from './rate-limiter.ts';
import { retry } from './retry.ts';
import { Mutex, Semaphore } from './semaphore.ts';
import { TestClock } from './test-clock.ts';
import { timeout } from './timeout.ts';

/**
 * Every wait of the coordination primitives, set up so that it would wait forever (or
 * for 10 s): `wait(signal)` starts it with an explicit signal that never aborts.
 */
const waits: Record<string, (clock: TestClock) => (signal: AbortSignal) => Promise<unknown>> = {
  'Semaphore.acquire': () => {
    const sem = new Semaphore(1);
    sem.tryAcquire();
    return (signal) => sem.acquire({ signal });
  },
  'Semaphore.run': () => {
    const sem = new Semaphore(1);
    sem.tryAcquire();
    return (signal) => sem.run(() => 1, { signal });
  },
  'Mutex.lock': () => {
    const mutex = new Mutex();
    mutex.tryLock();
    return (signal) => mutex.lock({ signal });
  },
  'Mutex.run': () => {
    const mutex = new Mutex();
    mutex.tryLock();
    return (signal) => mutex.run(() => 1, { signal });
  },
  'RateLimiter.acquire': (clock) => {
    const limiter = new RateLimiter({ limit: 1, interval: 10_000, clock });
    void limiter.acquire();
    return (signal) => limiter.acquire({ signal });
  },
  'RateLimiter.run': (clock) => {
    const limiter = new RateLimiter({ limit: 1, interval: 10_000, clock });
    void limiter.acquire();
    return (signal) => limiter.run(() => 1, { signal });
  },
  'Queue.get': () => {
    const q = new Queue<number>();
    return (signal) => q.get({ signal });
  },
  'Queue.put': () => {
    const q = new Queue<number>({ capacity: 1 });
    q.tryPut(1);
    return (signal) => q.put(2, { signal });
  },
  'Queue.join': () => {
    const q = new Queue<number>();
    q.tryPut(1);
    return (signal) => q.join({ signal });
  },
  'Event.wait': () => {
    const event = new Event();
    return (signal) => event.wait({ signal });
  },
  'Condition.acquire': () => {
    const cond = new Condition();
    void cond.acquire();
    return (signal) => cond.acquire({ signal });
  },
  'Condition.wait': () => {
    const cond = new Condition();
    return async (signal) => {
      using _lock = await cond.acquire({ signal });
      await cond.wait({ signal });
    };
  },
  'Barrier.wait': () => {
    const barrier = new Barrier(2);
    return (signal) => barrier.wait({ signal });
  },
  retry: (clock) => (signal) =>
    retry(() => Promise.reject(new Error('down')), {
      signal,
      clock,
      jitter: 'none',
      backoff: { initial: 10_000 },
    }),
};

describe('waits inside a task', () => {
  for (const [name, setup] of Object.entries(waits)) {
    test(`${name}: an explicit signal adds to the task’s, so an enclosing timeout still stops it (defect 2)`, async () => {
      const clock = new TestClock({ autoAdvance: true });
      const wait = setup(clock);
      const user = countingController();
      const error = await timeout(50, () => wait(user.signal), { clock }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TimeoutError);
      expect(clock.now()).toBe(50);
      // The listeners that joined the two signals are gone.
      expect(user.listeners()).toBe(0);
      expect(user.signal.aborted).toBe(false);
    });

    test(`${name}: the explicit signal alone still cancels it inside a task`, async () => {
      const clock = new TestClock({ autoAdvance: true });
      const wait = setup(clock);
      const user = countingController();
      const reason = new Error('user stop');
      clock.schedule(20, () => user.controller.abort(reason));
      const error = await timeout(1000, () => wait(user.signal), { clock }).catch(
        (e: unknown) => e,
      );
      expect(error).toBe(reason);
      expect(clock.now()).toBe(20);
      expect(user.listeners()).toBe(0);
    });
  }
});
