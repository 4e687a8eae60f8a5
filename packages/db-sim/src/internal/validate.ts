// Argument checks of @weft/db-sim, in the same vocabulary as @weft/core's validate.ts.

import { describe as describeValue } from '@weft/core/validate';

// The shared vocabulary (value formatting, option-key checks) comes from core.
export { assertOptions } from '@weft/core/validate';

/** Core's value formatting, with bigints written as SQL parameters show them (`1n`). */
export function describe(value: unknown): string {
  if (typeof value !== 'bigint') return describeValue(value);
  const text = `${value}n`;
  return `\`${text.length > 60 ? `${text.slice(0, 57)}...` : text}\` (bigint)`;
}

export function assertFunction(name: string, value: unknown): asserts value is Function {
  if (typeof value !== 'function') {
    throw new TypeError(`Expected \`${name}\` to be a function, got ${describe(value)}`);
  }
}

export function assertString(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') {
    throw new TypeError(`Expected \`${name}\` to be a string, got ${describe(value)}`);
  }
}

/** A duration in ms: a number >= 0, `Infinity` allowed (no limit). */
export function assertDuration(name: string, value: unknown): asserts value is number {
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

export function assertClock(name: string, value: unknown): void {
  if (value === undefined) return;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as { now?: unknown }).now !== 'function' ||
    typeof (value as { sleep?: unknown }).sleep !== 'function'
  ) {
    throw new TypeError(
      `Expected \`${name}\` to be a Clock with now() and sleep(), got ${describe(value)}`,
    );
  }
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
