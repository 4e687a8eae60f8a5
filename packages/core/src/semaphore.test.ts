import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { countingController, tick } from '../test/helpers.ts';
import { CancelledError } from './errors.ts';
import { gather } from './gather.ts';
import { scope } from './scope.ts';
import { Mutex, Semaphore } from './semaphore.ts';
import { sleep } from './sleep.ts';
import { TestClock } from './test-clock.ts';

describe('Semaphore', () => {
  test('tutorial: 10 URLs, at most 3 at once, shows a peak of exactly 3', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const sem = new Semaphore(3); // the bouncer: only 3 can enter
    let inFlight = 0;
    let peak = 0;
    const fetchUrl = async (url: string): Promise<string> => {
      using _permit = await sem.acquire();
      inFlight++;
      peak = Math.max(peak, inFlight);
      await sleep(1000);
      inFlight--;
      return `fetched ${url}`;
    };
    const urls = Array.from({ length: 10 }, (_, i) => `https://example.com/${i}`);
    const started = clock.now();
    const results = await gather(
      urls.map((u) => () => fetchUrl(u)),
      { clock },
    );
    expect(results).toHaveLength(10);
    expect(peak).toBe(3);
    expect(clock.now() - started).toBe(4000); // ceil(10 / 3) rounds of 1 s
    expect(sem.available).toBe(3);
  });

  test('serves waiters in FIFO order and hands a released permit straight on', async () => {
    const sem = new Semaphore(1);
    const first = await sem.acquire();
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) =>
      sem.acquire().then((p) => {
        order.push(n);
        p.release();
      }),
    );
    expect(sem.waiting).toBe(3);
    expect(sem.tryAcquire()).toBeUndefined(); // no barging past the queue
    first.release();
    await Promise.all(waiters);
    expect(order).toEqual([1, 2, 3]);
    expect(sem.available).toBe(1);
  });

  test('a waiter cancelled while queued leaves without consuming a permit', async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const controller = new AbortController();
    const reason = new CancelledError('gave up');
    const cancelled = sem.acquire({ signal: controller.signal });
    const next = sem.acquire();
    controller.abort(reason);
    await expect(cancelled).rejects.toBe(reason);
    expect(sem.waiting).toBe(1);
    held.release();
    const p = await next;
    expect(sem.available).toBe(0);
    p.release();
    expect(sem.available).toBe(1);
  });

  test('releasing a permit twice throws; disposing a released permit does not', async () => {
    const sem = new Semaphore(2);
    const p = await sem.acquire();
    p.release();
    expect(() => p.release()).toThrow(TypeError);
    expect(p.released).toBe(true);
    expect(() => p[Symbol.dispose]()).not.toThrow();
    expect(sem.available).toBe(2);
  });

  test('run() releases however fn ends; acquire defaults to the task signal', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const sem = new Semaphore(1);
    await expect(sem.run(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(sem.available).toBe(1);
    await scope(
      async (s) => {
        const holder = await sem.acquire();
        const t = s.spawn(() => sem.acquire()); // queued, inside a task
        await sleep(10);
        t.cancel();
        await expect(Promise.resolve(t)).rejects.toBeInstanceOf(CancelledError);
        expect(sem.waiting).toBe(0);
        holder.release();
      },
      { clock },
    );
  });

  test('leaves no listener on a long-lived signal', async () => {
    const sem = new Semaphore(1);
    const c = countingController();
    for (let i = 0; i < 1000; i++) {
      const p = await sem.acquire({ signal: c.signal });
      const waiting = sem.acquire({ signal: c.signal });
      p.release();
      (await waiting).release();
    }
    expect(c.listeners()).toBe(0);
  });

  test('bad input', async () => {
    expect(() => new Semaphore(0)).toThrow(/`permits`.*`0` \(number\)/);
    expect(() => new Semaphore(1.5)).toThrow(RangeError);
    expect(() => new Semaphore('3' as never)).toThrow(TypeError);
    await expect(new Semaphore(1).acquire({ signal: 5 as never })).rejects.toThrow(
      /`options.signal`/,
    );
    await expect(new Semaphore(1).run(null as never)).rejects.toThrow(/`fn`/);
  });

  test('property: never exceeds its permits and never loses one under acquire/cancel/release', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('acquire' as const), cancelAfter: fc.option(fc.nat(20)) }),
      fc.record({ kind: fc.constant('release' as const), which: fc.nat() }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.nat(10) }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(op, { maxLength: 40 }),
        async (permits, ops) => {
          const clock = new TestClock();
          const sem = new Semaphore(permits);
          const held: Array<{ release(): void }> = [];
          let holding = 0;
          let maxHolding = 0;
          const pending: Promise<void>[] = [];
          for (const o of ops) {
            if (o.kind === 'acquire') {
              const controller = new AbortController();
              if (o.cancelAfter !== null)
                clock.schedule(o.cancelAfter, () => controller.abort(new CancelledError()));
              pending.push(
                sem.acquire({ signal: controller.signal }).then(
                  (p) => {
                    holding++;
                    maxHolding = Math.max(maxHolding, holding);
                    held.push(p);
                  },
                  () => {},
                ),
              );
            } else if (o.kind === 'release' && held.length > 0) {
              const [p] = held.splice(o.which % held.length, 1);
              holding--;
              p!.release();
            } else if (o.kind === 'wait') {
              await clock.advance(o.ms);
            }
            await tick();
            expect(holding).toBeLessThanOrEqual(permits);
            expect(sem.available + holding).toBeLessThanOrEqual(permits);
          }
          await clock.runAll();
          while (held.length > 0 || sem.waiting > 0) {
            held.shift()?.release();
            holding--;
            await tick();
            if (held.length === 0 && sem.waiting > 0) await tick();
          }
          await Promise.all(pending);
          while (held.length > 0) {
            held.shift()!.release();
            holding--;
          }
          expect(maxHolding).toBeLessThanOrEqual(permits);
          expect(sem.available).toBe(permits); // nothing lost
          expect(sem.waiting).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('Mutex', () => {
  test('run() excludes other runs; lock() and tryLock()', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const mutex = new Mutex();
    let balance = 0;
    const deposit = () =>
      mutex.run(async () => {
        const read = balance;
        await sleep(10);
        balance = read + 1;
      });
    await gather([deposit, deposit, deposit], { clock });
    expect(balance).toBe(3);
    const p = await mutex.lock();
    expect(mutex.locked).toBe(true);
    expect(mutex.tryLock()).toBeUndefined();
    p.release();
    expect(mutex.locked).toBe(false);
    const q = mutex.tryLock();
    expect(q).toBeDefined();
    q!.release();
  });
});

describe('run(fn) gives fn a signal', () => {
  test('Semaphore.run passes the caller’s effective signal: the enclosing task’s cancellation reaches fn', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const sem = new Semaphore(1);
    const user = new AbortController();
    let seen: AbortSignal | undefined;
    const error = await scope(
      async (s) => {
        s.spawn(() =>
          sem.run(
            async ({ signal }) => {
              seen = signal;
              await sleep(1000, { signal });
            },
            { signal: user.signal },
          ),
        );
        await sleep(10);
        s.cancel();
      },
      { clock },
    ).catch((e: unknown) => e);
    expect(error).toBeUndefined();
    expect(seen?.aborted).toBe(true);
    expect(sem.available).toBe(1);
    expect(clock.now()).toBe(10);
  });

  test('outside any task fn still gets a signal; the explicit one when given', async () => {
    const sem = new Semaphore(2);
    const mutex = new Mutex();
    const controller = new AbortController();
    expect(await sem.run(({ signal }) => signal instanceof AbortSignal)).toBe(true);
    expect(await sem.run(({ signal }) => signal, { signal: controller.signal })).toBe(
      controller.signal,
    );
    expect(await mutex.run(({ signal }) => signal.aborted)).toBe(false);
  });

  test('permits are disposable with await using too, and unknown option keys are refused', async () => {
    const sem = new Semaphore(1);
    {
      await using _permit = await sem.acquire();
      expect(sem.available).toBe(0);
    }
    expect(sem.available).toBe(1);
    await expect(sem.acquire({ sginal: 1 } as never)).rejects.toThrow(
      /Unknown option `options.sginal`/,
    );
    await expect(new Mutex().acquire({ timeout: 5 } as never)).rejects.toThrow(TypeError);
  });
});
