import { describe, expect, test } from 'vitest';
import { collectUnhandled, deferred } from '../test/helpers.ts';
import { asCompleted } from './as-completed.ts';
import { scope } from './scope.ts';
import {
  CancelledError,
  isCancellation,
  suppressedErrors,
  TaskGroupError,
  TimeoutError,
} from './errors.ts';
import { sleep } from './sleep.ts';
import { TestClock } from './test-clock.ts';

const after =
  (ms: number, value = ms) =>
  async (): Promise<number> => {
    await sleep(ms);
    return value;
  };

describe('asCompleted', () => {
  test('yields values in completion order: plain values first, then by finish time', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const got: unknown[] = [];
    for await (const v of asCompleted([after(300), after(100), 'now', after(200)], { clock })) {
      got.push(v);
    }
    expect(got).toEqual(['now', 100, 200, 300]);
    expect(clock.now()).toBe(300);
    expect(clock.pendingTimers).toBe(0);
  });

  test('concurrency limits the task functions running at once', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let running = 0;
    let peak = 0;
    const job = (ms: number) => async () => {
      peak = Math.max(peak, ++running);
      await sleep(ms);
      running--;
      return ms;
    };
    const got: number[] = [];
    for await (const v of asCompleted([job(30), job(10), job(20), job(5)], {
      clock,
      concurrency: 2,
    })) {
      got.push(v);
    }
    expect(peak).toBe(2);
    // 30 and 10 start; 10 ends at 10 and 20 starts; 30 ends at 30 (20 ends at 30 too,
    // but started later) and 5 starts, ending at 35.
    expect(got).toEqual([10, 30, 20, 5]);
  });

  test('break cancels the items still running and waits for them before the loop ends', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const cleaned: string[] = [];
    const slow =
      (name: string) =>
      async ({ signal }: { signal: AbortSignal }) => {
        try {
          await sleep(1000, { signal });
        } finally {
          cleaned.push(`${name}:${signal.aborted ? 'cancelled' : 'done'}`);
        }
        return name;
      };
    for await (const v of asCompleted([after(10, 1), slow('a'), slow('b')], { clock })) {
      expect(v).toBe(1);
      break;
    }
    expect(cleaned.sort()).toEqual(['a:cancelled', 'b:cancelled']);
    expect(clock.now()).toBe(10);
    expect(clock.pendingTimers).toBe(0);
  });

  test('the first failure is thrown by the loop after the others were cancelled', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const boom = new Error('boom');
    const seen: unknown[] = [];
    let otherEnd: unknown;
    const err = await (async () => {
      for await (const v of asCompleted(
        [
          after(5),
          async () => {
            await sleep(10);
            throw boom;
          },
          async () => {
            try {
              await sleep(1000);
            } catch (e) {
              otherEnd = e;
              throw e;
            }
          },
        ],
        { clock },
      )) {
        seen.push(v);
      }
    })().catch((e: unknown) => e);
    expect(err).toBe(boom);
    expect(seen).toEqual([5]);
    expect(isCancellation(otherEnd)).toBe(true);
  });

  test('promise items are observed at once: no unhandled rejection on early exit', async () => {
    const unhandled = await collectUnhandled(async () => {
      const late = deferred<string>();
      for await (const v of asCompleted(['first', late.promise])) {
        expect(v).toBe('first');
        break;
      }
      late.reject(new Error('late'));
    });
    expect(unhandled).toEqual([]);
  });

  test('nothing starts before the first next(), and return() first starts nothing', async () => {
    let started = 0;
    const it = asCompleted([
      () => {
        started++;
        return 1;
      },
    ]);
    expect(started).toBe(0);
    await it.return(undefined);
    expect(started).toBe(0);
  });

  test('timeout rejects the loop with a TimeoutError', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const err = await (async () => {
      for await (const _ of asCompleted([after(100)], { clock, timeout: 50 })) {
        // nothing arrives in time
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
  });

  test('bad arguments throw at the call: unknown option, bad concurrency, non-iterable', () => {
    expect(() => asCompleted([], { concurency: 2 } as never)).toThrow(
      /Unknown option `options.concurency`.*Did you mean `concurrency`\?/,
    );
    expect(() => asCompleted([], { concurrency: 0 })).toThrow(RangeError);
    expect(() => asCompleted(5 as never)).toThrow(TypeError);
  });

  test('a real failure while the rest is cancelled after break is thrown, not dropped', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const cleanup = new Error('cleanup failed');
    const err = await (async () => {
      for await (const _ of asCompleted(
        [
          after(5),
          async ({ signal }: { signal: AbortSignal }) => {
            await sleep(1000, { signal }).catch(() => {
              throw cleanup;
            });
          },
        ],
        { clock },
      )) {
        break;
      }
    })().catch((e: unknown) => e);
    expect(err).toBe(cleanup);
  });

  // Review D5: the items kept running after the consumer task and its scope had ended.
  test('items left behind by an abandoned loop are cancelled when the consumer task ends', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const ends: string[] = [];
    const job =
      (ms: number) =>
      async ({ signal }: { signal: AbortSignal }) => {
        try {
          await sleep(ms, { signal });
        } finally {
          ends.push(`${ms}:${signal.aborted ? 'cancelled' : 'done'}@${clock.now()}`);
        }
      };
    await scope(
      async (s) => {
        s.spawn(async () => {
          const it = asCompleted([job(10), job(200)]);
          await it.next();
        });
      },
      { clock },
    );
    expect(ends).toEqual(['10:done@10', '200:cancelled@10']);
    expect(clock.pendingTimers).toBe(0);
  });

  test('in a scope body, the items are cancelled when the body ends', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const ends: string[] = [];
    await scope(
      async () => {
        const it = asCompleted([
          () => sleep(10).then(() => 10),
          async ({ signal }: { signal: AbortSignal }) => {
            await sleep(200, { signal }).catch((e: unknown) => {
              ends.push(`200 ${String((e as Error).name)}@${clock.now()}`);
              throw e;
            });
          },
        ]);
        await it.next();
      },
      { clock },
    );
    expect(ends).toEqual(['200 AbortError@10']);
  });

  test('a failure of an abandoned loop that no consumer received fails the enclosing scope', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const boom = new Error('boom');
    const err = await scope(
      async (s) => {
        s.spawn(async () => {
          const it = asCompleted([
            () => 1,
            async () => {
              await sleep(5);
              throw boom;
            },
          ]);
          await it.next(); // 1; then the task returns without finishing the loop
          await sleep(10);
        });
      },
      { clock },
    ).catch((e: unknown) => e);
    expect((err as AggregateError).errors).toEqual([boom]);
  });

  // Review D6: a rejected promise item of a loop closed before its first next() was unhandled.
  test('promise items are observed at the call, even when the loop never runs', async () => {
    const unhandled = await collectUnhandled(async () => {
      const it = asCompleted([Promise.reject(new Error('x'))]);
      await it.return(undefined);
      asCompleted([Promise.reject(new Error('never iterated'))]);
    });
    expect(unhandled).toEqual([]);
  });

  // Review D13: the loop handed off after its starting task ended used to end "normally"
  // with the remaining items silently dropped.
  test('a loop whose starting task ended rejects with a CancelledError instead of ending early', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const got = await scope(
      async (s) => {
        const it = asCompleted([
          () => sleep(5).then(() => 1),
          () => sleep(10).then(() => 2),
          () => sleep(15).then(() => 3),
        ]);
        const first = await s.spawn(async () => (await it.next()).value);
        const rest: unknown[] = [];
        const err = await (async () => {
          for await (const x of { [Symbol.asyncIterator]: () => it }) rest.push(x);
        })().catch((e: unknown) => e);
        return { first, rest, abandoned: err instanceof CancelledError };
      },
      { clock },
    );
    expect(got).toEqual({ first: 1, rest: [], abandoned: true });
  });
});

describe('asCompleted: a failure while the consumer is in the loop body (review D4)', () => {
  const macrotasks = async (n = 3): Promise<void> => {
    for (let i = 0; i < n; i++) await new Promise((resolve) => setTimeout(resolve, 0));
  };
  const failing = (gate: Promise<void>, error: Error) => async () => {
    await gate;
    throw error;
  };
  const shapes = {
    'a task function': (gate: Promise<void>, error: Error) => failing(gate, error),
    'a promise': (gate: Promise<void>, error: Error) => failing(gate, error)(),
  };
  for (const [kind, item] of Object.entries(shapes)) {
    for (const concurrency of [undefined, 2]) {
      test(`${kind} item failing meanwhile (concurrency ${concurrency ?? 'unbounded'}): break throws it`, async () => {
        const gate = deferred();
        const lost = new Error('lost');
        const loop = async (): Promise<void> => {
          for await (const _ of asCompleted([item(gate.promise, lost), () => 'x'], {
            concurrency,
          })) {
            gate.resolve();
            await macrotasks();
            break;
          }
        };
        await expect(loop()).rejects.toBe(lost);
      });
    }
  }

  test('in a scope body: the scope rejects with it (a TaskGroupError, as with buffer)', async () => {
    const gate = deferred();
    const lost = new Error('lost');
    const outcome = await scope(async () => {
      for await (const _ of asCompleted([failing(gate.promise, lost), () => 'x'])) {
        gate.resolve();
        await macrotasks();
        break;
      }
    }).then(
      () => 'resolved',
      (error: unknown) => error,
    );
    expect(outcome).toBeInstanceOf(TaskGroupError);
    expect((outcome as TaskGroupError).errors).toEqual([lost]);
  });

  test('next() then return(): return() rejects with it', async () => {
    const gate = deferred();
    const lost = new Error('lost');
    const it = asCompleted([failing(gate.promise, lost), () => 'x']);
    expect(await it.next()).toEqual({ value: 'x', done: false });
    gate.resolve();
    await macrotasks();
    await expect(it.return()).rejects.toBe(lost);
  });

  test('throw(mine): rejects with mine, the failure attached to it', async () => {
    const gate = deferred();
    const lost = new Error('lost');
    const mine = new Error('mine');
    const it = asCompleted([failing(gate.promise, lost), () => 'x']);
    await it.next();
    gate.resolve();
    await macrotasks();
    await expect(it.throw(mine)).rejects.toBe(mine);
    expect(suppressedErrors(mine)).toEqual([lost]);
  });

  test('continuing the loop still throws it once, and a break after a delivered failure throws nothing more', async () => {
    const gate = deferred();
    const lost = new Error('lost');
    const seen: unknown[] = [];
    const loop = async (): Promise<void> => {
      for await (const x of asCompleted([failing(gate.promise, lost), () => 'x'])) {
        seen.push(x);
        gate.resolve();
        await macrotasks();
      }
    };
    await expect(loop()).rejects.toBe(lost);
    expect(seen).toEqual(['x']);
  });
});

describe('asCompleted never iterated: a promise item that rejects is not dropped (review D4)', () => {
  const rejectLater = (error: Error): Promise<never> =>
    new Promise((_, reject) => setTimeout(() => reject(error), 1));
  const wait = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 10));

  test('in a scope body: the scope rejects with it', async () => {
    const lost = new Error('lost');
    const outcome = await scope(async () => {
      asCompleted([rejectLater(lost)]);
      await wait();
    }).then(
      () => 'resolved',
      (error: unknown) => error,
    );
    expect(outcome).toBeInstanceOf(TaskGroupError);
    expect((outcome as TaskGroupError).errors).toEqual([lost]);
  });

  test('return() before the first next(), in a task: its scope rejects with it', async () => {
    const lost = new Error('lost');
    const outcome = await scope((s) => {
      s.spawn(async () => {
        const it = asCompleted([rejectLater(lost), () => 'x']);
        await it.return();
        await wait();
      });
    }).then(
      () => 'resolved',
      (error: unknown) => error,
    );
    expect((outcome as TaskGroupError).errors).toEqual([lost]);
  });

  test('a loop that runs reports it once, through the loop', async () => {
    const lost = new Error('lost');
    const outcome = await scope(async () => {
      const loop = asCompleted([rejectLater(lost)]);
      await wait();
      for await (const _ of loop);
    }).then(
      () => 'resolved',
      (error: unknown) => error,
    );
    expect((outcome as TaskGroupError).errors).toEqual([lost]);
  });

  test('a promise item that fulfils, never iterated: the scope resolves', async () => {
    await expect(
      scope(async () => {
        asCompleted([Promise.resolve(1)]);
        await wait();
        return 'ok';
      }),
    ).resolves.toBe('ok');
  });
});
