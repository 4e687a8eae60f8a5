import { describe, expect, test } from 'vitest';
import { tick } from '../test/helpers.ts';
import { CancelledError } from './errors.ts';
import { scope } from './scope.ts';
import { sleep } from './sleep.ts';
import { TestClock } from './test-clock.ts';

describe('Task', () => {
  test('cancelling one task does not fail its scope; awaiting it rejects with the reason', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const reason = new CancelledError('not needed');
    const result = await scope(
      async (s) => {
        const slow = s.spawn(({ signal }) => sleep(60_000, { signal }), { name: 'slow' });
        const fast = s.spawn(async () => {
          await sleep(10);
          return 'fast';
        });
        expect(slow.name).toBe('slow');
        expect(slow.state).toBe('running');
        slow.cancel(reason);
        await expect(Promise.resolve(slow)).rejects.toBe(reason);
        expect(slow.state).toBe('cancelled');
        expect(slow.signal.aborted).toBe(true);
        return [await fast, fast.state];
      },
      { clock },
    );
    expect(result).toEqual(['fast', 'fulfilled']);
  });

  test('a task cancelled before it looks at its signal sees it aborted', async () => {
    await scope(async (s) => {
      const t = s.spawn(async ({ signal }) => {
        await tick();
        return signal.aborted;
      });
      t.cancel();
      await expect(Promise.resolve(t)).rejects.toBeInstanceOf(CancelledError);
    });
  });

  test('free functions inside a task are cancelled with it (no signal passed)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let caught: unknown;
    await scope(
      async (s) => {
        const t = s.spawn(async () => {
          try {
            await sleep(60_000);
          } catch (e) {
            caught = e;
            throw e;
          }
        });
        await sleep(5);
        t.cancel();
      },
      { clock },
    );
    expect(caught).toBeInstanceOf(CancelledError);
    expect(clock.now()).toBe(5);
  });

  test('cancellation is level-triggered: later sleeps in a cancelled task fail at once', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const attempts: string[] = [];
    await scope(
      async (s) => {
        const t = s.spawn(async () => {
          for (let i = 0; i < 3; i++) {
            try {
              await sleep(1000);
              attempts.push('slept');
            } catch {
              attempts.push('cancelled');
            }
          }
        });
        await sleep(1);
        t.cancel();
      },
      { clock },
    );
    expect(attempts).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(clock.now()).toBe(1);
  });

  test('names default to the function name and a unique id; states are observable', async () => {
    await scope(async (s) => {
      async function download(): Promise<number> {
        return 1;
      }
      const a = s.spawn(download);
      const b = s.spawn(download);
      expect(a.name).toMatch(/^download#\d+$/);
      expect(a.id).not.toBe(b.id);
      expect(await a).toBe(1);
      expect(a.state).toBe('fulfilled');
      expect(String(a)).toBe('[object Task]');
      a.cancel(); // no effect once settled
      expect(a.state).toBe('fulfilled');
    });
  });
});

describe('task.cancel(reason) with a reason that is not an object (review D14)', () => {
  for (const reason of ['why', 42]) {
    test(`${typeof reason} reason: a body that lets it through makes the scope reject with a CancelledError (cause: the reason), not a TaskGroupError`, async () => {
      const clock = new TestClock({ autoAdvance: true });
      const outcome = await scope(
        async (s) => {
          const tk = s.spawn(() => sleep(100));
          tk.cancel(reason);
          await tk;
        },
        { clock },
      ).catch((e: unknown) => e);
      expect(outcome).toBeInstanceOf(CancelledError);
      expect((outcome as Error).cause).toBe(reason);
    });

    test(`${typeof reason} reason: an enclosing scope does not count it as a failure`, async () => {
      const clock = new TestClock({ autoAdvance: true });
      const outcome = await scope(
        async (outer) => {
          outer.spawn(() =>
            scope(async (s) => {
              const tk = s.spawn(() => sleep(100));
              tk.cancel(reason);
              await tk;
            }),
          );
          await sleep(10);
          return 'outer went on';
        },
        { clock },
      );
      expect(outcome).toBe('outer went on');
    });
  }

  test('the task ends cancelled, its signal aborted with that CancelledError; an object reason stays as it is', async () => {
    const mine = { why: 'object' };
    await scope(async (s) => {
      const a = s.spawn(() => sleep(100));
      const b = s.spawn(() => sleep(100));
      a.cancel('why');
      b.cancel(mine);
      const [ra, rb] = await Promise.allSettled([a, b]);
      expect(a.state).toBe('cancelled');
      expect((ra as PromiseRejectedResult).reason).toBe(a.signal.reason);
      expect((ra as PromiseRejectedResult).reason).toBeInstanceOf(CancelledError);
      expect((rb as PromiseRejectedResult).reason).toBe(mine);
    });
  });
});
