// Option and hook types shared by the client, the request pipeline and the body helpers.
import type { Clock } from '@weft/core';

/**
 * An HTTP method. Any token is accepted; these are the common ones.
 *
 * @example
 * ```ts
 * const method: HttpMethod = 'PATCH';
 * await http.request('/items/1', { method, json: { done: true } });
 * ```
 */
export type HttpMethod =
  | 'GET'
  | 'HEAD'
  | 'POST'
  | 'PUT'
  | 'PATCH'
  | 'DELETE'
  | 'OPTIONS'
  | 'TRACE'
  | (string & {});

/**
 * The `fetch` the client calls: the standard one, or any function with its shape (Hono's
 * `app.request` as it is, a test double); it may return the response or a promise of it.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 *
 * const app = new Hono().get('/ping', (c) => c.text('pong'));
 * const http = createClient({ fetch: app.request });
 * console.log(await http.get('http://in.process/ping').text()); // pong
 * ```
 */
export type FetchLike = (
  input: string | URL | Request,
  init?: RequestInit,
) => Response | PromiseLike<Response>;

/** A chunk of a streamed request body: text (sent as UTF-8) or bytes. */
export type BodyChunk = string | ArrayBuffer | ArrayBufferView;

/**
 * What a request may send: anything `fetch` takes, or a one-shot stream of chunks (a
 * `ReadableStream` or an async iterable such as an async generator).
 */
export type RequestBody = BodyInit | ReadableStream<BodyChunk> | AsyncIterable<BodyChunk>;

/**
 * Query parameters: appended to the URL's own; `undefined`/`null` values are left out,
 * arrays repeat the key.
 *
 * @example
 * ```ts
 * const query: QueryInit = { page: 2, tag: ['a', 'b'], draft: undefined };
 * await http.get('/posts', { query }); // /posts?page=2&tag=a&tag=b
 * ```
 */
export type QueryInit =
  | URLSearchParams
  | string
  | Record<
      string,
      string | number | boolean | undefined | null | readonly (string | number | boolean)[]
    >;

/**
 * A rate limiter, by its shape: anything whose `acquire({ signal })` resolves when a
 * request may go, such as `@weft/core`'s `RateLimiter` (or a distributed one). When the
 * promise resolves with a disposable (`Symbol.dispose`/`Symbol.asyncDispose`) or an
 * object with `release()`, the client releases it once the attempt is over.
 *
 * @example
 * ```ts
 * import { RateLimiter } from '@weft/core';
 *
 * const rateLimit: RateLimitLike = new RateLimiter({ limit: 10, interval: 1000 });
 * const http = createClient({ rateLimit });
 * ```
 */
export interface RateLimitLike {
  acquire(options?: { signal?: AbortSignal }): Promise<unknown>;
}

/**
 * How failed attempts are retried. Every field has a default (see the README's table).
 *
 * @example
 * ```ts
 * const http = createClient({
 *   retry: { limit: 4, statusCodes: [503], backoff: { initial: 100 }, maxRetryAfter: 5000 },
 * });
 * await http.post('/jobs', { json: {}, retry: { methods: ['POST'] } }); // POST only when asked
 * ```
 */
export interface RetryOptions {
  /** How many retries after the first attempt. @default 2 */
  limit?: number;
  /** Methods that are retried (upper case). POST and PATCH are not, unless listed. @default ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE'] */
  methods?: readonly string[];
  /** Response statuses that are retried. @default [408, 413, 429, 500, 502, 503, 504] */
  statusCodes?: readonly number[];
  /** Whether a {@link NetworkError} (refused, reset…) is retried. @default true */
  networkErrors?: boolean;
  /**
   * The wait before retry `n` (0-based) is `initial × factor^n`, capped at `max`; with
   * `jitter: 'full'` a random time between 0 and that.
   * @default { initial: 300, factor: 2, max: 10_000, jitter: 'full' }
   */
  backoff?: { initial?: number; factor?: number; max?: number; jitter?: 'full' | 'none' };
  /**
   * The longest `Retry-After` / `RateLimit-Reset` wait honoured, in ms. A response that
   * asks for a longer one is not retried; its error says why. An HTTP date in
   * `Retry-After` is UTC in all three of its forms (asctime, which writes no zone,
   * included); of a `RateLimit` field listing several quotas, the exhausted ones (`r=0`)
   * count, the one that resets last.
   * @default 60_000
   */
  maxRetryAfter?: number;
}

/**
 * What the hooks see of the request being sent.
 *
 * @example
 * ```ts
 * const http = createClient({
 *   hooks: { beforeRequest: [(request: RequestInfo) => request.headers.set('x-attempt', String(request.attempt))] },
 * });
 * ```
 */
export interface RequestInfo {
  /**
   * The URL of this attempt (after `baseUrl` and `query`; after redirects, the current
   * one). A `beforeRequest` hook gets its own copy per attempt and hop: what it changes
   * applies to that attempt or hop only. It may also replace it with another `URL` or an
   * absolute URL string (anything else is a `TypeError`).
   */
  url: URL;
  method: string;
  /**
   * The headers to send; a `beforeRequest` hook may change them (its own copy per attempt
   * and hop, made from the request's headers as configured), or replace them with
   * anything `Headers` takes (a record, a list of pairs; anything else is a `TypeError`).
   */
  headers: Headers;
  /** 0 for the first attempt, 1 for the first retry… */
  readonly attempt: number;
}

/**
 * Passed to `beforeRetry`.
 *
 * @example
 * ```ts
 * const http = createClient({
 *   hooks: { beforeRetry: [({ error, retry, delay }: RetryInfo) => console.warn(`retry ${retry} in ${delay} ms`, error)] },
 * });
 * ```
 */
export interface RetryInfo {
  readonly request: RequestInfo;
  /** Why the attempt failed: an `HttpError` or a `NetworkError`. */
  readonly error: Error;
  /** The retry about to happen: 1 for the first. */
  readonly retry: number;
  /** How long the client waits before it, in ms. */
  readonly delay: number;
}

/**
 * Hooks, called in order (the client's, then the request's). A hook may be async; when
 * it throws, the request fails with that error (no retry). A hook still running when the
 * request is cancelled (the caller's signal, `totalTimeout`, the enclosing scope, the
 * client closed) is not waited for: the request rejects with the canceller's reason.
 *
 * @example
 * ```ts
 * const hooks: Hooks = {
 *   beforeRequest: [(request) => request.headers.set('authorization', `Bearer ${token()}`)],
 *   onError: [(error, request) => console.error(request.method, request.url.href, error)],
 * };
 * const http = createClient({ hooks });
 * ```
 */
export interface Hooks {
  /**
   * Before each attempt (and each redirect hop); may change `request.headers` or
   * `request.url`. Each call gets a fresh copy of the URL and headers as configured for
   * that attempt or hop, so a change applies to it only: a retry, or the next hop, starts
   * again from the request as configured (an edit never compounds, `/v2/v2/items`).
   * Only these hooks may edit the request: the other hooks and the errors of the attempt
   * see the same (edited) copy, and what they change in it is never sent (though it may
   * appear in an error's message and `url`, or a raw response's `url`). Credentials set
   * here reach the first origin only: once a redirect changed the origin,
   * `Authorization`, `Cookie` and `Proxy-Authorization` are removed after these hooks.
   */
  beforeRequest?: ReadonlyArray<(request: RequestInfo) => void | Promise<void>>;
  /**
   * After each response arrives (before the status check); may return a replacement
   * `Response`, or `undefined` to keep it. Any other value (`null`, a string, a plain
   * object) fails the request with a `TypeError` naming the hook (`hooks.afterResponse[i]`,
   * the client's hooks first) and the value; the response is cancelled.
   */
  afterResponse?: ReadonlyArray<
    (
      response: Response,
      request: RequestInfo,
    ) => Response | undefined | Promise<Response | undefined>
  >;
  /** Before waiting for a retry. */
  beforeRetry?: ReadonlyArray<(info: RetryInfo) => void | Promise<void>>;
  /**
   * When the request fails for good; may return another error to raise instead: any
   * value but `undefined` replaces the error (in JavaScript any value can be thrown, so
   * `null`, `0` or `''` become the rejection value: return `undefined`, or nothing, to
   * keep the error). The
   * request is still in flight meanwhile (`active` counts it, `close()` waits for it; its
   * slots are already free), and a cancellation then (the caller's signal,
   * `totalTimeout`, the enclosing scope's deadline, `close()`) ends the wait: the request
   * rejects with the canceller's reason (the hooks after it are still called with that
   * reason). When the failure is itself a cancellation (or the client was closed), every
   * hook is still called, once, but a promise it returns is not waited for; a value
   * returned synchronously still replaces the error.
   */
  onError?: ReadonlyArray<(error: unknown, request: RequestInfo) => unknown | Promise<unknown>>;
}

/**
 * Progress of a download, from the streamed body. Every helper (`text`, `bytes`, `json`,
 * `lines`, `ndjson`, `sse`) reports the same events: one at 0 bytes, one per chunk
 * received, and, once the body has been read to its end, one with `total === transferred`
 * and `percent: 1` unless the last chunk's event already said so. A body that is not read
 * to its end (an error, a `break`) gets no completing event. A response with no body (HEAD,
 * 204) and a `content-length: 0` body report `{ transferred: 0, total: 0, percent: 1 }` once.
 *
 * @example
 * ```ts
 * await http.get('/big.bin', {
 *   onDownloadProgress: ({ transferred, percent }: Progress) =>
 *     console.log(percent === undefined ? `${transferred} B` : `${Math.round(percent * 100)}%`),
 * }).bytes();
 * ```
 */
export interface Progress {
  /** Bytes received so far. */
  transferred: number;
  /**
   * Bytes expected (`content-length`), or `undefined` when the server did not say (or the
   * body is content-encoded, where `content-length` counts encoded bytes); the completing
   * event sets it to `transferred`.
   */
  total: number | undefined;
  /** `transferred / total` in [0, 1], or `undefined` when `total` is unknown. */
  percent: number | undefined;
}

/**
 * Options shared by the client and each request; a request's value wins.
 *
 * @example
 * ```ts
 * const shared: SharedOptions = { timeout: 5000, retry: 1 };
 * const http = createClient(shared);
 * await http.get('/slow', { timeout: 30_000 }).text(); // this request: 30 s
 * ```
 */
export interface SharedOptions {
  /** Default headers; a request's headers are merged over them. */
  headers?: HeadersInit;
  /** Per-attempt timeout in ms, covering the response and reading its body. @default 10_000 */
  timeout?: number;
  /** Timeout of the whole request, retries and waits included, in ms. @default Infinity */
  totalTimeout?: number;
  /** Retry policy; a number is `{ limit }`; `false` turns retries off. @default { limit: 2 } */
  retry?: RetryOptions | number | false;
  /** Throw an `HttpError` for a non-2xx status. @default true */
  throwHttpErrors?: boolean;
  /**
   * The largest body the buffered helpers (`json`, `text`, `bytes`) and one line or event
   * of the streaming helpers may hold, in bytes; a raw `Response` (`await`ed) is not
   * capped. Through `@weft/http/effect`, the client's value caps every response body.
   * @default Infinity
   */
  maxResponseSize?: number;
  /**
   * How many redirects are followed before a `RedirectError`; 0 hands back a 301, 302, 303,
   * 307 or 308 response as it is (no `HttpError`), to read its `Location`. @default 10
   */
  maxRedirects?: number;
  /** Hooks; a request's are called after the client's. */
  hooks?: Hooks;
  /** Called as the body streams in through a helper. */
  onDownloadProgress?: (progress: Progress) => void;
}

/**
 * Options of {@link createClient}.
 *
 * @example
 * ```ts
 * const options: ClientOptions = { baseUrl: 'http://127.0.0.1:8080', concurrency: 10, perHost: 4 };
 * await using http = createClient(options);
 * ```
 */
export interface ClientOptions extends SharedOptions {
  /**
   * Base URL that relative request URLs go under: a path is appended to the base's path
   * (a `/` added to it, the path's leading slashes dropped), so `/users` under
   * `http://api/v1` is `http://api/v1/users`, and no path leaves the base's origin. An
   * absolute URL bypasses it. No query or fragment (a `TypeError`: they would be dropped).
   */
  baseUrl?: string | URL;
  /** Most requests in flight at once across the client (a request holds its slot until its body is read). @default Infinity */
  concurrency?: number;
  /**
   * Most requests in flight at once per host (`host:port`): the host the request talks
   * to. A redirect to another host gives back the request's permits and waits for a slot
   * of that host, then for `concurrency`, then for `rateLimit` again (within the attempt's
   * timeout): under `perHost` a cross-host hop takes a rate-limit token again, as a new
   * request would. @default Infinity
   */
  perHost?: number;
  /** A rate limiter every attempt waits for (e.g. `new RateLimiter({ limit: 10, interval: 1000 })`). */
  rateLimit?: RateLimitLike;
  /** The transport. @default globalThis.fetch */
  fetch?: FetchLike;
  /** Where timeouts and retry waits take their time from. @default the enclosing task's clock, else systemClock */
  clock?: Clock;
}

/**
 * Options of one request.
 *
 * @example
 * ```ts
 * const options: RequestOptions = { query: { q: 'weft' }, headers: { 'x-id': '1' }, signal: AbortSignal.timeout(2000) };
 * await http.get('/search', options).json();
 * ```
 */
export interface RequestOptions extends SharedOptions {
  /** The method, for `request()`. @default 'GET' */
  method?: HttpMethod;
  /** Query parameters appended to the URL. */
  query?: QueryInit;
  /** A JSON body: serialised with `JSON.stringify`, `content-type: application/json`. */
  json?: unknown;
  /**
   * A raw body (string, bytes, `FormData`, `URLSearchParams`, `Blob`, stream). A stream
   * (a `ReadableStream` or an async iterable) is never retried nor replayed on a 307/308,
   * and is cancelled with the reason when the request is aborted, times out, the client
   * closes, or the request ends before the body was sent.
   */
  body?: RequestBody | null;
  /** Cancels the request; inside a weft task it adds to the task's signal. The request rejects with its reason. */
  signal?: AbortSignal;
}

/**
 * One Server-Sent Event, as `.sse()` yields it.
 *
 * @example
 * ```ts
 * for await (const event of http.get('/events', { timeout: Infinity }).sse()) {
 *   const { event: name, data, id }: ServerSentEvent = event;
 *   console.log(name, data, id);
 * }
 * ```
 */
export interface ServerSentEvent {
  /** The `event:` field. @default 'message' */
  event: string;
  /** The `data:` lines, joined with `\n`. */
  data: string;
  /** The last `id:` seen in the stream (it carries over), or `undefined`. */
  id: string | undefined;
  /** The `retry:` field in ms, when this event had one. */
  retry: number | undefined;
}

/**
 * A Standard Schema v1: zod, valibot, Effect Schema (`Schema.standardSchemaV1`)… or your own.
 *
 * @example
 * ```ts
 * const Id: StandardSchemaV1<unknown, number> = {
 *   '~standard': { version: 1, vendor: 'mine', validate: (v) => (typeof v === 'number' ? { value: v } : { issues: [{ message: 'not a number' }] }) },
 * };
 * const id = await http.get('/id').json(Id); // number
 * ```
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/**
 * The output type of a Standard Schema: what `.json(schema)` resolves with.
 *
 * @example
 * ```ts
 * import type { SchemaOutput } from '@weft/http';
 * import { z } from 'zod';
 *
 * const Post = z.object({ id: z.number() });
 * type Post = SchemaOutput<typeof Post>; // { id: number }
 * ```
 */
export type SchemaOutput<S extends StandardSchemaV1> = NonNullable<
  S['~standard']['types']
>['output'];

/**
 * The result of a Standard Schema validation: a `value`, or `issues`.
 *
 * @example
 * ```ts
 * const ok: StandardResult<number> = { value: 1 };
 * const bad: StandardResult<number> = { issues: [{ message: 'Expected number', path: ['id'] }] };
 * ```
 */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | {
      readonly issues: ReadonlyArray<{
        readonly message: string;
        readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
      }>;
    };
