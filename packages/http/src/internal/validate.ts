// Argument checks of @weft/http: every TypeError/RangeError names the argument, the
// expectation and the value received. The rules weft's packages share are
// @weft/core/validate's, phrased there once; here every option may be left `undefined`.

import * as shared from '@weft/core/validate';
import { describe } from '@weft/core/validate';

export { assertBoolean, assertOptions, assertSignal, describe } from '@weft/core/validate';

/** A function; `undefined` passes. */
export function assertFunction(name: string, value: unknown): void {
  if (value !== undefined) shared.assertFunction(name, value);
}

/** A duration in ms: a number >= 0, `Infinity` allowed (no limit). `undefined` passes. */
export function assertDuration(name: string, value: unknown): void {
  if (value !== undefined) shared.assertDuration(name, value);
}

/** An integer from `min` up, or `Infinity`. `undefined` passes. */
export function assertCount(name: string, value: unknown, min = 1): void {
  if (value === undefined) return;
  if (typeof value !== 'number') {
    throw new TypeError(
      `Expected \`${name}\` to be an integer from ${min} and up, got ${describe(value)}`,
    );
  }
  if (!(value === Number.POSITIVE_INFINITY || (Number.isInteger(value) && value >= min))) {
    throw new RangeError(
      `Expected \`${name}\` to be an integer from ${min} and up, got ${describe(value)}`,
    );
  }
}

/** A string; `undefined` passes. */
export function assertString(name: string, value: unknown): void {
  if (value !== undefined) shared.assertString(name, value);
}

/** A list of values, each checked by `check`. */
export function assertList(
  name: string,
  value: unknown,
  what: string,
  check: (item: unknown) => boolean,
): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) {
    throw new TypeError(`Expected \`${name}\` to be an array of ${what}, got ${describe(value)}`);
  }
  const bad = value.findIndex((item) => !check(item));
  if (bad !== -1) {
    throw new TypeError(
      `Expected \`${name}[${bad}]\` to be one of ${what}, got ${describe(value[bad])}`,
    );
  }
}
