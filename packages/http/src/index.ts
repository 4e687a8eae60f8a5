/**
 * `@weft/http`: an async HTTP client over the standard `fetch`, with per-attempt and
 * total timeouts that cover the body, retries with backoff and `Retry-After`, limits,
 * hooks, typed errors and structured cancellation from `@weft/core`.
 *
 * @module
 */
export { createClient, type GetAllOptions, HttpClient } from './client.ts';
export { TimeoutError } from '@weft/core';
export {
  BODY_EXCERPT_LIMIT,
  HttpClientError,
  HttpError,
  NetworkError,
  ParseError,
  RedirectError,
  type RequestLike,
  ResponseTooLargeError,
  type SchemaIssue,
  SchemaError,
} from './errors.ts';
export type { NetworkErrorCode } from './internal/network.ts';
export { ResponsePromise } from './response-promise.ts';
export type {
  BodyChunk,
  ClientOptions,
  FetchLike,
  Hooks,
  HttpMethod,
  Progress,
  QueryInit,
  RateLimitLike,
  RequestBody,
  RequestInfo,
  RequestOptions,
  RetryInfo,
  RetryOptions,
  SchemaOutput,
  ServerSentEvent,
  SharedOptions,
  StandardResult,
  StandardSchemaV1,
} from './types.ts';
