// The fan-out fast path (issue 7's benchmark): a task's handlers are attached to its
// promise in one batch per microtask checkpoint, walking the scope's task chain; its
// rarely used parts (signal, cancel reason, awaiters, start hook) are made on first need.
// These tests pin what that must never change.
import { describe, expect, test } from 'vitest';
import { collectUnhandled, tick } from '../test/helpers.ts';
import { gather } from './gather.ts';
import { scope } from './scope.ts';
import { sleep } from './sleep.ts';

describe('handlers attached in one batch per checkpoint', () => {
  test('a task whose function spawns siblings before returning its promise settles, and so do they', async () => {
    const settled: string[] = [];
    const value = await scope(async (s) => {
      const outer = s.spawn(async ({ scope: own }) => {
        // Spawned while `outer` runs synchronously: they are newer than `outer`, but
        // their promises exist before `outer`'s does.
        own.spawn(async ({ scope: again }) => {
          again.spawn(async () => {
            settled.push('grandchild');
          });
          settled.push('child');
        });
        settled.push('outer');
        return 'outer value';
      });
      return outer;
    });
    expect(value).toBe('outer value');
    expect(settled.sort()).toEqual(['child', 'grandchild', 'outer']);
  });

  test('a rejection of such an outer task fails the scope and is never unhandled', async () => {
    const boom = new Error('outer failed');
    const unhandled = await collectUnhandled(async () => {
      const error = await scope((s) => {
        s.spawn(async ({ scope: own }) => {
          own.spawn(async () => 'sibling');
          throw boom;
        });
      }).catch((e: unknown) => e);
      expect((error as AggregateError).errors).toEqual([boom]);
    });
    expect(unhandled).toEqual([]);
  });

  test('tasks spawned across several checkpoints each settle once, in any order', async () => {
    const seen: number[] = [];
    await scope(async (s) => {
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 50; i++) {
          const n = round * 50 + i;
          s.spawn(async () => {
            if (n % 3 === 0) await tick();
            seen.push(n);
          });
        }
        if (round === 1) s.spawn(() => 'a plain value');
        await tick();
      }
    });
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 150 }, (_, i) => i));
  });

  test('an early rejection among 10,000 tasks fails the scope once, with no unhandled rejection', async () => {
    const boom = new Error('task 17 failed');
    const unhandled = await collectUnhandled(async () => {
      const error = await scope((s) => {
        for (let i = 0; i < 10_000; i++) {
          s.spawn(async () => {
            if (i === 17) throw boom;
            return i;
          });
        }
      }).catch((e: unknown) => e);
      expect((error as AggregateError).errors).toEqual([boom]);
    });
    expect(unhandled).toEqual([]);
  });

  test('gather over 10,000 functions keeps every value in its slot', async () => {
    const values = await gather(Array.from({ length: 10_000 }, (_, i) => async () => i * 2));
    expect(values).toHaveLength(10_000);
    expect(values.every((v, i) => v === i * 2)).toBe(true);
  });
});

describe("a task's signal made on first read", () => {
  test('read after its scope was cancelled, it is aborted with the scope’s reason', async () => {
    const reason = new Error('stop everything');
    await scope(async (s) => {
      const task = s.spawn(async () => {
        await tick();
        await tick();
      });
      s.cancel(reason);
      expect(task.signal.aborted).toBe(true);
      expect(task.signal.reason).toBe(reason);
    });
  });

  test('read after the task itself was cancelled, it is aborted with that reason, and its scope goes on', async () => {
    const reason = new Error('just this one');
    const other: string[] = [];
    await scope(async (s) => {
      const task = s.spawn(async () => {
        await tick();
      });
      s.spawn(async ({ signal }) => {
        await tick();
        other.push(signal.aborted ? 'aborted' : 'fine');
      });
      task.cancel(reason);
      expect(task.signal.aborted).toBe(true);
      expect(task.signal.reason).toBe(reason);
      expect(s.signal.aborted).toBe(false);
      expect(
        await task.then(
          () => 'fulfilled',
          (e: unknown) => e,
        ),
      ).toBe(reason);
      expect(task.state).toBe('cancelled');
    });
    expect(other).toEqual(['fine']);
  });

  test('read before a scope-wide cancel, it aborts with the scope; the task does not listen on the scope’s signal', async () => {
    const reason = new Error('scope cancelled');
    await scope(async (s) => {
      let added = 0;
      const add = s.signal.addEventListener.bind(s.signal);
      s.signal.addEventListener = ((...args: Parameters<AbortSignal['addEventListener']>) => {
        added++;
        add(...args);
      }) as AbortSignal['addEventListener'];
      let seen: unknown;
      const tasks = Array.from({ length: 20 }, () =>
        s.spawn(async ({ signal }) => {
          try {
            await sleep(60_000, { signal });
          } catch (error) {
            seen = error;
          }
        }),
      );
      for (const t of tasks) expect(t.signal.aborted).toBe(false);
      expect(added).toBe(0);
      s.cancel(reason);
      await Promise.allSettled(tasks);
      expect(seen).toBe(reason);
      for (const t of tasks) expect(t.signal.reason).toBe(reason);
    });
  });

  test('a named task keeps its name; an unnamed one is named after its function and id', async () => {
    await scope(async (s) => {
      const named = s.spawn(async () => {}, { name: 'loader' });
      const unnamed = s.spawn(async function fetchAll() {});
      expect(named.name).toBe('loader');
      expect(unnamed.name).toBe(`fetchAll#${unnamed.id}`);
      await Promise.all([named, unnamed]);
      expect(named.name).toBe('loader');
    });
  });

  test('awaiting a task that had not settled yet gives its value or its failure', async () => {
    const boom = new Error('late failure');
    const error = await scope(async (s) => {
      const ok = s.spawn(async () => {
        await tick();
        return 'value';
      });
      const bad = s.spawn(async () => {
        await tick();
        throw boom;
      });
      expect(await ok).toBe('value');
      expect(
        await bad.then(
          () => 'fulfilled',
          (e: unknown) => e,
        ),
      ).toBe(boom);
    }).catch((e: unknown) => e);
    expect((error as AggregateError).errors).toEqual([boom]);
  });
});
