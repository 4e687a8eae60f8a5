import { Cause, Context, Effect, Option } from 'effect';
import { describe, expect, test } from 'vitest';
import { collectUnhandled, countingController } from '../../test/helpers.ts';
import {
  CancelledError,
  gather,
  type Scope,
  scope,
  suppressedErrors,
  systemClock,
  type TaskFn,
  TaskGroupError,
  TestClock,
  TimeoutError,
  timeout,
} from '../index.ts';
import {
  EffectDefectError,
  EffectInteropError,
  EffectInterruptedError,
  effectCause,
  fromEffect,
} from './index.ts';

class OutOfStock extends Error {
  readonly _tag = 'OutOfStock';
}

describe('fromEffect', () => {
  test('runs an effect as a weft task and resolves with its value', async () => {
    const results = await gather([
      fromEffect(Effect.succeed(1)),
      fromEffect(Effect.promise(async () => 'two')),
    ]);
    expect(results).toEqual([1, 'two']);
  });

  test('runs the effect again on every call of the task function', async () => {
    let runs = 0;
    const task = fromEffect(Effect.sync(() => ++runs));
    expect(await gather([task, task, task])).toEqual([1, 2, 3]);
  });

  test('a weft timeout interrupts the fiber and settles only after its finalizers ran', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const events: string[] = [];
    const program = Effect.never.pipe(
      Effect.ensuring(
        // A finalizer that takes (virtual) time: the task must wait for it.
        Effect.sleep('200 millis').pipe(Effect.andThen(() => events.push('finalized'))),
      ),
    );
    const err = await timeout(50, fromEffect(program), { clock }).catch((e: unknown) => e);
    events.push('settled');
    expect(err).toBeInstanceOf(TimeoutError);
    expect(events).toEqual(['finalized', 'settled']);
    expect(clock.now()).toBe(250);
    expect(clock.pendingTimers).toBe(0);
  });

  test('a failing sibling interrupts the fiber; the scope reports only the real failure', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const events: string[] = [];
    const boom = new Error('boom');
    const release = Effect.sync(() => events.push('released'));
    const held = Effect.acquireRelease(Effect.succeed('conn'), () => release).pipe(
      Effect.andThen(() => Effect.never),
      Effect.scoped,
    );
    let taskState: string | undefined;
    const err = await scope(
      async (s: Scope) => {
        const t = s.spawn(fromEffect(held));
        s.spawn(async ({ clock: c }) => {
          await c.sleep(10);
          throw boom;
        });
        await Promise.resolve(t).catch(() => {});
        taskState = t.state;
      },
      { clock },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskGroupError);
    expect((err as TaskGroupError).errors).toEqual([boom]);
    expect(events).toEqual(['released']);
    expect(taskState).toBe('cancelled');
  });

  test('cancelling the task rejects it with the reason and does not fail the scope', async () => {
    const events: string[] = [];
    const reason = new CancelledError('stop');
    const value = await scope(async (s) => {
      const t = s.spawn(
        fromEffect(
          Effect.never.pipe(
            Effect.onInterrupt(() => Effect.sync(() => events.push('interrupted'))),
          ),
        ),
      );
      await Promise.resolve();
      t.cancel(reason);
      await expect(Promise.resolve(t)).rejects.toBe(reason);
      expect(t.state).toBe('cancelled');
      return 'scope ok';
    });
    expect(value).toBe('scope ok');
    expect(events).toEqual(['interrupted']);
  });

  test('does not start the effect when the signal is already aborted', async () => {
    let started = false;
    const controller = new AbortController();
    const reason = new Error('already gone');
    controller.abort(reason);
    const task = fromEffect(Effect.sync(() => (started = true)));
    await expect(
      Promise.resolve(task({ signal: controller.signal, clock: systemClock } as never)),
    ).rejects.toBe(reason);
    expect(started).toBe(false);
  });

  test('an abort during the first synchronous steps of the fiber interrupts it; the task settles', async () => {
    const controller = countingController();
    const reason = new Error('aborted while starting');
    const events: string[] = [];
    const task = fromEffect(
      Effect.sync(() => controller.controller.abort(reason)).pipe(
        Effect.andThen(Effect.never),
        Effect.ensuring(Effect.sync(() => events.push('finalizer'))),
      ),
    );
    await expect(
      Promise.resolve(task({ signal: controller.signal, clock: systemClock } as never)),
    ).rejects.toBe(reason);
    expect(events).toEqual(['finalizer']);
    expect(controller.listeners()).toBe(0);
    // The same inside a scope: a fiber that cancels its own scope while starting. The
    // task settles (no hang), and a cancellation the program asked for itself ends the
    // scope normally, as Trio's cancel scope does.
    let inner: Scope | undefined;
    const outcome = await scope(async (s) => {
      inner = s;
      await s.spawn(fromEffect(Effect.sync(() => s.cancel()).pipe(Effect.andThen(Effect.never))));
    }).then(
      () => 'resolved',
      (e: unknown) => e,
    );
    expect(outcome).toBe('resolved');
    expect(inner?.cancelledCaught).toBe(true);
  });

  test('removes its abort listener from the signal when the fiber ends', async () => {
    const counting = countingController();
    const task = fromEffect(Effect.succeed('x'));
    const ctx = { signal: counting.signal, clock: systemClock } as never;
    expect(await task(ctx)).toBe('x');
    await expect(
      Promise.resolve(fromEffect(Effect.fail(new OutOfStock()))(ctx)),
    ).rejects.toBeInstanceOf(OutOfStock);
    expect(counting.peak()).toBe(1);
    expect(counting.listeners()).toBe(0);
  });

  test('a failure rejects with the original error and keeps the Cause', async () => {
    const failure = new OutOfStock('no stock');
    const err = await gather([fromEffect(Effect.fail(failure))]).catch((e: unknown) => e);
    expect(err).toBe(failure);
    const cause = effectCause(err);
    expect(cause).toBeDefined();
    expect(Cause.isFailType(cause as Cause.Cause<unknown>)).toBe(true);
    expect(Option.getOrUndefined(Cause.failureOption(cause as Cause.Cause<unknown>))).toBe(failure);
  });

  test('a defect is an EffectDefectError, distinguishable from a failure', async () => {
    const bug = new TypeError('undefined is not a function');
    const err = await gather([
      fromEffect(
        Effect.sync(() => {
          throw bug;
        }),
      ),
    ]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EffectDefectError);
    expect(err).toBeInstanceOf(EffectInteropError);
    expect(err).not.toBe(bug);
    const defect = err as EffectDefectError;
    expect(defect.name).toBe('EffectDefectError');
    expect(defect.defect).toBe(bug);
    expect(defect.cause).toBe(bug);
    expect(Cause.isDieType(defect.effectCause)).toBe(true);
    expect(defect.message).toContain('TypeError: undefined is not a function');
  });

  test('a string failure rejects with that string', async () => {
    await expect(gather([fromEffect(Effect.fail('nope'))])).rejects.toBe('nope');
  });

  test('a primitive first failure rejects as itself even when the Cause holds more', async () => {
    const both = Effect.zip(Effect.fail('a'), Effect.fail('b'), { concurrent: true });
    await expect(Promise.resolve(fromEffect(both)({} as never))).rejects.toBe('a');
    const cause = Cause.parallel(Cause.fail('a'), Cause.die(new Error('bug')));
    await expect(gather([fromEffect(Effect.failCause(cause))])).rejects.toBe('a');
  });

  test('keeps every failure of a parallel Cause: the first is raised, the rest attached', async () => {
    const a = new Error('a');
    const b = new Error('b');
    const bug = new Error('bug');
    const cause = Cause.parallel(Cause.fail(a), Cause.parallel(Cause.fail(b), Cause.die(bug)));
    const err = await gather([fromEffect(Effect.failCause(cause))]).catch((e: unknown) => e);
    expect(err).toBe(a);
    const rest = suppressedErrors(err);
    expect(rest[0]).toBe(b);
    expect(rest[1]).toBeInstanceOf(EffectDefectError);
    expect((rest[1] as EffectDefectError).defect).toBe(bug);
  });

  test('a failure object reused across runs carries the other failures of its latest run only (review D4)', async () => {
    const shared = new Error('shared');
    const others = [new Error('other 1'), new Error('other 2'), new Error('other 3')];
    let run = 0;
    const effect = Effect.suspend(() =>
      Effect.failCause(Cause.parallel(Cause.fail(shared), Cause.fail(others[run++] as Error))),
    );
    for (let i = 0; i < 3; i++) {
      const error = await gather([fromEffect(effect)]).catch((err: unknown) => err);
      expect(error).toBe(shared);
      expect(suppressedErrors(shared)).toEqual([others[i]]);
      expect(effectCause(shared)).toBeDefined();
    }
  });

  test('what else attached errors to a reused failure is left alone (review D4)', async () => {
    const shared = new Error('shared');
    const sibling = new Error('sibling');
    const effect = Effect.failCause(Cause.parallel(Cause.fail(shared), Cause.fail(new Error('x'))));
    // gather attaches its later errors to the first one; fromEffect only replaces its own.
    await gather([
      fromEffect(effect),
      async () => {
        await Promise.resolve();
        throw sibling;
      },
    ]).catch(() => {});
    expect(suppressedErrors(shared)).toContain(sibling);
    await gather([fromEffect(effect)]).catch(() => {});
    expect(suppressedErrors(shared)).toContain(sibling);
    expect(suppressedErrors(shared).filter((e) => (e as Error).message === 'x')).toHaveLength(1);
  });

  test('a finalizer that fails during cancellation is a failure of the scope', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const bug = new Error('close failed');
    const program = Effect.never.pipe(Effect.ensuring(Effect.die(bug)));
    const err = await timeout(10, fromEffect(program), { clock }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EffectDefectError);
    expect((err as EffectDefectError).defect).toBe(bug);
    expect(Cause.isInterrupted((err as EffectDefectError).effectCause)).toBe(true);
  });

  test('an interruption from the Effect side is an EffectInterruptedError', async () => {
    const err = await gather([fromEffect(Effect.interrupt)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EffectInterruptedError);
    expect(Cause.isInterruptedOnly((err as EffectInterruptedError).effectCause)).toBe(true);
  });

  test("the fiber takes time from the task's weft clock", async () => {
    const clock = new TestClock();
    let done = false;
    const program = Effect.sleep('1 hour').pipe(
      Effect.andThen(Effect.clockWith((c) => c.currentTimeMillis)),
    );
    const result = gather([fromEffect(program)], { clock }).then((r) => {
      done = true;
      return r;
    });
    await clock.advance(3_599_999);
    expect(done).toBe(false);
    await clock.advance(1);
    expect(await result).toEqual([3_600_000]);
  });

  test('a weft clock that fails to sleep is a defect of the fiber, not a hang', async () => {
    const broken = new Error('clock broken');
    const throwing = {
      now: () => 0,
      sleep: (): Promise<void> => {
        throw broken;
      },
    };
    const rejecting = { now: () => 0, sleep: (): Promise<void> => Promise.reject(broken) };
    for (const clock of [throwing, rejecting]) {
      const err = await gather([fromEffect(Effect.sleep('1 second'))], { clock }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(EffectDefectError);
      expect((err as EffectDefectError).defect).toBe(broken);
    }
  });

  test('a fiber busy yielding is not idle: an autoAdvance TestClock does not jump to its timeout (review D8)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const work = Effect.forEach(
      Array.from({ length: 20_000 }, (_, i) => i),
      (i) => Effect.yieldNow().pipe(Effect.as(i)),
    ).pipe(
      Effect.map((xs) => xs.length),
      Effect.timeout('1 second'),
    );
    expect(await gather([fromEffect(work)], { clock })).toEqual([20_000]);
    expect(clock.now()).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    // A busy loop racing a sleep: the loop wins, as on real time.
    const busy = Effect.forEach(
      Array.from({ length: 10_000 }, (_, i) => i),
      () => Effect.yieldNow(),
      { discard: true },
    ).pipe(Effect.as('busy'));
    const raced = Effect.race(busy, Effect.sleep('100 millis').pipe(Effect.as('sleep')));
    expect(await gather([fromEffect(raced)], { clock })).toEqual(['busy']);
    expect(clock.now()).toBe(0);
  });

  test('a fiber waiting on virtual time still lets an autoAdvance TestClock jump (review D8)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const program = Effect.forEach(
      Array.from({ length: 5_000 }, (_, i) => i),
      () => Effect.yieldNow(),
      { discard: true },
    ).pipe(Effect.zipRight(Effect.sleep('5 seconds')), Effect.as('slept'));
    expect(await gather([fromEffect(program)], { clock })).toEqual(['slept']);
    expect(clock.now()).toBe(5000);
    expect(clock.pendingTimers).toBe(0);
  });

  test('an effect that provides its own Clock keeps it', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const fixed = 42;
    const own = Effect.clockWith((c) => c.currentTimeMillis).pipe(
      Effect.withClock({
        ...Effect.runSync(Effect.clock),
        unsafeCurrentTimeMillis: () => fixed,
        currentTimeMillis: Effect.succeed(fixed),
      }),
    );
    expect(await gather([fromEffect(own)], { clock })).toEqual([42]);
  });

  test('runs an effect that needs services with the given runtime', async () => {
    class Greeting extends Context.Tag('Greeting')<Greeting, string>() {}
    const runtime = await Effect.runPromise(
      Effect.runtime<Greeting>().pipe(Effect.provideService(Greeting, 'hello')),
    );
    const greet = Effect.map(Greeting, (g) => `${g}, weft`);
    expect(await gather([fromEffect(greet, { runtime })])).toEqual(['hello, weft']);
  });

  test('an effect that needs services needs a runtime that provides them (a type error otherwise)', () => {
    class Port extends Context.Tag('Port')<Port, number>() {}
    // @ts-expect-error: the effect needs `Port` and no runtime provides it
    const task: TaskFn<number> = fromEffect(Port);
    expect(typeof task).toBe('function');
  });

  test('leaves no unhandled rejection behind when cancelled', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const unhandled = await collectUnhandled(async () => {
      await timeout(5, fromEffect(Effect.never), { clock }).catch(() => {});
      await gather([fromEffect(Effect.fail(new OutOfStock()))]).catch(() => {});
    });
    expect(unhandled).toEqual([]);
  });

  test('rejects bad input with a TypeError naming the argument', () => {
    expect(() => fromEffect(42 as never)).toThrow(
      new TypeError('Expected `effect` to be an Effect, got `42` (number)'),
    );
    expect(() => fromEffect(Effect.void, { runtim: 1 } as never)).toThrow(
      /Unknown option `options.runtim`.*Did you mean `runtime`\?/,
    );
    expect(() => fromEffect(Effect.void, { runtime: {} as never })).toThrow(
      /Expected `options.runtime` to be an Effect Runtime, got/,
    );
  });
});
