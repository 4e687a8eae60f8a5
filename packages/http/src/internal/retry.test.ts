import { describe, expect, test } from 'vitest';
import { DEFAULT_POLICY, backoffDelay, resolveRetry, serverDelay } from './retry.ts';

describe('serverDelay', () => {
  test('a Retry-After that is neither seconds nor an HTTP date is ignored (review D7)', () => {
    for (const value of ['-1', '-5', '1,5', 'soon', '2001-05']) {
      expect(serverDelay(new Headers({ 'retry-after': value }), Date.now())).toBeUndefined();
    }
    // The three HTTP date forms are still read.
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    for (const value of [
      'Wed, 21 Oct 2015 07:28:30 GMT',
      'Wednesday, 21-Oct-15 07:28:30 GMT',
      'Wed Oct 21 07:28:30 2015',
    ]) {
      expect(serverDelay(new Headers({ 'retry-after': value }), now)).toBe(30_000);
    }
  });

  test('Retry-After in seconds and as an HTTP date', () => {
    expect(serverDelay(new Headers({ 'retry-after': '5' }), 0)).toBe(5000);
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(serverDelay(new Headers({ 'retry-after': 'Wed, 21 Oct 2015 07:28:30 GMT' }), now)).toBe(
      30_000,
    );
    expect(serverDelay(new Headers({ 'retry-after': 'Wed, 21 Oct 2015 07:27:00 GMT' }), now)).toBe(
      0,
    );
  });

  test('RateLimit-Reset and the combined RateLimit header', () => {
    expect(serverDelay(new Headers({ 'ratelimit-reset': '7' }), 0)).toBe(7000);
    expect(serverDelay(new Headers({ ratelimit: 'limit=10, remaining=0, reset=3' }), 0)).toBe(3000);
  });

  test('nothing or garbage: undefined', () => {
    expect(serverDelay(new Headers(), 0)).toBeUndefined();
    expect(serverDelay(new Headers({ 'retry-after': 'soon' }), 0)).toBeUndefined();
  });
});

describe('retry policy', () => {
  test('a number is the limit; false is none; an object merges over the base', () => {
    expect(resolveRetry('retry', 5, DEFAULT_POLICY).limit).toBe(5);
    expect(resolveRetry('retry', false, DEFAULT_POLICY).limit).toBe(0);
    const p = resolveRetry('retry', { methods: ['post'] }, DEFAULT_POLICY);
    expect([...p.methods]).toEqual(['POST']);
    expect(p.limit).toBe(2);
  });

  test('backoff grows by the factor up to the cap', () => {
    const p = resolveRetry(
      'retry',
      { backoff: { jitter: 'none', initial: 100, factor: 3, max: 1000 } },
      DEFAULT_POLICY,
    );
    expect([1, 2, 3, 4].map((n) => backoffDelay(p, n, Math.random))).toEqual([100, 300, 900, 1000]);
  });

  test('bad values are named', () => {
    expect(() => resolveRetry('options.retry', { limit: -1 }, DEFAULT_POLICY)).toThrow(
      'Expected `options.retry.limit` to be an integer from 0 and up, got `-1` (number)',
    );
    expect(() => resolveRetry('options.retry', { statusCodes: [99] }, DEFAULT_POLICY)).toThrow(
      TypeError,
    );
    expect(() => resolveRetry('options.retry', 'x' as never, DEFAULT_POLICY)).toThrow(TypeError);
  });
});
