// Argument checks of @weft/redis, in the same phrasing as @weft/core's validate module.

import { describe } from '@weft/core/validate';

// The rules weft's packages share (value formatting, option keys, functions) are
// @weft/core/validate's, phrased there once.
export { assertFunction, assertOptions, describe } from '@weft/core/validate';

/** An integer from `min` up (no Infinity: Redis stores these numbers). */
export function assertInteger(name: string, value: unknown, min = 1): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(
      `Expected \`${name}\` to be an integer from ${min} and up, got ${describe(value)}`,
    );
  }
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(
      `Expected \`${name}\` to be an integer from ${min} and up, got ${describe(value)}`,
    );
  }
}

/** The longest delay `setTimeout` takes (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS: number = 2 ** 31 - 1;

/** A finite duration in whole milliseconds, from `min` up to `max`. */
export function assertMs(
  name: string,
  value: unknown,
  min = 1,
  max: number = Number.MAX_SAFE_INTEGER,
): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(
      `Expected \`${name}\` to be a number of milliseconds, got ${describe(value)}`,
    );
  }
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `from ${min} up` : `from ${min} to ${max}`;
    throw new RangeError(
      `Expected \`${name}\` to be a whole number of milliseconds ${range}, got ${describe(value)}`,
    );
  }
}

/** A key: a non-empty string. */
export function assertKey(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') {
    throw new TypeError(`Expected \`${name}\` to be a non-empty string, got ${describe(value)}`);
  }
  if (value.length === 0) {
    throw new RangeError(`Expected \`${name}\` to be a non-empty string, got ${describe(value)}`);
  }
}

/**
 * A primitive's `key`: a non-empty string that does not start with `}`. Its keys are
 * `{key}:…`, and Redis Cluster hashes only what lies between the first `{` and the first
 * `}` after it: for a key starting with `}` that is empty, so each key name would hash on
 * its own and the multi-key scripts would fail with CROSSSLOT.
 */
export function assertPrimitiveKey(name: string, value: unknown): asserts value is string {
  assertKey(name, value);
  if (value.startsWith('}')) {
    throw new RangeError(
      `Expected \`${name}\` to be a non-empty string not starting with \`}\` (its hash tag \`{${value}}\` would be empty, so Redis Cluster would put its keys in different slots), got ${describe(value)}`,
    );
  }
}
