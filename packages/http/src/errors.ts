import { type NetworkErrorCode, networkCode } from './internal/network.ts';

/**
 * Which request an error is about: its method and URL.
 *
 * @example
 * ```ts
 * const request: RequestLike = { method: 'GET', url: 'http://127.0.0.1/x' };
 * ```
 */
export interface RequestLike {
  readonly method: string;
  readonly url: string | URL;
}

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

  constructor(message: string, request: RequestLike, options?: ErrorOptions) {
    super(message, options);
    this.method = request.method.toUpperCase();
    this.url = String(request.url);
  }
}

/**
 * How much of a response body (in characters) an {@link HttpError} keeps: a longer body
 * is cut there (never inside a surrogate pair) and ends with `…`. At most 64 KiB of the
 * body is read to get it, the rest is cancelled.
 *
 * @example
 * ```ts
 * import { BODY_EXCERPT_LIMIT } from '@weft/http';
 *
 * console.log(BODY_EXCERPT_LIMIT); // 1024
 * ```
 */
export const BODY_EXCERPT_LIMIT = 1024;

/** The excerpt an error keeps of `text` (see {@link BODY_EXCERPT_LIMIT}). */
function excerptOf(text: string): string {
  if (text.length <= BODY_EXCERPT_LIMIT) return text;
  let end = BODY_EXCERPT_LIMIT;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // a pair cut in two: leave it out whole
  return `${text.slice(0, end)}…`;
}

/**
 * A response with a non-2xx status. Keeps the status, a bounded excerpt of the body
 * (the first {@link BODY_EXCERPT_LIMIT} characters and `…`, so a huge error page cannot blow up
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
  /**
   * The wait the server asked for (`Retry-After` / `RateLimit-Reset`) in ms, when it sent
   * one; set when the client refused to wait that long (see `maxRetryAfter`).
   */
  readonly retryAfter: number | undefined;

  constructor(
    request: RequestLike,
    status: number,
    statusText: string,
    body: string,
    response?: Response,
    options?: { detail?: string; retryAfter?: number },
  ) {
    const excerpt = excerptOf(body);
    const head = `${request.method.toUpperCase()} ${String(request.url)} → ${status}${statusText ? ` ${statusText}` : ''}`;
    const detail = options?.detail ? ` (${options.detail})` : '';
    super(excerpt ? `${head}${detail}: ${excerpt}` : `${head}${detail}`, request);
    this.status = status;
    this.statusText = statusText;
    this.bodyExcerpt = excerpt;
    this.response = response;
    this.retryAfter = options?.retryAfter;
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
  /**
   * The kind of failure, the same on every runtime (`'ECONNREFUSED'`, `'ECONNRESET'`,
   * `'ENOTFOUND'`, `'ETIMEDOUT'`…), worked out from the runtime's error; `undefined`
   * when the runtime did not say.
   */
  readonly code: NetworkErrorCode | undefined;

  constructor(request: RequestLike, cause: unknown) {
    const code = networkCode(cause);
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      `${request.method.toUpperCase()} ${String(request.url)} failed${code ? ` (${code})` : ''}: ${detail}`,
      request,
      { cause },
    );
    this.code = code;
  }
}

/**
 * One problem a Standard Schema validator reported.
 *
 * @example
 * ```ts
 * const issue: SchemaIssue = { message: 'Expected number', path: ['user', 'id'] };
 * ```
 */
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

  constructor(request: RequestLike, issues: readonly SchemaIssue[]) {
    const first = issues[0];
    const where = first?.path?.length
      ? `${first.path.map((p) => String(typeof p === 'object' ? p.key : p)).join('.')}: `
      : '';
    super(
      `${request.method.toUpperCase()} ${String(request.url)}: response body does not match the schema: ${where}${first?.message ?? 'invalid'}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`,
      request,
    );
    this.issues = issues;
  }
}

/**
 * A body that is not what the helper expected: invalid JSON from `.json()`, an invalid
 * line from `.ndjson()`. `bodyExcerpt` holds the start of the offending text; `cause` is
 * the parser's error.
 *
 * @example
 * ```ts
 * import { ParseError } from '@weft/http';
 *
 * const err = new ParseError({ method: 'GET', url: '/x' }, '<html>', new SyntaxError('Unexpected token <'));
 * console.log(err.message); // GET /x: response body is not valid JSON: Unexpected token <
 * ```
 */
export class ParseError extends HttpClientError {
  override readonly name: string = 'ParseError';
  readonly bodyExcerpt: string;

  constructor(request: RequestLike, text: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      `${request.method.toUpperCase()} ${String(request.url)}: response body is not valid JSON: ${detail}`,
      request,
      { cause },
    );
    this.bodyExcerpt = excerptOf(text);
  }
}

/**
 * A body (or, for the streaming helpers, one line or event) larger than `maxResponseSize`.
 * The rest of the body was cancelled, never read into memory.
 *
 * @example
 * ```ts
 * import { ResponseTooLargeError } from '@weft/http';
 *
 * const err = new ResponseTooLargeError({ method: 'GET', url: '/big' }, 1024);
 * console.log(err.limit); // 1024
 * ```
 */
export class ResponseTooLargeError extends HttpClientError {
  override readonly name: string = 'ResponseTooLargeError';
  /** The `maxResponseSize` that was exceeded, in bytes. */
  readonly limit: number;

  constructor(request: RequestLike, limit: number) {
    super(
      `${request.method.toUpperCase()} ${String(request.url)}: response body exceeds maxResponseSize (${limit} bytes)`,
      request,
    );
    this.limit = limit;
  }
}

/**
 * Redirects the client would not follow: more than `maxRedirects`, a loop, a `Location`
 * that is not http(s), or a 307/308 that would have to replay a stream body.
 * `redirects` lists the URLs followed, in order (at most `maxRedirects`); the `Location`
 * refused is named in the message, not listed.
 *
 * @example
 * ```ts
 * import { RedirectError } from '@weft/http';
 *
 * const err = new RedirectError({ method: 'GET', url: '/a' }, 'more than 10 redirects (maxRedirects)', ['/b', '/a']);
 * console.log(err.redirects); // ['/b', '/a']
 * ```
 */
export class RedirectError extends HttpClientError {
  override readonly name: string = 'RedirectError';
  readonly redirects: readonly string[];

  constructor(request: RequestLike, reason: string, redirects: readonly string[]) {
    super(
      `${request.method.toUpperCase()} ${String(request.url)}: redirect not followed: ${reason}`,
      request,
    );
    this.redirects = redirects;
  }
}
