// Regression tests for defects the review rv-http12 found (X1, X2, X3, X7; X6 in
// internal/retry.test.ts): each fails on the code before its fix.
import { RateLimiter, TestClock, TimeoutError } from '@weft/core';
import { describe, expect, test } from 'vitest';
import { isSettled, settled, tick } from '../test/observe.ts';
import { createClient } from './index.ts';

/** An injected fetch: a.test redirects to b.test; w*.test answer when `answer` is called. */
function hostsFetch(clock: TestClock, aDelay = 0, bHangs = false) {
  const waiting: Array<() => void> = [];
  const fetch = (async (input: string | URL | Request) => {
    const url = new URL(String(input));
    if (url.host === 'a.test') {
      if (aDelay > 0) await clock.sleep(aDelay);
      return new Response(null, { status: 302, headers: { location: 'http://b.test/x' } });
    }
    if (url.host === 'b.test') {
      if (bHangs) await new Promise<never>(() => {});
      return new Response('b');
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
    return new Response('w');
  }) as typeof globalThis.fetch;
  return { fetch, answer: () => waiting.shift()!() };
}

describe('a cross-host hop waits for its slots outside the per-attempt timeout (X7, X3)', () => {
  test('a hop queued behind busy slots for longer than `timeout` still succeeds (q8b)', async () => {
    const clock = new TestClock();
    const { fetch, answer } = hostsFetch(clock);
    const http = createClient({ fetch, clock, concurrency: 2, perHost: 1, timeout: 150 });
    const slow = { timeout: Number.POSITIVE_INFINITY };
    const w1 = http.get('http://w1.test/', slow).text();
    const redirected = settled(http.get('http://a.test/go', { retry: false }).text());
    const w2 = http.get('http://w2.test/', slow).text();
    await tick();
    // a.test was answered (302): its hop gave the slot to w2 and waits behind it and w1.
    await clock.advance(1000);
    expect(await isSettled(redirected)).toBe(false);
    answer();
    expect(await w1).toBe('w');
    expect(await redirected).toBe('b');
    answer();
    expect(await w2).toBe('w');
    await http.close();
  });

  test('the hop keeps the time the attempt had left, not a fresh timeout', async () => {
    const clock = new TestClock();
    const { fetch, answer } = hostsFetch(clock, 30, true);
    const http = createClient({ fetch, clock, concurrency: 1, perHost: 1, timeout: 100 });
    const redirected = settled(http.get('http://a.test/go', { retry: false }).text());
    const other = http.get('http://w.test/', { timeout: Number.POSITIVE_INFINITY }).text();
    await tick();
    await clock.advance(30); // a.test answers 302 after 30 ms; w.test takes the slot
    await tick();
    await clock.advance(500); // the hop waits 500 ms for the slot: not timed
    expect(await isSettled(redirected)).toBe(false);
    answer();
    expect(await other).toBe('w');
    await tick();
    // b.test hangs: the attempt has 100 - 30 = 70 ms left.
    await clock.advance(69);
    expect(await isSettled(redirected)).toBe(false);
    await clock.advance(1);
    const error = (await redirected) as Error;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.message).toBe('GET http://b.test/x timed out after 100 ms (timeout per attempt)');
    await http.close();
  });

  test('a hop waiting for a rate-limit token longer than `timeout` succeeds (X3)', async () => {
    const clock = new TestClock();
    const { fetch } = hostsFetch(clock);
    const http = createClient({
      fetch,
      clock,
      perHost: 1,
      timeout: 250,
      retry: false,
      rateLimit: new RateLimiter({ limit: 1, interval: 300, clock }),
    });
    const redirected = settled(http.get('http://a.test/go').text());
    await tick();
    await clock.advance(300);
    expect(await redirected).toBe('b');
    await http.close();
  });
});

describe('credentials a beforeRequest hook sets never reach another origin (X2)', () => {
  test('a token set by beforeRequest is removed on a cross-origin hop and every later hop', async () => {
    const seen: string[] = [];
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(String(input));
      const headers = new Headers(init?.headers);
      seen.push(`${url.href} auth=${headers.get('authorization')} cookie=${headers.get('cookie')}`);
      if (url.pathname === '/go') {
        return new Response(null, { status: 302, headers: { location: 'http://evil.test/x' } });
      }
      if (url.pathname === '/x') {
        // Back to the first origin: still not sent (once changed, for every later hop).
        return new Response(null, { status: 302, headers: { location: 'http://api.test/y' } });
      }
      return new Response('ok');
    }) as typeof globalThis.fetch;
    const http = createClient({
      fetch,
      hooks: {
        beforeRequest: [
          (request) => {
            request.headers.set('authorization', 'Bearer SECRET');
            request.headers.set('cookie', 'sid=1');
            request.headers.set('x-other', 'kept');
          },
        ],
      },
    });
    expect(await http.get('http://api.test/go').text()).toBe('ok');
    expect(seen).toEqual([
      'http://api.test/go auth=Bearer SECRET cookie=sid=1',
      'http://evil.test/x auth=null cookie=null',
      'http://api.test/y auth=null cookie=null',
    ]);
  });

  test('a same-origin hop keeps what beforeRequest set', async () => {
    const seen: Array<string | null> = [];
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      seen.push(new Headers(init?.headers).get('authorization'));
      return new URL(String(input)).pathname === '/go'
        ? new Response(null, { status: 302, headers: { location: '/next' } })
        : new Response('ok');
    }) as typeof globalThis.fetch;
    const http = createClient({
      fetch,
      hooks: { beforeRequest: [(request) => request.headers.set('authorization', 'Bearer T')] },
    });
    expect(await http.get('http://api.test/go').text()).toBe('ok');
    expect(seen).toEqual(['Bearer T', 'Bearer T']);
  });
});

describe('every onError hook of a cancelled request is called, and a sync replacement kept (X1)', () => {
  class AppError extends Error {}
  const never = ((_input: string | URL | Request, init?: RequestInit) =>
    new Promise<Response>((_resolve, reject) => {
      init?.signal?.addEventListener('abort', () => reject(init.signal!.reason), { once: true });
    })) as typeof fetch;

  async function run(onError: Array<(error: unknown) => unknown>, close = false) {
    const controller = new AbortController();
    const http = createClient({ fetch: never, retry: false, hooks: { onError } });
    const outcome = settled(http.get('http://x.test/', { signal: controller.signal }).text());
    await tick();
    if (close) await http.close();
    else controller.abort(new Error('caller gave up'));
    const result = await outcome;
    await http.close();
    return result;
  }

  for (const close of [false, true]) {
    const how = close ? 'close()' : "the caller's abort";
    test(`${how}: an async hook first does not stop a later sync replacement`, async () => {
      const called: string[] = [];
      let late: (() => void) | undefined;
      const asyncLog = (): Promise<void> => {
        called.push('asyncLog');
        return new Promise<void>((resolve) => (late = resolve));
      };
      const syncMap = (error: unknown): AppError => {
        called.push('syncMap');
        return new AppError(`mapped ${(error as Error).message}`);
      };
      const result = await run([asyncLog, syncMap], close);
      expect(called).toEqual(['asyncLog', 'syncMap']);
      expect(result).toBeInstanceOf(AppError);
      late?.();
    });

    test(`${how}: an async hook after a sync replacement keeps it; a late rejection is handled`, async () => {
      const called: string[] = [];
      const syncMap = (error: unknown): AppError => {
        called.push('syncMap');
        return new AppError(`mapped ${(error as Error).message}`);
      };
      const asyncFail = async (): Promise<never> => {
        called.push('asyncFail');
        await tick(1);
        throw new Error('late hook failure');
      };
      const result = await run([syncMap, asyncFail], close);
      expect(called).toEqual(['syncMap', 'asyncFail']);
      expect(result).toBeInstanceOf(AppError);
      await tick(); // the late rejection is observed (vitest fails on an unhandled one)
    });
  }

  test('cut off while an awaited hook runs: the later hooks are called with the reason', async () => {
    const called: unknown[] = [];
    const http = createClient({
      fetch: (async () => new Response('no', { status: 500 })) as typeof globalThis.fetch,
      retry: false,
      hooks: {
        onError: [
          () => new Promise<void>(() => {}),
          (error) => {
            called.push(error);
            return new AppError('mapped');
          },
        ],
      },
    });
    const controller = new AbortController();
    const outcome = settled(http.get('http://x.test/', { signal: controller.signal }).text());
    await tick();
    const reason = new Error('caller gave up');
    controller.abort(reason);
    expect(await outcome).toBeInstanceOf(AppError);
    expect(called).toEqual([reason]);
    await http.close();
  });
});
