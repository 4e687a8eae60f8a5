// Regression tests for defects an adversarial review found (D1–D4 in the review of
// issue 8): each fails on the code before the fix.
import { sleep, TestClock, TimeoutError } from '@weft/core';
import { collectUnhandled } from '../../core/test/helpers.ts';
import { describe, expect, test } from 'vitest';
import { createClient, HttpError, NetworkError, ResponseTooLargeError } from './index.ts';

/** A body of `chunks` × 16 KiB that counts how much of it was pulled and whether it was cancelled. */
function countedBody(chunks: number): {
  body: ReadableStream<Uint8Array>;
  pulled: () => number;
  cancelled: () => boolean;
} {
  let sent = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= chunks) return controller.close();
      sent++;
      controller.enqueue(new Uint8Array(16_384));
    },
    cancel() {
      cancelled = true;
    },
  });
  return { body, pulled: () => sent, cancelled: () => cancelled };
}

/** One macrotask: lets the request reach fetch and settle, without advancing any clock. */
function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5));
}

/**
 * What `promise` rejects with (or `'fulfilled'`), observed at once so that virtual time can
 * advance meanwhile. (Bun's `expect(p).rejects` waits for `p` synchronously, so it cannot
 * be started before the clock that settles `p` is advanced.)
 */
function settled(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => 'fulfilled',
    (error: unknown) => error,
  );
}

describe('review fixes', () => {
  test('maxResponseSize holds even when content-length understates the body (D1)', async () => {
    const big = countedBody(640); // 10 MiB
    const http = createClient({
      fetch: (async () =>
        new Response(big.body, { headers: { 'content-length': '10' } })) as typeof fetch,
      retry: false,
    });
    await expect(
      http.get('http://x.test/', { maxResponseSize: 100_000 }).bytes(),
    ).rejects.toBeInstanceOf(ResponseTooLargeError);
    expect(big.pulled()).toBeLessThan(20);
    expect(big.cancelled()).toBe(true);
    await http.close();
  });

  test('a rejected .json(badSchema) ends its request at once: no slot, response or timer held (D2)', async () => {
    const clock = new TestClock();
    const body = countedBody(1);
    const http = createClient({
      fetch: (async () => new Response(body.body)) as typeof fetch,
      clock,
      concurrency: 1,
      retry: false,
    });
    await expect(http.get('http://x.test/').json({} as never)).rejects.toThrow(
      /`schema`.*Standard Schema/,
    );
    await tick(); // no virtual time passes: the attempt timeout must not be what ends it
    expect(http.active).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    await http.close();
  });

  test('closing a .lines() iterator before its first next() cancels the request (D2)', async () => {
    const clock = new TestClock();
    const body = countedBody(3);
    const http = createClient({
      fetch: (async () => new Response(body.body)) as typeof fetch,
      clock,
      retry: false,
    });
    for (const make of [
      () => http.get('http://x.test/').lines(),
      () => http.get('http://x.test/').ndjson(),
      () => http.get('http://x.test/').sse(),
    ]) {
      const it = make()[Symbol.asyncIterator]();
      await it.return?.();
      await tick();
      expect(http.active).toBe(0);
    }
    expect(clock.pendingTimers).toBe(0);
    await http.close();
  });

  test('an onDownloadProgress that throws rejects with its own error, never retried (D3)', async () => {
    let calls = 0;
    const http = createClient({
      fetch: (async () => {
        calls++;
        return new Response('{"a":1}');
      }) as typeof fetch,
      clock: new TestClock({ autoAdvance: true }),
    });
    const bug = new Error('user bug');
    const onDownloadProgress = (p: { transferred: number }): void => {
      if (p.transferred > 0) throw bug;
    };
    await expect(http.get('http://x.test/', { onDownloadProgress }).text()).rejects.toBe(bug);
    await expect(http.get('http://x.test/', { onDownloadProgress }).bytes()).rejects.toBe(bug);
    const lines = async (): Promise<void> => {
      for await (const _ of http.get('http://x.test/', { onDownloadProgress }).lines()) {
        // reading is enough
      }
    };
    await expect(lines()).rejects.toBe(bug);
    expect(calls).toBe(3);
    await http.close();
  });

  test('bad input never reaches fetch: a body on GET/HEAD and non-http URLs are TypeErrors (D4)', async () => {
    let calls = 0;
    const http = createClient({
      fetch: (async () => {
        calls++;
        return new Response('');
      }) as typeof fetch,
    });
    expect(() => http.get('http://x.test/', { body: 'x' })).toThrow(TypeError);
    expect(() => http.get('http://x.test/', { body: 'x' })).toThrow(/options\.body.*GET/);
    expect(() => http.head('http://x.test/', { json: { a: 1 } })).toThrow(/options\.json.*HEAD/);
    expect(() => http.get('ftp://x.test/')).toThrow(/`url` to be an http: or https: URL/);
    expect(() => http.get(new URL('file:///etc/passwd'))).toThrow(TypeError);
    expect(() => createClient({ baseUrl: 'ftp://x.test/' })).toThrow(/options\.baseUrl/);
    expect(() => createClient({ retry: { statusCodes: [503, 999] } })).toThrow(
      /`options\.retry\.statusCodes\[1\]`.*`999` \(number\)/,
    );
    expect(calls).toBe(0);
    await http.close();
  });

  test('a network failure is still a retried NetworkError', async () => {
    let calls = 0;
    const http = createClient({
      fetch: (async () => {
        calls++;
        throw new TypeError('fetch failed');
      }) as typeof fetch,
      clock: new TestClock({ autoAdvance: true }),
    });
    await expect(http.get('http://x.test/').text()).rejects.toBeInstanceOf(NetworkError);
    expect(calls).toBe(3);
    await http.close();
  });

  test('an injected transport whose body stalls is still cut by the timeout, an abort and close() (D11)', async () => {
    const stalled = (): Response =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(new Uint8Array(3)); // then silence
          },
        }),
      );
    const clock = new TestClock();
    const http = createClient({
      fetch: (async () => stalled()) as typeof fetch,
      clock,
      timeout: 200,
      retry: false,
    });
    for (const read of [
      (p: ReturnType<typeof http.get>) => p.text(),
      (p: ReturnType<typeof http.get>) => p.bytes(),
      async (p: ReturnType<typeof http.get>) => {
        for await (const _ of p.lines()) {
          // waits for a line that never comes
        }
      },
      async (p: ReturnType<typeof http.get>) => (await p).text(),
    ]) {
      const pending = read(http.get('http://x.test/'));
      const outcome = settled(pending);
      await tick();
      await clock.advance(200);
      expect(await outcome).toBeInstanceOf(TimeoutError);
    }
    const controller = new AbortController();
    const reason = new Error('user stop');
    const aborted = http
      .get('http://x.test/', { signal: controller.signal, timeout: Infinity })
      .text();
    await tick();
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    const open = http.get('http://x.test/', { timeout: Infinity }).text();
    open.catch(() => {});
    await tick();
    await http.close();
    await expect(open).rejects.toThrow();
    expect(http.active).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  test('a transport that answers after the timeout does not win (D12)', async () => {
    const clock = new TestClock();
    const http = createClient({
      clock,
      timeout: 200,
      retry: false,
      fetch: ((_url: string, init: RequestInit) =>
        new Promise<Response>((resolve) => {
          init.signal?.addEventListener('abort', () => resolve(new Response('late')));
        })) as typeof fetch,
    });
    const pending = http.get('http://x.test/').text();
    const outcome = settled(pending);
    await tick();
    await clock.advance(200);
    expect(await outcome).toBeInstanceOf(TimeoutError);
    await http.close();
  });

  test('a slow hook cannot outlast the timeout or an abort (D5)', async () => {
    const clock = new TestClock();
    const never = (): Promise<void> => new Promise(() => {});
    const http = createClient({
      fetch: (async () => new Response('ok')) as typeof fetch,
      clock,
      timeout: 200,
      retry: false,
      hooks: { beforeRequest: [never] },
    });
    const pending = http.get('http://x.test/').text();
    const outcome = settled(pending);
    await tick();
    await clock.advance(200);
    expect(await outcome).toBeInstanceOf(TimeoutError);
    await http.close();
    expect(clock.pendingTimers).toBe(0);
  });

  test('a failed stream request that is iterated later is no unhandled rejection (D8)', async () => {
    const http = createClient({
      fetch: (async () => new Response('nope', { status: 404 })) as typeof fetch,
      retry: false,
    });
    const unhandled = await collectUnhandled(async () => {
      const events = http.get('http://x.test/').sse();
      const lines = http.get('http://x.test/').lines();
      await sleep(20);
      const drain = async (it: AsyncIterable<unknown>): Promise<void> => {
        for await (const _ of it) {
          // nothing arrives
        }
      };
      await expect(drain(events)).rejects.toBeInstanceOf(HttpError);
      await expect(drain(lines)).rejects.toBeInstanceOf(HttpError);
    });
    expect(unhandled).toEqual([]);
    await http.close();
  });

  test('progress of a compressed body has no total: content-length counts encoded bytes (D9)', async () => {
    const seen: Array<{ total: number | undefined; percent: number | undefined }> = [];
    const http = createClient({
      fetch: (async () =>
        new Response('x'.repeat(5000), {
          headers: { 'content-encoding': 'gzip', 'content-length': '40' },
        })) as typeof fetch,
    });
    await http.get('http://x.test/', { onDownloadProgress: (p) => seen.push(p) }).text();
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.slice(0, -1).every((p) => p.total === undefined && p.percent === undefined)).toBe(
      true,
    );
    await http.close();
  });
});
