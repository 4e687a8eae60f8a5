import { describe, expect, test } from 'vitest';
import { currentScope, currentTask, onCurrentSettled } from './current.ts';
import { run } from './run.ts';
import { collectWarnings } from '../test/helpers.ts';
import type { SettledState } from './scope.ts';
import { gather } from './gather.ts';
import { Scope, scope } from './scope.ts';
import { sleep } from './sleep.ts';
import type { Task } from './task.ts';
import { TestClock } from './test-clock.ts';
import { timeout } from './timeout.ts';

describe('currentTask / currentScope', () => {
  test('outside any task both are undefined', () => {
    expect(currentTask()).toBeUndefined();
    expect(currentScope()).toBeUndefined();
  });

  test('inside a task: the task (id, name, state, scope) and its scope', async () => {
    let seen: Task<unknown> | undefined;
    let inScope: Scope | undefined;
    let outer: Scope | undefined;
    await scope(
      (s) => {
        outer = s;
        const t = s.spawn(
          async () => {
            seen = currentTask();
            inScope = currentScope();
            await sleep(0);
          },
          { name: 'worker' },
        );
        expect(seen).toBe(t);
      },
      { name: 'jobs' },
    );
    expect(seen?.name).toBe('worker');
    expect(seen?.state).toBe('fulfilled');
    expect(seen?.scope).toBe(outer);
    expect(inScope).toBe(outer);
    expect(typeof seen?.id).toBe('number');
  });

  test('a scope body has a current scope but no current task', async () => {
    await scope(
      (s) => {
        expect(currentTask()).toBeUndefined();
        expect(currentScope()).toBe(s);
        expect(s.state).toBe('open');
      },
      { name: 'body' },
    );
  });

  test('nested scopes record their parent scope and the task that opened them', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let outer: Scope | undefined;
    let opener: Task<unknown> | undefined;
    let inner: Scope | undefined;
    let innerOfTimeout: Scope | undefined;
    await scope(
      (s) => {
        outer = s;
        s.spawn(async () => {
          opener = currentTask();
          await scope((n) => {
            inner = n;
          });
          await timeout(10, () => {
            innerOfTimeout = currentScope();
          });
        });
      },
      { clock },
    );
    expect(outer?.parent).toBeUndefined();
    expect(inner?.parent).toBe(outer);
    expect(inner?.parentTask).toBe(opener);
    expect(innerOfTimeout?.parent).toBe(outer);
    expect(innerOfTimeout?.name).toBe('timeout');
    expect(inner?.state).toBe('closed');
    expect(outer!.id).not.toBe(inner!.id);
    expect(opener!.id).not.toBe(inner!.id);
  });

  test('gather items run as tasks of the gather scope', async () => {
    // Wrapped: a Task is awaitable, so returning it would mean "wait for this task".
    const [a, b] = await gather([() => ({ t: currentTask() }), () => ({ t: currentTask() })]);
    expect(a.t?.scope.name).toBe('gather');
    expect(a.t?.scope).toBe(b.t?.scope);
    expect(a.t).not.toBe(b.t);
  });

  test('a callback left behind by a finished task sees no current task or scope', async () => {
    const seen: unknown[] = [];
    let resolve!: () => void;
    const fired = new Promise<void>((r) => {
      resolve = r;
    });
    await scope((s) => {
      s.spawn(() => {
        setTimeout(() => {
          seen.push(currentTask(), currentScope());
          resolve();
        }, 0);
      });
    });
    await fired;
    expect(seen).toEqual([undefined, undefined]);
  });
});

test('a task that returns itself fails with a TypeError instead of waiting forever', async () => {
  const err = await scope((s) => {
    s.spawn(() => currentTask(), { name: 'selfish' });
  }).catch((e: unknown) => e);
  expect(String((err as AggregateError).errors[0])).toMatch(
    /TypeError: Task "selfish" returned itself/,
  );
});

describe('onCurrentSettled (hook for db-sim review D4)', () => {
  test('outside any task or body it returns undefined and never calls back', () => {
    let called = false;
    expect(onCurrentSettled(() => (called = true))).toBeUndefined();
    expect(called).toBe(false);
  });

  test('a bad callback is a TypeError naming it', () => {
    expect(() => onCurrentSettled(5 as never)).toThrow(/`callback`/);
  });

  test('in a task: called once with fulfilled, rejected or cancelled, after the task settled', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const seen: string[] = [];
    await scope(
      (s) => {
        const ok = s.spawn(async () => {
          onCurrentSettled((state) => seen.push(`ok ${state} ${ok.state}`));
          await sleep(1);
        });
        const cancelled = s.spawn(async () => {
          onCurrentSettled((state) => seen.push(`cancelled ${state}`));
          await sleep(1000);
        });
        cancelled.cancel();
        const failed = s.spawn(async () => {
          onCurrentSettled((state) => seen.push(`failed ${state}`));
          await sleep(2);
          throw new Error('boom');
        });
        failed.then(undefined, () => {});
      },
      { clock },
    ).catch(() => {});
    expect(seen.sort()).toEqual([
      'cancelled cancelled',
      'failed rejected',
      'ok fulfilled fulfilled',
    ]);
  });

  const bodies: Record<string, (fn: () => Promise<void>, clock: TestClock) => Promise<unknown>> = {
    'a scope body': (fn, clock) => scope(fn, { clock, timeout: 100 }),
    'a run() function': (fn, clock) => run(fn, { clock, timeout: 100 }),
    'a timeout() function': (fn, clock) => timeout(100, fn, { clock }),
  };
  for (const [name, around] of Object.entries(bodies)) {
    test(`in ${name}: cancelled by its timeout, rejected by a throw, fulfilled; before the call settles`, async () => {
      const clock = new TestClock({ autoAdvance: true });
      const seen: SettledState[] = [];
      const outcomes: string[] = [];
      const record = (p: Promise<unknown>): Promise<void> =>
        p.then(
          () => void outcomes.push(`resolved after ${seen.length}`),
          () => void outcomes.push(`rejected after ${seen.length}`),
        );
      await record(
        around(async () => {
          onCurrentSettled((state) => seen.push(state));
          await sleep(1000);
        }, clock),
      );
      await record(
        around(async () => {
          onCurrentSettled((state) => seen.push(state));
          throw new Error('boom');
        }, clock),
      );
      await record(
        around(async () => {
          onCurrentSettled((state) => seen.push(state));
        }, clock),
      );
      expect(seen).toEqual(['cancelled', 'rejected', 'fulfilled']);
      expect(outcomes).toEqual(['rejected after 1', 'rejected after 2', 'resolved after 3']);
    });
  }

  test("in a scope body: called once the scope's tasks have settled too; rejected when one fails though the body returned", async () => {
    const clock = new TestClock({ autoAdvance: true });
    const seen: string[] = [];
    await scope(
      (s) => {
        onCurrentSettled((state) => seen.push(`body ${state}`));
        s.spawn(async () => {
          await sleep(10);
          seen.push('task done');
          throw new Error('task failed');
        });
        return 'value';
      },
      { clock },
    ).catch(() => {});
    await scope(
      async (s) => {
        onCurrentSettled((state) => seen.push(`cut short: ${state}`));
        s.cancel();
        await sleep(10);
      },
      { clock },
    );
    expect(seen).toEqual(['task done', 'body rejected', 'cut short: cancelled']);
  });

  test('the returned function unregisters it', async () => {
    let called = 0;
    await scope(async (s) => {
      s.spawn(() => {
        const off = onCurrentSettled(() => called++);
        off?.();
      });
      const off = onCurrentSettled(() => called++);
      off?.();
    });
    expect(called).toBe(0);
  });

  test('a callback that throws does not disturb the task; it becomes a SettledCallbackWarning', async () => {
    let result: unknown;
    const warnings = await collectWarnings(async () => {
      result = await scope((s) => {
        const tk = s.spawn(() => {
          onCurrentSettled(() => {
            throw new Error('hook failed');
          });
          return 7;
        });
        return tk;
      });
      await new Promise((resolve) => setTimeout(resolve, 0));
    });
    expect(result).toBe(7);
    if (typeof (globalThis as { process?: unknown }).process === 'object') {
      expect(warnings.map((w) => w.name)).toEqual(['SettledCallbackWarning']);
    }
  });
});
