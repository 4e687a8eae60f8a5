import { describe, expect, test } from 'vitest';
import {
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
