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

/** A value longer than this is no date (an HTTP date has 29 characters; rv-http11 X8). */
const MAX_DATE_LENGTH = 200;
/** A month name, the first thing every HTTP date form has before its time of day. */
const MONTH_NAME = /\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b/i;
/** hh:mm:ss, searched from after the month name (`lastIndex`): no backtracking over `.*`. */
const TIME_OF_DAY = /\b\d{2}:\d{2}:\d{2}\b/g;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const M = '(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)';
const T = '(\\d{2}):(\\d{2}):(\\d{2})';
/** IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`: day, month, year, h, m, s. */
const IMF_FIXDATE = new RegExp(`^[a-z]+, +(\\d{1,2}) +${M} +(\\d{4}) +${T} +GMT$`, 'i');
/** RFC 850, `Sunday, 06-Nov-94 08:49:37 GMT`: day, month, two-digit year, h, m, s. */
const RFC_850 = new RegExp(`^[a-z]+, +(\\d{1,2})-${M}-(\\d{2}) +${T} +GMT$`, 'i');
/** asctime, `Sun Nov  6 08:49:37 1994` (no zone: UTC): month, day, h, m, s, year. */
const ASCTIME = new RegExp(`^[a-z]+ +${M} +(\\d{1,2}) +${T} +(\\d{4})$`, 'i');
/** A zone written after the time of another date form: a name (`PST`, `UTC`) or an offset. */
const ZONE_AFTER = /[a-z]|[+-]\d{2}:?\d{2}/i;

/**
 * The instant of an HTTP date's fields (UTC), `NaN` when they name no real date (Feb 30,
 * 24:00:00, minute 60). Second 60 (a leap second) is taken as the next minute's first.
 */
function utcDate(
  year: number,
  month: number,
  day: number,
  h: number,
  m: number,
  s: number,
): number {
  if (h > 23 || m > 59 || s > 60 || day < 1) return Number.NaN;
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  if (date.getUTCDate() !== day || date.getUTCMonth() !== month) return Number.NaN;
  return date.getTime() + ((h * 60 + m) * 60 + s) * 1000;
}

/**
 * An HTTP date as ms since the epoch, `NaN` when it is none. The three forms of RFC 9110
 * §5.6.7 are read here, as UTC: IMF-fixdate and RFC 850 with `GMT`, asctime with no zone
 * (which `Date.parse` would read as the machine's local time). Their fields must name a
 * real date (`Feb 30`, `24:00:00` are none: the header is then ignored); an RFC 850
 * two-digit year that would be more than 50 years after `now` is of the century before.
 * Anything else that has a month name and a time of day goes to `Date.parse` as before
 * (obsolete zones such as `PST` or `+0900` are read as written), as GMT when it names no
 * zone after the time. A value over 200 characters is no date (linear work on any input).
 */
export function parseHttpDate(value: string, now: number = Date.now()): number {
  const text = value.trim();
  if (text.length > MAX_DATE_LENGTH) return Number.NaN;
  const month = MONTH_NAME.exec(text);
  if (month === null) return Number.NaN;
  TIME_OF_DAY.lastIndex = month.index + month[0].length;
  const time = TIME_OF_DAY.exec(text);
  if (time === null) return Number.NaN;
  let fields = IMF_FIXDATE.exec(text);
  if (fields !== null) {
    const [, day, name, year, h, m, s] = fields as unknown as string[];
    return utcDate(+year!, MONTHS.indexOf(name!.toLowerCase()), +day!, +h!, +m!, +s!);
  }
  fields = RFC_850.exec(text);
  if (fields !== null) {
    const [, day, name, yy, h, m, s] = fields as unknown as string[];
    const args = [MONTHS.indexOf(name!.toLowerCase()), +day!, +h!, +m!, +s!] as const;
    // 50 calendar years after now (rv-http12 X6: not an average year's length).
    const limit = new Date(now);
    let year = limit.getUTCFullYear();
    limit.setUTCFullYear(year + 50);
    const fifty = limit.getTime();
    year = year - (year % 100) + Number(yy);
    // RFC 9110: a date more than 50 years in the future is of the century before; the
    // latest year with those two digits that is not, else.
    if (utcDate(year, ...args) > fifty) year -= 100;
    else if (utcDate(year + 100, ...args) <= fifty) year += 100;
    return utcDate(year, ...args);
  }
  fields = ASCTIME.exec(text);
  if (fields !== null) {
    const [, name, day, h, m, s, year] = fields as unknown as string[];
    return utcDate(+year!, MONTHS.indexOf(name!.toLowerCase()), +day!, +h!, +m!, +s!);
  }
  const zoned = ZONE_AFTER.test(text.slice(time.index + time[0].length));
  return Date.parse(zoned ? text : `${text} GMT`);
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
    const date = parseHttpDate(value, nowWall);
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
