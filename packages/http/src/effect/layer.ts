import * as PlatformClient from '@effect/platform/HttpClient';
import * as ClientError from '@effect/platform/HttpClientError';
import * as ClientRequest from '@effect/platform/HttpClientRequest';
import * as ClientResponse from '@effect/platform/HttpClientResponse';
import { toEffect } from '@weft/core/effect';
import { Effect, Layer, Stream } from 'effect';
import { createClient, HttpClient } from '../client.ts';
import { HttpError } from '../errors.ts';
import { describe } from '../internal/validate.ts';
import type { ClientOptions } from '../types.ts';

/**
 * An `@effect/platform` `HttpClient` that sends every request through the weft
 * {@link HttpClient} `client`, so Effect code gets weft's retries, limits, rate limiting,
 * hooks and timeouts. The returned client does not own `client`: close it yourself.
 *
 * - **Any status is a response**, as with Effect's own clients (add
 *   `HttpClient.filterStatusOk` to fail on non-2xx). weft's retries still apply: a
 *   retryable status (503, 429…) is retried by `client`'s policy, and only the last
 *   response is handed over, with its whole body.
 * - **Errors** are `HttpClientError`s: a request that fails before a response (a
 *   `NetworkError`, a `TimeoutError`, a `RedirectError`, a hook's error, a closed client)
 *   is a `RequestError` with reason `'Transport'` and the weft error as `cause`. A failure
 *   while reading the body (a timeout covers the body too) is Effect's `ResponseError`
 *   with reason `'Decode'`, the weft error as `cause`.
 * - **Interruption** (`Effect.timeout`, `Fiber.interrupt`) cancels the weft request and
 *   completes once it has ended.
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
  const baseUrl = options?.baseUrl;
  return Layer.scoped(
    PlatformClient.HttpClient,
    Effect.map(
      Effect.acquireRelease(
        Effect.sync(() => createClient(options)),
        (client) => Effect.promise(() => client.close()),
      ),
      (client) => {
        const platform = make(client);
        return baseUrl === undefined
          ? platform
          : PlatformClient.mapRequestInput(platform, (request) => resolveAgainst(request, baseUrl));
      },
    ),
  );
}

const SCHEME = /^[a-z][a-z\d+\-.]*:/i;

/** A relative request URL resolved the way weft resolves it against `baseUrl`. */
function resolveAgainst(
  request: ClientRequest.HttpClientRequest,
  baseUrl: string | URL,
): ClientRequest.HttpClientRequest {
  if (SCHEME.test(request.url)) return request;
  const base = new URL(String(baseUrl));
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return ClientRequest.setUrl(request, new URL(request.url.replace(/^\/+/, ''), base));
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
    // A copy of the latest non-2xx response: with weft's default `throwHttpErrors`, the
    // client retries retryable statuses and then raises an HttpError whose body it has
    // read for the excerpt. Effect wants that last response as a response, whole.
    let lastError: Response | undefined;
    const drop = (): void => {
      lastError?.body?.cancel().catch(() => {});
      lastError = undefined;
    };
    const keep = (response: Response): undefined => {
      drop();
      if (!response.ok) lastError = response.clone();
      return undefined;
    };
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      // fetch computes the length itself, as Effect's FetchHttpClient lets it.
      if (name !== 'content-length') headers.set(name, value);
    }
    return toEffect(() =>
      client.request(url, {
        method: request.method,
        headers,
        body,
        signal,
        hooks: { afterResponse: [keep] },
      }),
    ).pipe(
      Effect.map((response) => {
        drop();
        return ClientResponse.fromWeb(request, response);
      }),
      Effect.catchAll((failure) => {
        const error = failure.cause;
        if (error instanceof HttpError && lastError !== undefined) {
          const response = lastError;
          lastError = undefined;
          // Effect aborts `signal` when the response is dropped or its stream ends.
          signal.addEventListener('abort', () => void response.body?.cancel().catch(() => {}), {
            once: true,
          });
          return Effect.succeed(ClientResponse.fromWeb(request, response));
        }
        drop();
        return Effect.fail(
          new ClientError.RequestError({ request, reason: 'Transport', cause: error }),
        );
      }),
      Effect.onInterrupt(() => Effect.sync(drop)),
    );
  });
}
