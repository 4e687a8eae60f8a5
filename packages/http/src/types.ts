// Option and hook types shared by the client, the request pipeline and the body helpers.
import type { Clock } from '@weft/core';

/** An HTTP method. Any token is accepted; these are the common ones. */
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

/** The `fetch` the client calls: the standard one, or any function with its shape (Hono's `app.request`). */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Query parameters: appended to the URL's own; `undefined` values are left out, arrays repeat the key. */
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
 */
export interface RateLimitLike {
  acquire(options?: { signal?: AbortSignal }): Promise<unknown>;
}

/** How failed attempts are retried. Every field has a default (see the README's table). */
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
   * asks for a longer one is not retried; its error says why.
   * @default 60_000
   */
  maxRetryAfter?: number;
}

/** What the `beforeRequest` hook and the other hooks see of the request being sent. */
export interface RequestInfo {
  /** The URL of this attempt (after `baseUrl` and `query`; after redirects, the current one). */
  url: URL;
  method: string;
  /** The headers to send; a `beforeRequest` hook may change them. */
  headers: Headers;
  /** 0 for the first attempt, 1 for the first retry… */
  readonly attempt: number;
}

/** Passed to `beforeRetry`. */
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
 * it throws, the request fails with that error (no retry).
 */
export interface Hooks {
  /** Before each attempt (and each redirect hop); may change `request.headers` or `request.url`. */
  beforeRequest?: ReadonlyArray<(request: RequestInfo) => void | Promise<void>>;
  /** After each response arrives (before the status check); may return a replacement `Response`. */
  afterResponse?: ReadonlyArray<
    (
      response: Response,
      request: RequestInfo,
    ) => Response | undefined | Promise<Response | undefined>
  >;
  /** Before waiting for a retry. */
  beforeRetry?: ReadonlyArray<(info: RetryInfo) => void | Promise<void>>;
  /** When the request fails for good; may return another error to raise instead. */
  onError?: ReadonlyArray<(error: unknown, request: RequestInfo) => unknown | Promise<unknown>>;
}

/** Progress of a download, from the streamed body. */
export interface Progress {
  /** Bytes received so far. */
  transferred: number;
  /** Bytes expected (`content-length`), or `undefined` when the server did not say. */
  total: number | undefined;
  /** `transferred / total` in [0, 1], or `undefined` when `total` is unknown. */
  percent: number | undefined;
}

/** Options shared by the client and each request; a request's value wins. */
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
  /** The largest body the buffered helpers (`json`, `text`, `bytes`) and one line or event of the streaming helpers may hold, in bytes. @default Infinity */
  maxResponseSize?: number;
  /** How many redirects are followed before a `RedirectError`; 0 hands back the 3xx response. @default 10 */
  maxRedirects?: number;
  /** Hooks; a request's are called after the client's. */
  hooks?: Hooks;
  /** Called as the body streams in through a helper. */
  onDownloadProgress?: (progress: Progress) => void;
}

/** Options of {@link createClient}. */
export interface ClientOptions extends SharedOptions {
  /** Base URL that relative request URLs resolve against (`new URL(path, baseUrl)`, with a trailing `/` added). */
  baseUrl?: string | URL;
  /** Most requests in flight at once across the client (a request holds its slot until its body is read). @default Infinity */
  concurrency?: number;
  /** Most requests in flight at once per host (`host:port`). @default Infinity */
  perHost?: number;
  /** A rate limiter every attempt waits for (e.g. `new RateLimiter({ limit: 10, interval: 1000 })`). */
  rateLimit?: RateLimitLike;
  /** The transport. @default globalThis.fetch */
  fetch?: FetchLike;
  /** Where timeouts and retry waits take their time from. @default the enclosing task's clock, else systemClock */
  clock?: Clock;
}

/** Options of one request. */
export interface RequestOptions extends SharedOptions {
  /** The method, for `request()`. @default 'GET' */
  method?: HttpMethod;
  /** Query parameters appended to the URL. */
  query?: QueryInit;
  /** A JSON body: serialised with `JSON.stringify`, `content-type: application/json`. */
  json?: unknown;
  /** A raw body (string, bytes, `FormData`, `URLSearchParams`, `Blob`, stream). A stream is never retried nor replayed on a 307/308. */
  body?: BodyInit | null;
  /** Cancels the request; inside a weft task it adds to the task's signal. The request rejects with its reason. */
  signal?: AbortSignal;
}

/** One Server-Sent Event, as `.sse()` yields it. */
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

/** A Standard Schema v1 (zod, valibot, Effect Schema via `Schema.standardSchemaV1`…). */
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

/** The result of a Standard Schema validation. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | {
      readonly issues: ReadonlyArray<{
        readonly message: string;
        readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
      }>;
    };
