// A one-shot request body (a caller's ReadableStream or async iterable) is cancelled when
// the request is aborted, times out or the client closes, the same on Node, Bun and Deno
// (review D9: Node's fetch keeps pulling a request body after the fetch was aborted).
import { TestClock, TimeoutError } from '@weft/core';
import { describe, expect, test } from 'vitest';
import { collectUnhandled } from '../../core/test/helpers.ts';
import { serve, type TestServer } from '../test/serve.ts';
import { type ClientOptions, createClient, type HttpClient } from './index.ts';

/** Real time, for the server and the source's pace (the client's clock is separate). */
function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A server that reads every request body it gets and answers only when released. */
async function readingServer(): Promise<{
  server: TestServer;
  received: () => number;
  release: () => void;
}> {
  let received = 0;
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const server = await serve(async (request) => {
    const reader = request.body?.getReader();
    const reading = (async () => {
      try {
        for (;;) {
          const { done, value } = (await reader?.read()) ?? { done: true, value: undefined };
          if (done) break;
          received += value.byteLength;
        }
      } catch {
        // The client went away.
      }
    })();
    await Promise.race([released, reading.then(() => released)]);
    return new Response('late');
  });
  return { server, received: () => received, release };
}

/** What a test gets from {@link withUpload}. */
interface Upload {
  http: HttpClient;
  /** Where to send the body: the reading server's `/up`. */
  url: string;
  /** Bytes of request bodies the server has read so far. */
  received: () => number;
}

/**
 * The setup and teardown of the tests here: a {@link readingServer}, a client with
 * `options` on it, and afterwards (whatever the test did) the server released, the client
 * closed and the server closed.
 */
async function withUpload(options: ClientOptions, run: (upload: Upload) => Promise<void>) {
  const { server, received, release } = await readingServer();
  const http = createClient(options);
  try {
    await run({ http, url: `${server.url}/up`, received });
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
    let received = 0;
    const server = await serve(async (request) => {
      received = (await request.arrayBuffer()).byteLength;
      return new Response('ok');
    });
    const http = createClient({ retry: false });
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
    try {
      expect(await http.post(`${server.url}/up`, { body }).text()).toBe('ok');
      expect(received).toBe(4096);
      expect(cancelled).toBe(false);
    } finally {
      await http.close();
      await server.close();
    }
  });
});
