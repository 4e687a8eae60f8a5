import { describe, expect, test } from 'vitest';
import { CancelledError, suppressedErrors } from './errors.ts';
import { RetryError, retry } from './retry.ts';
import { TestClock } from './test-clock.ts';

describe('retry', () => {
  test('retries with exponential backoff until it succeeds', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const seen: Array<[number, number]> = [];
    let calls = 0;
    const value = await retry(
      async ({ attempt }) => {
        calls++;
        if (attempt < 4) throw new Error(`fail ${attempt}`);
        return 'ok';
      },
      {
        attempts: 5,
        jitter: 'none',
        backoff: { initial: 100, factor: 2 },
        clock,
        onRetry: ({ attempt, delay }) => seen.push([attempt, delay]),
      },
    );
    expect(value).toBe('ok');
    expect(calls).toBe(4);
    expect(seen).toEqual([
      [1, 100],
      [2, 200],
      [3, 400],
    ]);
    expect(clock.now()).toBe(700);
  });

  test('full and equal jitter stay within their bounds; maxDelay caps the wait', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const delays: number[] = [];
    const run = (jitter: 'full' | 'equal', random: () => number) =>
      retry(() => Promise.reject(new Error('x')), {
        attempts: 4,
        jitter,
        random,
        maxDelay: 250,
        clock,
        onRetry: ({ delay }) => delays.push(delay),
      }).catch(() => {});
    await run('full', () => 0.5);
    expect(delays.splice(0)).toEqual([50, 100, 125]);
    await run('equal', () => 0);
    expect(delays.splice(0)).toEqual([50, 100, 125]);
    await run('equal', () => 0.999999);
    expect(delays.every((d, i) => d <= [100, 200, 250][i]!)).toBe(true);
  });

  test('the final error holds every attempt’s error', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const errors = [new Error('a'), new Error('b'), new Error('c')];
    const error = await retry(({ attempt }) => Promise.reject(errors[attempt - 1]), {
      clock,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryError);
    expect((error as RetryError).errors).toEqual(errors);
    expect((error as RetryError).cause).toBe(errors[2]);
    expect((error as RetryError).attempts).toBe(3);
  });

  test('retryIf can refuse: a single attempt raises its error as is', async () => {
    const fatal = new TypeError('bad request');
    await expect(retry(() => Promise.reject(fatal), { retryIf: () => false })).rejects.toBe(fatal);
  });

  test('the wait is cancellable and nothing is retried after cancellation', async () => {
    const clock = new TestClock();
    const controller = new AbortController();
    const reason = new CancelledError('stop');
    let calls = 0;
    const running = retry(
      () => {
        calls++;
        return Promise.reject(new Error('x'));
      },
      { signal: controller.signal, clock, jitter: 'none', backoff: { initial: 1000 } },
    );
    await new Promise((r) => setTimeout(r, 0));
    expect(clock.pendingTimers).toBe(1);
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect(calls).toBe(1);
    expect(clock.pendingTimers).toBe(0);
    const aborted = new AbortController();
    const during = retry(
      ({ signal }) =>
        new Promise((_, reject) => {
          signal!.addEventListener('abort', () => reject(signal!.reason));
          aborted.abort(reason);
        }),
      { signal: aborted.signal, clock },
    );
    await expect(during).rejects.toBe(reason);
  });

  test('bad input', async () => {
    await expect(retry(1 as never)).rejects.toThrow(/`fn`/);
    await expect(retry(() => 1, { attempts: 0 })).rejects.toThrow(/`options.attempts`/);
    await expect(retry(() => 1, { jitter: 'some' as never })).rejects.toThrow(TypeError);
    await expect(retry(() => 1, { backoff: { factor: 0.5 } })).rejects.toThrow(RangeError);
  });
});

describe('retry: errors of its option functions (review D6)', () => {
  const x = new Error('x');
  const failing = (): never => {
    throw x;
  };

  test('retryIf that throws: its error, with the attempt error attached', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const pred = new Error('pred');
    const error = await retry(failing, {
      clock,
      retryIf: () => {
        throw pred;
      },
    }).catch((e: unknown) => e);
    expect(error).toBe(pred);
    expect(suppressedErrors(pred)).toEqual([x]);
  });

  test('onRetry that throws: its error, with every attempt error attached', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const hook = new Error('hook');
    let n = 0;
    const error = await retry(failing, {
      clock,
      onRetry: () => {
        if (++n === 2) throw hook;
      },
    }).catch((e: unknown) => e);
    expect(error).toBe(hook);
    const [attached] = suppressedErrors(hook);
    expect(attached).toBeInstanceOf(RetryError);
    expect((attached as RetryError).errors).toEqual([x, x]);
  });

  for (const value of [-1, 1, 2, Number.NaN, '0.5']) {
    test(`random returning ${String(value)}: a RangeError naming options.random, the attempt error attached`, async () => {
      const clock = new TestClock({ autoAdvance: true });
      const delays: number[] = [];
      const error = await retry(failing, {
        clock,
        random: () => value as number,
        onRetry: ({ delay }) => delays.push(delay),
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RangeError);
      expect(String(error)).toMatch(/`options\.random`/);
      expect(suppressedErrors(error)).toEqual([x]);
      expect(delays).toEqual([]);
    });
  }

  test("random is not called with jitter 'none', and values in [0, 1) are used", async () => {
    const clock = new TestClock({ autoAdvance: true });
    const delays: number[] = [];
    await retry(failing, {
      clock,
      attempts: 2,
      jitter: 'none',
      random: () => 5,
      onRetry: ({ delay }) => delays.push(delay),
    }).catch(() => {});
    await retry(failing, {
      clock,
      attempts: 2,
      random: () => 0.5,
      onRetry: ({ delay }) => delays.push(delay),
    }).catch(() => {});
    expect(delays).toEqual([100, 50]);
  });
});
