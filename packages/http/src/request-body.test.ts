// A one-shot request body (a caller's ReadableStream or async iterable) is cancelled when
// the request is aborted, times out or the client closes, the same on Node, Bun and Deno
// (review D9: Node's fetch keeps pulling a request body after the fetch was aborted).
import { TestClock, TimeoutError } from '@weft/core';
import { describe, expect, test } from 'vitest';
import { collectUnhandled, countingController, deferred } from '../../core/test/helpers.ts';
import { serve, type TestServer } from '../test/serve.ts';
import { type ClientOptions, createClient, type HttpClient } from './index.ts';
import { StreamBody } from './internal/request-body.ts';

const encoder = new TextEncoder();

/** Real time, for the server and the source's pace (the client's clock is separate). */
function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A server that reads every request body it gets. At `/up` it answers only when released;
 * at `/echo` it answers with the body it read; a GET (no body) it answers at once.
 */
async function readingServer(): Promise<{
  server: TestServer;
  received: () => number;
  requests: () => number;
  release: () => void;
}> {
  let received = 0;
  let requests = 0;
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const server = await serve(async (request) => {
    if (request.method === 'GET') return new Response('free');
    requests++;
    const reader = request.body?.getReader();
    const chunks: Uint8Array<ArrayBuffer>[] = [];
    const reading = (async () => {
      try {
        for (;;) {
          const { done, value } = (await reader?.read()) ?? { done: true, value: undefined };
          if (done) break;
          received += value.byteLength;
          chunks.push(value as Uint8Array<ArrayBuffer>);
        }
      } catch {
        // The client went away.
      }
    })();
    if (new URL(request.url).pathname === '/echo') {
      await reading;
      return new Response(await new Blob(chunks).arrayBuffer());
    }
    await Promise.race([released, reading.then(() => released)]);
    return new Response('late');
  });
  return { server, received: () => received, requests: () => requests, release };
}

/** What a test gets from {@link withUpload}. */
interface Upload {
  http: HttpClient;
  /** Where to send the body: the reading server's `/up`. */
  url: string;
  /** The reading server's `/echo`. */
  echo: string;
  /** Bytes of request bodies the server has read so far. */
  received: () => number;
  /** Requests with a body the server has seen. */
  requests: () => number;
}

/**
 * The setup and teardown of the tests here: a {@link readingServer}, a client with
 * `options` on it, and afterwards (whatever the test did) the server released, the client
 * closed and the server closed.
 */
async function withUpload(options: ClientOptions, run: (upload: Upload) => Promise<void>) {
  const { server, received, requests, release } = await readingServer();
  const http = createClient(options);
  try {
    await run({ http, url: `${server.url}/up`, echo: `${server.url}/echo`, received, requests });
  } finally {
    release();
    await http.close();
    await server.close();
  }
}

/** A never-ending upload that counts its pulls and records its cancel. */
function endlessBody(): {
  body: ReadableStream<Uint8Array>;
  pulls: () => number;
  cancelled: () => unknown;
} {
  let pulls = 0;
  let cancelled: unknown = 'not cancelled';
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        pulls++;
        await wait(2);
        controller.enqueue(new Uint8Array(1024));
      },
      cancel(reason) {
        cancelled = reason;
      },
    },
    { highWaterMark: 0 },
  );
  return { body, pulls: () => pulls, cancelled: () => cancelled };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await wait(5);
  expect(condition()).toBe(true);
}

/** Asserts that `pulls` does not move over a number of macrotasks. */
async function expectNoMorePulls(pulls: () => number): Promise<void> {
  const before = pulls();
  for (let i = 0; i < 10; i++) await wait(10);
  expect(pulls()).toBe(before);
}

describe('a streamed request body', () => {
  test('is cancelled with the reason when the caller aborts, and never pulled again', async () => {
    await withUpload({ retry: false }, async ({ http, url, received }) => {
      const source = endlessBody();
      const controller = new AbortController();
      const reason = new Error('user gave up');
      const request = http.post(url, { body: source.body, signal: controller.signal });
      const outcome = request.then(
        () => 'fulfilled',
        (error: unknown) => error,
      );
      await until(() => received() > 0 && source.pulls() >= 3);
      controller.abort(reason);
      expect(await outcome).toBe(reason);
      expect(source.cancelled()).toBe(reason);
      await expectNoMorePulls(source.pulls);
      expect(http.active).toBe(0);
    });
  });

  test('is cancelled when the attempt times out', async () => {
    const clock = new TestClock();
    await withUpload({ retry: false, timeout: 1000, clock }, async ({ http, url, received }) => {
      const source = endlessBody();
      const outcome = http.post(url, { body: source.body }).then(
        () => 'fulfilled',
        (error: unknown) => error,
      );
      await until(() => received() > 0);
      await clock.advance(1000);
      const error = await outcome;
      expect(error).toBeInstanceOf(TimeoutError);
      expect(source.cancelled()).toBe(error);
      await expectNoMorePulls(source.pulls);
    });
  });

  test('is cancelled when the client closes', async () => {
    await withUpload({ retry: false }, async ({ http, url, received }) => {
      const source = endlessBody();
      const outcome = http.post(url, { body: source.body }).then(
        () => 'fulfilled',
        (error: unknown) => error,
      );
      await until(() => received() > 0);
      await http.close();
      const error = await outcome;
      expect(error).toBeInstanceOf(Error);
      expect(source.cancelled()).toBe(error);
      await expectNoMorePulls(source.pulls);
    });
  });

  test('an async iterable body is closed (its finally runs) when the caller aborts', async () => {
    let pulls = 0;
    let closed = false;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      try {
        for (;;) {
          pulls++;
          await wait(2);
          yield new Uint8Array(1024);
        }
      } finally {
        closed = true;
      }
    }
    await withUpload({ retry: false }, async ({ http, url, received }) => {
      const controller = new AbortController();
      const outcome = http
        // An async iterable body: accepted at run time, not part of fetch's BodyInit type.
        .post(url, { body: chunks() as never, signal: controller.signal })
        .then(
          () => 'fulfilled',
          (error: unknown) => error,
        );
      await until(() => received() > 0);
      controller.abort();
      expect(await outcome).toBeInstanceOf(Error);
      await until(() => closed);
      await expectNoMorePulls(() => pulls);
    });
  });

  test('a body never sent (aborted while waiting for a slot) is cancelled too', async () => {
    const unhandled = await collectUnhandled(async () => {
      await withUpload({ retry: false, concurrency: 1 }, async ({ http, url, received }) => {
        const first = endlessBody();
        const second = endlessBody();
        const controller = new AbortController();
        const one = http.post(url, { body: first.body, signal: controller.signal });
        const two = http.post(url, { body: second.body, signal: controller.signal });
        const outcomes = Promise.allSettled([one, two]);
        await until(() => received() > 0);
        expect(second.pulls()).toBe(0);
        controller.abort();
        const [a, b] = await outcomes;
        expect(a.status).toBe('rejected');
        expect(b.status).toBe('rejected');
        expect(second.cancelled()).toBe(controller.signal.reason);
        expect(first.cancelled()).toBe(controller.signal.reason);
      });
    });
    expect(unhandled).toEqual([]);
  });

  test('a body sent to its end is not cancelled', async () => {
    await withUpload({ retry: false }, async ({ http, echo, received }) => {
      let cancelled = false;
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent === 4) return controller.close();
          sent++;
          controller.enqueue(new Uint8Array(1024));
        },
        cancel() {
          cancelled = true;
        },
      });
      expect((await http.post(echo, { body }).bytes()).byteLength).toBe(4096);
      expect(received()).toBe(4096);
      expect(cancelled).toBe(false);
    });
  });
});

type Kind = 'stream' | 'iterable';

/**
 * A body of `kind` that sends the `chunks` given, then waits for `fail()` and fails with
 * `error` (its stream errors, its generator throws); with no chunks it fails at once.
 */
function failingBody(
  kind: Kind,
  chunks: unknown[],
  error: unknown,
): { body: never; fail: () => void } {
  const failing = deferred();
  if (chunks.length === 0) failing.resolve();
  let sent = 0;
  const body =
    kind === 'stream'
      ? new ReadableStream<unknown>(
          {
            async pull(controller) {
              if (sent < chunks.length) return controller.enqueue(chunks[sent++]);
              await failing.promise;
              throw error;
            },
          },
          { highWaterMark: 0 },
        )
      : (async function* () {
          yield* chunks;
          await failing.promise;
          throw error;
        })();
  // Chunks of any type and async iterables: accepted at run time, not in BodyInit's type.
  return { body: body as never, fail: () => failing.resolve() };
}

/** A body of `kind` with the `chunks` given, then endless 1 KiB chunks; records its closing. */
function bodyOf(kind: Kind, chunks: unknown[]): { body: never; closed: () => unknown } {
  let closed: unknown = 'open';
  let sent = 0;
  const body =
    kind === 'stream'
      ? new ReadableStream<unknown>(
          {
            pull(controller) {
              controller.enqueue(sent < chunks.length ? chunks[sent++] : new Uint8Array(1024));
            },
            cancel(reason) {
              closed = reason;
            },
          },
          { highWaterMark: 0 },
        )
      : (async function* () {
          try {
            yield* chunks;
            for (;;) yield new Uint8Array(1024);
          } finally {
            closed = 'returned';
          }
        })();
  return { body: body as never, closed: () => closed };
}

/**
 * A client for the failing-body tests: `retry` on (a NetworkError would be retried, for a
 * PUT), timeouts on a TestClock, one slot, and the caller's signal counting its listeners.
 * After `run`, checks that nothing is left: no request, listener or timer, and the slot
 * is free for the next request.
 */
async function withLeakChecks(
  run: (upload: Upload, signal: AbortSignal) => Promise<void>,
  extra: ClientOptions = {},
): Promise<void> {
  const clock = new TestClock();
  const { signal, listeners } = countingController();
  const unhandled = await collectUnhandled(async () => {
    const options = {
      retry: { limit: 3, networkErrors: true },
      timeout: 60_000,
      totalTimeout: 120_000,
      concurrency: 1,
      clock,
      ...extra,
    };
    await withUpload(options, async (upload) => {
      await run(upload, signal);
      expect(upload.http.active).toBe(0);
      expect(listeners()).toBe(0);
      expect(clock.pendingTimers).toBe(0);
      expect(await upload.http.get(upload.url).text()).toBe('free');
    });
  });
  expect(unhandled).toEqual([]);
}

describe('a streamed body whose source fails (probe P2)', () => {
  test.each([
    ['stream', 'before its first chunk', 0, false],
    ['stream', 'after part of it was sent', 2, false],
    ['iterable', 'before its first chunk', 0, false],
    ['iterable', 'after part of it was sent', 2, false],
    ['stream', 'after part of it was sent, through an injected fetch', 2, true],
  ] as const)(
    'a %s body failing %s rejects the request with its own error, not retried',
    async (kind, _when, sent, injected) => {
      // An injected fetch (a wrapper, a mock) is raced against the signal by weft.
      const extra = injected
        ? { fetch: (input: string | URL | Request, init?: RequestInit) => fetch(input, init) }
        : {};
      await withLeakChecks(async ({ http, url, received, requests }, signal) => {
        const error = new Error('the file went away');
        const chunks = Array.from({ length: sent }, () => new Uint8Array(1024));
        const source = failingBody(kind, chunks, error);
        // A PUT is retried on a network error: the caller's error must not be one.
        const outcome = http.put(url, { body: source.body, signal }).then(
          () => 'fulfilled',
          (reason: unknown) => reason,
        );
        if (sent > 0) await until(() => received() === sent * 1024);
        source.fail();
        expect(await outcome).toBe(error);
        expect(requests()).toBeLessThanOrEqual(1);
      }, extra);
    },
  );

  test.each([
    ['stream', 'undefined', undefined],
    ['iterable', 'a string', 'not an Error'],
  ] as const)(
    'a %s body failing with %s rejects the request with that value',
    async (kind, _what, value) => {
      await withLeakChecks(async ({ http, url }, signal) => {
        const source = failingBody(kind, [new Uint8Array(8)], value);
        const outcome = http.post(url, { body: source.body, signal }).then(
          () => 'fulfilled',
          (reason: unknown) => ({ reason }),
        );
        source.fail();
        expect(await outcome).toEqual({ reason: value });
      });
    },
  );

  test.each(['timeout', 'abort'] as const)(
    'the %s that came first stays the error when the source then fails',
    async (how) => {
      const clock = new TestClock();
      await withUpload({ retry: false, timeout: 1000, clock }, async ({ http, url, received }) => {
        const controller = new AbortController();
        const source = failingBody('iterable', [new Uint8Array(1024)], new Error('late failure'));
        const outcome = http.post(url, { body: source.body, signal: controller.signal }).then(
          () => 'fulfilled',
          (reason: unknown) => reason,
        );
        await until(() => received() === 1024);
        const reason = new Error('user gave up');
        if (how === 'timeout') await clock.advance(1000);
        else controller.abort(reason);
        source.fail();
        const error = await outcome;
        if (how === 'timeout') expect(error).toBeInstanceOf(TimeoutError);
        else expect(error).toBe(reason);
        expect(http.active).toBe(0);
      });
    },
  );
});

describe('an abort right after the source failed (probe7 P6)', () => {
  /** A source whose third next() rejects with `failure` and queues `then` k microtasks on. */
  const failingAfter = (failure: Error, k: number, then: () => void): AsyncIterable<Uint8Array> => {
    let n = 0;
    const later = (left: number): void => {
      if (left === 0) then();
      else queueMicrotask(() => later(left - 1));
    };
    return {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          if (n++ < 2) return { done: false, value: new Uint8Array(8) };
          later(k);
          throw failure;
        },
      }),
    };
  };

  test.each([
    ['abort', 2],
    ['abort', 20],
    ['close', 2],
    ['close', 20],
  ] as const)(
    'a caller %s %i microtasks after the failure does not replace the source error',
    async (how, k) => {
      await withUpload({ retry: false }, async ({ http, url }) => {
        const controller = new AbortController();
        const failure = new Error('source failed');
        const body = failingAfter(failure, k, () => {
          if (how === 'abort') controller.abort(new Error('user gave up'));
          else void http.close();
        });
        const outcome = await http.put(url, { body, signal: controller.signal }).then(
          () => 'fulfilled',
          (reason: unknown) => reason,
        );
        expect(outcome).toBe(failure);
        expect(http.active).toBe(0);
      });
    },
  );
});

describe('the chunks of a streamed body (probe P2b)', () => {
  const bytes = Uint8Array.from({ length: 16 }, (_, i) => i);
  const int16 = Int16Array.from([1, 256, -1]);
  /** Every kind of BufferSource, and a string; what each is sent as. */
  const chunks: Array<[unknown, number[]]> = [
    [bytes.slice(0, 3).buffer, [0, 1, 2]],
    [new DataView(bytes.buffer, 3, 2), [3, 4]],
    [int16, [...new Uint8Array(int16.buffer)]],
    [bytes.subarray(5, 8), [5, 6, 7]],
    [new Float64Array([1.5]), [...new Uint8Array(new Float64Array([1.5]).buffer)]],
    ['é', [0xc3, 0xa9]],
  ];

  test.each(['stream', 'iterable'] as const)(
    'a %s body may yield any BufferSource or a string',
    async (kind) => {
      await withUpload({ retry: false }, async ({ http, echo }) => {
        const source =
          kind === 'stream'
            ? new ReadableStream<unknown>({
                start(controller) {
                  for (const [chunk] of chunks) controller.enqueue(chunk);
                  controller.close();
                },
              })
            : (async function* () {
                for (const [chunk] of chunks) yield chunk;
              })();
        const sent = await http.post(echo, { body: source as never }).bytes();
        expect([...sent]).toEqual(chunks.flatMap(([, expected]) => expected));
      });
    },
  );

  test('a view or an ArrayBuffer is handed to fetch as a Uint8Array over the same memory', async () => {
    const buffer = new ArrayBuffer(8);
    const view = new DataView(buffer, 2, 4);
    const body = new StreamBody(
      (async function* () {
        yield view;
        yield buffer;
      })(),
    );
    const reader = body.stream(new AbortController().signal, () => {}).getReader();
    const first = (await reader.read()).value;
    expect(first).toBeInstanceOf(Uint8Array);
    expect(first?.buffer).toBe(buffer);
    expect([first?.byteOffset, first?.byteLength]).toEqual([2, 4]);
    const second = (await reader.read()).value;
    expect(second).toBeInstanceOf(Uint8Array);
    expect(second?.buffer).toBe(buffer);
    expect(second?.byteLength).toBe(8);
  });

  test.each([
    ['stream', '`42` (number)', 42],
    ['iterable', '`null` (null)', null],
    ['stream', '`{"a":1}` (object)', { a: 1 }],
    ['iterable', '`undefined` (undefined)', undefined],
  ] as const)(
    'a %s body yielding %s fails the request with a TypeError and is cancelled',
    async (kind, shown, chunk) => {
      await withLeakChecks(async ({ http, url }, signal) => {
        const source = bodyOf(kind, ['abc', chunk]);
        const error = await http.put(url, { body: source.body, signal }).then(
          () => 'fulfilled',
          (reason: unknown) => reason,
        );
        expect(error).toBeInstanceOf(TypeError);
        expect((error as TypeError).message).toBe(
          `Expected each chunk of \`options.body\` to be a string or a BufferSource (ArrayBuffer, TypedArray, DataView), got ${shown} as chunk 1 (after 3 bytes)`,
        );
        await until(() => source.closed() !== 'open');
        expect(source.closed()).toBe(kind === 'stream' ? error : 'returned');
      });
    },
  );
});

describe('chunks that cannot be read (probe7 P5)', () => {
  const detached = (): ArrayBuffer => {
    const buffer = new ArrayBuffer(4);
    structuredClone(buffer, { transfer: [buffer] });
    return buffer;
  };
  const revoked = (): object => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    return proxy;
  };
  const throwingTag = (): object => ({
    get [Symbol.toStringTag](): string {
      throw new Error('tag getter');
    },
  });
  test.each([
    ['a revoked Proxy', revoked],
    ['an object whose toStringTag getter throws', throwingTag],
    ['a detached ArrayBuffer', detached],
  ] as const)(
    '%s fails the request with the chunk TypeError, the source cancelled',
    async (_, make) => {
      await withLeakChecks(async ({ http, url }, signal) => {
        // A stream source: an async generator would `await` what it yields, and a revoked
        // Proxy would throw there, as the source's own failure.
        const source = bodyOf('stream', ['abc', make()]);
        const error = await http.put(url, { body: source.body, signal }).then(
          () => 'fulfilled',
          (reason: unknown) => reason,
        );
        expect(error).toBeInstanceOf(TypeError);
        expect((error as TypeError).message).toMatch(
          /^Expected each chunk of `options\.body` to be a string or a BufferSource \(ArrayBuffer, TypedArray, DataView\), got .+ as chunk 1 \(after 3 bytes\)$/,
        );
        await until(() => source.closed() !== 'open');
        expect(source.closed()).toBe(error);
      });
    },
  );

  test('an iterator whose next() resolves with something that is not an iterator result', async () => {
    await withLeakChecks(async ({ http, url }, signal) => {
      let returned = false;
      const body = {
        [Symbol.asyncIterator]: () => ({
          next: async () => 42 as unknown as IteratorResult<string>,
          return: async () => {
            returned = true;
            return { done: true, value: undefined } as IteratorResult<string>;
          },
        }),
      };
      const error = await http.put(url, { body: body as never, signal }).then(
        () => 'fulfilled',
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(TypeError);
      expect((error as TypeError).message).toBe(
        'Expected the `next()` of `options.body` to resolve with an iterator result, got `42` (number) after chunk 0',
      );
      await until(() => returned);
    });
  });
});

describe('a stream body that was read before (probe P3)', () => {
  test('a locked stream is refused at the call, before any fetch, and left to its reader', async () => {
    let calls = 0;
    const http = createClient({
      fetch: async () => {
        calls++;
        return new Response('ok');
      },
    });
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      cancel() {
        cancelled = true;
      },
    });
    const reader = body.getReader();
    expect(() => http.post('http://x.test/up', { body })).toThrow(
      new TypeError(
        'Expected `options.body` to be a ReadableStream no reader holds, got a locked `[object ReadableStream]` (object)',
      ),
    );
    expect(calls).toBe(0);
    expect(http.active).toBe(0);
    reader.releaseLock();
    expect(cancelled).toBe(false);
    expect(body.locked).toBe(false);
    await http.close();
  });

  test('a stream partly read and released sends what it still holds', async () => {
    await withUpload({ retry: false }, async ({ http, echo }) => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const text of ['head', 'er', 'rest']) controller.enqueue(encoder.encode(text));
          controller.close();
        },
      });
      const reader = body.getReader();
      await reader.read();
      reader.releaseLock();
      expect(await http.post(echo, { body }).text()).toBe('errest');
    });
  });
});
