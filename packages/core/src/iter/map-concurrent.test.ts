import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { collect, collectWarnings, ticking, tracked } from '../../test/helpers.ts';
import { CancelledError, suppressedErrors, TimeoutError } from '../errors.ts';
import { scope } from '../scope.ts';
import { sleep } from '../sleep.ts';
import { TestClock } from '../test-clock.ts';
import { timeout } from '../timeout.ts';
import { mapConcurrent } from './map-concurrent.ts';

describe('mapConcurrent', () => {
  test('ordered results, at most `concurrency` calls at once', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let running = 0;
    let peak = 0;
    const got = await scope(
      () =>
        collect(
          mapConcurrent(
            [50, 10, 30, 20, 40],
            async (ms, _ctx, i) => {
              running++;
              peak = Math.max(peak, running);
              await sleep(ms);
              running--;
              return `${i}:${ms}`;
            },
            { concurrency: 2 },
          ),
        ),
      { clock },
    );
    expect(got).toEqual(['0:50', '1:10', '2:30', '3:20', '4:40']);
    expect(peak).toBe(2);
  });

  test('a loop that ends normally never aborts the signals the calls used (their results may still need them)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    for (const ordered of [true, false]) {
      const signals = await collect(
        mapConcurrent(
          [30, 10, 20, 5, 1],
          async (ms, { signal }) => {
            await sleep(ms, { signal, clock });
            return signal;
          },
          { concurrency: 3, ordered, clock },
        ),
      );
      expect(signals).toHaveLength(5);
      expect(signals.map((signal) => signal.aborted)).toEqual([false, false, false, false, false]);
    }
  });

  test('ordered: false yields as calls complete', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const got = await scope(
      () =>
        collect(
          mapConcurrent([30, 10, 20], async (ms) => (await sleep(ms), ms), {
            concurrency: 3,
            ordered: false,
          }),
        ),
      { clock },
    );
    expect(got).toEqual([10, 20, 30]);
  });

  test('the first failure cancels calls in flight and closes the source', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const { source, state } = tracked([1, 2, 3, 4, 5, 6, 7, 8], 1);
    let cancelled = 0;
    const error = await scope(
      async () => {
        for await (const _ of mapConcurrent(
          source,
          async (n, { signal }) => {
            if (n === 3) throw new Error('item 3');
            try {
              await sleep(1000, { signal });
            } catch (e) {
              cancelled++;
              throw e;
            }
            return n;
          },
          { concurrency: 3 },
        )) {
          // consume
        }
      },
      { clock },
    ).catch((e: unknown) => e);
    expect((error as AggregateError).errors[0]).toHaveProperty('message', 'item 3');
    expect(cancelled).toBe(2);
    expect(state.closed).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  test('at most `concurrency` items in progress, results waiting for the consumer included (defect 11)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let started = 0;
    let peakAhead = 0;
    await scope(
      async () => {
        let taken = 0;
        for await (const _ of mapConcurrent(
          Array.from({ length: 30 }, (_, i) => i),
          async (n) => {
            started++;
            await sleep(n % 3);
            return n;
          },
          { concurrency: 4 },
        )) {
          taken++;
          await sleep(100); // slow consumer
          peakAhead = Math.max(peakAhead, started - taken);
        }
      },
      { clock },
    );
    expect(peakAhead).toBe(4);
  });

  test('honours a concurrency above 1024 (defect 11)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let running = 0;
    let peak = 0;
    const n = 1500;
    const got = await scope(
      () =>
        collect(
          mapConcurrent(
            Array.from({ length: n }, (_, i) => i),
            async (i) => {
              running++;
              peak = Math.max(peak, running);
              await sleep(10);
              running--;
              return i;
            },
            { concurrency: n },
          ),
        ),
      { clock },
    );
    expect(peak).toBe(n);
    expect(got).toHaveLength(n);
    expect(clock.now()).toBe(10);
  });

  test('no MaxListenersExceededWarning above concurrency 10 (defect 10)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const warnings = await collectWarnings(async () => {
      await scope(
        () =>
          collect(
            mapConcurrent(
              Array.from({ length: 40 }, (_, i) => i),
              async (i, { signal }) => {
                await sleep(5, { signal });
                return i;
              },
              { concurrency: 20 },
            ),
          ),
        { clock },
      );
    });
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  test('cancelling the enclosing task rejects the loop (defect 4); an explicit signal does not escape it (defect 2)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const user = new AbortController();
    const { source, state } = ticking(10);
    let outcome: unknown = 'ended quietly';
    const error = await timeout(
      45,
      async () => {
        try {
          for await (const _ of mapConcurrent(source, async (n) => n, {
            concurrency: 2,
            signal: user.signal,
          })) {
            // consume
          }
        } catch (e) {
          outcome = e;
          throw e;
        }
      },
      { clock },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(outcome).toBeInstanceOf(TimeoutError);
    expect(clock.now()).toBe(45);
    expect(state.closed).toBe(true);
  });

  test('an aborted signal rejects the loop with its reason, even after the last result (defect 4)', async () => {
    const controller = new AbortController();
    const reason = new CancelledError('stop');
    const error = await (async () => {
      for await (const n of mapConcurrent([1, 2, 3], async (x) => x, {
        concurrency: 8,
        signal: controller.signal,
      })) {
        if (n === 1) controller.abort(reason);
      }
    })().catch((e: unknown) => e);
    expect(error).toBe(reason);
  });

  test('when fn fails and closing the source fails too, the fn error wins and the cleanup error is attached (defect 6)', async () => {
    const cleanup = new Error('finally failed');
    const { source } = tracked([1, 2, 3, 4], 0, () => {
      throw cleanup;
    });
    const failure = new Error('fn failed');
    const error = await (async () => {
      for await (const _ of mapConcurrent(
        source,
        async (n) => {
          if (n === 2) throw failure;
          return n;
        },
        { concurrency: 1 },
      )) {
        // consume
      }
    })().catch((e: unknown) => e);
    expect(error).toBe(failure);
    expect(suppressedErrors(failure)).toEqual([cleanup]);
  });

  test('a task that abandons the loop: its scope cancels the calls and closes the source (defect 7)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const { source, state } = ticking(10);
    let calls = 0;
    await scope(
      async (s) => {
        s.spawn(async () => {
          const it = mapConcurrent(
            source,
            async (n, { signal }) => {
              calls++;
              await sleep(1000, { signal });
              return n;
            },
            { concurrency: 3 },
          );
          await it.next();
        });
      },
      { clock },
    );
    expect(state.closed).toBe(true);
    const before = calls;
    await clock.advance(5000);
    expect(calls).toBe(before);
    expect(clock.pendingTimers).toBe(0);
  });

  test('return() before the first next() closes the source (defect 8)', async () => {
    const { source, state } = tracked([1, 2, 3]);
    await source.next();
    await mapConcurrent(source, (x) => x, { concurrency: 2 }).return();
    expect(state.closed).toBe(true);
  });

  test('property: input order, the concurrency limit and the progress bound hold whatever the delays', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(20), { maxLength: 25 }),
        fc.integer({ min: 1, max: 6 }),
        fc.nat(15),
        fc.boolean(),
        async (delays, concurrency, consumerDelay, ordered) => {
          const clock = new TestClock({ autoAdvance: true });
          let running = 0;
          let peak = 0;
          let started = 0;
          let peakAhead = 0;
          const got = await scope(
            async () => {
              const out: number[] = [];
              for await (const i of mapConcurrent(
                delays,
                async (ms, _ctx, i) => {
                  running++;
                  started++;
                  peak = Math.max(peak, running);
                  await sleep(ms);
                  running--;
                  return i;
                },
                { concurrency, ordered },
              )) {
                out.push(i);
                peakAhead = Math.max(peakAhead, started - out.length);
                await sleep(consumerDelay);
              }
              return out;
            },
            { clock },
          );
          if (ordered) expect(got).toEqual(delays.map((_, i) => i));
          else expect([...got].sort((a, b) => a - b)).toEqual(delays.map((_, i) => i));
          expect(peak).toBeLessThanOrEqual(concurrency);
          expect(peakAhead).toBeLessThanOrEqual(concurrency);
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 100 },
    );
  });

  test('bad input is rejected at the call', () => {
    expect(() => mapConcurrent([1], (x) => x, { concurrency: 0 })).toThrow(/`options.concurrency`/);
    expect(() => mapConcurrent([1], 'f' as never, { concurrency: 1 })).toThrow(/`fn`/);
    expect(() => mapConcurrent([1], (x) => x, 4 as never)).toThrow(
      /`options` to be an object with `concurrency`/,
    );
    expect(() => mapConcurrent([1], (x) => x, { concurrency: 1, orderd: true } as never)).toThrow(
      /Unknown option `options.orderd`.*`ordered`/,
    );
  });
});

describe('mapConcurrent: tasks fn spawns into ctx.scope (review D11)', () => {
  const where = {
    'outside any task': (fn: () => Promise<void>) => fn(),
    'in a scope body': (fn: () => Promise<void>) => scope(fn),
    'in a task': (fn: () => Promise<void>) =>
      scope((s) => {
        s.spawn(fn);
      }),
  };
  for (const [name, around] of Object.entries(where)) {
    test(`${name}: the loop's normal end waits for them to finish, not cancel them`, async () => {
      const clock = new TestClock({ autoAdvance: true });
      const seen: string[] = [];
      await around(async () => {
        for await (const x of mapConcurrent(
          [1, 2],
          (x, ctx) => {
            const side = ctx.scope.spawn(async () => {
              await sleep(50);
              seen.push(`side ${x} done`);
            });
            side.then(undefined, (e: unknown) => seen.push(`side ${x}: ${(e as Error).name}`));
            return x;
          },
          { concurrency: 1, clock },
        )) {
          seen.push(`item ${x}`);
        }
        seen.push('loop ended');
      });
      expect(seen).toEqual(['item 1', 'item 2', 'side 1 done', 'side 2 done', 'loop ended']);
    });
  }

  test('a failure of such a task after the last item rejects the loop with it', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const boom = new Error('side failed');
    const seen: unknown[] = [];
    const loop = async (): Promise<void> => {
      for await (const x of mapConcurrent(
        [1],
        (x, ctx) => {
          ctx.scope.spawn(async () => {
            await sleep(10);
            throw boom;
          });
          return x;
        },
        { concurrency: 1, clock },
      )) {
        seen.push(x);
      }
    };
    await expect(loop()).rejects.toBe(boom);
    expect(seen).toEqual([1]);
  });

  test('a timeout that fires while the loop waits for them rejects with the TimeoutError and cancels them', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let sideOutcome = 'running';
    const loop = async (): Promise<void> => {
      for await (const _ of mapConcurrent(
        [1],
        (x, ctx) => {
          const side = ctx.scope.spawn(() => sleep(1000));
          side.then(
            () => (sideOutcome = 'done'),
            () => (sideOutcome = side.state),
          );
          return x;
        },
        { concurrency: 1, clock },
      ));
    };
    await expect(timeout(100, loop, { clock })).rejects.toBeInstanceOf(TimeoutError);
    expect(sideOutcome).toBe('cancelled');
  });

  test('break still cancels them (stopping early)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let side!: { state: string };
    for await (const _ of mapConcurrent(
      [1, 2, 3],
      (x, ctx) => {
        side = ctx.scope.spawn(() => sleep(1000));
        return x;
      },
      { concurrency: 1, clock },
    )) {
      break;
    }
    expect(side.state).toBe('cancelled');
  });
});
