import * as PlatformClient from '@effect/platform/HttpClient';
import * as ClientError from '@effect/platform/HttpClientError';
import * as ClientRequest from '@effect/platform/HttpClientRequest';
import * as ClientResponse from '@effect/platform/HttpClientResponse';
import { toEffect } from '@weft/core/effect';
import { Effect, Layer, Stream } from 'effect';
import { createClient, HttpClient, maxResponseSizeOf, statusRetryPolicyOf } from '../client.ts';
import { HttpError, type RequestLike, ResponseTooLargeError } from '../errors.ts';
import { contentLength, ERROR_BODY_LIMIT, readExcerpt } from '../internal/body.ts';
import { joinBaseUrl, parseBaseUrl } from '../internal/config.ts';
import { describe } from '../internal/validate.ts';
import type { ClientOptions, RequestInfo } from '../types.ts';

/**
 * An `@effect/platform` `HttpClient` that sends every request through the weft
 * {@link HttpClient} `client`, so Effect code gets weft's retries, limits, rate limiting,
 * hooks and timeouts. The returned client does not own `client`: close it yourself.
 *
 * - **Any status is a response**, as with Effect's own clients (add
 *   `HttpClient.filterStatusOk` to fail on non-2xx). weft's retries still apply: a
 *   retryable status (503, 429…) is retried by `client`'s policy, and only the last
 *   response is handed over, with its whole body. A non-2xx body is read ahead, under
 *   the per-attempt timeout, up to 64 KiB: one that ends within that is kept in memory
 *   and the weft request ends before the response is handed over, so its concurrency
 *   slot is free even if nobody reads it (`filterStatusOk` drops it unread). A longer one
 *   is handed over as what was read followed by the live rest, holding the slot until it
 *   is read or cancelled, like a 2xx body. One exception: when weft stops retrying before
 *   the last attempt (the wait would pass `totalTimeout`, or `Retry-After` exceeds
 *   `maxRetryAfter`), that response is already over, and it is handed over with the
 *   excerpt of its body weft kept (its first 1,024 characters, `BODY_EXCERPT_LIMIT`).
 * - **A response you never read** (a 2xx one, or a non-2xx one over 64 KiB) holds its
 *   weft request (and slot), as a fetch response holds its connection, until Effect
 *   aborts it: when the scope closes under `HttpClient.withScope`, else when it is
 *   garbage collected. Read its body, or use `withScope`.
 * - **Errors** are `HttpClientError`s: a request that fails before a response (a
 *   `NetworkError`, a `TimeoutError`, a `RedirectError`, a hook's error, a closed client)
 *   is a `RequestError` with reason `'Transport'` and the weft error as `cause` (a
 *   `bodyStream` that fails: its own error as `cause`). A failure
 *   while reading the body (a timeout covers the body too) is Effect's `ResponseError`
 *   with reason `'Decode'`, the weft error as `cause`.
 * - **`maxResponseSize`** (the client's) caps every response body, whatever its status:
 *   past it, reading fails with a `ResponseError` with reason `'Decode'` whose `cause` is
 *   weft's `ResponseTooLargeError` (at once for a `content-length` over the cap), and the
 *   weft body is cancelled.
 * - **Interruption** (`Effect.timeout`, `Fiber.interrupt`) cancels the weft request and
 *   completes once it has ended; a streamed request body (`HttpClientRequest.bodyStream`)
 *   is cancelled with it, so its `Stream`'s finalizers run.
 * - **Bodies** are read from the weft response: `response.stream` is an Effect `Stream`,
 *   and ending it early (`Stream.take`, an interruption) cancels the weft body, which
 *   frees the connection and `client`'s slot.
 * - **Time**: timeouts and retry waits use `client`'s clock; without one, the weft clock
 *   behind the fiber when it runs under `fromEffect` with a `TestClock`, else real time.
 *
 * Relative URLs need a `baseUrl` known to Effect (`HttpClientRequest.prependUrl`), or
 * {@link layer} with options that hold `baseUrl`.
 *
 * @example
 * ```ts
 * import { HttpClient } from '@effect/platform';
 * import { createClient } from '@weft/http';
 * import { make } from '@weft/http/effect';
 * import { Effect } from 'effect';
 *
 * // `await using` needs Node 24+, Bun or Deno; on Node 20 call `await http.close()` instead.
 * await using http = createClient({ retry: 3, timeout: 5000 });
 * const client = make(http);
 * const res = await Effect.runPromise(client.get('http://127.0.0.1:8080/todos/1'));
 * console.log(res.status);
 * ```
 */
export function make(client: HttpClient): PlatformClient.HttpClient {
  if (!(client instanceof HttpClient)) {
    throw new TypeError(
      `Expected \`client\` to be a weft HttpClient (createClient()), got ${describe(client)}`,
    );
  }
  return PlatformClient.make((request, url, signal) =>
    Effect.flatMap(bodyOf(request), (body) => send(client, request, url, signal, body)),
  );
}

/**
 * A `Layer` that provides `@effect/platform`'s `HttpClient.HttpClient` backed by a weft
 * client (see {@link make} for what requests do).
 *
 * - `layer(client)`: uses that client; the layer does not close it.
 * - `layer(options)`: creates a client with {@link createClient}`(options)` when the layer
 *   is built and closes it (cancelling the requests still in flight and waiting for them)
 *   when the layer is released. Relative request URLs resolve against `options.baseUrl`,
 *   as in weft. Invalid options throw a `TypeError`/`RangeError` here, at once.
 *
 * @example
 * ```ts
 * import { HttpClient, HttpClientResponse } from '@effect/platform';
 * import { layer } from '@weft/http/effect';
 * import { Effect } from 'effect';
 *
 * const program = Effect.gen(function* () {
 *   const client = (yield* HttpClient.HttpClient).pipe(HttpClient.filterStatusOk);
 *   const res = yield* client.get('/todos/1');
 *   return yield* res.json;
 * });
 * const todo = await Effect.runPromise(
 *   program.pipe(
 *     Effect.scoped,
 *     Effect.provide(layer({ baseUrl: 'http://127.0.0.1:8080', retry: 3, concurrency: 8 })),
 *   ),
 * );
 * ```
 */
export function layer(
  clientOrOptions?: HttpClient | ClientOptions,
): Layer.Layer<PlatformClient.HttpClient> {
  if (clientOrOptions instanceof HttpClient) {
    return Layer.succeed(PlatformClient.HttpClient, make(clientOrOptions));
  }
  const options = clientOrOptions;
  // Validates the options now (a client holds nothing until it sends a request).
  createClient(options);
  const base = parseBaseUrl(options?.baseUrl);
  return Layer.scoped(
    PlatformClient.HttpClient,
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => createClient(options)),
        (client) => Effect.promise(() => client.close()),
      ),
      (client) => {
        const platform = make(client);
        return base === undefined
          ? platform
          : PlatformClient.mapRequestInput(platform, (request) => resolveAgainst(request, base));
      },
    ),
  );
}

/** A relative request URL resolved the way weft resolves it against `baseUrl`. */
function resolveAgainst(
  request: ClientRequest.HttpClientRequest,
  base: URL,
): ClientRequest.HttpClientRequest {
  const url = joinBaseUrl(base, request.url);
  return url === request.url ? request : ClientRequest.setUrl(request, url);
}

/** The request body as `fetch` takes it. */
function bodyOf(request: ClientRequest.HttpClientRequest): Effect.Effect<BodyInit | undefined> {
  const body = request.body;
  switch (body._tag) {
    case 'Raw':
      return Effect.succeed(body.body as BodyInit);
    case 'Uint8Array':
      return Effect.succeed(body.body as BodyInit);
    case 'FormData':
      return Effect.succeed(body.formData);
    case 'Stream':
      return Stream.toReadableStreamEffect(body.stream) as Effect.Effect<BodyInit>;
    default:
      return Effect.succeed(undefined);
  }
}

function send(
  client: HttpClient,
  request: ClientRequest.HttpClientRequest,
  url: URL,
  signal: AbortSignal,
  body: BodyInit | undefined,
): Effect.Effect<ClientResponse.HttpClientResponse, ClientError.HttpClientError> {
  return Effect.suspend(() => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      // fetch computes the length itself, as Effect's FetchHttpClient lets it.
      if (name !== 'content-length') headers.set(name, value);
    }
    const limit = maxResponseSizeOf(client);
    const info: RequestLike = { method: request.method, url };
    return toEffect(async ({ signal: task }) => {
      let response = await client.request(url, {
        method: request.method,
        headers,
        body,
        signal,
        // Every final response, whatever its status, is handed over as weft's own response,
        // so its body is read under weft's timeout and limits (the request stays open
        // until the body is read or cancelled). Retryable statuses are still retried.
        throwHttpErrors: false,
        hooks: { afterResponse: [retryStatuses(client, request.method, body)] },
      });
      if (limit !== Number.POSITIVE_INFINITY) response = capBody(response, limit, info);
      return response.ok ? response : bufferErrorBody(response, task);
    }).pipe(
      Effect.map((response) => ClientResponse.fromWeb(request, response)),
      Effect.catchAll((failure) => {
        const error = failure.cause;
        // weft gave up retrying a retryable status before its last attempt (the wait
        // would pass the total deadline, or Retry-After exceeds maxRetryAfter): that
        // response is over, and what is left of it is the excerpt weft read.
        if (error instanceof HttpError) {
          const excerpt = new Response(error.bodyExcerpt, {
            status: error.status,
            statusText: error.statusText,
            headers: error.response?.headers,
          });
          return Effect.succeed(
            ClientResponse.fromWeb(
              request,
              limit === Number.POSITIVE_INFINITY ? excerpt : capBody(excerpt, limit, info),
            ),
          );
        }
        return Effect.fail(
          new ClientError.RequestError({ request, reason: 'Transport', cause: error }),
        );
      }),
    );
  });
}

/**
 * An `afterResponse` hook that makes weft retry a retryable status although the request
 * does not throw on statuses: while `client`'s policy would retry the response (status,
 * method, replayable body, attempts left), it raises the `HttpError` weft retries on
 * (with `Retry-After`, backoff, `beforeRetry` hooks and the deadline as usual). The last
 * response passes through. A client made with `throwHttpErrors: false` retries no status,
 * as in weft.
 */
function retryStatuses(
  client: HttpClient,
  method: string,
  body: BodyInit | undefined,
): (response: Response, info: RequestInfo) => Promise<undefined> {
  const policy = statusRetryPolicyOf(client);
  const replayable = !(typeof ReadableStream !== 'undefined' && body instanceof ReadableStream);
  if (policy === undefined || !policy.methods.has(method.toUpperCase()) || !replayable) {
    return async () => undefined;
  }
  return async (response, info) => {
    if (response.ok || !policy.statusCodes.has(response.status) || info.attempt >= policy.limit) {
      return undefined;
    }
    const excerpt = await readExcerpt(response);
    throw new HttpError(info, response.status, response.statusText, excerpt, response);
  };
}

/**
 * `response` with a body that errors with weft's `ResponseTooLargeError` once more than
 * `limit` bytes arrive (the client's `maxResponseSize`, which weft's raw responses do not
 * apply), and cancels the weft body, which ends its request. A `content-length` over
 * `limit` errors it at once, before anything is read. Effect reports the error as a
 * `ResponseError` with reason `'Decode'`, as it does a body timeout.
 */
function capBody(response: Response, limit: number, request: RequestLike): Response {
  const source = response.body;
  if (source === null || NULL_BODY.has(response.status)) return response;
  const reader = source.getReader();
  let size = 0;
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>): void => {
    const error = new ResponseTooLargeError(request, limit);
    controller.error(error);
    reader.cancel(error).catch(() => {});
  };
  const length = contentLength(response);
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        if (length !== undefined && length > limit) fail(controller);
      },
      async pull(controller) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          controller.error(error);
          return;
        }
        if (result.done) return controller.close();
        size += result.value.byteLength;
        if (size > limit) fail(controller);
        else controller.enqueue(result.value);
      },
      cancel(reason) {
        return reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
  const capped = new Response(stream, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  Object.defineProperty(capped, 'url', { value: response.url });
  Object.defineProperty(capped, 'redirected', { value: response.redirected });
  return capped;
}

/** Statuses whose `Response` cannot have a body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * A non-2xx response with its body read ahead, up to `ERROR_BODY_LIMIT` (64 KiB): an
 * error body that ends within it is kept in memory and the weft request ends at once,
 * freeing its `concurrency`/`perHost` slot, so a response dropped unread (by
 * `HttpClient.filterStatusOk`) holds nothing. The returned response replays what was
 * read, then the end, the read's error (a timeout, a broken body: Effect reports it when
 * the body is read), or, for a longer body, the rest of the live weft body, which holds
 * the request until it is read or cancelled. Status and headers are kept.
 */
async function bufferErrorBody(response: Response, signal: AbortSignal): Promise<Response> {
  const source = response.body;
  if (source === null || NULL_BODY.has(response.status)) return response;
  const reader = source.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let done = false;
  let failure: { error: unknown } | undefined;
  try {
    while (size < ERROR_BODY_LIMIT) {
      const result = await reader.read();
      if (result.done) {
        done = true;
        break;
      }
      chunks.push(result.value);
      size += result.value.byteLength;
    }
  } catch (error) {
    failure = { error };
  }
  if (signal.aborted) {
    if (!done && failure === undefined) reader.cancel(signal.reason).catch(() => {});
    throw signal.reason;
  }
  const init = {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  };
  if (done) {
    const bytes = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.byteLength;
    }
    return new Response(bytes, init);
  }
  let next = 0;
  const replay = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (next < chunks.length) {
          controller.enqueue(chunks[next] as Uint8Array);
          chunks[next++] = EMPTY;
          return;
        }
        if (failure !== undefined) return controller.error(failure.error);
        try {
          const result = await reader.read();
          if (result.done) controller.close();
          else controller.enqueue(result.value);
        } catch (error) {
          controller.error(error);
        }
      },
      cancel(reason) {
        return failure === undefined ? reader.cancel(reason) : undefined;
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(replay, init);
}

const EMPTY = new Uint8Array(0);
