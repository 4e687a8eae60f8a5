/**
 * The base of every error `@weft/http` raises for a request, so one `instanceof` check
 * covers them all. `method` and `url` say which request failed.
 *
 * @example
 * ```ts
 * import { HttpClientError } from '@weft/http';
 *
 * try {
 *   await send();
 * } catch (err) {
 *   if (err instanceof HttpClientError) console.error(err.method, err.url, err.message);
 * }
 * ```
 */
export class HttpClientError extends Error {
  override readonly name: string = 'HttpClientError';
  readonly method: string;
  readonly url: string;

  constructor(message: string, request: { method: string; url: string }, options?: ErrorOptions) {
    super(message, options);
    this.method = request.method.toUpperCase();
    this.url = request.url;
  }
}

/** How much of a response body an {@link HttpError} keeps for its message. */
export const BODY_EXCERPT_LIMIT = 1024;

/**
 * A response with a non-2xx status. Keeps the status, a bounded excerpt of the body
 * (at most {@link BODY_EXCERPT_LIMIT} characters, so a huge error page cannot blow up
 * logs) and the `Response` itself, whose body has already been read or cancelled.
 *
 * @example
 * ```ts
 * import { HttpError } from '@weft/http';
 *
 * const err = new HttpError({ method: 'GET', url: 'http://127.0.0.1/x' }, 404, 'Not Found', 'no such post');
 * console.log(err.message); // GET http://127.0.0.1/x → 404 Not Found: no such post
 * ```
 */
export class HttpError extends HttpClientError {
  override readonly name: string = 'HttpError';
  readonly status: number;
  readonly statusText: string;
  readonly bodyExcerpt: string;
  readonly response: Response | undefined;

  constructor(
    request: { method: string; url: string },
    status: number,
    statusText: string,
    body: string,
    response?: Response,
  ) {
    const excerpt =
      body.length > BODY_EXCERPT_LIMIT ? `${body.slice(0, BODY_EXCERPT_LIMIT)}…` : body;
    const head = `${request.method.toUpperCase()} ${request.url} → ${status}${statusText ? ` ${statusText}` : ''}`;
    super(excerpt ? `${head}: ${excerpt}` : head, request);
    this.status = status;
    this.statusText = statusText;
    this.bodyExcerpt = excerpt;
    this.response = response;
  }
}

/**
 * The request never got a response: DNS, refused or reset connection, TLS… Each
 * runtime words these differently; the original error is kept as `cause`.
 *
 * @example
 * ```ts
 * import { NetworkError } from '@weft/http';
 *
 * const err = new NetworkError({ method: 'GET', url: 'http://127.0.0.1:1/' }, new TypeError('fetch failed'));
 * console.log(err.cause); // TypeError: fetch failed
 * ```
 */
export class NetworkError extends HttpClientError {
  override readonly name: string = 'NetworkError';

  constructor(request: { method: string; url: string }, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`${request.method.toUpperCase()} ${request.url} failed: ${detail}`, request, { cause });
  }
}

/** One problem a Standard Schema validator reported. */
export interface SchemaIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>;
}

/**
 * A response body that did not match the schema given to `.json(schema)`. `issues` are
 * the validator's own (Standard Schema), whatever the library: zod, valibot, Effect…
 *
 * @example
 * ```ts
 * import { SchemaError } from '@weft/http';
 *
 * const err = new SchemaError({ method: 'GET', url: '/posts/1' }, [{ message: 'Expected number', path: ['id'] }]);
 * console.log(err.message); // GET /posts/1: response body does not match the schema: id: Expected number
 * ```
 */
export class SchemaError extends HttpClientError {
  override readonly name: string = 'SchemaError';
  readonly issues: readonly SchemaIssue[];

  constructor(request: { method: string; url: string }, issues: readonly SchemaIssue[]) {
    const first = issues[0];
    const where = first?.path?.length
      ? `${first.path.map((p) => String(typeof p === 'object' ? p.key : p)).join('.')}: `
      : '';
    super(
      `${request.method.toUpperCase()} ${request.url}: response body does not match the schema: ${where}${first?.message ?? 'invalid'}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`,
      request,
    );
    this.issues = issues;
  }
}
