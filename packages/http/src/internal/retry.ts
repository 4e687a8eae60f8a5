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

/**
 * The wait a response asks for, in ms: `Retry-After` (delta seconds or an HTTP date,
 * compared with the wall clock), else `RateLimit-Reset` (delta seconds, IETF draft) or
 * the `reset` of a `RateLimit` header. `undefined` when there is none or it is invalid.
 */
/** The shape every HTTP date form shares: a month name and hh:mm:ss. */
const HTTP_DATE = /\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b.*\b\d{2}:\d{2}:\d{2}\b/i;

export function serverDelay(headers: Headers, nowWall: number): number | undefined {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null) {
    const value = retryAfter.trim();
    if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
    // An HTTP date (IMF-fixdate, RFC 850 or asctime) names a month and has a time of day;
    // Date.parse alone takes '-5' or '1,5' for dates in 2001 (retrying at once).
    if (HTTP_DATE.test(value)) {
      const date = Date.parse(value);
      if (!Number.isNaN(date)) return Math.max(0, date - nowWall);
    }
  }
  const reset = headers.get('ratelimit-reset');
  if (reset !== null && /^\s*\d+(\.\d+)?\s*$/.test(reset)) return Number(reset) * 1000;
  const combined = headers.get('ratelimit');
  if (combined !== null) {
    const match = /(?:^|[;,\s])(?:reset|t)=(\d+(?:\.\d+)?)/.exec(combined);
    if (match) return Number(match[1]) * 1000;
  }
  return undefined;
}
