// The client with an injected fetch: no network, virtual time. Behaviour that does not
// need a real server (validation, retry policy, timeouts on the clock, hooks, schemas,
// structured cancellation) is checked here; test/client.integration.test.ts runs the
// same client against a real misbehaving server.
import { CancelledError, run, scope, TestClock, timeout } from '@weft/core';
import * as v from 'valibot';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { collectUnhandled, countingController } from '../../core/test/helpers.ts';
import {
  createClient,
  HttpError,
  NetworkError,
  SchemaError,
  type StandardSchemaV1,
  TimeoutError,
} from './index.ts';

type Handler = (url: string, init: RequestInit) => Response | Promise<Response>;

/** A fetch that answers from `handler`, honours the signal, and counts calls. */
function fakeFetch(handler: Handler): {
  fetch: typeof fetch;
  calls: Array<{ url: string; init: RequestInit }>;
} {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const f = (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = String(input);
    calls.push({ url, init });
    const signal = init.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      Promise.resolve(handler(url, init)).then(resolve, reject);
    });
  };
  return { fetch: f as typeof fetch, calls };
}

/** A response that never comes (until the signal aborts). */
const never: Handler = () => new Promise<Response>(() => {});

async function rejection(promise: PromiseLike<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('createClient: bad input', () => {
  test('an unknown option is a TypeError with a did-you-mean', () => {
    expect(() => createClient({ retyr: 3 } as never)).toThrow(
      /Unknown option `options.retyr`.*Did you mean `retry`\?/,
    );
    const http = createClient({ baseUrl: 'http://x.test' });
    expect(() => http.get('/a', { timout: 5 } as never)).toThrow(/Did you mean `timeout`\?/);
  });

  test('invalid values name the option, the expectation and the value', () => {
    expect(() => createClient({ timeout: -1 })).toThrow(
      new RangeError(
        'Expected `options.timeout` to be a number of milliseconds from 0 up (or Infinity), got `-1` (number)',
      ),
    );
    expect(() => createClient({ concurrency: 0 })).toThrow(
      'Expected `options.concurrency` to be an integer from 1 and up, got `0` (number)',
    );
    expect(() => createClient({ baseUrl: 'not a url' })).toThrow(TypeError);
    expect(() => createClient({ rateLimit: {} as never })).toThrow(/acquire/);
    expect(() => createClient({ retry: { backoff: { factor: 0.5 } } })).toThrow(RangeError);
    expect(() => createClient({ hooks: { beforeRequest: 'x' as never } })).toThrow(
      /`options.hooks.beforeRequest` to be an array of functions/,
    );
    const http = createClient();
    expect(() => http.get('relative/path')).toThrow(/no baseUrl is set/);
    expect(() => http.get('http://x.test', { headers: { 'bad header': 'x' } })).toThrow(TypeError);
    expect(() => http.post('http://x.test', { json: {}, body: 'x' })).toThrow(/only one of/);
    expect(() => http.request('http://x.test', { method: 'GE T' })).toThrow(/HTTP method/);
  });
});

describe('requests fetch would refuse are refused at the call, the same on every runtime (review D3)', () => {
  test('a URL with credentials is a TypeError that does not repeat them; fetch is never called', async () => {
    const { fetch, calls } = fakeFetch(() => new Response('ok'));
    const http = createClient({ fetch });
    let error: unknown;
    try {
      http.get('http://alice:secret@127.0.0.1:1/x');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/^Expected `url` without credentials/);
    expect((error as Error).message).not.toMatch(/alice|secret/);
    expect(() => http.get(new URL('http://only-user@127.0.0.1:1/x'))).toThrow(/credentials/);
    expect(() => createClient({ baseUrl: 'http://u:p@127.0.0.1:1/' })).toThrow(
      /`options.baseUrl` without credentials/,
    );
    expect(calls).toHaveLength(0);
    // An @ in the path is not a credential.
    expect(await http.get('http://127.0.0.1:1/users/@me').text()).toBe('ok');
    expect(calls).toHaveLength(1);
  });

  test('CONNECT, TRACE and TRACK are a TypeError naming options.method, in any case', () => {
    const http = createClient({ fetch: fakeFetch(() => new Response('ok')).fetch });
    for (const method of ['CONNECT', 'TRACE', 'track', 'Trace']) {
      expect(() => http.request('http://x.test', { method })).toThrow(
        new TypeError(
          `Expected \`options.method\` to be a method fetch can send (not CONNECT, TRACE or TRACK), got \`${JSON.stringify(method).slice(1, -1)}\` (string)`,
        ),
      );
    }
  });

  test('a redirect whose Location carries credentials is a RedirectError, not followed, not repeated', async () => {
    const { fetch, calls } = fakeFetch(
      () => new Response(null, { status: 302, headers: { location: 'http://u:secret@x.test/b' } }),
    );
    const http = createClient({ fetch });
    const error = (await rejection(http.get('http://x.test/a').text())) as Error & {
      redirects: string[];
    };
    expect(error.name).toBe('RedirectError');
    expect(error.message).toMatch(/credentials/);
    expect(JSON.stringify(error.redirects) + error.message).not.toMatch(/secret/);
    expect(calls).toHaveLength(1);
  });
});

describe('headers, json and body are checked at the call (review D5)', () => {
  test('invalid headers, unserialisable json and a plain-object body are TypeErrors naming the option', () => {
    expect(() => createClient({ headers: { 'a b': 'c' } })).toThrow(
      /^Expected `options.headers` to be valid headers/,
    );
    const http = createClient({ fetch: fakeFetch(() => new Response('ok')).fetch });
    expect(() => http.get('http://x.test', { headers: { a: 'x\ny' } })).toThrow(
      /^Expected `options.headers` to be valid headers/,
    );
    expect(() => http.post('http://x.test', { json: 1n })).toThrow(
      /^Expected `options.json` to be a value JSON.stringify can serialise, got `1` \(bigint\)/,
    );
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => http.post('http://x.test', { json: cycle })).toThrow(/`options.json`/);
    expect(() => http.post('http://x.test', { json: () => 1 })).toThrow(/`options.json`/);
    expect(() => http.post('http://x.test', { body: { a: 1 } as never })).toThrow(
      /^Expected `options.body` to be a string, bytes.*use `options.json`/,
    );
  });
});

describe('a body that can be read only once (review D10)', () => {
  async function* chunks(): AsyncGenerator<Uint8Array> {
    yield new TextEncoder().encode('payload');
  }

  test('an async iterable body is sent with duplex: half and never retried', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const { fetch, calls } = fakeFetch(() => new Response('busy', { status: 503 }));
    const http = createClient({ fetch, clock });
    const err = (await rejection(
      http.put('http://x.test', { body: chunks() }).text(),
    )) as HttpError;
    expect(err).toBeInstanceOf(HttpError);
    expect(calls).toHaveLength(1);
    expect((calls[0]!.init as { duplex?: string }).duplex).toBe('half');
  });

  test('a 307 that would send an async iterable again is a RedirectError', async () => {
    const { fetch, calls } = fakeFetch(
      () => new Response(null, { status: 307, headers: { location: '/b' } }),
    );
    const http = createClient({ fetch });
    const err = (await rejection(http.put('http://x.test/a', { body: chunks() }).text())) as Error;
    expect(err.name).toBe('RedirectError');
    expect(calls).toHaveLength(1);
  });

  test('bytes, Blob, FormData and URLSearchParams stay replayable: retried', async () => {
    const clock = new TestClock({ autoAdvance: true });
    for (const body of [
      new Uint8Array([1, 2]),
      new Blob(['x']),
      new URLSearchParams('a=1'),
      new FormData(),
    ]) {
      let n = 0;
      const { fetch, calls } = fakeFetch(() =>
        ++n === 1 ? new Response('busy', { status: 503 }) : new Response('ok'),
      );
      const http = createClient({ fetch, clock });
      expect(await http.put('http://x.test', { body }).text()).toBe('ok');
      expect(calls).toHaveLength(2);
    }
  });
});

describe('maxResponseSize and bodiless responses (review D11)', () => {
  test('a HEAD response with a large content-length reads as empty under a cap', async () => {
    const { fetch } = fakeFetch(
      () => new Response(null, { status: 200, headers: { 'content-length': '5000' } }),
    );
    const http = createClient({ fetch, maxResponseSize: 1000 });
    expect(await http.head('http://x.test').text()).toBe('');
    expect(await http.head('http://x.test').json()).toBeUndefined();
  });
});

describe('an injected fetch that resolves to something else (review D6)', () => {
  test('is a TypeError naming options.fetch, not a retried NetworkError', async () => {
    let calls = 0;
    const http = createClient({
      fetch: (async () => {
        calls++;
        return 'nope';
      }) as never,
    });
    const err = (await rejection(http.get('http://x.test/').text())) as Error;
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe(
      'Expected `options.fetch` to resolve to a Response, got `nope` (string)',
    );
    expect(calls).toBe(1);
    expect(http.active).toBe(0);
  });
});

describe('requests', () => {
  test('baseUrl joins paths the way httpx does; an absolute URL bypasses it', async () => {
    const { fetch, calls } = fakeFetch(() => new Response('ok'));
    const http = createClient({ baseUrl: 'http://api.test/v1', fetch });
    await http.get('/users').text();
    await http.get('users/2', { query: 'a=1' }).text();
    await http.get('http://other.test/x').text();
    expect(calls.map((c) => c.url)).toEqual([
      'http://api.test/v1/users',
      'http://api.test/v1/users/2?a=1',
      'http://other.test/x',
    ]);
  });

  test('a path under baseUrl never leaves its origin, however its slashes are written', async () => {
    const { fetch, calls } = fakeFetch(() => new Response('ok'));
    const http = createClient({ baseUrl: 'http://api.test/v1', fetch });
    // `new URL(path, base)` reads each of these as another host (backslashes are slashes
    // to it, and it drops the spaces, tabs and newlines).
    const paths = ['\\\\evil.test/x', '\\/evil.test/x', '/\\evil.test/x', '//evil.test/x'];
    paths.push(' //evil.test/x', '\t//evil.test/x', '\n\\\\evil.test/x', '/\t/evil.test/x');
    for (const path of paths) await http.get(path).text();
    expect(calls.map((c) => c.url)).toEqual([
      'http://api.test/v1/evil.test/x',
      'http://api.test/v1/evil.test/x',
      'http://api.test/v1/evil.test/x',
      'http://api.test/v1/evil.test/x',
      'http://api.test/v1/evil.test/x',
      'http://api.test/v1/evil.test/x',
      'http://api.test/v1/evil.test/x',
      'http://api.test/v1/evil.test/x',
    ]);
    calls.length = 0;
    // Dot segments may leave the base's path (as in httpx and new URL), not its origin; an
    // absolute URL, even with the blanks the URL parser drops around it, bypasses the base.
    await http.get('../x/./y?q=1').text();
    await http.get(' http://other.test/z\n').text();
    await http.get('?only=query').text();
    expect(calls.map((c) => c.url)).toEqual([
      'http://api.test/x/y?q=1',
      'http://other.test/z',
      'http://api.test/v1/?only=query',
    ]);
  });

  test('a baseUrl with a query or fragment is a TypeError that does not repeat them', () => {
    // A relative URL would replace them: an API key in the query would be dropped silently.
    for (const baseUrl of ['http://api.test/v1?key=SECRET', 'http://api.test/#SECRET']) {
      let error: unknown;
      try {
        createClient({ baseUrl });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TypeError);
      expect(String(error)).toMatch(/`options.baseUrl` without a query or fragment/);
      expect(String(error)).not.toMatch(/SECRET/);
    }
    expect(() => createClient({ baseUrl: new URL('http://api.test/?a=1') })).toThrow(TypeError);
    // An empty query (`?` alone) holds nothing to lose.
    expect(() => createClient({ baseUrl: 'http://api.test/v1?' })).not.toThrow();
  });

  test('request headers merge over the client’s; the client’s are not changed', async () => {
    const { fetch, calls } = fakeFetch(() => new Response('{}'));
    const http = createClient({ fetch, headers: { 'x-a': '1', 'x-b': '1' } });
    await http.get('http://x.test', { headers: { 'x-b': '2' } }).json();
    await http.get('http://x.test').text();
    const first = new Headers(calls[0]!.init.headers);
    expect([first.get('x-a'), first.get('x-b'), first.get('accept')]).toEqual([
      '1',
      '2',
      'application/json',
    ]);
    const second = new Headers(calls[1]!.init.headers);
    expect([second.get('x-b'), second.get('accept')]).toEqual(['1', null]);
  });

  test('one body helper per request: a second use rejects with a TypeError', async () => {
    const { fetch } = fakeFetch(() => new Response('"x"'));
    const http = createClient({ fetch });
    const res = http.get('http://x.test');
    expect(await res.json()).toBe('x');
    expect(await rejection(res.text())).toBeInstanceOf(TypeError);
  });

  test('an empty body parses as undefined', async () => {
    const { fetch } = fakeFetch(() => new Response(null, { status: 204 }));
    expect(await createClient({ fetch }).delete('http://x.test').json()).toBeUndefined();
  });
});

describe('schemas (Standard Schema v1)', () => {
  const post = { id: 1, title: 'hi' };
  const { fetch } = fakeFetch(() => Response.json(post));
  const http = createClient({ fetch });

  test('zod and valibot schemas validate and type the body', async () => {
    const zodPost = await http
      .get('http://x.test')
      .json(z.object({ id: z.number(), title: z.string() }));
    expect(zodPost.title).toBe('hi');
    const valiPost = await http
      .get('http://x.test')
      .json(v.object({ id: v.number(), title: v.string() }));
    expect(valiPost.id).toBe(1);
  });

  test('a mismatch is a SchemaError with the validator’s issues, not retried', async () => {
    const err = (await rejection(
      http.get('http://x.test').json(z.object({ id: z.string() })),
    )) as SchemaError;
    expect(err).toBeInstanceOf(SchemaError);
    expect(err.issues[0]!.path).toEqual(['id']);
    expect(err.message).toContain('id:');
  });

  test('an async validator works too', async () => {
    const schema: StandardSchemaV1<unknown, number> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: async (value) => ({ value: (value as { id: number }).id * 10 }),
      },
    };
    expect(await http.get('http://x.test').json(schema)).toBe(10);
  });
});

describe('retries on the clock', () => {
  test('default backoff: 300 ms × 2^n with full jitter, capped at 10 s', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const { fetch, calls } = fakeFetch(() => new Response('down', { status: 503 }));
    const delays: number[] = [];
    const http = createClient({
      fetch,
      clock,
      retry: { limit: 7, backoff: { jitter: 'none' } },
      hooks: { beforeRetry: [({ delay }) => void delays.push(delay)] },
    });
    expect(await rejection(http.get('http://x.test').text())).toBeInstanceOf(HttpError);
    expect(calls).toHaveLength(8);
    expect(delays).toEqual([300, 600, 1200, 2400, 4800, 9600, 10_000]);
    expect(clock.pendingTimers).toBe(0);
  });

  test('full jitter waits between 0 and the backoff', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const { fetch } = fakeFetch(() => new Response('down', { status: 500 }));
    const delays: number[] = [];
    const http = createClient({
      fetch,
      clock,
      hooks: { beforeRetry: [({ delay }) => void delays.push(delay)] },
    });
    await rejection(http.get('http://x.test').text());
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeGreaterThanOrEqual(0);
    expect(delays[0]).toBeLessThanOrEqual(300);
    expect(delays[1]).toBeLessThanOrEqual(600);
  });

  test('statuses outside the list, and 4xx, are not retried', async () => {
    const { fetch, calls } = fakeFetch(() => new Response('nope', { status: 400 }));
    const http = createClient({ fetch, clock: new TestClock({ autoAdvance: true }) });
    expect(await rejection(http.get('http://x.test').text())).toBeInstanceOf(HttpError);
    expect(calls).toHaveLength(1);
  });

  test('network errors are retried; NetworkError keeps the original as cause', async () => {
    const cause = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    const { fetch, calls } = fakeFetch(() => Promise.reject(cause));
    const http = createClient({ fetch, clock: new TestClock({ autoAdvance: true }) });
    const err = (await rejection(http.get('http://x.test').text())) as NetworkError;
    expect(err).toBeInstanceOf(NetworkError);
    expect(err.cause).toBe(cause);
    expect(err.code).toBe('ECONNREFUSED');
    expect(calls).toHaveLength(3);
  });

  test('a retry that cannot start before totalTimeout is not attempted', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const { fetch, calls } = fakeFetch(
      () => new Response('busy', { status: 429, headers: { 'retry-after': '30' } }),
    );
    const http = createClient({ fetch, clock, totalTimeout: 20_000 });
    const err = (await rejection(http.get('http://x.test').text())) as HttpError;
    expect(err.status).toBe(429);
    expect(calls).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });

  test('the backoff wait is cancellable: an abort during it rejects with the reason, no retry follows', async () => {
    const clock = new TestClock();
    const { fetch, calls } = fakeFetch(() => new Response('down', { status: 503 }));
    const controller = new AbortController();
    const http = createClient({ fetch, clock, retry: { backoff: { jitter: 'none' } } });
    const outcome = rejection(http.get('http://x.test', { signal: controller.signal }).text());
    for (let i = 0; i < 5 && clock.pendingTimers < 2; i++)
      await new Promise((r) => setTimeout(r, 0));
    controller.abort(new Error('stop'));
    expect(String(await outcome)).toContain('stop');
    await clock.runAll();
    expect(calls).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('timeouts on the clock', () => {
  test('per attempt: TimeoutError (not AbortError), retried, then raised', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const { fetch, calls } = fakeFetch(never);
    const http = createClient({ fetch, clock });
    const err = (await rejection(http.get('http://x.test').text())) as TimeoutError;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.name).toBe('TimeoutError');
    expect(err.timeout).toBe(10_000);
    expect(calls).toHaveLength(3);
    expect(clock.pendingTimers).toBe(0);
  });

  test('a response nobody asks for ends at the attempt timeout and is never requested again (review D9)', async () => {
    const clock = new TestClock();
    const { fetch, calls } = fakeFetch(() => new Response('done'));
    const http = createClient({ fetch, clock });
    const put = http.put('http://x.test/state', { body: 'change' }); // fire and forget
    await clock.advance(0);
    expect(calls).toHaveLength(1);
    await clock.advance(10_000);
    await clock.advance(60_000); // long past any backoff
    expect(calls).toHaveLength(1);
    expect(http.active).toBe(0);
    // Asked for too late: the attempt's TimeoutError, not the body of a second request.
    expect(await rejection(put.text())).toBeInstanceOf(TimeoutError);
    expect(clock.pendingTimers).toBe(0);
  });

  test('totalTimeout bounds the attempts and the waits together', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const { fetch } = fakeFetch(never);
    const http = createClient({ fetch, clock, totalTimeout: 15_000 });
    const started = clock.now();
    const err = (await rejection(http.get('http://x.test').text())) as TimeoutError;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toContain('totalTimeout');
    expect(clock.now() - started).toBe(15_000);
    expect(clock.pendingTimers).toBe(0);
  });

  test('the body read is covered: a body that stalls times out', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const stalled = (_url: string, init: RequestInit): Response => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('partial'));
          init.signal?.addEventListener('abort', () => controller.error(init.signal?.reason));
        },
      });
      return new Response(body);
    };
    const { fetch } = fakeFetch(stalled);
    const http = createClient({ fetch, clock, retry: false, timeout: 500 });
    expect(await rejection(http.get('http://x.test').text())).toBeInstanceOf(TimeoutError);
    expect(http.active).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('structured by default', () => {
  test('inside a task, a request takes the task’s clock and deadline without being passed them', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const { fetch } = fakeFetch(never);
    const http = createClient({ fetch, retry: false, timeout: Number.POSITIVE_INFINITY });
    const err = await rejection(timeout(3000, () => http.get('http://x.test').text(), { clock }));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(clock.now()).toBe(3000);
    expect(http.active).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  test('a scope’s cancellation reaches the request; an explicit signal adds to it', async () => {
    const { fetch } = fakeFetch(never);
    const http = createClient({ fetch });
    const explicit = new AbortController();
    const failure = new Error('sibling failed');
    const outcome = rejection(
      scope(async (s) => {
        s.spawn(() => http.get('http://x.test', { signal: explicit.signal }).text());
        await new Promise((r) => setTimeout(r, 0));
        throw failure;
      }),
    );
    expect(unwrap(await outcome)).toBe(failure);
    expect(http.active).toBe(0);
    // The explicit signal alone cancels too.
    const alone = rejection(
      run(() => http.get('http://x.test', { signal: explicit.signal }).text(), {
        handleSignals: false,
      }),
    );
    await new Promise((r) => setTimeout(r, 0));
    explicit.abort(new Error('explicit'));
    expect(String(await alone)).toContain('explicit');
  });

  test('a task’s long-lived signal keeps no listener once requests end', async () => {
    const { signal, listeners } = countingController();
    const { fetch } = fakeFetch(() => new Response('ok'));
    const http = createClient({ fetch });
    await run(
      async () => {
        for (let i = 0; i < 50; i++) await http.get('http://x.test', { signal }).text();
      },
      { handleSignals: false },
    );
    expect(listeners()).toBe(0);
  });
});

describe('hooks', () => {
  test('beforeRequest may change headers; afterResponse may replace the response; onError may replace the error', async () => {
    const { fetch, calls } = fakeFetch(() => new Response('{"n":1}', { status: 200 }));
    const replaced = new Error('replaced');
    const http = createClient({
      fetch,
      hooks: {
        beforeRequest: [(req) => req.headers.set('x-trace', 'abc')],
        afterResponse: [(res) => (res.headers.get('x-swap') ? undefined : Response.json({ n: 2 }))],
      },
    });
    expect(await http.get('http://x.test').json()).toEqual({ n: 2 });
    expect(new Headers(calls[0]!.init.headers).get('x-trace')).toBe('abc');
    const failing = createClient({
      fetch: fakeFetch(() => new Response('x', { status: 404 })).fetch,
      hooks: { onError: [() => replaced] },
    });
    expect(await rejection(failing.get('http://x.test').text())).toBe(replaced);
  });

  test('a hook that throws fails the request with its error, without retry', async () => {
    const { fetch, calls } = fakeFetch(() => new Response('ok'));
    const boom = new Error('hook failed');
    const http = createClient({
      fetch,
      hooks: {
        beforeRequest: [
          () => {
            throw boom;
          },
        ],
      },
    });
    expect(await rejection(http.get('http://x.test').text())).toBe(boom);
    expect(calls).toHaveLength(0);
  });
});

describe('closing', () => {
  test('close() cancels in-flight requests with CancelledError and leaves nothing behind', async () => {
    const clock = new TestClock();
    const { fetch } = fakeFetch(never);
    const http = createClient({ fetch, clock });
    const unhandled = await collectUnhandled(async () => {
      const pending = rejection(http.get('http://x.test').text());
      await new Promise((r) => setTimeout(r, 0));
      await http.close();
      expect(await pending).toBeInstanceOf(CancelledError);
    });
    expect(unhandled).toEqual([]);
    expect(http.closed).toBe(true);
    expect(http.active).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });
});

function unwrap(err: unknown): unknown {
  return (err as AggregateError).errors?.length === 1 ? (err as AggregateError).errors[0] : err;
}

describe('schemas: Effect Schema', () => {
  test('Schema.standardSchemaV1 validates like any Standard Schema', async () => {
    const { Schema } = await import('effect');
    const Post = Schema.standardSchemaV1(Schema.Struct({ id: Schema.Number }));
    const http = createClient({ fetch: fakeFetch(() => Response.json({ id: 7 })).fetch });
    expect((await http.get('http://x.test').json(Post)).id).toBe(7);
    const bad = createClient({ fetch: fakeFetch(() => Response.json({ id: 'x' })).fetch });
    expect(await rejection(bad.get('http://x.test').json(Post))).toBeInstanceOf(SchemaError);
  });
});

describe('progress of streamed bodies', () => {
  test('lines() reports progress as chunks arrive', async () => {
    const body = 'a\nbb\nccc\n';
    const { fetch } = fakeFetch(() => new Response(body, { headers: { 'content-length': '9' } }));
    const seen: Array<number | undefined> = [];
    const http = createClient({ fetch, onDownloadProgress: (p) => void seen.push(p.percent) });
    const lines: string[] = [];
    for await (const line of http.get('http://x.test').lines()) lines.push(line);
    expect(lines).toEqual(['a', 'bb', 'ccc']);
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(1);
  });

  /** The progress events of one request read through `helper`, in a compact form. */
  async function progressOf(
    respond: () => Response,
    helper: 'text' | 'bytes' | 'json' | 'lines' | 'ndjson' | 'sse',
    method = 'GET',
  ): Promise<string[]> {
    const seen: string[] = [];
    const http = createClient({
      fetch: fakeFetch(respond).fetch,
      onDownloadProgress: ({ transferred, total, percent }) =>
        void seen.push(`${transferred}/${total}/${percent}`),
    });
    const response = http.request('http://x.test', { method });
    if (helper === 'text' || helper === 'bytes' || helper === 'json') await response[helper]();
    else for await (const _ of response[helper]()) void _;
    return seen;
  }

  /** A body that arrives in the given pieces. */
  function pieces(parts: string[], headers: Record<string, string> = {}): () => Response {
    return () => {
      const bytes = parts.map((part) => new TextEncoder().encode(part));
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = bytes.shift();
          if (next === undefined) controller.close();
          else controller.enqueue(next);
        },
      });
      return new Response(body, { headers });
    };
  }

  const helpers = ['text', 'bytes', 'json', 'lines', 'ndjson', 'sse'] as const;

  test('every helper reports the same events for a body of known length', async () => {
    const respond = pieces(['1', '2 \n'], { 'content-length': '4' });
    for (const helper of helpers) {
      expect(await progressOf(respond, helper), helper).toEqual(['0/4/0', '1/4/0.25', '4/4/1']);
    }
  });

  test('with no content-length every helper ends on an event that completes the bar', async () => {
    const respond = pieces(['1', '2 \n']);
    for (const helper of helpers) {
      expect(await progressOf(respond, helper), helper).toEqual([
        '0/undefined/undefined',
        '1/undefined/undefined',
        '4/undefined/undefined',
        '4/4/1',
      ]);
    }
  });

  test('a body announced as 0 bytes, and a HEAD response, report total 0 and percent 1 once', async () => {
    const empty = pieces([], { 'content-length': '0' });
    const head = (): Response => new Response(null, { headers: { 'content-length': '1000' } });
    for (const helper of helpers) {
      expect(await progressOf(empty, helper), helper).toEqual(['0/0/1']);
      expect(await progressOf(head, helper, 'HEAD'), helper).toEqual(['0/0/1']);
    }
  });

  test('a body longer than its content-length still ends with total equal to transferred', async () => {
    const respond = pieces(['1\n', '23\n'], { 'content-length': '3' });
    for (const helper of ['text', 'lines'] as const) {
      expect(await progressOf(respond, helper), helper).toEqual([
        '0/3/0',
        '2/3/0.6666666666666666',
        '5/3/1',
        '5/5/1',
      ]);
    }
  });
});

describe('requests nobody reads', () => {
  test('closing the client with a request never awaited leaves no unhandled rejection; awaiting it later gives the error', async () => {
    const { fetch } = fakeFetch(never);
    const http = createClient({ fetch });
    const unhandled = await collectUnhandled(async () => {
      const forgotten = http.get('http://x.test');
      await new Promise((r) => setTimeout(r, 0));
      await http.close();
      await new Promise((r) => setTimeout(r, 0));
      expect(await rejection(forgotten.text())).toBeInstanceOf(CancelledError);
    });
    expect(unhandled).toEqual([]);
    expect(http.active).toBe(0);
  });
});
