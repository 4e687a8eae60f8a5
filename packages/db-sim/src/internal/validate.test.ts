// db-sim's checks are @weft/core/validate's (one phrasing per rule), with db-sim's own
// formatting of the value received: bigints as SQL parameters show them (`1n`).
import { describe, expect, test } from 'vitest';
import {
  assertClock,
  assertDuration,
  assertFiniteDuration,
  assertFunction,
  assertSignal,
  assertString,
} from './validate.ts';

describe('db-sim argument checks', () => {
  test('the shared rules keep their phrasing, with bigints written as 1n', () => {
    expect(() => assertDuration('options.acquireTimeout', 5n)).toThrow(
      new TypeError(
        'Expected `options.acquireTimeout` to be a number of milliseconds, got `5n` (bigint)',
      ),
    );
    expect(() => assertFiniteDuration('options.latency.min', Number.POSITIVE_INFINITY)).toThrow(
      new RangeError(
        'Expected `options.latency.min` to be a finite number of milliseconds from 0 up, got `Infinity` (number)',
      ),
    );
    expect(() => assertString('sql', 1n)).toThrow(
      new TypeError('Expected `sql` to be a string, got `1n` (bigint)'),
    );
    expect(() => assertFunction('fn', 'x')).toThrow(
      new TypeError('Expected `fn` to be a function, got `x` (string)'),
    );
    expect(() => assertSignal('options.signal', 2n)).toThrow(
      new TypeError('Expected `options.signal` to be an AbortSignal, got `2n` (bigint)'),
    );
    expect(() => assertClock('options.clock', 3n)).toThrow(
      new TypeError(
        'Expected `options.clock` to be a Clock with now() and sleep(), got `3n` (bigint)',
      ),
    );
  });
});
