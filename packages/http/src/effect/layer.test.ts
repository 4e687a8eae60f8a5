// The Effect HttpClient layer against a real local Hono server (test/app.ts), on this
// runtime's own server and fetch (Node, Bun and Deno run this same file). After every
// test nothing is left open: no request in the weft client, no stream on the server.
import * as HttpBody from '@effect/platform/HttpBody';
import * as PlatformClient from '@effect/platform/HttpClient';
import * as ClientError from '@effect/platform/HttpClientError';
import * as ClientRequest from '@effect/platform/HttpClientRequest';
import { CancelledError, scope, TestClock } from '@weft/core';
import { fromEffect } from '@weft/core/effect';
import { Cause, Chunk, Effect, Exit, Fiber, Option, Schedule, Stream } from 'effect';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createTestApp, type TestApp } from '../../test/app.ts';
import { closedPort, runtime, serve, type TestServer } from '../../test/serve.ts';
import {
  createClient,
  type HttpClient,
  NetworkError,
  ResponseTooLargeError,
  TimeoutError,
} from '../index.ts';
import { layer, make } from './index.ts';

let t: TestApp;
let server: TestServer;
const clients: HttpClient[] = [];

/** Server-side events of the `/slow-status` route, in order: `start <i>`, `end <i>`. */
const slowStatusEvents: string[] = [];
const slowStatusOpen = new Set<string>();

beforeAll(async () => {
  t = createTestApp();
  // A `status` answer whose body comes in `chunks` pieces of `size` bytes 10 ms apart, then ends
  // (or breaks, with `broken=1`, or never ends, with `stall=1`).
  t.app.get('/slow-status', (c) => {
    const i = c.req.query('i') ?? '';
    const chunks = Number(c.req.query('chunks') ?? 3);
    const size = Number(c.req.query('size') ?? 1024);
    const broken = c.req.query('broken') === '1';
    const stall = c.req.query('stall') === '1';
    const signal = c.req.raw.signal;
    slowStatusEvents.push(`start ${i}`);
    slowStatusOpen.add(i);
    let sent = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      if (slowStatusOpen.delete(i)) slowStatusEvents.push(`end ${i}`);
    };
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        return new Promise<void>((resolve) => {
          const onAbort = (): void => {
            finish();
            resolve();
          };
          if (signal.aborted) return onAbort();
          signal.addEventListener('abort', onAbort, { once: true });
          timer = setTimeout(
            () => {
              signal.removeEventListener('abort', onAbort);
              if (sent === chunks) {
                if (broken) controller.error(new Error('connection broken on purpose'));
                else if (!stall) controller.close();
                if (!stall) finish();
              } else {
                sent++;
                controller.enqueue(new TextEncoder().encode('z'.repeat(size)));
              }
              resolve();
            },
            sent === chunks && stall ? 60_000 : 10,
          );
        });
      },
      cancel() {
        finish();
      },
    });
    return new Response(body, { status: Number(c.req.query('status') ?? 404) });
  });
  // Reads the request body and answers only once the body ends or breaks, or the test
  // releases it (review D9: a client that gives up must stop sending).
  t.app.post('/upload-hang', async (c) => {
    const reader = c.req.raw.body?.getReader();
    const reading = (async () => {
      try {
        while (reader !== undefined && !(await reader.read()).done) uploadReads++;
      } catch {
        // The client went away.
      }
    })();
    await Promise.race([reading, new Promise<void>((resolve) => uploadWaiters.add(resolve))]);
    return c.text('late');
  });
  server = await serve(t.app.fetch);
});

let uploadReads = 0;
const uploadWaiters = new Set<() => void>();

afterAll(async () => {
  await server.close();
});

async function serverQuiet(): Promise<void> {
  for (let i = 0; i < 200 && (t.openStreams > 0 || slowStatusOpen.size > 0); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

afterEach(async () => {
  for (const release of uploadWaiters) release();
  uploadWaiters.clear();
  uploadReads = 0;
  await serverQuiet();
  expect(t.openStreams).toBe(0);
  for (const http of clients.splice(0)) {
    expect(http.active).toBe(0);
    await http.close();
  }
  t.reset();
  expect(slowStatusOpen.size).toBe(0);
  slowStatusEvents.length = 0;
});

function weft(options: Parameters<typeof createClient>[0] = {}): HttpClient {
  const http = createClient({ baseUrl: server.url, ...options });
  clients.push(http);
  return http;
}

/** Runs `program` with the HttpClient service backed by `http`. */
function run<A, E>(
  program: Effect.Effect<A, E, PlatformClient.HttpClient>,
  http: HttpClient,
): Promise<A> {
  return Effect.runPromise(program.pipe(Effect.provide(layer(http))));
}

function runExit<A, E>(
  program: Effect.Effect<A, E, PlatformClient.HttpClient>,
  http: HttpClient,
): Promise<Exit.Exit<A, E>> {
  return Effect.runPromiseExit(program.pipe(Effect.provide(layer(http))));
}

const url = (path: string): string => `${server.url}${path}`;

/** Real time, for the server and an upload's pace. */
const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe(`@weft/http/effect against a real server (${runtime})`, () => {
  test('passes a GET through to the server and decodes JSON', async () => {
    const http = weft();
    const body = await run(
      Effect.flatMap(PlatformClient.get(url('/json')), (res) => res.json),
      http,
    );
    expect(body).toEqual({ id: 1, title: 'hello', tags: ['a', 'b'] });
  });

  test('sends method, headers, URL parameters and a JSON body', async () => {
    const http = weft({ headers: { 'x-app': 'weft' } });
    const echo = await run(
      Effect.gen(function* () {
        const request = yield* ClientRequest.post(url('/echo')).pipe(
          ClientRequest.setUrlParam('page', '2'),
          ClientRequest.bodyJson({ name: 'Ada' }),
        );
        const res = yield* PlatformClient.execute(request);
        return yield* res.json;
      }),
      http,
    );
    expect(echo).toEqual({
      method: 'POST',
      query: { page: ['2'] },
      contentType: 'application/json',
      body: '{"name":"Ada"}',
    });
    const headers = (await run(
      Effect.flatMap(
        PlatformClient.get(url('/headers'), { headers: { 'x-request': 'one' } }),
        (res) => res.json,
      ),
      http,
    )) as { headers: Record<string, string> };
    expect(headers.headers['x-app']).toBe('weft');
    expect(headers.headers['x-request']).toBe('one');
  });

  test('sends a streamed request body', async () => {
    const http = weft();
    const encoder = new TextEncoder();
    const body = HttpBody.stream(
      Stream.make('a', 'b', 'c').pipe(Stream.map((s) => encoder.encode(s))),
      'text/plain',
    );
    const echo = await run(
      Effect.flatMap(PlatformClient.post(url('/echo'), { body }), (res) => res.json),
      http,
    );
    expect(echo).toMatchObject({ method: 'POST', contentType: 'text/plain', body: 'abc' });
  });

  test('any status is a response; filterStatusOk turns it into a ResponseError', async () => {
    const http = weft({ retry: false });
    const res = await run(PlatformClient.get(url('/status/404')), http);
    expect(res.status).toBe(404);
    expect(await Effect.runPromise(res.text)).toBe('status 404');
    // withScope still works (a small error body was read ahead: nothing is held anyway).
    const exit = await runExit(
      Effect.scoped(
        Effect.flatMap(PlatformClient.HttpClient, (client) =>
          PlatformClient.withScope(PlatformClient.filterStatusOk(client)).get(url('/status/404')),
        ),
      ),
      http,
    );
    const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none();
    expect(Option.getOrUndefined(failure)).toBeInstanceOf(ClientError.ResponseError);
  });

  test('filterStatusOk over non-2xx answers holds no concurrency slot: the client does not stall (review D2)', async () => {
    const http = weft({ retry: false, concurrency: 2 });
    const client = make(http).pipe(PlatformClient.filterStatusOk);
    for (let i = 1; i <= 4; i++) {
      const exit = await Effect.runPromiseExit(
        client.get(url(`/status/404?i=${i}`)).pipe(
          Effect.flatMap((res) => res.json),
          Effect.timeoutFail({ duration: '3 seconds', onTimeout: () => 'stalled' }),
        ),
      );
      const failure = Exit.isFailure(exit)
        ? Option.getOrUndefined(Cause.failureOption(exit.cause))
        : undefined;
      expect(failure).toBeInstanceOf(ClientError.ResponseError);
      expect((failure as ClientError.ResponseError).reason).toBe('StatusCode');
      expect(http.active).toBe(0);
      // The dropped response still has its status, headers and whole body.
      const res = (failure as ClientError.ResponseError).response;
      expect(res.status).toBe(404);
      expect(await Effect.runPromise(res.text)).toBe('status 404');
    }
  });

  test('a small non-2xx body is read ahead and the request ends before the caller reads it', async () => {
    const http = weft({ retry: false, concurrency: 1 });
    const res = await run(PlatformClient.get(url('/error-page?size=5000')), http);
    expect(http.active).toBe(0);
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect((await Effect.runPromise(res.text)).length).toBe(5000);
  });

  test("weft's retries still apply to a retryable status", async () => {
    const http = weft({ retry: { limit: 3, backoff: { initial: 0 } } });
    const body = await run(
      Effect.flatMap(PlatformClient.get(url('/flaky?key=r1&fail=2&status=503')), (res) => res.json),
      http,
    );
    expect(body).toEqual({ ok: true, attempts: 3 });
    expect(t.hits('r1')).toBe(3);
  });

  test('when retries run out, the last response is handed over with its whole body', async () => {
    const http = weft({ retry: { limit: 1, backoff: { initial: 0 } } });
    const res = await run(PlatformClient.get(url('/error-page?size=5000')), http);
    expect(res.status).toBe(500);
    expect(t.hits('/error-page')).toBe(2);
    expect((await Effect.runPromise(res.text)).length).toBe(5000);
  });

  test("a non-2xx body is read under weft's per-attempt timeout", async () => {
    const http = weft({ retry: false, timeout: 200 });
    const exit = await runExit(
      Effect.flatMap(PlatformClient.get(url('/slow-status?status=404&stall=1')), (res) =>
        Effect.map(res.text, () => res.status),
      ),
      http,
    );
    const error = Exit.isFailure(exit)
      ? Option.getOrUndefined(Cause.failureOption(exit.cause))
      : undefined;
    expect(error).toBeInstanceOf(ClientError.ResponseError);
    expect((error as ClientError.ResponseError).reason).toBe('Decode');
    expect((error as ClientError.ResponseError).cause).toBeInstanceOf(TimeoutError);
    expect(http.active).toBe(0);
  });

  test('a non-2xx body that breaks is a ResponseError whose cause is a NetworkError', async () => {
    const http = weft({ retry: false });
    const exit = await runExit(
      Effect.flatMap(
        PlatformClient.get(url('/slow-status?status=404&broken=1')),
        (res) => res.text,
      ),
      http,
    );
    const error = Exit.isFailure(exit)
      ? Option.getOrUndefined(Cause.failureOption(exit.cause))
      : undefined;
    expect(error).toBeInstanceOf(ClientError.ResponseError);
    expect((error as ClientError.ResponseError).reason).toBe('Decode');
    expect((error as ClientError.ResponseError).cause).toBeInstanceOf(NetworkError);
  });

  test("a non-2xx response holds the client's concurrency slot until its body is read", async () => {
    const http = weft({ retry: false, concurrency: 1 });
    const get = (i: string) =>
      Effect.flatMap(PlatformClient.get(url(`/slow-status?status=404&size=40000&i=${i}`)), (res) =>
        Effect.map(res.text, (text) => `${res.status} ${text.length}`),
      );
    const both = await run(Effect.all([get('a'), get('b')], { concurrency: 2 }), http);
    // Bodies larger than the excerpt weft reads of an error response.
    expect(both).toEqual(['404 120000', '404 120000']);
    expect(slowStatusEvents).toEqual(['start a', 'end a', 'start b', 'end b']);
  });

  test('a retryable status with a Retry-After above maxRetryAfter is handed over with its excerpt', async () => {
    const http = weft({ retry: { limit: 2, maxRetryAfter: 1000 } });
    const res = await run(
      PlatformClient.get(url('/flaky?key=ra&fail=5&status=503&retryAfter=3600')),
      http,
    );
    expect(res.status).toBe(503);
    expect(await Effect.runPromise(res.text)).toBe('try again (1)');
    expect(t.hits('ra')).toBe(1);
  });

  test('a client made with throwHttpErrors: false retries no status, as in weft', async () => {
    const http = weft({ throwHttpErrors: false, retry: { limit: 3, backoff: { initial: 0 } } });
    const res = await run(PlatformClient.get(url('/flaky?key=nt&fail=2&status=503')), http);
    expect(res.status).toBe(503);
    expect(await Effect.runPromise(res.text)).toBe('try again (1)');
    expect(t.hits('nt')).toBe(1);
  });

  test('a network failure is a RequestError with reason Transport and the NetworkError as cause', async () => {
    const http = weft({ retry: false });
    const port = await closedPort();
    const exit = await runExit(PlatformClient.get(`http://127.0.0.1:${port}/x`), http);
    const error = Exit.isFailure(exit)
      ? Option.getOrUndefined(Cause.failureOption(exit.cause))
      : undefined;
    expect(error).toBeInstanceOf(ClientError.RequestError);
    expect((error as ClientError.RequestError).reason).toBe('Transport');
    expect((error as ClientError.RequestError).cause).toBeInstanceOf(NetworkError);
  });

  test('a weft timeout is a RequestError with reason Transport and the TimeoutError as cause', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const http = weft({ retry: false, timeout: 100, clock });
    const exit = await runExit(PlatformClient.get(url('/slow-headers?ms=60000')), http);
    const error = Exit.isFailure(exit)
      ? Option.getOrUndefined(Cause.failureOption(exit.cause))
      : undefined;
    expect(error).toBeInstanceOf(ClientError.RequestError);
    expect((error as ClientError.RequestError).reason).toBe('Transport');
    expect((error as ClientError.RequestError).cause).toBeInstanceOf(TimeoutError);
    expect(clock.pendingTimers).toBe(0);
  });

  test('interrupting the fiber cancels the weft request and waits for it to end', async () => {
    const http = weft();
    const arrived = t.arrived('/slow-headers');
    const fiber = Effect.runFork(
      PlatformClient.get(url('/slow-headers?ms=60000')).pipe(Effect.provide(layer(http))),
    );
    await arrived;
    expect(http.active).toBe(1);
    const exit = await Effect.runPromise(Fiber.interrupt(fiber));
    expect(Exit.isInterrupted(exit)).toBe(true);
    expect(http.active).toBe(0);
  });

  test('interrupting a request with a streamed body finalizes the body Stream, which is pulled no more (review D9)', async () => {
    const http = weft({ retry: false });
    let pulled = 0;
    const events: string[] = [];
    const body = Stream.repeatEffect(
      Effect.sync(() => {
        pulled++;
        return new Uint8Array(1024);
      }),
    ).pipe(
      Stream.schedule(Schedule.spaced('5 millis')),
      Stream.ensuring(Effect.sync(() => events.push('upload stream finalized'))),
    );
    const fiber = Effect.runFork(
      PlatformClient.execute(
        ClientRequest.post(url('/upload-hang')).pipe(ClientRequest.bodyStream(body)),
      ).pipe(Effect.provide(layer(http))),
    );
    for (let i = 0; i < 400 && uploadReads < 3; i++) await wait(5);
    expect(uploadReads).toBeGreaterThanOrEqual(3);
    const exit = await Effect.runPromise(Fiber.interrupt(fiber));
    expect(Exit.isInterrupted(exit)).toBe(true);
    expect(http.active).toBe(0);
    for (let i = 0; i < 400 && events.length === 0; i++) await wait(5);
    expect(events).toEqual(['upload stream finalized']);
    const at = pulled;
    for (let i = 0; i < 10; i++) await wait(10);
    expect(pulled).toBe(at);
  });

  test('the response body is an Effect Stream; ending it early cancels the weft body', async () => {
    const http = weft();
    const chunks = await run(
      Effect.scoped(
        Effect.flatMap(PlatformClient.get(url('/drip?chunks=1000&interval=5')), (res) =>
          res.stream.pipe(Stream.decodeText(), Stream.take(2), Stream.runCollect),
        ),
      ),
      http,
    );
    // Two network chunks (TCP may coalesce pieces), far from the 1000 pieces on offer.
    const received = Chunk.toReadonlyArray(chunks);
    expect(received.length).toBe(2);
    expect(received.join('')).toMatch(/^(drip\n)+$/);
    expect(received.join('').length).toBeLessThan(1000 * 'drip\n'.length);
    expect(http.active).toBe(0);
    await serverQuiet();
    expect(t.openStreams).toBe(0);
  });

  test('a body that breaks mid-stream is a ResponseError with reason Decode, cause kept', async () => {
    const http = weft({ retry: false });
    const exit = await runExit(
      Effect.flatMap(PlatformClient.get(url('/broken?after=2')), (res) =>
        Stream.runDrain(res.stream),
      ),
      http,
    );
    const error = Exit.isFailure(exit)
      ? Option.getOrUndefined(Cause.failureOption(exit.cause))
      : undefined;
    expect(error).toBeInstanceOf(ClientError.ResponseError);
    expect((error as ClientError.ResponseError).reason).toBe('Decode');
    expect((error as ClientError.ResponseError).cause).toBeInstanceOf(NetworkError);
  });

  test("weft's per-attempt timeout covers reading the body", async () => {
    // 50 ms for an answer whose body takes 100 × 20 ms: the timeout fires mid-body.
    const http = weft({ retry: false, timeout: 50 });
    const exit = await runExit(
      Effect.flatMap(PlatformClient.get(url('/drip?chunks=100&interval=20')), (res) => res.text),
      http,
    );
    const error = Exit.isFailure(exit)
      ? Option.getOrUndefined(Cause.failureOption(exit.cause))
      : undefined;
    expect(error).toBeInstanceOf(ClientError.ResponseError);
    expect((error as ClientError.ResponseError).cause).toBeInstanceOf(TimeoutError);
  });

  test('a whole streamed body arrives in order', async () => {
    const http = weft();
    const text = await run(
      Effect.flatMap(PlatformClient.get(url('/ndjson?n=50')), (res) =>
        res.stream.pipe(Stream.decodeText(), Stream.mkString),
      ),
      http,
    );
    expect(text.split('\n').filter(Boolean).length).toBe(50);
  });

  test('layer(options) creates the client, resolves relative URLs and closes it on release', async () => {
    const body = await Effect.runPromise(
      Effect.flatMap(PlatformClient.get('/json'), (res) => res.json).pipe(
        Effect.provide(layer({ baseUrl: server.url })),
      ),
    );
    expect(body).toMatchObject({ id: 1 });
  });

  test('layer(options) keeps a relative URL on the base origin, as the client does', async () => {
    const seen: string[] = [];
    const fetch = (input: string | URL | Request): Promise<Response> => {
      seen.push(String(input));
      return Promise.resolve(new Response('ok'));
    };
    const get = (path: string) =>
      Effect.flatMap(PlatformClient.get(path), (res) => res.text).pipe(
        Effect.provide(layer({ baseUrl: 'http://api.test/v1', fetch })),
      );
    await Effect.runPromise(get('\\\\evil.test/x'));
    await Effect.runPromise(get(' //evil.test/x'));
    await Effect.runPromise(get('http://other.test/y'));
    expect(seen).toEqual([
      'http://api.test/v1/evil.test/x',
      'http://api.test/v1/evil.test/x',
      'http://other.test/y',
    ]);
    expect(() => layer({ baseUrl: 'http://api.test/?key=SECRET' })).toThrow(
      /`options.baseUrl` without a query or fragment/,
    );
  });

  test('runs under weft: cancelling the weft task interrupts the fiber and cancels the request', async () => {
    const http = weft();
    const program = Effect.flatMap(
      PlatformClient.get(url('/slow-headers?ms=60000')),
      (r) => r.text,
    ).pipe(Effect.provide(layer(http)));
    const arrived = t.arrived('/slow-headers');
    const reason = new CancelledError('user left');
    let activeWhenSettled: number | undefined;
    await scope(async (s) => {
      const task = s.spawn(fromEffect(program));
      await arrived;
      expect(http.active).toBe(1);
      task.cancel(reason);
      await expect(Promise.resolve(task)).rejects.toBe(reason);
      // The task settled only after the fiber, and so the request, had ended.
      activeWhenSettled = http.active;
    });
    expect(activeWhenSettled).toBe(0);
  });

  describe("the client's maxResponseSize caps every body (review rv-http10 X6)", () => {
    /** The failure of `exit`, checked to be the ResponseError Decode of a body over 1000 bytes. */
    function expectTooLarge(exit: Exit.Exit<unknown, unknown>): void {
      const error = Exit.isFailure(exit)
        ? Option.getOrUndefined(Cause.failureOption(exit.cause))
        : exit.value;
      expect(error).toBeInstanceOf(ClientError.ResponseError);
      expect((error as ClientError.ResponseError).reason).toBe('Decode');
      const cause = (error as ClientError.ResponseError).cause;
      expect(cause).toBeInstanceOf(ResponseTooLargeError);
      expect((cause as ResponseTooLargeError).limit).toBe(1000);
    }

    test('text, json, arrayBuffer and stream of a body over the cap fail, with or without content-length', async () => {
      const http = weft({ maxResponseSize: 1000, retry: false });
      for (const path of ['/big?size=200000&chunked=1', '/big?size=200000', '/text/1001']) {
        const reads = [
          (res: { text: Effect.Effect<unknown, unknown> }) => res.text,
          (res: { json: Effect.Effect<unknown, unknown> }) => res.json,
          (res: { arrayBuffer: Effect.Effect<unknown, unknown> }) => res.arrayBuffer,
          (res: { stream: Stream.Stream<Uint8Array, unknown> }) => Stream.runDrain(res.stream),
        ];
        for (const read of reads) {
          const exit = await runExit(
            Effect.flatMap(PlatformClient.get(url(path)), (res) => read(res as never)),
            http,
          );
          expectTooLarge(exit);
          expect(http.active).toBe(0);
        }
      }
      // At the cap exactly: the whole body.
      const text = await run(
        Effect.flatMap(PlatformClient.get(url('/text/1000')), (res) => res.text),
        http,
      );
      expect(text.length).toBe(1000);
    });

    test('a content-length over the cap ends the weft request at once, body unread', async () => {
      const http = weft({ maxResponseSize: 1000, retry: false });
      const res = await run(PlatformClient.get(url('/big?size=200000')), http);
      expect(res.status).toBe(200);
      // Nothing was read, yet the request (and its slot) is over.
      expect(http.active).toBe(0);
      expectTooLarge(await Effect.runPromiseExit(res.text));
    });

    test('a non-2xx body over the cap fails as well', async () => {
      const http = weft({ maxResponseSize: 1000, retry: false });
      const exit = await runExit(
        Effect.flatMap(PlatformClient.get(url('/error-page?size=5000')), (res) => res.text),
        http,
      );
      expectTooLarge(exit);
      expect(http.active).toBe(0);
    });

    test('layer(options) applies maxResponseSize', async () => {
      const exit = await Effect.runPromiseExit(
        Effect.flatMap(PlatformClient.get('/big?size=200000&chunked=1'), (res) => res.text).pipe(
          Effect.provide(layer({ baseUrl: server.url, maxResponseSize: 1000 })),
        ),
      );
      expectTooLarge(exit);
    });
  });

  test('make() and layer() reject a non-client and bad options with a TypeError', () => {
    expect(() => make({} as never)).toThrow(
      /Expected `client` to be a weft HttpClient \(createClient\(\)\), got/,
    );
    expect(() => layer({ timeot: 5 } as never)).toThrow(/Unknown option `options.timeot`/);
  });
});
