// Checking and merging options: the client's once at createClient, a request's over them.
import { type Clock, Semaphore } from '@weft/core';
import type {
  ClientOptions,
  FetchLike,
  Hooks,
  Progress,
  QueryInit,
  RateLimitLike,
  RequestOptions,
} from '../types.ts';
import { DEFAULT_POLICY, type RetryPolicy, resolveRetry } from './retry.ts';
import {
  assertBoolean,
  assertCount,
  assertDuration,
  assertFunction,
  assertOptions,
  assertSignal,
  describe,
} from './validate.ts';

export interface NormalHooks {
  beforeRequest: NonNullable<Hooks['beforeRequest']>;
  afterResponse: NonNullable<Hooks['afterResponse']>;
  beforeRetry: NonNullable<Hooks['beforeRetry']>;
  onError: NonNullable<Hooks['onError']>;
}

/** Options both levels share, resolved. */
export interface Shared {
  headers: Headers | undefined;
  timeout: number;
  totalTimeout: number;
  retry: RetryPolicy;
  throwHttpErrors: boolean;
  maxResponseSize: number;
  maxRedirects: number;
  hooks: NormalHooks;
  onDownloadProgress: ((progress: Progress) => void) | undefined;
}

export interface ClientConfig extends Shared {
  baseUrl: URL | undefined;
  concurrency: Semaphore | undefined;
  perHost: number;
  rateLimit: RateLimitLike | undefined;
  fetch: FetchLike | undefined;
  clock: Clock | undefined;
}

const NO_HOOKS: NormalHooks = {
  beforeRequest: [],
  afterResponse: [],
  beforeRetry: [],
  onError: [],
};
const HOOK_KEYS = ['beforeRequest', 'afterResponse', 'beforeRetry', 'onError'] as const;
const SHARED_KEYS = [
  'headers',
  'timeout',
  'totalTimeout',
  'retry',
  'throwHttpErrors',
  'maxResponseSize',
  'maxRedirects',
  'hooks',
  'onDownloadProgress',
];
export const CLIENT_KEYS: readonly string[] = [
  ...SHARED_KEYS,
  'baseUrl',
  'concurrency',
  'perHost',
  'rateLimit',
  'fetch',
  'clock',
];
export const REQUEST_KEYS: readonly string[] = [
  ...SHARED_KEYS,
  'method',
  'query',
  'json',
  'body',
  'signal',
];

function resolveHooks(name: string, hooks: Hooks | undefined, base: NormalHooks): NormalHooks {
  if (hooks === undefined) return base;
  assertOptions(name, hooks, HOOK_KEYS);
  const out = { ...base } as Record<(typeof HOOK_KEYS)[number], readonly unknown[]>;
  for (const key of HOOK_KEYS) {
    const list = hooks[key];
    if (list === undefined) continue;
    if (!Array.isArray(list) || !list.every((f) => typeof f === 'function')) {
      throw new TypeError(
        `Expected \`${name}.${key}\` to be an array of functions, got ${describe(list)}`,
      );
    }
    out[key] = base[key].length === 0 ? list : [...base[key], ...list];
  }
  return out as unknown as NormalHooks;
}

function resolveShared(
  prefix: string,
  options: RequestOptions | ClientOptions,
  base: Shared,
): Shared {
  assertDuration(`${prefix}timeout`, options.timeout);
  assertDuration(`${prefix}totalTimeout`, options.totalTimeout);
  assertBoolean(`${prefix}throwHttpErrors`, options.throwHttpErrors);
  assertCount(`${prefix}maxResponseSize`, options.maxResponseSize, 0);
  assertCount(`${prefix}maxRedirects`, options.maxRedirects, 0);
  assertFunction(`${prefix}onDownloadProgress`, options.onDownloadProgress);
  return {
    headers:
      options.headers === undefined
        ? base.headers
        : mergeHeaders(`${prefix}headers`, base.headers, options.headers),
    timeout: options.timeout ?? base.timeout,
    totalTimeout: options.totalTimeout ?? base.totalTimeout,
    retry: resolveRetry(`${prefix}retry`, options.retry, base.retry),
    throwHttpErrors: options.throwHttpErrors ?? base.throwHttpErrors,
    maxResponseSize: options.maxResponseSize ?? base.maxResponseSize,
    maxRedirects: options.maxRedirects ?? base.maxRedirects,
    hooks: resolveHooks(`${prefix}hooks`, options.hooks, base.hooks),
    onDownloadProgress: options.onDownloadProgress ?? base.onDownloadProgress,
  };
}

function mergeHeaders(name: string, base: Headers | undefined, extra: HeadersInit): Headers {
  // new Headers() validates names and values: a bad one is a TypeError here, naming the
  // option, not a network error later.
  const headers = new Headers(base);
  let given: Headers;
  try {
    given = new Headers(extra);
  } catch (error) {
    throw new TypeError(
      `Expected \`${name}\` to be valid headers (an object, a list of pairs or Headers, with valid names and values), got ${describe(extra)}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  given.forEach((value, key) => headers.set(key, value));
  return headers;
}

export function resolveClient(options: ClientOptions | undefined): ClientConfig {
  assertOptions('options', options, CLIENT_KEYS);
  const o = options ?? {};
  const shared = resolveShared('options.', o, {
    headers: undefined,
    timeout: 10_000,
    totalTimeout: Number.POSITIVE_INFINITY,
    retry: DEFAULT_POLICY,
    throwHttpErrors: true,
    maxResponseSize: Number.POSITIVE_INFINITY,
    maxRedirects: 10,
    hooks: NO_HOOKS,
    onDownloadProgress: undefined,
  });
  const baseUrl = parseBaseUrl(o.baseUrl);
  assertCount('options.concurrency', o.concurrency);
  assertCount('options.perHost', o.perHost);
  if (
    o.rateLimit !== undefined &&
    (typeof o.rateLimit !== 'object' ||
      o.rateLimit === null ||
      typeof o.rateLimit.acquire !== 'function')
  ) {
    throw new TypeError(
      `Expected \`options.rateLimit\` to be a rate limiter with acquire({ signal }), got ${describe(o.rateLimit)}`,
    );
  }
  assertFunction('options.fetch', o.fetch);
  if (
    o.clock !== undefined &&
    (typeof o.clock !== 'object' ||
      o.clock === null ||
      typeof o.clock.now !== 'function' ||
      typeof o.clock.sleep !== 'function')
  ) {
    throw new TypeError(
      `Expected \`options.clock\` to be a Clock with now() and sleep(), got ${describe(o.clock)}`,
    );
  }
  const concurrency = o.concurrency ?? Number.POSITIVE_INFINITY;
  return {
    ...shared,
    baseUrl,
    concurrency: concurrency === Number.POSITIVE_INFINITY ? undefined : new Semaphore(concurrency),
    perHost: o.perHost ?? Number.POSITIVE_INFINITY,
    rateLimit: o.rateLimit,
    fetch: o.fetch,
    clock: o.clock,
  };
}

/** A request's options resolved over the client's. */
export interface RequestConfig extends Shared {
  method: string;
  url: URL;
  /** Made only when there are headers to send or hooks that may change them. */
  headers: Headers | undefined;
  body: BodyInit | null | undefined;
  /** Whether the body can be sent again (retry, 307/308): anything but a stream. */
  replayable: boolean;
  signal: AbortSignal | undefined;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Methods the Fetch standard forbids: Node and Deno refuse them, Bun sends TRACE. */
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

/** Whether a request's options touch the shared ones (else the client's are reused as is). */
function hasShared(options: RequestOptions): boolean {
  for (const key in options) {
    if (SHARED_KEYS.includes(key) && (options as Record<string, unknown>)[key] !== undefined) {
      return true;
    }
  }
  return false;
}

export function resolveRequest(
  client: ClientConfig,
  input: string | URL,
  options: RequestOptions | undefined,
  method: string | undefined,
): RequestConfig {
  if (options === undefined && method !== undefined) return plainRequest(client, input, method);
  assertOptions('options', options, REQUEST_KEYS);
  const o = options ?? {};
  const shared =
    options !== undefined && hasShared(o) ? resolveShared('options.', o, client) : client;
  const m = (method ?? o.method ?? 'GET') as string;
  if (typeof m !== 'string' || !TOKEN.test(m)) {
    throw new TypeError(
      `Expected \`options.method\` to be an HTTP method name, got ${describe(m)}`,
    );
  }
  if (FORBIDDEN_METHODS.has(m.toUpperCase())) {
    throw new TypeError(
      `Expected \`options.method\` to be a method fetch can send (not CONNECT, TRACE or TRACK), got ${describe(m)}`,
    );
  }
  assertSignal('options.signal', o.signal);
  const url = resolveUrl(client.baseUrl, input);
  if (o.query !== undefined) appendQuery(url, o.query);
  // A request owns its headers: hooks, and whatever `fetch` is at call time (a wrapper,
  // instrumentation), may change them. None are made when none are needed.
  let headers =
    shared.headers !== undefined && shared.headers === client.headers
      ? new Headers(shared.headers)
      : shared.headers;
  // A one-shot stream goes to fetch through StreamBody (see operation.ts), as a BodyInit.
  let body = o.body as BodyInit | null | undefined;
  if (o.json !== undefined) {
    if (o.body !== undefined) {
      throw new TypeError('Expected only one of `options.json` and `options.body`, got both');
    }
    try {
      body = JSON.stringify(o.json);
    } catch (error) {
      throw new TypeError(
        `Expected \`options.json\` to be a value JSON.stringify can serialise, got ${describe(o.json)}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    if (body === undefined) {
      throw new TypeError(
        `Expected \`options.json\` to be a value JSON.stringify can serialise, got ${describe(o.json)}`,
      );
    }
    headers ??= new Headers();
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  const upper = m.toUpperCase();
  if (body != null && (upper === 'GET' || upper === 'HEAD')) {
    throw new TypeError(
      `Expected no \`options.${o.json !== undefined ? 'json' : 'body'}\` on a ${upper} request (fetch refuses a body on GET and HEAD), got ${describe(o.json !== undefined ? o.json : body)}`,
    );
  }
  const replayable = isReplayable(body);
  if (!replayable && !isStreamBody(body)) {
    throw new TypeError(
      `Expected \`options.body\` to be a string, bytes, a Blob, FormData, URLSearchParams, a ReadableStream or an async iterable (for JSON, use \`options.json\`), got ${describe(body)}`,
    );
  }
  if (!replayable && body instanceof ReadableStream && body.locked) {
    // Someone holds a reader: fetch would refuse it later, differently per runtime, as a
    // network failure (probe P3). A stream partly read and released is accepted: what it
    // still holds is sent, as for an async iterable partly iterated (neither can be told
    // apart from a fresh one on every runtime).
    throw new TypeError(
      `Expected \`options.body\` to be a ReadableStream no reader holds, got a locked ${describe(body)}`,
    );
  }
  return {
    headers,
    timeout: shared.timeout,
    totalTimeout: shared.totalTimeout,
    retry: shared.retry,
    throwHttpErrors: shared.throwHttpErrors,
    maxResponseSize: shared.maxResponseSize,
    maxRedirects: shared.maxRedirects,
    hooks: shared.hooks,
    onDownloadProgress: shared.onDownloadProgress,
    method: upper,
    url,
    body,
    replayable,
    signal: o.signal,
  };
}

/**
 * Whether a body can be sent again (a retry, a 307/308): a string, bytes, a Blob,
 * FormData, URLSearchParams. A stream or an iterable is read once.
 */
function isReplayable(body: unknown): boolean {
  return (
    body == null ||
    typeof body === 'string' ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof URLSearchParams ||
    (typeof Blob !== 'undefined' && body instanceof Blob) ||
    (typeof FormData !== 'undefined' && body instanceof FormData)
  );
}

/** A one-shot body fetch can stream (with `duplex: 'half'`): a ReadableStream, an async iterable. */
function isStreamBody(body: unknown): boolean {
  return (
    (typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) ||
    (typeof body === 'object' &&
      body !== null &&
      typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function')
  );
}

/**
 * The common case, `http.get(url)` with no options: nothing to check but the URL, the
 * client's settings as they are.
 */
function plainRequest(client: ClientConfig, input: string | URL, method: string): RequestConfig {
  return {
    headers: client.headers === undefined ? undefined : new Headers(client.headers),
    timeout: client.timeout,
    totalTimeout: client.totalTimeout,
    retry: client.retry,
    throwHttpErrors: client.throwHttpErrors,
    maxResponseSize: client.maxResponseSize,
    maxRedirects: client.maxRedirects,
    hooks: client.hooks,
    onDownloadProgress: client.onDownloadProgress,
    method,
    url: resolveUrl(client.baseUrl, input),
    body: undefined,
    replayable: true,
    signal: undefined,
  };
}

/**
 * `options.baseUrl` checked and made ready for {@link joinBaseUrl}: an absolute http(s)
 * URL without credentials, query or fragment, its path ending with `/`.
 */
export function parseBaseUrl(value: unknown): URL | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' && !(value instanceof URL)) {
    throw new TypeError(
      `Expected \`options.baseUrl\` to be an absolute URL (string or URL), got ${describe(value)}`,
    );
  }
  let baseUrl: URL;
  try {
    baseUrl = new URL(String(value));
  } catch {
    throw new TypeError(
      `Expected \`options.baseUrl\` to be an absolute URL, got ${describe(value)}`,
    );
  }
  assertHttpUrl('options.baseUrl', baseUrl, value);
  if (baseUrl.search !== '' || baseUrl.hash !== '') {
    // A relative URL replaces them: a key in the query would be dropped without a word.
    // The message leaves them out (a query may hold a secret).
    const shown = `${baseUrl.origin}${baseUrl.pathname}${baseUrl.search ? '?…' : ''}${baseUrl.hash ? '#…' : ''}`;
    throw new TypeError(
      `Expected \`options.baseUrl\` without a query or fragment (send them per request, e.g. with \`query\`), got ${describe(shown)}`,
    );
  }
  if (!baseUrl.pathname.endsWith('/')) baseUrl.pathname += '/';
  return baseUrl;
}

const SCHEME = /^[a-zA-Z][a-zA-Z\d+\-.]*:/;
/** Tabs and newlines, which the URL parser drops anywhere in a URL. */
const TABS_NEWLINES = /[\t\n\r]/g;

/**
 * `input` as the URL parser reads it: C0 controls and spaces (U+0000–U+0020) trimmed at
 * either end, tabs and newlines removed anywhere. Linear: the ends are scanned by index
 * (each character looked at once), and the removal is a one-character class. (A single
 * regex `^[…]+|[…]+$|[\t\n\r]` was quadratic on a run of spaces inside the input: its
 * `[…]+$` branch ran to the end of the run and backed off from every position in it;
 * rv-http11 X7.)
 */
export function parserTrim(input: string): string {
  let start = 0;
  let end = input.length;
  while (start < end && input.charCodeAt(start) <= 0x20) start++;
  while (end > start && input.charCodeAt(end - 1) <= 0x20) end--;
  const trimmed = start === 0 && end === input.length ? input : input.slice(start, end);
  return trimmed.replace(TABS_NEWLINES, '');
}
const LEADING_SLASHES = /^[/\\]+/;

/**
 * `input` joined to `base` (an http(s) URL whose path ends with `/`, without query or
 * fragment) as weft resolves request URLs: an absolute URL (one with a scheme) as it is,
 * anything else appended to the base's path, its leading slashes (`/` or `\`, which the URL
 * parser reads alike) dropped — httpx's rule. By string, not `new URL(input, base)`, for
 * which a path starting with two backslashes, or with a space and `//`, names another host.
 * With dot segments (`../x`) a path leaves the base's path, never its origin.
 */
export function joinBaseUrl(base: URL, input: string): string {
  const trimmed = parserTrim(input);
  if (SCHEME.test(trimmed)) return trimmed;
  return base.origin + base.pathname + trimmed.replace(LEADING_SLASHES, '');
}

function resolveUrl(base: URL | undefined, input: string | URL): URL {
  if (input instanceof URL) {
    const url = new URL(input.href);
    assertHttpUrl('url', url, input);
    return url;
  }
  if (typeof input !== 'string') {
    throw new TypeError(`Expected \`url\` to be a string or URL, got ${describe(input)}`);
  }
  let url: URL;
  try {
    url = new URL(base === undefined ? input : joinBaseUrl(base, input));
  } catch {
    throw new TypeError(
      `Expected \`url\` to be an absolute URL${base ? ' or a path under baseUrl' : ' (no baseUrl is set)'}, got ${describe(input)}`,
    );
  }
  assertHttpUrl('url', url, input);
  return url;
}

/**
 * Only http: and https: URLs without credentials can be fetched: anything else fails
 * inside fetch (as a NetworkError, retried), or, for credentials, differently per
 * runtime (Node refuses them; Bun and Deno turn them into an Authorization header).
 */
function assertHttpUrl(name: string, url: URL, received: unknown): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(
      `Expected \`${name}\` to be an http: or https: URL, got ${describe(received instanceof URL ? received.href : received)}`,
    );
  }
  if (hasCredentials(url)) {
    // The message must not repeat the secret.
    const shown = new URL(url.href);
    shown.username = '***';
    shown.password = '';
    throw new TypeError(
      `Expected \`${name}\` without credentials (user:password@): send them in an \`authorization\` header instead, got ${describe(shown.href)}`,
    );
  }
}

/** Whether `url` carries a user name or password (`http://user:pw@host/`). */
export function hasCredentials(url: URL): boolean {
  // `@` in the href is rare (a path like /@me): the getters are read only then.
  return url.href.includes('@') && (url.username !== '' || url.password !== '');
}

function appendQuery(url: URL, query: QueryInit): void {
  if (typeof query === 'string' || query instanceof URLSearchParams) {
    new URLSearchParams(query).forEach((value, key) => url.searchParams.append(key, value));
    return;
  }
  if (typeof query !== 'object' || query === null) {
    throw new TypeError(
      `Expected \`options.query\` to be an object, a string or URLSearchParams, got ${describe(query)}`,
    );
  }
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const v of value) url.searchParams.append(key, String(v));
    else url.searchParams.append(key, String(value));
  }
}
