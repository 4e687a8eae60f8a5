import { describe, expect, test } from 'vitest';
import { currentScope, currentTask } from './current.ts';
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
