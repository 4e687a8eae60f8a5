import { Cause, Effect, Exit, Fiber, Option } from 'effect';
import { describe, expect, test } from 'vitest';
import { collectUnhandled, deferred } from '../../test/helpers.ts';
import {
  CancelledError,
  gather,
  Scope,
  scope,
  shield,
  sleep,
  suppressedErrors,
  systemClock,
  type TaskContext,
  TestClock,
  TimeoutError,
  timeout,
} from '../index.ts';
import { fromEffect, TaskRejectedError, toEffect } from './index.ts';

describe('toEffect', () => {
  test('runs the task function as a weft task with a full context', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let seen: TaskContext | undefined;
    const value = await Effect.runPromise(
      toEffect(
        async (ctx) => {
          seen = ctx;
          await sleep(1000); // a bare sleep finds the task and its clock
          return 'done';
        },
        { clock },
      ),
    );
    expect(value).toBe('done');
    expect(seen?.signal).toBeInstanceOf(AbortSignal);
    expect(seen?.scope).toBeInstanceOf(Scope);
    expect(seen?.clock).toBe(clock);
    expect(clock.now()).toBe(1000);
  });

  test('needs no services and fails only with TaskRejectedError (types)', () => {
    const effect: Effect.Effect<number, TaskRejectedError, never> = toEffect(() => 1);
    // @ts-expect-error: the success type is the task's value
    const wrong: Effect.Effect<string, TaskRejectedError, never> = toEffect(() => 1);
    expect(Effect.isEffect(effect) && Effect.isEffect(wrong)).toBe(true);
  });

  test('uses systemClock by default', async () => {
    let clock: unknown;
    await Effect.runPromise(toEffect((ctx) => void (clock = ctx.clock)));
    expect(clock).toBe(systemClock);
  });

  test('Fiber.interrupt aborts the task and completes only after its finally ran', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const events: string[] = [];
    const started = deferred();
    let reason: unknown;
    const fiber = Effect.runFork(
      toEffect(
        async ({ signal }) => {
          try {
            started.resolve();
            await sleep(Number.POSITIVE_INFINITY);
          } finally {
            reason = signal.reason;
            // Cleanup that takes time (shield re-raises the cancellation afterwards).
            await shield(async () => {
              await sleep(500);
              events.push('finally');
            });
          }
        },
        { clock },
      ),
    );
    await started.promise;
    const exit = await Effect.runPromise(Fiber.interrupt(fiber));
    events.push('interrupted');
    expect(events).toEqual(['finally', 'interrupted']);
    expect(reason).toBeInstanceOf(CancelledError);
    expect(Exit.isInterrupted(exit)).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  test('Effect.timeout cancels the weft tasks it runs, on the weft clock', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const events: string[] = [];
    const work = toEffect(() =>
      gather([
        async () => {
          try {
            await sleep(60_000);
          } finally {
            events.push('a cancelled');
          }
        },
        async () => {
          try {
            await sleep(60_000);
          } finally {
            events.push('b cancelled');
          }
        },
      ]),
    );
    // weft -> Effect -> weft: the fiber and the inner tasks share the TestClock.
    const [result] = await gather(
      [fromEffect(work.pipe(Effect.timeout('1 second'), Effect.option))],
      { clock },
    );
    expect(Option.isNone(result)).toBe(true);
    expect(events.sort()).toEqual(['a cancelled', 'b cancelled']);
    expect(clock.now()).toBe(1000);
  });

  test('an enclosing weft timeout reaches the inner task through the fiber', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let innerReason: unknown;
    const inner = toEffect(async ({ signal }) => {
      try {
        await sleep(60_000);
      } finally {
        innerReason = signal.reason;
      }
    });
    const err = await timeout(100, fromEffect(inner), { clock }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(innerReason).toBeInstanceOf(CancelledError);
    expect(clock.now()).toBe(100);
  });

  test('a rejection is a typed failure that keeps the original error, not a defect', async () => {
    const original = new RangeError('no such page');
    const exit = await Effect.runPromiseExit(
      toEffect(async () => {
        throw original;
      }),
    );
    expect(Exit.isFailure(exit)).toBe(true);
    const cause = (exit as Exit.Failure<unknown, TaskRejectedError>).cause;
    expect(Cause.isFailType(cause)).toBe(true);
    expect(Cause.isDie(cause)).toBe(false);
    const failure = Option.getOrThrow(Cause.failureOption(cause));
    expect(failure).toBeInstanceOf(TaskRejectedError);
    expect(failure._tag).toBe('TaskRejectedError');
    expect(failure.name).toBe('TaskRejectedError');
    expect(failure.cause).toBe(original);
    expect(failure.message).toBe('The weft task rejected: RangeError: no such page');
  });

  test('a failing task spawned into the scope is the failure, not the cancellation it caused', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const original = new RangeError('child failed');
    const exit = await Effect.runPromiseExit(
      toEffect(
        async ({ scope: s }) => {
          s.spawn(async () => {
            throw original;
          });
          await sleep(1000);
          return 1;
        },
        { clock },
      ),
    );
    const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none();
    expect(Option.isSome(failure) && failure.value).toBeInstanceOf(TaskRejectedError);
    expect(Option.getOrThrow(failure).cause).toBe(original);
    expect(clock.pendingTimers).toBe(0);
  });

  test('an error thrown by the task while it is cancelled is a defect next to the interruption', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const cleanup = new Error('cleanup failed');
    const started = deferred();
    const unhandled = await collectUnhandled(async () => {
      const fiber = Effect.runFork(
        toEffect(
          async () => {
            try {
              started.resolve();
              await sleep(Number.POSITIVE_INFINITY);
            } finally {
              // biome-ignore lint/correctness/noUnsafeFinally: the behaviour under test
              throw cleanup;
            }
          },
          { clock },
        ),
      );
      await started.promise;
      const exit = await Effect.runPromise(Fiber.interrupt(fiber));
      expect(Exit.isInterrupted(exit)).toBe(true);
      expect(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)).toBe(false);
      expect(Exit.isFailure(exit) && [...Cause.defects(exit.cause)]).toEqual([cleanup]);
    });
    expect(unhandled).toEqual([]);
  });

  test('a task that only rethrows its cancellation leaves a plain interruption', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const fiber = Effect.runFork(
      toEffect(
        async ({ signal }) => {
          await sleep(Number.POSITIVE_INFINITY).catch(() => {});
          throw signal.reason;
        },
        { clock },
      ),
    );
    await sleep(1);
    const exit = await Effect.runPromise(Fiber.interrupt(fiber));
    expect(Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)).toBe(true);
  });

  test('a task that cancels its own scope ends the effect with a TaskRejectedError carrying the CancelledError (review D1)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const unhandled = await collectUnhandled(async () => {
      const exit = await Effect.runPromiseExit(
        toEffect(
          async (ctx) => {
            ctx.scope.cancel();
            await sleep(1000);
            return 1;
          },
          { clock },
        ).pipe(Effect.timeoutFail({ duration: '2 seconds', onTimeout: () => 'hung' })),
      );
      const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none();
      expect(Option.getOrUndefined(failure)).toBeInstanceOf(TaskRejectedError);
      expect((Option.getOrThrow(failure) as TaskRejectedError).cause).toBeInstanceOf(
        CancelledError,
      );
    });
    expect(unhandled).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  test('a task that cancels its own scope and catches the cancellation succeeds with its value', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const value = await Effect.runPromise(
      toEffect(
        async (ctx) => {
          ctx.scope.cancel();
          await sleep(1000).catch(() => {});
          return 'kept';
        },
        { clock },
      ),
    );
    expect(value).toBe('kept');
  });

  test('keeps every error of the task scope: the first is the cause, the others are attached (review D3)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const first = new Error('A');
    const cleanup = new Error('B in cleanup');
    const exit = await Effect.runPromiseExit(
      toEffect(
        async ({ scope: s }) => {
          s.spawn(async () => {
            await sleep(5);
            throw first;
          });
          s.spawn(async () => {
            try {
              await sleep(5000);
            } finally {
              // biome-ignore lint/correctness/noUnsafeFinally: the behaviour under test
              throw cleanup;
            }
          });
          await sleep(1000);
        },
        { clock },
      ),
    );
    const failure = Option.getOrThrow(
      Cause.failureOption((exit as Exit.Failure<unknown, TaskRejectedError>).cause),
    );
    expect(failure.cause).toBe(first);
    expect(suppressedErrors(first)).toEqual([cleanup]);
  });

  test('Effect.catchTag handles a rejection', async () => {
    const program = toEffect(() => Promise.reject(new Error('down'))).pipe(
      Effect.catchTag('TaskRejectedError', (err) =>
        Effect.succeed(`recovered from ${(err.cause as Error).message}`),
      ),
    );
    expect(await Effect.runPromise(program)).toBe('recovered from down');
  });

  test('a weft timeout inside the task is a failure carrying the TimeoutError', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const exit = await Effect.runPromiseExit(
      toEffect(() => timeout(10, () => sleep(1000)), { clock }),
    );
    const failure = Option.getOrThrow(
      Cause.failureOption((exit as Exit.Failure<unknown, TaskRejectedError>).cause),
    );
    expect(failure.cause).toBeInstanceOf(TimeoutError);
  });

  test('calls the task function again on each run, so Effect.retry works', async () => {
    let calls = 0;
    const flaky = toEffect(async () => {
      calls++;
      if (calls < 3) throw new Error(`attempt ${calls}`);
      return calls;
    });
    expect(await Effect.runPromise(Effect.retry(flaky, { times: 5 }))).toBe(3);
  });

  test('is not cancelled by an unrelated weft task whose async context the fiber inherited', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let pending: Promise<string> | undefined;
    // The effect is started from inside task `a` (so Effect's scheduler runs it in a's
    // async context), but it belongs to Effect, not to `a`.
    await scope(
      async (s) => {
        s.spawn(async () => {
          pending = Effect.runPromise(
            toEffect(
              async () => {
                await sleep(500);
                return 'finished';
              },
              { clock },
            ),
          );
          await sleep(Number.POSITIVE_INFINITY);
        });
      },
      { clock, timeout: 10 },
    ).catch(() => {});
    expect(await pending).toBe('finished');
  });

  test('leaves no unhandled rejection behind when interrupted or rejected', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const unhandled = await collectUnhandled(async () => {
      const fiber = Effect.runFork(toEffect(() => sleep(Number.POSITIVE_INFINITY), { clock }));
      await Effect.runPromise(Fiber.interrupt(fiber));
      await Effect.runPromiseExit(toEffect(() => Promise.reject(new Error('x'))));
    });
    expect(unhandled).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  test('rejects bad input with a TypeError naming the argument', () => {
    expect(() => toEffect('fn' as never)).toThrow(
      new TypeError('Expected `fn` to be a function, got `fn` (string)'),
    );
    expect(() => toEffect(() => 1, { clok: systemClock } as never)).toThrow(
      /Unknown option `options.clok`.*Did you mean `clock`\?/,
    );
    expect(() => toEffect(() => 1, { clock: {} as never })).toThrow(
      /Expected `options.clock` to be a Clock/,
    );
  });
});
