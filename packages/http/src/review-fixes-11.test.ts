// Regression tests for defects the review rv-http11 found (X1–X8; some in
// internal/config.test.ts, internal/retry.test.ts and internal/body.test.ts): each fails on
// the code before its fix, unless said otherwise.
import { CancelledError, Semaphore, TestClock, TimeoutError, timeout } from '@weft/core';
import { describe, expect, test } from 'vitest';
import { isSettled, settled, tick } from '../test/observe.ts';
import { createClient, HttpError } from './index.ts';

describe('an onError hook is never waited for past the cancellation that caused the failure (X1)', () => {
  const hangs = (): Promise<never> => new Promise<never>(() => {});
  const never = (() => new Promise<Response>(() => {})) as typeof fetch;

  test('close() with a request in flight and a hanging hook returns; the request rejects CancelledError', async () => {
    const http = createClient({ fetch: never, retry: false, hooks: { onError: [hangs] } });
    const outcome = settled(http.get('http://x.test/').text());
    await tick();
    const closing = http.close();
    expect(await isSettled(closing)).toBe(true);
    expect(await outcome).toBeInstanceOf(CancelledError);
    expect(http.active).toBe(0);
  });

  test('the caller’s abort during fetch: the request rejects with its reason', async () => {
    const http = createClient({ fetch: never, retry: false, hooks: { onError: [hangs] } });
    const controller = new AbortController();
    const outcome = settled(http.get('http://x.test/', { signal: controller.signal }).text());
    await tick();
    const reason = new Error('caller gave up');
    controller.abort(reason);
    expect(await isSettled(outcome)).toBe(true);
    expect(await outcome).toBe(reason);
    expect(http.active).toBe(0);
  });

  test('an already-aborted signal and a closed client', async () => {
    const http = createClient({ fetch: never, retry: false, hooks: { onError: [hangs] } });
    const reason = new Error('aborted before');
    const pre = settled(http.get('http://x.test/', { signal: AbortSignal.abort(reason) }).text());
    expect(await isSettled(pre)).toBe(true);
    expect(await pre).toBe(reason);
    await http.close();
    const late = settled(http.get('http://x.test/').text());
    expect(await isSettled(late)).toBe(true);
    expect(await late).toBeInstanceOf(CancelledError);
    expect(http.active).toBe(0);
  });

  test('totalTimeout and a weft timeout() during fetch (TestClock)', async () => {
    const clock = new TestClock();
    const http = createClient({ fetch: never, retry: false, clock, hooks: { onError: [hangs] } });
    const total = settled(http.get('http://x.test/', { totalTimeout: 100 }).text());
    await tick();
    await clock.advance(100);
    expect(await isSettled(total)).toBe(true);
    expect(await total).toBeInstanceOf(TimeoutError);
    const scoped = settled(timeout(100, () => http.get('http://x.test/').text(), { clock }));
    await tick();
    await clock.advance(100);
    expect(await isSettled(scoped)).toBe(true);
    expect(await scoped).toBeInstanceOf(TimeoutError);
    expect(http.active).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  test('a later cancellation does not replace the reason of the one that ended the request', async () => {
    const clock = new TestClock();
    const http = createClient({ fetch: never, retry: false, clock, hooks: { onError: [hangs] } });
    const controller = new AbortController();
    const outcome = settled(
      http.get('http://x.test/', { signal: controller.signal, totalTimeout: 150 }).text(),
    );
    await tick();
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await clock.advance(150);
    expect(await outcome).toBe(reason);
  });

  test('getAll fail-fast does not wait for the hooks of the siblings it cancelled', async () => {
    const fetch = (async (input: string | URL | Request) =>
      String(input).endsWith('/500')
        ? new Response('bad', { status: 500 })
        : new Promise<Response>(() => {})) as typeof globalThis.fetch;
    const seen: string[] = [];
    const http = createClient({
      fetch,
      retry: false,
      hooks: {
        onError: [
          (error) => {
            seen.push((error as Error).constructor.name);
            return error instanceof HttpError ? undefined : hangs();
          },
        ],
      },
    });
    const outcome = settled(
      http.getAll(['http://x.test/500', 'http://x.test/a', 'http://x.test/b']),
    );
    expect(await isSettled(outcome)).toBe(true);
    expect(await outcome).toBeInstanceOf(HttpError);
    expect(seen.sort()).toEqual(['CancelledError', 'CancelledError', 'HttpError']);
    expect(http.active).toBe(0);
  });

  test('a hook that answers synchronously still replaces the error of a cancelled request', async () => {
    const replaced = new Error('mapped');
    const http = createClient({ fetch: never, retry: false, hooks: { onError: [() => replaced] } });
    const outcome = settled(http.get('http://x.test/').text());
    await tick();
    await http.close();
    expect(await outcome).toBe(replaced);
  });
});

describe('a cross-host redirect under perHost gives back the rateLimit permit too (X2)', () => {
  test('a Semaphore as rateLimit: the redirected request and one to the new host both finish', async () => {
    // R1 takes a.test's slot and the one rate permit and is redirected to b.test; R2 holds
    // b.test's slot and waits for the rate permit. Before the fix R1 kept the permit while
    // it waited for b.test's slot: both waited for ever.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const fetch = (async (input: string | URL | Request) => {
      const url = new URL(String(input));
      if (url.host === 'a.test') {
        await gate;
        return new Response(null, { status: 302, headers: { location: 'http://b.test/x' } });
      }
      return new Response(`b ${url.pathname}`);
    }) as typeof globalThis.fetch;
    const rateLimit = new Semaphore(1);
    let asked = 0;
    const http = createClient({
      fetch,
      perHost: 1,
      rateLimit: {
        acquire: (options) => {
          asked++;
          return rateLimit.acquire(options);
        },
      },
    });
    const r1 = http.get('http://a.test/go').text();
    await tick();
    const r2 = http.get('http://b.test/y').text();
    await tick();
    open();
    const both = Promise.all([r1, r2]);
    expect(await isSettled(both)).toBe(true);
    expect(await both).toEqual(['b /x', 'b /y']);
    // The hop asked the rate limiter again, as a new request would.
    expect(asked).toBe(3);
    expect(rateLimit.available).toBe(1);
    expect(http.active).toBe(0);
    await http.close();
  });
});

describe('onError: any value but undefined replaces the error (X6, documented; no behaviour change)', () => {
  test('null and 0 replace it; undefined keeps it', async () => {
    const failing = (async () => new Response('down', { status: 500 })) as typeof fetch;
    for (const value of [null, 0, '']) {
      const http = createClient({
        fetch: failing,
        retry: false,
        hooks: { onError: [() => value] },
      });
      expect(await settled(http.get('http://x.test/').text())).toBe(value);
    }
    const http = createClient({
      fetch: failing,
      retry: false,
      hooks: { onError: [() => undefined] },
    });
    expect(await settled(http.get('http://x.test/').text())).toBeInstanceOf(HttpError);
  });
});

describe('one copy of the request per attempt and hop, edited by beforeRequest only (X5)', () => {
  const v2 = (request: { url: URL }): void => {
    request.url.pathname = `/v2${request.url.pathname}`;
  };

  test('a raw response is redirected only after a real redirect, not after a URL edit', async () => {
    const fetch = (async (input: string | URL | Request) => {
      const url = new URL(String(input));
      if (url.pathname === '/v2/go') {
        return new Response(null, { status: 302, headers: { location: '/plain' } });
      }
      return new Response(url.pathname);
    }) as typeof globalThis.fetch;
    const http = createClient({ fetch, hooks: { beforeRequest: [v2] } });
    const plain = await http.get('http://x.test/plain');
    expect(plain.redirected).toBe(false);
    expect(plain.url).toBe('http://x.test/v2/plain');
    expect(await plain.text()).toBe('/v2/plain');
    const moved = await http.get('http://x.test/go');
    expect(moved.redirected).toBe(true);
    expect(await moved.text()).toBe('/v2/plain');
    // Without hooks: the same.
    const bare = createClient({ fetch });
    const direct = await bare.get('http://x.test/v2/go');
    expect(direct.redirected).toBe(true);
    await direct.text();
    const none = await bare.get('http://x.test/v2/plain');
    expect(none.redirected).toBe(false);
    await none.text();
  });

  test('the timeout messages name the URL actually fetched', async () => {
    const clock = new TestClock();
    const never = (() => new Promise<Response>(() => {})) as typeof fetch;
    const http = createClient({
      fetch: never,
      clock,
      retry: false,
      hooks: { beforeRequest: [v2] },
    });
    const perAttempt = settled(http.get('http://x.test/slow', { timeout: 100 }).text());
    await tick();
    await clock.advance(100);
    expect(((await perAttempt) as Error).message).toBe(
      'GET http://x.test/v2/slow timed out after 100 ms (timeout per attempt)',
    );
    const total = settled(http.get('http://x.test/slow', { totalTimeout: 100 }).text());
    await tick();
    await clock.advance(100);
    expect(((await total) as Error).message).toBe(
      'GET http://x.test/v2/slow timed out after 100 ms (totalTimeout)',
    );
  });

  test('edits made by beforeRetry or afterResponse are never applied, with or without a beforeRequest hook', async () => {
    for (const beforeRequest of [[], [() => {}]]) {
      const seen: string[] = [];
      const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
        const url = new URL(String(input));
        seen.push(`${url.pathname}${url.search} x-try=${new Headers(init?.headers).get('x-try')}`);
        return new Response('x', { status: seen.length < 3 ? 503 : 200 });
      }) as typeof globalThis.fetch;
      const http = createClient({
        fetch,
        retry: { limit: 2, backoff: { initial: 0 } },
        hooks: {
          beforeRequest,
          afterResponse: [
            (_response, request) => {
              request.url.pathname = '/edited';
            },
          ],
          beforeRetry: [
            ({ request, retry }) => {
              request.headers.append('x-try', String(retry));
              request.url.searchParams.append('try', String(retry));
            },
          ],
        },
      });
      expect(await http.get('http://x.test/503').text()).toBe('x');
      expect(seen).toEqual(['/503 x-try=null', '/503 x-try=null', '/503 x-try=null']);
    }
  });

  test('hooks and errors of one attempt see the copy beforeRequest edited', async () => {
    const fetch = (async () => new Response('nf', { status: 404 })) as typeof globalThis.fetch;
    const seen: string[] = [];
    const http = createClient({
      fetch,
      retry: false,
      hooks: {
        beforeRequest: [v2],
        afterResponse: [(_response, request) => void seen.push(request.url.pathname)],
        onError: [(_error, request) => void seen.push(request.url.pathname)],
      },
    });
    const error = await settled(http.get('http://x.test/a').text());
    expect((error as HttpError).url).toBe('http://x.test/v2/a');
    expect(seen).toEqual(['/v2/a', '/v2/a']);
  });
});
