import { describe, expect, test } from 'vitest';
import { countingController } from '../test/helpers.ts';
import { callerContext } from './caller.ts';
import { systemClock } from './clock.ts';
import { scope } from './scope.ts';
import { TestClock } from './test-clock.ts';

describe('callerContext', () => {
  test('outside any task: just the options, no deadline', () => {
    const controller = new AbortController();
    using ctx = callerContext({ signal: controller.signal });
    expect(ctx.signal).toBe(controller.signal);
    expect(ctx.clock).toBe(systemClock);
    expect(ctx.deadline).toBe(Number.POSITIVE_INFINITY);
    expect(ctx.inTask).toBe(false);
    using none = callerContext();
    expect(none.signal).toBeUndefined();
  });

  test('without options outside a task: one shared context, unchanged by dispose, never a task’s', async () => {
    const first = callerContext();
    first[Symbol.dispose]();
    first[Symbol.dispose]();
    const second = callerContext();
    expect(second).toBe(first);
    expect([second.signal, second.clock, second.deadline, second.inTask]).toEqual([
      undefined,
      systemClock,
      Number.POSITIVE_INFINITY,
      false,
    ]);
    expect(Object.isFrozen(second)).toBe(true);
    await scope((s) => {
      using inside = callerContext();
      expect(inside).not.toBe(first);
      expect(inside.signal).toBe(s.signal);
    });
  });

  test("inside a task: the task's signal, clock and deadline without being passed", async () => {
    const clock = new TestClock();
    await scope(
      (s) => {
        using ctx = callerContext();
        expect(ctx.signal).toBe(s.signal);
        expect(ctx.clock).toBe(clock);
        expect(ctx.deadline).toBe(clock.now() + 500);
        expect(ctx.inTask).toBe(true);
      },
      { clock, timeout: 500 },
    );
  });

  test("an explicit signal adds to the task's: either one aborts the result", async () => {
    const clock = new TestClock();
    const user = countingController();
    await scope(
      (s) => {
        const ctx = callerContext({ signal: user.signal });
        expect(ctx.signal).not.toBe(user.signal);
        expect(ctx.signal?.aborted).toBe(false);
        const reason = new Error('user stop');
        user.controller.abort(reason);
        expect(ctx.signal?.aborted).toBe(true);
        expect(ctx.signal?.reason).toBe(reason);
        ctx[Symbol.dispose]();
        expect(s.signal.aborted).toBe(false);
      },
      { clock },
    );
    const other = countingController();
    await scope(
      (s) => {
        const ctx = callerContext({ signal: other.signal });
        s.cancel(new Error('scope stop'));
        expect(ctx.signal?.aborted).toBe(true);
      },
      { clock },
    ).catch(() => {});
    expect(other.listeners()).toBe(0);
  });

  test('dispose removes the listeners it added', async () => {
    const user = countingController();
    await scope(() => {
      const ctx = callerContext({ signal: user.signal });
      expect(user.listeners()).toBe(1);
      ctx[Symbol.dispose]();
      expect(user.listeners()).toBe(0);
    });
  });

  test('a deadline on another clock is not inherited', async () => {
    const clock = new TestClock();
    await scope(
      () => {
        using ctx = callerContext({ clock: systemClock });
        expect(ctx.clock).toBe(systemClock);
        expect(ctx.deadline).toBe(Number.POSITIVE_INFINITY);
      },
      { clock, timeout: 50 },
    );
  });

  test('bad options are a TypeError naming the option', () => {
    expect(() => callerContext({ signal: 'x' as never })).toThrow(TypeError);
    expect(() => callerContext({ signal: 'x' as never })).toThrow(/options\.signal/);
    expect(() => callerContext(5 as never)).toThrow(TypeError);
  });
});
