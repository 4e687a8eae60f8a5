// Regression tests for defects the review rv-http10 found (X1–X9; X1, X5, X6 and X9 also
// in internal/body.test.ts, internal/retry.test.ts and effect/layer.test.ts): each fails
// on the code before its fix, unless said otherwise.
import { CancelledError, TestClock, TimeoutError, timeout } from '@weft/core';
import { describe, expect, test } from 'vitest';
import { collectUnhandled } from '../../core/test/helpers.ts';
import { charCodeAtCalls, deferred, settled, tick } from '../test/observe.ts';
import { createClient, HttpError, RedirectError } from './index.ts';

describe('ndjson() and sse() read a long line in linear work (X1)', () => {
  // One 64 KiB record in 256-byte chunks. The count of String.prototype.charCodeAt calls
  // is the work of the line splitter (its scan for line breaks, and utf8Length under a
  // cap): quadratic before the fix (millions), a few per character after it.
  const size = 64 * 1024;
  function chunked(text: string): typeof fetch {
    const bytes = new TextEncoder().encode(text);
    return (async () => {
      let at = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (at >= bytes.length) return controller.close();
            controller.enqueue(bytes.slice(at, at + 256));
            at += 256;
          },
        }),
      );
    }) as typeof fetch;
  }

  test('ndjson', async () => {
    const value = 'v'.repeat(size);
    const http = createClient({
      fetch: chunked(`${JSON.stringify({ value })}\n{"n":2}\n`),
      maxResponseSize: 100_000,
    });
    const out: unknown[] = [];
    const calls = await charCodeAtCalls(async () => {
      for await (const item of http.get('http://x.test/').ndjson()) out.push(item);
    });
    expect(out).toEqual([{ value }, { n: 2 }]);
    expect(calls).toBeLessThan(4 * size);
  });

  test('sse', async () => {
    const data = 'd'.repeat(size);
    const http = createClient({
      fetch: chunked(`event: big\ndata: ${data}\n\ndata: small\n\n`),
      maxResponseSize: 100_000,
    });
    const out: string[] = [];
    const calls = await charCodeAtCalls(async () => {
      for await (const event of http.get('http://x.test/').sse()) out.push(event.data);
    });
    expect(out).toEqual([data, 'small']);
    expect(calls).toBeLessThan(4 * size);
  });
});

describe('perHost follows a redirect to another host (X2)', () => {
  test('requests redirected from host A to host B take B’s slot: B never sees two at once', async () => {
    let atB = 0;
    let maxAtB = 0;
    const fetch = async (input: string | URL | Request): Promise<Response> => {
      const url = new URL(String(input));
      if (url.host === 'a.test') {
        return new Response(null, { status: 302, headers: { location: 'http://b.test/file' } });
      }
      atB++;
      maxAtB = Math.max(maxAtB, atB);
      await tick();
      atB--;
      return new Response(`b ${url.pathname}`);
    };
    const http = createClient({ fetch: fetch as typeof globalThis.fetch, perHost: 1 });
    const bodies = await Promise.all([
      http.get('http://a.test/1').text(),
      http.get('http://a.test/2').text(),
      http.get('http://b.test/3').text(),
    ]);
    expect(bodies.sort()).toEqual(['b /3', 'b /file', 'b /file']);
    expect(maxAtB).toBe(1);
    expect(http.active).toBe(0);
    // No slot of either host is left taken.
    expect(await http.get('http://a.test/4').text()).toBe('b /file');
    expect(await http.get('http://b.test/5').text()).toBe('b /5');
    await http.close();
  });

  test('concurrency: 1 with perHost: 1 does not deadlock: the concurrency slot is given back too', async () => {
    // R1 (to A) holds A's slot and the client's; R2 holds B's and waits for the client's.
    // R1 is redirected to B: holding the client's slot while it waits for B's would wait
    // forever. (Before the fix R1 went on to B without B's slot, while R2 held it: the
    // order of the fetches shows it.)
    const order: string[] = [];
    const answerA = deferred();
    const fetch = async (input: string | URL | Request): Promise<Response> => {
      const url = new URL(String(input));
      order.push(url.href);
      if (url.host === 'a.test') {
        await answerA.promise;
        return new Response(null, { status: 302, headers: { location: 'http://b.test/from-a' } });
      }
      return new Response(url.pathname);
    };
    const http = createClient({
      fetch: fetch as typeof globalThis.fetch,
      perHost: 1,
      concurrency: 1,
    });
    const r1 = http.get('http://a.test/r1').text();
    await tick();
    const r2 = http.get('http://b.test/r2').text();
    await tick();
    answerA.resolve();
    expect(await Promise.all([r1, r2])).toEqual(['/from-a', '/r2']);
    expect(order).toEqual(['http://a.test/r1', 'http://b.test/r2', 'http://b.test/from-a']);
    expect(http.active).toBe(0);
    await http.close();
  });

  test('a request waiting for the new host’s slot is cancelled by close() and leaves no slot taken', async () => {
    const holdB = deferred<Response>();
    const fetch = async (input: string | URL | Request): Promise<Response> => {
      const url = new URL(String(input));
      if (url.host === 'a.test') {
        return new Response(null, { status: 307, headers: { location: 'http://b.test/x' } });
      }
      return url.pathname === '/hold' ? holdB.promise : new Response('ok');
    };
    const http = createClient({ fetch: fetch as typeof globalThis.fetch, perHost: 1 });
    const holding = settled(http.get('http://b.test/hold').text());
    await tick();
    const redirected = settled(http.get('http://a.test/').text());
    await tick();
    expect(http.active).toBe(2);
    await http.close();
    expect(await holding).toBeInstanceOf(CancelledError);
    expect(await redirected).toBeInstanceOf(CancelledError);
    expect(http.active).toBe(0);
  });
});

describe('an onError hook that never settles can be cancelled (X3)', () => {
  const failing = (async () => new Response('down', { status: 500 })) as typeof fetch;
  const hangs = (): Promise<never> => new Promise<never>(() => {});

  test('by the caller’s signal: the request rejects with its reason', async () => {
    const http = createClient({ fetch: failing, retry: false, hooks: { onError: [hangs] } });
    const controller = new AbortController();
    const outcome = settled(http.get('http://x.test/', { signal: controller.signal }).text());
    await tick();
    // Still in its hook: in flight.
    expect(http.active).toBe(1);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    expect(await outcome).toBe(reason);
    expect(http.active).toBe(0);
  });

  test('by totalTimeout and by a weft timeout() around it', async () => {
    const clock = new TestClock();
    const http = createClient({
      fetch: failing,
      retry: false,
      clock,
      hooks: { onError: [hangs] },
    });
    const outcome = settled(http.get('http://x.test/', { totalTimeout: 100 }).text());
    await tick();
    await clock.advance(100);
    const error = await outcome;
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).message).toContain('totalTimeout');

    const scoped = settled(timeout(200, () => http.get('http://x.test/').text(), { clock }));
    await tick();
    expect(http.active).toBe(1);
    await clock.advance(200);
    expect(await scoped).toBeInstanceOf(TimeoutError);
    expect(http.active).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  test('by close(), which waits for it: active counts it until then', async () => {
    const http = createClient({ fetch: failing, retry: false, hooks: { onError: [hangs] } });
    const outcome = settled(http.get('http://x.test/').text());
    await tick();
    expect(http.active).toBe(1);
    await http.close();
    expect(await outcome).toBeInstanceOf(CancelledError);
    expect(http.active).toBe(0);
  });

  test('the hook of a request already cancelled (its failure the abort reason) is not waited for (rv-http11 X1)', async () => {
    const seen: unknown[] = [];
    const http = createClient({
      fetch: (() => new Promise<Response>(() => {})) as typeof fetch,
      retry: false,
      hooks: {
        onError: [
          (error) => {
            seen.push(error);
            return hangs();
          },
        ],
      },
    });
    const controller = new AbortController();
    const outcome = settled(http.get('http://x.test/', { signal: controller.signal }).text());
    await tick();
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await tick();
    expect(seen).toEqual([reason]);
    expect(http.active).toBe(0);
    expect(await outcome).toBe(reason);
    await http.close();
  });

  test('a hook cut off that rejects later is no unhandled rejection; a hook may still replace a timeout', async () => {
    const unhandled = await collectUnhandled(async () => {
      let fail!: (error: Error) => void;
      const http = createClient({
        fetch: failing,
        retry: false,
        hooks: {
          onError: [
            () =>
              new Promise((_, reject) => {
                fail = reject;
              }),
          ],
        },
      });
      const outcome = settled(http.get('http://x.test/').text());
      await tick();
      await http.close();
      expect(await outcome).toBeInstanceOf(CancelledError);
      fail(new Error('late'));
      await tick();
    });
    expect(unhandled).toEqual([]);

    // The hook still sees a cancellation as the error, and may replace it.
    const clock = new TestClock();
    const replaced = new Error('mapped');
    const http = createClient({
      fetch: (() => new Promise<Response>(() => {})) as typeof fetch,
      clock,
      retry: false,
      hooks: { onError: [(error) => (error instanceof TimeoutError ? replaced : undefined)] },
    });
    const outcome = settled(http.get('http://x.test/', { totalTimeout: 50 }).text());
    await tick();
    await clock.advance(50);
    expect(await outcome).toBe(replaced);
    const slow = createClient({
      fetch: failing,
      retry: false,
      hooks: { onError: [async () => replaced] },
    });
    expect(await settled(slow.get('http://x.test/').text())).toBe(replaced);
  });
});

describe('afterResponse returning neither a Response nor undefined (X4)', () => {
  test('is a TypeError naming the hook and the value; the response is cancelled and the slot freed', async () => {
    for (const [value, shown] of [
      [null, '`null` (null)'],
      ['x', '`x` (string)'],
      [{}, '`{}` (object)'],
    ] as const) {
      let cancelled = false;
      const fetch = (async () =>
        new Response(
          new ReadableStream({
            pull(controller) {
              controller.enqueue(new TextEncoder().encode('data'));
            },
            cancel() {
              cancelled = true;
            },
          }),
        )) as typeof globalThis.fetch;
      const http = createClient({
        fetch,
        concurrency: 1,
        hooks: { afterResponse: [() => undefined, () => value as never] },
      });
      const error = await settled(http.get('http://x.test/').text());
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(
        /^Expected `hooks.afterResponse\[1\]` to return a Response or undefined, got /,
      );
      expect((error as Error).message).toContain(shown);
      await tick();
      expect(cancelled).toBe(true);
      expect(http.active).toBe(0);
      await http.close();
    }
  });
});

describe('RedirectError.redirects lists only the URLs followed (X7)', () => {
  test('a loop stops with maxRedirects entries; a refused Location is in the message only', async () => {
    let calls = 0;
    const loop = (async () => {
      calls++;
      return new Response(null, { status: 302, headers: { location: '/loop' } });
    }) as typeof fetch;
    const http = createClient({ fetch: loop, maxRedirects: 2 });
    const error = (await settled(http.get('http://x.test/loop').text())) as RedirectError;
    expect(error).toBeInstanceOf(RedirectError);
    expect(calls).toBe(3); // the request and the 2 redirects followed
    expect(error.redirects).toEqual(['http://x.test/loop', 'http://x.test/loop']);
    expect(error.message).toContain('more than 2 redirects');
    expect(error.message).toContain('http://x.test/loop');

    const data = (async (input: string | URL | Request) =>
      String(input).endsWith('/start')
        ? new Response(null, { status: 302, headers: { location: '/next' } })
        : new Response(null, {
            status: 302,
            headers: { location: 'data:text/plain,hi' },
          })) as typeof fetch;
    const other = createClient({ fetch: data });
    const refused = (await settled(other.get('http://x.test/start').text())) as RedirectError;
    expect(refused).toBeInstanceOf(RedirectError);
    expect(refused.redirects).toEqual(['http://x.test/next']);
    expect(refused.message).toContain('data:text/plain,hi');
  });
});

describe('beforeRequest edits apply to one attempt or hop (X8)', () => {
  const editing = {
    beforeRequest: [
      (request: { url: URL; headers: Headers }) => {
        request.url.pathname = `/v2${request.url.pathname}`;
        request.headers.append('x-trace', 'abc');
      },
    ],
  };

  test('a retried request starts again from the request as configured', async () => {
    const seen: string[] = [];
    let n = 0;
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      seen.push(`${new URL(String(input)).pathname} ${new Headers(init?.headers).get('x-trace')}`);
      return new Response('x', { status: ++n < 3 ? 503 : 200 });
    }) as typeof globalThis.fetch;
    const http = createClient({
      fetch,
      retry: { limit: 2, backoff: { initial: 0 } },
      hooks: editing,
    });
    expect(await http.get('http://x.test/items').text()).toBe('x');
    expect(seen).toEqual(['/v2/items abc', '/v2/items abc', '/v2/items abc']);
  });

  test('each same-origin hop starts from that hop’s URL and the configured headers', async () => {
    const seen: string[] = [];
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(String(input));
      seen.push(`${url.pathname} ${new Headers(init?.headers).get('x-trace')}`);
      if (url.pathname === '/v2/a') {
        return new Response(null, { status: 302, headers: { location: '/b' } });
      }
      if (url.pathname === '/v2/b') {
        return new Response(null, { status: 302, headers: { location: '/c' } });
      }
      return new Response('end');
    }) as typeof globalThis.fetch;
    const http = createClient({ fetch, retry: false, hooks: editing });
    expect(await http.get('http://x.test/a').text()).toBe('end');
    expect(seen).toEqual(['/v2/a abc', '/v2/b abc', '/v2/c abc']);
  });

  test('an HttpError names the URL actually requested', async () => {
    const fetch = (async () => new Response('no', { status: 404 })) as typeof globalThis.fetch;
    const http = createClient({ fetch, hooks: editing });
    const error = (await settled(http.get('http://x.test/items').text())) as HttpError;
    expect(error).toBeInstanceOf(HttpError);
    expect(String(error.url)).toBe('http://x.test/v2/items');
  });
});
