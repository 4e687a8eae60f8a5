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
