import { CancelledError, callerContext, map, mapSettled } from '@weft/core';
import {
  type ClientConfig,
  REQUEST_KEYS,
  resolveClient,
  resolveRequest,
} from './internal/config.ts';
import { Operation, OperationList, type Owner, SignalGroups } from './internal/operation.ts';
import type { RetryPolicy } from './internal/retry.ts';
import { assertBoolean, assertCount, assertOptions, describe } from './internal/validate.ts';
import { makeResponsePromise, type ResponsePromise } from './response-promise.ts';
import type { ClientOptions, RequestOptions, StandardSchemaV1 } from './types.ts';

/**
 * Options of {@link HttpClient.getAll}: a GET's options plus how many at once and how
 * results come back.
 *
 * @example
 * ```ts
 * const options: GetAllOptions = { concurrency: 4, as: 'text', timeout: 5000 };
 * const pages = await http.getAll(['/a', '/b'], options);
 * ```
 */
export interface GetAllOptions extends Omit<RequestOptions, 'method' | 'json' | 'body'> {
  /** Most requests in flight at once (within the client's own limits). @default Infinity */
  concurrency?: number;
  /** Resolve with one `PromiseSettledResult` per URL instead of failing fast. @default false */
  settle?: boolean;
  /** How each body is read. @default 'json' */
  as?: 'json' | 'text' | 'bytes';
  /** A Standard Schema each JSON body must match (with `as: 'json'`). */
  schema?: StandardSchemaV1;
}

const GET_ALL_KEYS = ['concurrency', 'settle', 'as', 'schema'];

/**
 * An HTTP client over `fetch`, like httpx's `AsyncClient`: default headers, base URL,
 * timeouts, retries, limits and hooks for every request it sends. Dispose it (`await
 * using`) to cancel the requests still in flight and wait for them to end.
 *
 * Made by {@link createClient}.
 *
 * @example
 * ```ts
 * import { createClient } from '@weft/http';
 *
 * await using http = createClient({ baseUrl: 'http://127.0.0.1:8080', timeout: 5000 });
 * const user = await http.get('/users/1').json();
 * await http.post('/users', { json: { name: 'Ada' } });
 * ```
 */
// What the package's own adapters (the Effect layer) need of each client's settings;
// not exported by the package.
const adapterSettings = new WeakMap<
  HttpClient,
  { statusRetry: RetryPolicy | undefined; maxResponseSize: number }
>();

/**
 * The retry policy `client` applies to statuses (internal to the package): `undefined`
 * when it does not retry statuses (`throwHttpErrors: false`).
 */
export function statusRetryPolicyOf(client: HttpClient): RetryPolicy | undefined {
  return adapterSettings.get(client)?.statusRetry;
}

/** `client`'s `maxResponseSize` (internal to the package; `Infinity` when none). */
export function maxResponseSizeOf(client: HttpClient): number {
  return adapterSettings.get(client)?.maxResponseSize ?? Number.POSITIVE_INFINITY;
}

export class HttpClient implements AsyncDisposable {
  readonly #config: ClientConfig;
  readonly #owner: Owner;
  #closed: CancelledError | undefined;

  /** Same as {@link createClient}. */
  constructor(options?: ClientOptions) {
    const config = resolveClient(options);
    this.#config = config;
    adapterSettings.set(this, {
      statusRetry: config.throwHttpErrors ? config.retry : undefined,
      maxResponseSize: config.maxResponseSize,
    });
    const fetchFn = config.fetch;
    this.#owner = {
      // The global fetch is looked up per request, so a runtime's late polyfill still applies.
      fetch: fetchFn ?? ((input, init) => globalThis.fetch(input, init)),
      injected: fetchFn !== undefined,
      concurrency: config.concurrency,
      perHost: config.perHost,
      hosts: new Map(),
      rateLimit: config.rateLimit,
      operations: new OperationList(),
      callerSignals: new SignalGroups(),
      random: Math.random,
    };
  }

  /**
   * How many requests are in flight: sent, retrying, or with a body not yet read or
   * cancelled. `0` once everything has ended.
   */
  get active(): number {
    return this.#owner.operations.size;
  }

  /** Whether the client was closed; requests on a closed client reject with `CancelledError`. */
  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /**
   * Sends a request (`options.method`, default GET). Throws a `TypeError`/`RangeError` at
   * once for invalid arguments; everything else is a rejection of the returned promise:
   * `HttpError` (non-2xx), `NetworkError`, `TimeoutError`, `RedirectError`, the abort
   * reason of `signal` or of the enclosing weft task, `CancelledError` when the client is
   * closed.
   */
  request(url: string | URL, options?: RequestOptions): ResponsePromise {
    return this.#send(url, options, undefined);
  }

  /** A GET request. See {@link HttpClient.request}. */
  get(url: string | URL, options?: Omit<RequestOptions, 'method'>): ResponsePromise {
    return this.#send(url, options, 'GET');
  }

  /** A POST request (not retried unless `retry.methods` lists POST). */
  post(url: string | URL, options?: Omit<RequestOptions, 'method'>): ResponsePromise {
    return this.#send(url, options, 'POST');
  }

  /** A PUT request. */
  put(url: string | URL, options?: Omit<RequestOptions, 'method'>): ResponsePromise {
    return this.#send(url, options, 'PUT');
  }

  /** A PATCH request (not retried unless `retry.methods` lists PATCH). */
  patch(url: string | URL, options?: Omit<RequestOptions, 'method'>): ResponsePromise {
    return this.#send(url, options, 'PATCH');
  }

  /** A DELETE request. */
  delete(url: string | URL, options?: Omit<RequestOptions, 'method'>): ResponsePromise {
    return this.#send(url, options, 'DELETE');
  }

  /** A HEAD request. */
  head(url: string | URL, options?: Omit<RequestOptions, 'method'>): ResponsePromise {
    return this.#send(url, options, 'HEAD');
  }

  /**
   * GETs every URL, at most `concurrency` at once, and resolves with the bodies in input
   * order (aiohttp's "fetch many URLs"). The first failure cancels the requests in flight,
   * waits for them, and rejects with that failure; with `settle: true` every URL gets a
   * `PromiseSettledResult` instead. Cancelled with `signal` or the enclosing task.
   *
   * @example
   * ```ts
   * const posts = await http.getAll(['/posts/1', '/posts/2', '/posts/3'], { concurrency: 2 });
   * const outcomes = await http.getAll(urls, { settle: true, as: 'text' });
   * ```
   */
  getAll<T = unknown>(
    urls: Iterable<string | URL>,
    options: GetAllOptions & { settle: true },
  ): Promise<PromiseSettledResult<T>[]>;
  getAll<T = unknown>(
    urls: Iterable<string | URL>,
    options?: GetAllOptions & { settle?: false },
  ): Promise<T[]>;
  getAll(urls: Iterable<string | URL>, options?: GetAllOptions): Promise<unknown[]> {
    try {
      if (
        typeof urls !== 'object' ||
        urls === null ||
        typeof (urls as Iterable<unknown>)[Symbol.iterator] !== 'function'
      ) {
        throw new TypeError(`Expected \`urls\` to be an iterable of URLs, got ${describe(urls)}`);
      }
      assertOptions(
        'options',
        options,
        [...GET_ALL_KEYS, ...REQUEST_KEYS].filter(
          (k) => k !== 'method' && k !== 'json' && k !== 'body',
        ),
      );
      assertCount('options.concurrency', options?.concurrency);
      assertBoolean('options.settle', options?.settle);
      const as = options?.as ?? 'json';
      if (as !== 'json' && as !== 'text' && as !== 'bytes') {
        throw new TypeError(
          `Expected \`options.as\` to be 'json', 'text' or 'bytes', got ${describe(as)}`,
        );
      }
      const { concurrency, settle, as: _as, schema, signal, ...request } = options ?? {};
      if (schema !== undefined && as !== 'json') {
        throw new TypeError("Expected `options.schema` only with `as: 'json'`");
      }
      const one = (
        url: string | URL,
        { signal: taskSignal }: { signal: AbortSignal },
      ): Promise<unknown> => {
        const res = this.get(url, { ...request, signal: taskSignal });
        if (as === 'text') return res.text();
        if (as === 'bytes') return res.bytes();
        return schema === undefined ? res.json() : res.json(schema);
      };
      const mapOptions = { concurrency: concurrency ?? Number.POSITIVE_INFINITY, signal };
      return settle ? mapSettled(urls, one, mapOptions) : map(urls, one, mapOptions);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Closes the client: new requests reject, requests in flight (bodies being read
   * included) are cancelled with a `CancelledError`, and it resolves once all of them
   * have ended. Calling it again waits again; it never rejects.
   */
  async close(): Promise<void> {
    this.#closed ??= new CancelledError('The HTTP client was closed');
    const operations = this.#owner.operations.toArray();
    for (const op of operations) op.abort(this.#closed);
    await Promise.all(operations.map((op) => op.done));
  }

  /** Same as {@link HttpClient.close}: `await using http = createClient()`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #send(
    url: string | URL,
    options: RequestOptions | undefined,
    method: string | undefined,
  ): ResponsePromise {
    const config = resolveRequest(this.#config, url, options, method);
    const clock = this.#config.clock;
    // The enclosing task's signal, clock and deadline. The `signal` option is not joined
    // to the task's here (that would add a listener to each per request): the operation
    // joins the client's group of each signal, one listener per signal per client.
    const caller = callerContext(clock === undefined ? undefined : { clock });
    return makeResponsePromise(new Operation(this.#owner, config, caller, this.#closed));
  }
}

/**
 * Creates an {@link HttpClient}. Every option has a default (see the README's table):
 * 10 s per attempt, 2 retries of idempotent methods on 408/413/429/500/502/503/504 and
 * network errors with exponential backoff and full jitter, `Retry-After` honoured up to
 * 60 s, up to 10 redirects (credentials dropped across origins), no limits on
 * concurrency. Throws a `TypeError`/`RangeError` naming any invalid option.
 *
 * Inside a weft task, every request takes the task's signal, deadline and clock without
 * being passed them, like `sleep` does.
 *
 * @example
 * ```ts
 * import { RateLimiter } from '@weft/core';
 * import { createClient } from '@weft/http';
 *
 * await using http = createClient({
 *   baseUrl: 'http://127.0.0.1:8080',
 *   headers: { authorization: 'Bearer token' },
 *   concurrency: 10,
 *   perHost: 4,
 *   rateLimit: new RateLimiter({ limit: 20, interval: 1000 }),
 *   retry: { limit: 3, maxRetryAfter: 30_000 },
 * });
 * const todos = await http.get('/todos', { query: { userId: 1 } }).json();
 * ```
 */
export function createClient(options?: ClientOptions): HttpClient {
  return new HttpClient(options);
}
