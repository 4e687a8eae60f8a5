// Argument checks of @weft/http, in the phrasing of @weft/core's validate module: every
// TypeError/RangeError names the argument, the expectation and the value received.

import { describe } from '@weft/core/validate';

// The shared vocabulary (value formatting, option-key checks) comes from core.
export { assertOptions, describe } from '@weft/core/validate';

export function assertFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') {
    throw new TypeError(`Expected \`${name}\` to be a function, got ${describe(value)}`);
  }
}

/** A duration in ms: a number >= 0, `Infinity` allowed (no limit). `undefined` passes. */
export function assertDuration(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number') {
    throw new TypeError(
      `Expected \`${name}\` to be a number of milliseconds, got ${describe(value)}`,
    );
  }
  if (Number.isNaN(value) || value < 0) {
    throw new RangeError(
      `Expected \`${name}\` to be a number of milliseconds from 0 up (or Infinity), got ${describe(value)}`,
    );
  }
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

export function assertBoolean(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new TypeError(`Expected \`${name}\` to be a boolean, got ${describe(value)}`);
  }
}

export function assertString(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'string') {
    throw new TypeError(`Expected \`${name}\` to be a string, got ${describe(value)}`);
  }
}

export function assertSignal(name: string, value: unknown): void {
  if (value === undefined) return;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as AbortSignal).aborted !== 'boolean' ||
    typeof (value as AbortSignal).addEventListener !== 'function'
  ) {
    throw new TypeError(`Expected \`${name}\` to be an AbortSignal, got ${describe(value)}`);
  }
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
