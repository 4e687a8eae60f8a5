import { describe, expect, test } from 'vitest';
import {
  attachSuppressed,
  suppressedErrors,
  WeftSuppressedError,
  CancelledError,
  isCancellation,
  TaskGroupError,
  TimeoutError,
  unwrapError,
} from './errors.ts';
import { gather } from './gather.ts';
import { retry, RetryError } from './retry.ts';
import { scope } from './scope.ts';
import { TestClock } from './test-clock.ts';

describe('errors', () => {
  test('names match the platform so existing checks keep working', () => {
    expect(new CancelledError().name).toBe('AbortError');
    expect(new TimeoutError().name).toBe('TimeoutError');
    expect(new TaskGroupError([new Error('x')]).name).toBe('TaskGroupError');
    expect(new TaskGroupError([new Error('x')])).toBeInstanceOf(AggregateError);
  });

  test('isCancellation recognises weft and platform aborts, not timeouts or failures', () => {
    expect(isCancellation(new CancelledError())).toBe(true);
    const controller = new AbortController();
    controller.abort();
    expect(isCancellation(controller.signal.reason)).toBe(true);
    expect(isCancellation(new TimeoutError())).toBe(false);
    expect(isCancellation(new Error('x'))).toBe(false);
    expect(isCancellation(undefined)).toBe(false);
    expect(isCancellation('AbortError')).toBe(false);
  });

  test('TaskGroupError says how many failed, where, and the first one', () => {
    const e = new TaskGroupError([new TypeError('bad'), new Error('worse')], 'downloads');
    expect(e.message).toBe('2 tasks failed in scope "downloads"; first: TypeError: bad');
    expect(e.errors).toHaveLength(2);
  });

  test('unwrapError peels single-error groups, recursively, and nothing else', () => {
    const inner = new Error('root cause');
    expect(unwrapError(new TaskGroupError([new TaskGroupError([inner])]))).toBe(inner);
    const two = new TaskGroupError([inner, new Error('b')]);
    expect(unwrapError(two)).toBe(two);
    expect(unwrapError(inner)).toBe(inner);
  });
});

describe('attachSuppressed / suppressedErrors', () => {
  test('the primary error wins and keeps its identity; cleanup errors are listed on it', () => {
    const primary = Object.freeze(new Error('primary'));
    const cleanup1 = new Error('close failed');
    const cleanup2 = new Error('flush failed');
    expect(attachSuppressed(primary, cleanup1)).toBe(primary);
    expect(attachSuppressed(primary, cleanup2)).toBe(primary);
    expect(suppressedErrors(primary)).toEqual([cleanup1, cleanup2]);
    expect(suppressedErrors(new Error('other'))).toEqual([]);
    expect(suppressedErrors('x')).toEqual([]);
  });

  test('a primitive primary is wrapped, never dropped', () => {
    const cleanup = new Error('close failed');
    const thrown = attachSuppressed('boom', cleanup);
    expect(thrown).toBeInstanceOf(WeftSuppressedError);
    expect((thrown as WeftSuppressedError).error).toBe('boom');
    expect((thrown as WeftSuppressedError).name).toBe('SuppressedError');
    expect(suppressedErrors(thrown)).toEqual([cleanup]);
  });
});

describe('values that cannot be turned into text', () => {
  const unprintable = (): unknown[] => [
    Object.create(null),
    {
      toString() {
        throw new Error('toString');
      },
    },
    new Proxy(
      {},
      {
        get() {
          throw new Error('get trap');
        },
      },
    ),
    new Proxy(
      {},
      {
        get() {
          throw new Error('get trap');
        },
        getPrototypeOf() {
          throw new Error('getPrototypeOf trap');
        },
      },
    ),
  ];

  // A Proxy value must not be awaited or returned from a `then` callback (its `then`
  // getter throws): wrap outcomes in an array.
  const outcome = (p: Promise<unknown>): Promise<[unknown]> =>
    p.then(
      (value) => [value],
      (error: unknown) => [error],
    );

  test('a scope keeps the value in its TaskGroupError instead of failing to describe it', async () => {
    for (const value of unprintable()) {
      const [error] = await outcome(
        scope(async (s) => {
          s.spawn(async () => {
            throw value;
          });
        }),
      );
      expect(error).toBeInstanceOf(TaskGroupError);
      expect((error as TaskGroupError).errors[0]).toBe(value);
      expect((error as TaskGroupError).message).toMatch(/^1 task failed in scope "scope"; first: /);
    }
  });

  test('gather rejects with the value itself; retry keeps it as the last error', async () => {
    for (const value of unprintable()) {
      const [gathered] = await outcome(
        gather([
          async () => {
            throw value;
          },
        ]),
      );
      expect(gathered).toBe(value);
      const clock = new TestClock({ autoAdvance: true });
      const [retried] = await outcome(
        retry(
          async () => {
            throw value;
          },
          { attempts: 2, clock },
        ),
      );
      expect(retried).toBeInstanceOf(RetryError);
      const errors = (retried as RetryError).errors;
      expect(errors.length).toBe(2);
      expect(errors[0] === value && errors[1] === value).toBe(true);
    }
  });

  test('a SuppressedError pairing such a value is still built', () => {
    for (const value of unprintable()) {
      const error = new WeftSuppressedError(value, [new Error('cleanup')]);
      expect(error.error).toBe(value);
      expect(error.message).toMatch(/\(and 1 cleanup error\(s\) while handling it\)$/);
    }
  });

  test('such a value is never taken for a cancellation', () => {
    for (const value of unprintable()) expect(isCancellation(value)).toBe(false);
  });
});
