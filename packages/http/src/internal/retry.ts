// The retry policy: which failures are retried, and how long to wait before each retry.
import type { RetryOptions } from '../types.ts';
import {
  assertBoolean,
  assertCount,
  assertDuration,
  assertList,
  assertOptions,
  describe,
} from './validate.ts';

export interface RetryPolicy {
  limit: number;
  methods: ReadonlySet<string>;
  statusCodes: ReadonlySet<number>;
  networkErrors: boolean;
  initial: number;
  factor: number;
  max: number;
  jitter: 'full' | 'none';
  maxRetryAfter: number;
}

export const DEFAULT_METHODS: readonly string[] = [
  'GET',
  'HEAD',
  'PUT',
  'DELETE',
  'OPTIONS',
  'TRACE',
];
export const DEFAULT_STATUS_CODES: readonly number[] = [408, 413, 429, 500, 502, 503, 504];

export const DEFAULT_POLICY: RetryPolicy = {
  limit: 2,
  methods: new Set(DEFAULT_METHODS),
  statusCodes: new Set(DEFAULT_STATUS_CODES),
  networkErrors: true,
  initial: 300,
  factor: 2,
  max: 10_000,
  jitter: 'full',
  maxRetryAfter: 60_000,
};

export const NO_RETRY: RetryPolicy = { ...DEFAULT_POLICY, limit: 0 };

const RETRY_KEYS = ['limit', 'methods', 'statusCodes', 'networkErrors', 'backoff', 'maxRetryAfter'];
const BACKOFF_KEYS = ['initial', 'factor', 'max', 'jitter'];

/** Checks a `retry` option and merges it over `base` (the client's policy). */
export function resolveRetry(
  name: string,
  value: RetryOptions | number | false | undefined,
  base: RetryPolicy,
): RetryPolicy {
  if (value === undefined) return base;
  if (value === false) return NO_RETRY;
  if (typeof value === 'number') {
    assertCount(name, value, 0);
    return { ...base, limit: value };
  }
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(
      `Expected \`${name}\` to be a number of retries, false or an object, got ${describe(value)}`,
    );
  }
  assertOptions(name, value, RETRY_KEYS);
  assertCount(`${name}.limit`, value.limit, 0);
  assertList(`${name}.methods`, value.methods, 'method names', (m) => typeof m === 'string');
  assertList(
    `${name}.statusCodes`,
    value.statusCodes,
    'status codes (integers 100–599)',
    (s) => Number.isInteger(s) && (s as number) >= 100 && (s as number) <= 599,
  );
  assertBoolean(`${name}.networkErrors`, value.networkErrors);
  assertDuration(`${name}.maxRetryAfter`, value.maxRetryAfter);
  const backoff = value.backoff;
  assertOptions(`${name}.backoff`, backoff, BACKOFF_KEYS);
  assertDuration(`${name}.backoff.initial`, backoff?.initial);
  assertDuration(`${name}.backoff.max`, backoff?.max);
  const factor = backoff?.factor;
  if (
    factor !== undefined &&
    (typeof factor !== 'number' || !(factor >= 1) || factor === Infinity)
  ) {
    throw new RangeError(
      `Expected \`${name}.backoff.factor\` to be a finite number from 1 up, got ${describe(factor)}`,
    );
  }
  const jitter = backoff?.jitter;
  if (jitter !== undefined && jitter !== 'full' && jitter !== 'none') {
    throw new TypeError(
      `Expected \`${name}.backoff.jitter\` to be 'full' or 'none', got ${describe(jitter)}`,
    );
  }
  return {
    limit: value.limit ?? base.limit,
    methods: value.methods ? new Set(value.methods.map((m) => m.toUpperCase())) : base.methods,
    statusCodes: value.statusCodes ? new Set(value.statusCodes) : base.statusCodes,
    networkErrors: value.networkErrors ?? base.networkErrors,
    initial: backoff?.initial ?? base.initial,
    factor: factor ?? base.factor,
    max: backoff?.max ?? base.max,
    jitter: jitter ?? base.jitter,
    maxRetryAfter: value.maxRetryAfter ?? base.maxRetryAfter,
  };
}

/** The backoff before retry `n` (1 for the first retry). */
export function backoffDelay(policy: RetryPolicy, n: number, random: () => number): number {
  const base = Math.min(policy.max, policy.initial * policy.factor ** (n - 1));
  return policy.jitter === 'full' ? random() * base : base;
}

/** The shape every HTTP date form shares: a month name and hh:mm:ss. */
const HTTP_DATE = /\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b.*\b\d{2}:\d{2}:\d{2}\b/i;
/** asctime (`Sun Nov  6 08:49:37 1994`), the HTTP date form that writes no zone. */
const ASCTIME =
  /^[a-z]{3} +(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec) +(\d{1,2}) +(\d{2}):(\d{2}):(\d{2}) +(\d{4})$/i;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
/** A time zone written in a date: `GMT`, `UTC`, `UT`, `Z`, or an offset such as `+0900`. */
const ZONE = /(?:\b(?:GMT|UTC|UT|Z)\b|[+-]\d{2}:?\d{2}\s*$)/i;

/**
 * An HTTP date (IMF-fixdate, RFC 850 or asctime) as ms since the epoch, `NaN` when it is
 * none. All three are UTC (RFC 9110 §5.6.7): asctime writes no zone, and `Date.parse`
 * would read it as the machine's local time (off by the UTC offset), so it is read here
 * by hand; any other date without a zone is read as GMT too.
 */
export function parseHttpDate(value: string): number {
  const text = value.trim();
  if (!HTTP_DATE.test(text)) return Number.NaN;
  const asctime = ASCTIME.exec(text);
  if (asctime !== null) {
    const [, month, day, h, m, s, year] = asctime as unknown as string[];
    const fields = [Number(day), Number(h), Number(m), Number(s)] as const;
    if (fields[0] < 1 || fields[0] > 31 || fields[1] > 23 || fields[2] > 59 || fields[3] > 60) {
      return Number.NaN;
    }
    return Date.UTC(
      Number(year),
      MONTHS.indexOf(month!.toLowerCase()),
      fields[0],
      fields[1],
      fields[2],
      fields[3],
    );
  }
  return Date.parse(ZONE.test(text) ? text : `${text} GMT`);
}

/**
 * The `reset` (`t`) of a `RateLimit` field, in seconds. The field lists quota items
 * (`"burst";r=10;t=1, "daily";r=0;t=3600`): when some are exhausted (`r=0`), the client
 * must wait for the last of them to reset, so the largest `t` among those; otherwise (or
 * for the older dictionary form, `limit=10, remaining=0, reset=5`) the first `reset=`/`t=`.
 */
function rateLimitReset(field: string): number | undefined {
  let exhausted: number | undefined;
  for (const item of splitList(field)) {
    const remaining = /;\s*r\s*=\s*(\d+)\s*(?:;|$)/.exec(item);
    if (remaining === null || Number(remaining[1]) !== 0) continue;
    const reset = /;\s*t\s*=\s*(\d+(?:\.\d+)?)\s*(?:;|$)/.exec(item);
    if (reset !== null) exhausted = Math.max(exhausted ?? 0, Number(reset[1]));
  }
  if (exhausted !== undefined) return exhausted;
  const match = /(?:^|[;,\s])(?:reset|t)=(\d+(?:\.\d+)?)/.exec(field);
  return match === null ? undefined : Number(match[1]);
}

/** The members of a structured-field list: split on commas outside quoted strings. */
function splitList(field: string): string[] {
  const items: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < field.length; i++) {
    const ch = field[i];
    if (quoted) {
      if (ch === '\\') i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      items.push(field.slice(start, i).trim());
      start = i + 1;
    }
  }
  items.push(field.slice(start).trim());
  return items;
}

/**
 * The wait a response asks for, in ms: `Retry-After` (delta seconds or an HTTP date,
 * compared with the wall clock), else `RateLimit-Reset` (delta seconds, IETF draft) or
 * the `reset` of a `RateLimit` header (see {@link rateLimitReset}). `undefined` when there
 * is none or it is invalid.
 */
export function serverDelay(headers: Headers, nowWall: number): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null) {
    const value = retryAfter.trim();
    if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
    // An HTTP date names a month and has a time of day; Date.parse alone takes '-5' or
    // '1,5' for dates in 2001 (retrying at once).
    const date = parseHttpDate(value);
    if (!Number.isNaN(date)) return Math.max(0, date - nowWall);
  }
  const reset = headers.get('ratelimit-reset');
  if (reset !== null && /^\s*\d+(\.\d+)?\s*$/.test(reset)) return Number(reset) * 1000;
  const combined = headers.get('ratelimit');
  if (combined !== null) {
    const seconds = rateLimitReset(combined);
    if (seconds !== undefined) return seconds * 1000;
  }
  return undefined;
}
