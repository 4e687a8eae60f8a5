// The client against a real, misbehaving server (test/app.ts) on this runtime's own
// server and fetch: Node (@hono/node-server + undici), Bun (Bun.serve + Bun's fetch) and
// Deno (Deno.serve + Deno's fetch) all run this same file. After every test, nothing is
// left open: no request in the client, no stream on the server, no timer on the clock.
import { CancelledError, merge, RateLimiter, scope, TestClock, timeout } from '@weft/core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { countingController } from '../../core/test/helpers.ts';
import {
  createClient,
  type HttpClient,
  HttpError,
  NetworkError,
  ParseError,
  type Progress,
  RedirectError,
  ResponseTooLargeError,
  TimeoutError,
} from '../src/index.ts';
import { systemTimeouts } from '../src/internal/timeouts.ts';
import { createTestApp, type TestApp } from './app.ts';
import { closedPort, runtime, serve, type TestServer } from './serve.ts';

let t: TestApp;
let server: TestServer;
let other: TestServer;
const clients: HttpClient[] = [];
const clocks: TestClock[] = [];

beforeAll(async () => {
  t = createTestApp();
  server = await serve(t.app.fetch);
  other = await serve(t.app.fetch); // a second origin, for cross-origin redirects
});

afterAll(async () => {
  await server.close();
  await other.close();
});

/** A client on the test server; checked for leaks after the test. */
function client(options: Parameters<typeof createClient>[0] = {}): HttpClient {
  const http = createClient({ baseUrl: server.url, ...options });
  clients.push(http);
  return http;
}

function testClock(options?: { autoAdvance?: boolean }): TestClock {
  const clock = new TestClock(options);
  clocks.push(clock);
  return clock;
}

async function rejection(promise: PromiseLike<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Waits (a bounded number of turns) for the server to see the client's cancellations. */
async function serverQuiet(): Promise<void> {
  for (let i = 0; i < 200 && t.openStreams > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

afterEach(async () => {
  await serverQuiet();
  expect(t.openStreams).toBe(0);
  for (const http of clients.splice(0)) {
    expect(http.active).toBe(0);
    await http.close();
  }
  for (const clock of clocks.splice(0)) expect(clock.pendingTimers).toBe(0);
  expect(systemTimeouts.armed).toBe(0); // no attempt timeout left on the system clock
  t.reset();
});

describe(`@weft/http against a real server (${runtime})`, () => {
  test('GETs JSON under baseUrl with query and default headers', async () => {
    const http = client({ headers: { 'x-app': 'weft' } });
    const echo = (await http
      .get('/headers', { query: { page: 2, tag: ['a', 'b'], skip: undefined } })
      .json()) as { url: string; headers: Record<string, string> };
    expect(new URL(echo.url).search).toBe('?page=2&tag=a&tag=b');
    expect(echo.headers['x-app']).toBe('weft');
    expect(echo.headers.accept).toBe('application/json');
  });

  test('sends a JSON body with its content type', async () => {
    const http = client();
    const echo = await http.post('/echo', { json: { name: 'Ada' } }).json();
    expect(echo).toMatchObject({
      method: 'POST',
      contentType: 'application/json',
      body: '{"name":"Ada"}',
    });
  });

  test('awaiting the request gives the Response; reading it ends the request', async () => {
    const http = client();
    const res = await http.get('/json');
    expect(res.status).toBe(200);
    expect(http.active).toBe(1);
    expect(await res.json()).toEqual({ id: 1, title: 'hello', tags: ['a', 'b'] });
    expect(http.active).toBe(0);
  });

  test('a non-2xx status is an HttpError with status, method, URL and a bounded excerpt', async () => {
    const http = client({ retry: false });
    const err = (await rejection(http.get('/status/404').text())) as HttpError;
    expect(err).toBeInstanceOf(HttpError);
    expect(err.status).toBe(404);
    expect(err.method).toBe('GET');
    expect(err.url).toBe(`${server.url}/status/404`);
    expect(err.bodyExcerpt).toBe('status 404');
    const big = (await rejection(http.get('/error-page?size=300000').text())) as HttpError;
    expect(big.status).toBe(500);
    expect(big.bodyExcerpt.length).toBeLessThanOrEqual(1025);
  });

  test('an error body is read only up to 64 KiB; the rest of a streamed body is cancelled', async () => {
    let read = 0;
    const http = client({
      retry: false,
      hooks: {
        // Turn /drip (1,000 chunks of 1 KiB) into an error response, counting what the client reads.
        afterResponse: [
          (res) =>
            new Response(
              res.body!.pipeThrough(
                new TransformStream<Uint8Array, Uint8Array>({
                  transform(chunk, controller) {
                    read += chunk.byteLength;
                    controller.enqueue(chunk);
                  },
                }),
              ),
              { status: 500 },
            ),
        ],
      },
    });
    const err = (await rejection(
      http.get('/drip?chunks=1000&interval=1&size=1024').text(),
    )) as HttpError;
    expect(err).toBeInstanceOf(HttpError);
    expect(err.bodyExcerpt).toHaveLength(1025);
    expect(read).toBeGreaterThanOrEqual(64 * 1024);
    expect(read).toBeLessThan(64 * 1024 + 16 * 1024); // a chunk or two past the limit at most
    await serverQuiet();
    expect(t.openStreams).toBe(0);
  });

  test('throwHttpErrors: false hands back the non-2xx response', async () => {
    const http = client({ throwHttpErrors: false, retry: false });
    expect(await http.get('/status/500').text()).toBe('status 500');
  });

  test('retries 503 with backoff on the clock, then succeeds (no real waiting)', async () => {
    const clock = testClock({ autoAdvance: true });
    const delays: number[] = [];
    const http = client({
      clock,
      timeout: Number.POSITIVE_INFINITY,
      hooks: { beforeRetry: [({ delay }) => void delays.push(delay)] },
    });
    const body = await http.get('/flaky?key=a&fail=2&status=503').json();
    expect(body).toEqual({ ok: true, attempts: 3 });
    expect(t.hits('a')).toBe(3);
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeLessThanOrEqual(300);
    expect(delays[1]).toBeLessThanOrEqual(600);
  });

  test('gives up after the retry limit with the last HttpError', async () => {
    const clock = testClock({ autoAdvance: true });
    const http = client({ clock, timeout: Number.POSITIVE_INFINITY });
    const err = (await rejection(http.get('/flaky?key=b&fail=9&status=502').text())) as HttpError;
    expect(err).toBeInstanceOf(HttpError);
    expect(err.status).toBe(502);
    expect(t.hits('b')).toBe(3);
  });

  test('honours Retry-After in seconds and as an HTTP date', async () => {
    const clock = testClock({ autoAdvance: true });
    const delays: number[] = [];
    const http = client({
      clock,
      timeout: Number.POSITIVE_INFINITY,
      hooks: { beforeRetry: [({ delay }) => void delays.push(delay)] },
    });
    const start = clock.now();
    await http.get('/flaky?key=c&status=429&retryAfter=5').json();
    expect(delays).toEqual([5000]);
    expect(clock.now() - start).toBeGreaterThanOrEqual(5000);
    const date = new Date(Date.now() + 20_000).toUTCString();
    await http.get(`/flaky?key=d&status=503&retryAfter=${encodeURIComponent(date)}`).json();
    expect(delays[1]).toBeGreaterThan(15_000);
    expect(delays[1]).toBeLessThanOrEqual(20_000);
  });

  test('honours RateLimit-Reset', async () => {
    const clock = testClock({ autoAdvance: true });
    const delays: number[] = [];
    const http = client({
      clock,
      timeout: Number.POSITIVE_INFINITY,
      hooks: { beforeRetry: [({ delay }) => void delays.push(delay)] },
    });
    await http.get('/flaky?key=e&status=429&reset=7').json();
    expect(delays).toEqual([7000]);
  });

  test('does not retry when Retry-After exceeds maxRetryAfter, and says why', async () => {
    const clock = testClock({ autoAdvance: true });
    const http = client({ clock, timeout: Number.POSITIVE_INFINITY });
    const err = (await rejection(
      http.get('/flaky?key=f&status=429&retryAfter=120').json(),
    )) as HttpError;
    expect(err).toBeInstanceOf(HttpError);
    expect(err.status).toBe(429);
    expect(err.retryAfter).toBe(120_000);
    expect(err.message).toContain('maxRetryAfter');
    expect(t.hits('f')).toBe(1);
  });

  test('POST is not retried unless asked', async () => {
    const clock = testClock({ autoAdvance: true });
    const http = client({ clock, timeout: Number.POSITIVE_INFINITY });
    expect(
      await rejection(http.post('/flaky?key=g&status=503', { json: {} }).text()),
    ).toBeInstanceOf(HttpError);
    expect(t.hits('g')).toBe(1);
    const ok = await http
      .post('/flaky?key=h&status=503', { json: {}, retry: { methods: ['POST'] } })
      .json();
    expect(ok).toEqual({ ok: true, attempts: 2 });
  });

  test('a per-attempt timeout is a TimeoutError, not an AbortError, and the server sees the abort', async () => {
    const clock = testClock();
    const http = client({ clock, retry: false });
    const request = rejection(http.get('/slow-headers').text());
    await t.arrived('/slow-headers');
    await clock.advance(10_000);
    const err = (await request) as TimeoutError;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.name).toBe('TimeoutError');
    expect(err.message).toContain('timeout per attempt');
  });

  test('the timeout covers reading the body through the helpers', async () => {
    const clock = testClock();
    const http = client({ clock, retry: false, timeout: 1000 });
    for (const read of [
      (p: ReturnType<HttpClient['get']>) => p.text(),
      (p: ReturnType<HttpClient['get']>) => p.bytes(),
      async (p: ReturnType<HttpClient['get']>) => {
        for await (const _ of p.lines());
      },
    ]) {
      const arrived = t.arrived('/drip');
      const request = rejection(read(http.get('/drip?chunks=100&interval=200')));
      await arrived;
      await new Promise((resolve) => setTimeout(resolve, 30)); // headers and a first chunk
      await clock.advance(1000);
      expect(await request).toBeInstanceOf(TimeoutError);
    }
  });

  test('an attempt that times out is retried; the last one raises TimeoutError', async () => {
    const clock = testClock();
    const http = client({
      clock,
      timeout: 1000,
      retry: { limit: 1, backoff: { jitter: 'none', initial: 0 } },
    });
    let arrived = t.arrived('/slow-headers');
    const request = rejection(http.get('/slow-headers').text());
    await arrived;
    arrived = t.arrived('/slow-headers');
    await clock.advance(1000);
    await arrived; // the retry reached the server
    await clock.advance(1000);
    expect(await request).toBeInstanceOf(TimeoutError);
    expect(t.hits('/slow-headers')).toBe(2);
  });

  test('a user abort rejects with the user’s reason', async () => {
    const http = client();
    const controller = new AbortController();
    const reason = new Error('user gave up');
    const request = rejection(http.get('/slow-headers', { signal: controller.signal }).text());
    await t.arrived('/slow-headers');
    controller.abort(reason);
    expect(await request).toBe(reason);
  });

  test('an enclosing scope’s deadline applies without passing anything', async () => {
    const clock = testClock();
    const http = client({ retry: false });
    const arrived = t.arrived('/slow-headers');
    const outcome = rejection(timeout(5000, () => http.get('/slow-headers').text(), { clock }));
    await arrived;
    await clock.advance(5000);
    expect(await outcome).toBeInstanceOf(TimeoutError);
  });

  test('cancelling the enclosing scope cancels the request', async () => {
    const http = client();
    const arrived = t.arrived('/slow-headers');
    const outcome = rejection(
      scope(async (s) => {
        s.spawn(() => http.get('/slow-headers').text());
        await arrived;
        throw new Error('sibling failed');
      }),
    );
    expect(String(await outcome)).toContain('sibling failed');
  });

  test('connection refused is a NetworkError with the runtime’s error as cause, retried first', async () => {
    const clock = testClock({ autoAdvance: true });
    const port = await closedPort();
    let attempts = 0;
    const http = client({
      clock,
      baseUrl: `http://127.0.0.1:${port}`,
      timeout: Number.POSITIVE_INFINITY,
      hooks: { beforeRequest: [() => void attempts++] },
    });
    const err = (await rejection(http.get('/x').text())) as NetworkError;
    expect(err).toBeInstanceOf(NetworkError);
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.cause).toBeInstanceOf(Error);
    expect(attempts).toBe(3);
  });

  test(`the runtime's own error shape is kept as cause (${runtime})`, async () => {
    const port = await closedPort();
    const http = client({ baseUrl: `http://127.0.0.1:${port}`, retry: false });
    const err = (await rejection(http.get('/x').text())) as NetworkError;
    const cause = err.cause as Error & { code?: string; cause?: Error & { code?: string } };
    expect(cause).toBeInstanceOf(TypeError);
    if (runtime === 'node') {
      // undici: TypeError('fetch failed') whose cause is the system error with its code.
      expect(cause.message).toBe('fetch failed');
      expect(cause.cause?.code).toBe('ECONNREFUSED');
    } else if (runtime === 'bun') {
      // Bun: the code sits on the TypeError itself.
      expect(cause.code).toBe('ECONNREFUSED');
    } else {
      // Deno: no code anywhere; only the inner message says what happened.
      expect(cause.code).toBeUndefined();
      expect(String(cause.cause?.message)).toMatch(/Connection refused/);
    }
    expect(err.code).toBe('ECONNREFUSED');
  });

  test('a connection broken mid-body is a NetworkError (ECONNRESET), retried for GET', async () => {
    // Each runtime's server turns a body stream that errors into an abrupt end of the
    // chunked response, which each runtime's fetch reports in its own words.
    const clock = testClock({ autoAdvance: true });
    let attempts = 0;
    const http = client({
      clock,
      timeout: Number.POSITIVE_INFINITY,
      hooks: { beforeRequest: [() => void attempts++] },
    });
    const err = (await rejection(http.get('/broken?after=3').text())) as NetworkError;
    expect(err).toBeInstanceOf(NetworkError);
    expect(err.code).toBe('ECONNRESET');
    expect(err.cause).toBeInstanceOf(Error);
    expect(attempts).toBe(3);
  });

  test('a connection broken mid-stream ends the iteration with a NetworkError', async () => {
    const http = client();
    const lines: string[] = [];
    const err = await rejection(
      (async () => {
        for await (const line of http.get('/broken?after=3').lines()) lines.push(line);
      })(),
    );
    expect(err).toBeInstanceOf(NetworkError);
  });

  test('invalid JSON is a ParseError with an excerpt', async () => {
    const http = client();
    const err = (await rejection(http.get('/invalid-json').json())) as ParseError;
    expect(err).toBeInstanceOf(ParseError);
    expect(err.bodyExcerpt).toBe('{"id": 1, oops');
    expect(err.cause).toBeInstanceOf(SyntaxError);
  });

  test('maxResponseSize caps a body of known and of unknown length; the rest is cancelled', async () => {
    const http = client({ maxResponseSize: 50_000 });
    expect(await rejection(http.get('/big?size=100000').text())).toBeInstanceOf(
      ResponseTooLargeError,
    );
    expect(await rejection(http.get('/big?size=1000000&chunked=1').bytes())).toBeInstanceOf(
      ResponseTooLargeError,
    );
    expect(await http.get('/big?size=40000&chunked=1').text()).toHaveLength(16 * 1024 * 3);
  });

  test('a redirect loop stops at maxRedirects with a RedirectError', async () => {
    const http = client();
    const err = (await rejection(http.get('/redirect-loop').text())) as RedirectError;
    expect(err).toBeInstanceOf(RedirectError);
    // The 10 hops followed (maxRedirects); the 11th Location, refused, is in the message.
    expect(err.redirects).toHaveLength(10);
    expect(err.message).toContain('maxRedirects');
    expect(err.message).toContain(`the next Location was ${server.url}/redirect-loop`);
    const ok = (await http.get('/redirect/3').json()) as { url: string };
    expect(ok.url).toBe(`${server.url}/headers`);
  });

  test('maxRedirects: 0 hands back the redirect itself, not an HttpError (review D2)', async () => {
    const http = client();
    for (const status of [301, 302, 303, 307, 308]) {
      const res = await http.get('/redirect-to', {
        query: { url: '/headers', status },
        maxRedirects: 0,
      });
      expect(res.status).toBe(status);
      expect(res.headers.get('location')).toBe('/headers');
      await res.body?.cancel();
    }
    // A 300 is not a redirect weft follows: it still throws.
    expect(await rejection(http.get('/status/300', { maxRedirects: 0 }).text())).toBeInstanceOf(
      HttpError,
    );
  });

  test('Authorization and Cookie are dropped on a redirect to another origin, kept on the same one', async () => {
    const http = client({
      headers: { authorization: 'Bearer secret', cookie: 'sid=1', 'x-keep': 'yes' },
    });
    const same = (await http
      .get('/redirect-to', { query: { url: `${server.url}/headers` } })
      .json()) as { headers: Record<string, string> };
    expect(same.headers.authorization).toBe('Bearer secret');
    expect(same.headers.cookie).toBe('sid=1');
    const cross = (await http
      .get('/redirect-to', { query: { url: `${other.url}/headers` } })
      .json()) as { headers: Record<string, string> };
    expect(cross.headers.authorization).toBeUndefined();
    expect(cross.headers.cookie).toBeUndefined();
    expect(cross.headers['x-keep']).toBe('yes');
  });

  test("the client's default headers go out as they are, and no request changes them", async () => {
    type Echo = { headers: Record<string, string> };
    const http = client({ headers: { authorization: 'Bearer secret', 'x-app': 'weft' } });
    const json = (await http.get('/headers').json()) as Echo;
    expect(json.headers).toMatchObject({ accept: 'application/json', 'x-app': 'weft' });
    const text = JSON.parse(await http.get('/headers').text()) as Echo;
    expect(text.headers.accept).not.toBe('application/json');
    await http.get('/redirect-to', { query: { url: `${other.url}/headers` } }).json();
    const after = JSON.parse(await http.get('/headers').text()) as Echo;
    expect(after.headers).toMatchObject({ authorization: 'Bearer secret', 'x-app': 'weft' });
    expect(after.headers.accept).not.toBe('application/json');
    const own = client({ headers: { accept: 'text/plain' } });
    expect(((await own.get('/headers').json()) as Echo).headers.accept).toBe('text/plain');
  });

  test('a global fetch wrapper that edits init.headers changes only its own call (review D2)', async () => {
    type Echo = { headers: Record<string, string> };
    const original = globalThis.fetch;
    let n = 0;
    globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
      const id = String(++n);
      const headers = init?.headers;
      if (headers instanceof Headers) headers.append('x-request-id', id);
      else if (headers !== undefined) (headers as Record<string, string>)['x-request-id'] = id;
      return original(input, init);
    }) as typeof fetch;
    try {
      const withDefaults = client({ headers: { authorization: 'Bearer t' } });
      const bare = client();
      const seen: string[] = [];
      for (const http of [withDefaults, withDefaults, bare, bare, client()]) {
        const echo = (await http.get('/headers').json()) as Echo;
        seen.push(echo.headers['x-request-id']!);
      }
      expect(seen).toEqual(['1', '2', '3', '4', '5']);
      const last = JSON.parse(await withDefaults.get('/headers').text()) as Echo;
      expect(last.headers.authorization).toBe('Bearer t');
      expect(last.headers['x-request-id']).toBe('6');
    } finally {
      globalThis.fetch = original;
    }
  });

  test('the per-attempt timeout ends a raw body read even when the body ignores fetch’s signal (review D1)', async () => {
    // Deno's body can stop following the signal once garbage collected; a wrapper that
    // drops the signal does so always, on every runtime.
    const original = globalThis.fetch;
    globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) =>
      original(input, { ...init, signal: undefined })) as typeof fetch;
    try {
      const http = client({ timeout: 300, retry: false });
      const res = await http.get('/drip', { query: { chunks: 40, interval: 100 } });
      const err = await rejection(res.arrayBuffer());
      expect(err).toBeInstanceOf(TimeoutError);
      expect(http.active).toBe(0);
    } finally {
      globalThis.fetch = original;
    }
  });

  test('bytes() gives the whole body as a Uint8Array, fixed-length or chunked', async () => {
    const http = client();
    for (const chunked of ['0', '1']) {
      const bytes = await http.get('/big', { query: { size: 40_000, chunked } }).bytes();
      expect(bytes).toBeInstanceOf(Uint8Array);
      expect(bytes.byteLength).toBe(chunked === '1' ? 48 * 1024 : 40_000);
      expect(bytes.every((b) => b === 0x7a)).toBe(true);
    }
  });

  test('303 turns a POST into a GET without its body; 307 keeps both', async () => {
    const http = client();
    const see = (await http
      .post('/redirect-to', { query: { url: '/echo', status: 303 }, json: { a: 1 } })
      .json()) as { method: string; body: string };
    expect(see).toMatchObject({ method: 'GET', body: '' });
    const keep = (await http
      .post('/redirect-to', { query: { url: '/echo', status: 307 }, json: { a: 1 } })
      .json()) as { method: string; body: string };
    expect(keep).toMatchObject({ method: 'POST', body: '{"a":1}' });
  });

  test('lines, ndjson and sse parse streamed bodies', async () => {
    const http = client();
    const lines: string[] = [];
    for await (const line of http.get('/drip?chunks=3&interval=1').lines()) lines.push(line);
    expect(lines).toEqual(['drip', 'drip', 'drip']);
    const values: unknown[] = [];
    for await (const value of http.get('/ndjson?n=3').ndjson()) values.push(value);
    expect(values).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    const events = [];
    for await (const event of http.get('/sse?n=3').sse()) events.push(event);
    expect(events).toEqual([
      { event: 'message', data: 'first\nline', id: '0', retry: 1000 },
      { event: 'tick', data: '1', id: '1', retry: undefined },
      { event: 'tick', data: '2', id: '2', retry: undefined },
    ]);
  });

  test('maxResponseSize caps one line of lines()/ndjson() and one event of sse(), however the body is chunked (review D1)', async () => {
    const drain = async (items: AsyncIterable<unknown>): Promise<unknown[]> => {
      const out: unknown[] = [];
      for await (const item of items) out.push(item);
      return out;
    };
    const http = client({ maxResponseSize: 20 });
    // 100 bytes on one line, in one chunk.
    expect(await rejection(drain(http.get('/text/100').lines()))).toBeInstanceOf(
      ResponseTooLargeError,
    );
    // 50 data lines of 10 bytes, each line short: the event is 549 bytes.
    const err = (await rejection(drain(http.get('/sse-long?n=50').sse()))) as ResponseTooLargeError;
    expect(err).toBeInstanceOf(ResponseTooLargeError);
    expect(err.limit).toBe(20);
    expect(await drain(http.get('/ndjson?n=3').ndjson())).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    const roomy = client({ maxResponseSize: 549 });
    const [event] = (await drain(roomy.get('/sse-long?n=50').sse())) as { data: string }[];
    expect(event!.data).toBe(Array.from({ length: 50 }, () => '0123456789').join('\n'));
    expect(
      await rejection(drain(client({ maxResponseSize: 548 }).get('/sse-long?n=50').sse())),
    ).toBeInstanceOf(ResponseTooLargeError);
  });

  test('return() while a read is pending cancels the request at once; the pending next() ends as done (review D13)', async () => {
    const http = client({ timeout: Number.POSITIVE_INFINITY });
    // The second event comes only after a minute: the next read stays pending.
    const it = http.get('/sse?n=2&interval=60000').sse()[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ data: 'first\nline' });
    const pending = it.next();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(http.active).toBe(1);
    expect(await it.return!()).toEqual({ done: true, value: undefined });
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(http.active).toBe(0);
    await serverQuiet();
    expect(t.openStreams).toBe(0);
  });

  test('breaking out of merge() over a busy and a silent stream ends both requests (review D13)', async () => {
    const http = client({ timeout: Number.POSITIVE_INFINITY });
    const seen: string[] = [];
    for await (const event of merge([
      http.get('/sse?n=100000&interval=5').sse(),
      http.get('/sse?n=2&interval=60000').sse(),
    ])) {
      seen.push(event.data);
      if (seen.length === 4) break;
    }
    expect(seen).toHaveLength(4);
    await serverQuiet();
    expect(http.active).toBe(0);
    expect(t.openStreams).toBe(0);
  });

  test('breaking out of an SSE stream cancels the body on the server', async () => {
    const http = client({ timeout: Number.POSITIVE_INFINITY });
    const seen: string[] = [];
    for await (const event of http.get('/sse?n=100000&interval=2').sse()) {
      seen.push(event.data);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(['first\nline', '1', '2']);
    expect(http.active).toBe(0);
    await serverQuiet();
    expect(t.openStreams).toBe(0);
  });

  test('onDownloadProgress reports the streamed body against content-length', async () => {
    const http = client();
    const progress: Progress[] = [];
    const text = await http
      .get('/text/300000', { onDownloadProgress: (p) => void progress.push(p) })
      .text();
    expect(text).toHaveLength(300_000);
    expect(progress[0]).toEqual({ transferred: 0, total: 300_000, percent: 0 });
    expect(progress.at(-1)).toEqual({ transferred: 300_000, total: 300_000, percent: 1 });
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.transferred).toBeGreaterThan(progress[i - 1]!.transferred);
    }
  });

  test('onDownloadProgress without content-length: total unknown until the end', async () => {
    const http = client();
    const progress: Progress[] = [];
    // A streamed body: no runtime's server sends a content-length for it.
    const text = await http
      .get('/drip?chunks=4&interval=1', { onDownloadProgress: (p) => void progress.push(p) })
      .text();
    expect(text).toBe('drip\n'.repeat(4));
    expect(progress[0]).toEqual({ transferred: 0, total: undefined, percent: undefined });
    expect(progress.at(-1)).toEqual({ transferred: 20, total: 20, percent: 1 });
    expect(progress.slice(1, -1).every((p) => p.total === undefined)).toBe(true);
  });

  test('concurrency and perHost cap the requests in flight at the server', async () => {
    const http = client({ concurrency: 2 });
    await Promise.all(Array.from({ length: 6 }, (_, i) => http.get(`/delay/20?i=${i}`).text()));
    expect(t.peakDelays).toBe(2);
    t.reset();
    const perHost = client({ perHost: 3 });
    await Promise.all(Array.from({ length: 7 }, (_, i) => perHost.get(`/delay/20?i=${i}`).text()));
    expect(t.peakDelays).toBe(3);
  });

  test('every attempt waits for the rate limiter, and a disposable permit is released', async () => {
    let acquired = 0;
    let released = 0;
    const limiter = new RateLimiter({ limit: 100, interval: 1000 });
    const http = client({
      timeout: Number.POSITIVE_INFINITY,
      clock: testClock({ autoAdvance: true }),
      rateLimit: {
        acquire: async (options) => {
          await limiter.acquire(options);
          acquired++;
          return { [Symbol.dispose]: () => void released++ };
        },
      },
    });
    await http.get('/flaky?key=r&fail=1&status=503').json();
    expect(acquired).toBe(2);
    expect(released).toBe(2);
  });

  test('getAll fetches many URLs in order, and the first failure cancels the rest', async () => {
    const http = client({ retry: false });
    const texts = await http.getAll(['/delay/5?i=1', '/delay/1?i=2', '/delay/3?i=3'], {
      as: 'text',
      concurrency: 2,
    });
    expect(texts).toEqual(['late 1', 'late 2', 'late 3']);
    const err = await rejection(http.getAll(['/slow-headers', '/status/500', '/slow-headers']));
    expect(err).toBeInstanceOf(HttpError);
    const settled = await http.getAll(['/json', '/status/404'], { settle: true });
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected']);
  });

  test('closing the client cancels requests in flight and waits for them', async () => {
    const http = createClient({ baseUrl: server.url });
    const arrived = t.arrived('/slow-headers');
    const request = rejection(http.get('/slow-headers').text());
    const stream = http.get('/sse?n=100000&interval=2').sse()[Symbol.asyncIterator]();
    await stream.next();
    await arrived;
    expect(http.active).toBe(2);
    await http.close();
    expect(http.active).toBe(0);
    expect(await request).toBeInstanceOf(CancelledError);
    expect(await rejection(stream.next())).toBeInstanceOf(CancelledError);
    expect(await rejection(http.get('/json').text())).toBeInstanceOf(CancelledError);
  });

  test('a long-lived signal never accumulates listeners', async () => {
    const http = client();
    const { signal, listeners, peak } = countingController();
    for (let i = 0; i < 20; i++) await http.get('/json', { signal }).json();
    await Promise.all(Array.from({ length: 10 }, () => http.get('/json', { signal }).text()));
    expect(listeners()).toBe(0);
    expect(peak()).toBe(1);
  });

  test('concurrent requests on one signal share one listener, and its abort ends them all (review D3)', async () => {
    const http = client({ timeout: Number.POSITIVE_INFINITY });
    const { controller, signal, listeners, peak } = countingController();
    const reason = new Error('user gave up');
    const pending = Array.from({ length: 12 }, () =>
      rejection(http.get('/slow-headers', { query: { ms: 60_000 }, signal }).text()),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(listeners()).toBe(1);
    controller.abort(reason);
    for (const err of await Promise.all(pending)) expect(err).toBe(reason);
    expect([listeners(), peak(), http.active]).toEqual([0, 1, 0]);
  });

  test('inside a task, requests given a signal add one listener to it and one to the task’s signal, not one per request (review D4)', async () => {
    const http = client({ timeout: Number.POSITIVE_INFINITY });
    const own = countingController();
    let taskPeak = 0;
    let taskLive = 0;
    await scope(async (s) => {
      await s.spawn(async ({ signal: taskSignal }) => {
        // Count the task signal's abort listeners, as countingController does.
        const live = new Set<unknown>();
        const add = taskSignal.addEventListener.bind(taskSignal);
        const remove = taskSignal.removeEventListener.bind(taskSignal);
        taskSignal.addEventListener = ((type: string, listener: EventListener, o?: object) => {
          if (type === 'abort') live.add(listener);
          taskPeak = Math.max(taskPeak, live.size);
          add(type, listener, o);
        }) as typeof taskSignal.addEventListener;
        taskSignal.removeEventListener = ((type: string, listener: EventListener) => {
          if (type === 'abort') live.delete(listener);
          remove(type, listener);
        }) as typeof taskSignal.removeEventListener;
        const before = live.size;
        await Promise.all(
          Array.from({ length: 12 }, () => http.get('/delay/30', { signal: own.signal }).text()),
        );
        taskLive = live.size - before;
      });
    });
    expect([own.peak(), own.listeners()]).toEqual([1, 0]);
    expect(taskPeak).toBeLessThanOrEqual(1);
    expect(taskLive).toBe(0);
    expect(http.active).toBe(0);
  });

  test('inside a task, a request given a signal still ends with either: the signal’s reason, or the task’s cancellation', async () => {
    const http = client({ timeout: Number.POSITIVE_INFINITY });
    const own = new AbortController();
    const reason = new Error('user gave up');
    const byOwn = scope(async () => {
      const pending = rejection(
        http.get('/slow-headers', { query: { ms: 60_000 }, signal: own.signal }).text(),
      );
      setTimeout(() => own.abort(reason), 20);
      return pending;
    });
    expect(await byOwn).toBe(reason);
    const byTask = rejection(
      timeout(50, () =>
        http
          .get('/slow-headers', { query: { ms: 60_000 }, signal: new AbortController().signal })
          .text(),
      ),
    );
    expect(((await byTask) as Error).name).toBe('TimeoutError');
    expect(http.active).toBe(0);
  });

  test("Hono's app.request works as an in-process transport", async () => {
    const http = client({ fetch: t.app.request });
    expect(await http.get('http://in.process/json').json()).toEqual({
      id: 1,
      title: 'hello',
      tags: ['a', 'b'],
    });
  });
});
