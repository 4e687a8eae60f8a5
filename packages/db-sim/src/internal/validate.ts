// Argument checks of @weft/db-sim. The rules weft's packages share (functions, strings,
// durations, signals, clocks, option keys) are @weft/core/validate's, phrased there once;
// db-sim passes its own value formatting (bigints as `1n`). Only db-sim's own rules live here.

import * as shared from '@weft/core/validate';
import { describe as describeValue } from '@weft/core/validate';

export { assertOptions } from '@weft/core/validate';

/** Core's value formatting, with bigints written as SQL parameters show them (`1n`). */
export function describe(value: unknown): string {
  if (typeof value !== 'bigint') return describeValue(value);
  const text = `${value}n`;
  return `\`${text.length > 60 ? `${text.slice(0, 57)}...` : text}\` (bigint)`;
}

export function assertFunction(name: string, value: unknown): asserts value is Function {
  shared.assertFunction(name, value, describe);
}

export function assertString(name: string, value: unknown): asserts value is string {
  shared.assertString(name, value, describe);
}

/** A duration in ms: a number >= 0, `Infinity` allowed (no limit). */
export function assertDuration(name: string, value: unknown): asserts value is number {
  shared.assertDuration(name, value, describe);
}

/** A finite duration in ms (>= 0). */
export function assertFiniteDuration(name: string, value: unknown): asserts value is number {
  assertDuration(name, value);
  if (!Number.isFinite(value)) {
    throw new RangeError(
      `Expected \`${name}\` to be a finite number of milliseconds from 0 up, got ${describe(value)}`,
    );
  }
}

/** An integer from `min` up (no Infinity). */
export function assertInteger(name: string, value: unknown, min = 1): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(
      `Expected \`${name}\` to be an integer from ${min} and up, got ${describe(value)}`,
    );
  }
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(
      `Expected \`${name}\` to be an integer from ${min} and up, got ${describe(value)}`,
    );
  }
}

export function assertRate(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(
      `Expected \`${name}\` to be a probability from 0 to 1, got ${describe(value)}`,
    );
  }
  if (Number.isNaN(value) || value < 0 || value > 1) {
    throw new RangeError(
      `Expected \`${name}\` to be a probability from 0 to 1, got ${describe(value)}`,
    );
  }
}

export function assertSignal(
  name: string,
  value: unknown,
): asserts value is AbortSignal | undefined {
  shared.assertSignal(name, value, describe);
}

export function assertClock(name: string, value: unknown): void {
  shared.assertClock(name, value, describe);
}

/** A parameter list: an array of SQL values (null, number, string, boolean). */
export function assertParams(name: string, value: unknown): asserts value is readonly unknown[] {
  if (value === undefined) return;
  if (!Array.isArray(value)) {
    throw new TypeError(`Expected \`${name}\` to be an array of values, got ${describe(value)}`);
  }
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i];
    const ok =
      v === null ||
      typeof v === 'string' ||
      typeof v === 'boolean' ||
      (typeof v === 'number' && Number.isFinite(v));
    if (!ok) {
      throw new TypeError(
        `Expected \`${name}[${i}]\` to be null, a finite number, a string or a boolean, got ${describe(v)}`,
      );
    }
  }
}

const NO_PARAMS: readonly unknown[] = Object.freeze([]);

/**
 * Checks a parameter list ({@link assertParams}) and binds it: returns a copy taken now,
 * so that what runs is what was validated at the call, whatever the caller does with its
 * array afterwards (review D12). An absent or empty list shares one frozen empty array.
 */
export function bindParams(name: string, value: unknown): readonly unknown[] {
  assertParams(name, value);
  if (value === undefined || value.length === 0) return NO_PARAMS;
  return value.slice();
}
