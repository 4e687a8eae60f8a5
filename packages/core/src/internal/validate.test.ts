import { describe, expect, test } from 'vitest';
import * as v from '../validate.ts';
import { assertOptions } from './validate.ts';

describe('assertOptions', () => {
  test('an unknown key is a TypeError naming it, the known keys and the closest one', () => {
    expect(() => assertOptions('options', { retries: 5 }, ['attempts', 'signal'])).toThrow(
      TypeError,
    );
    expect(() => assertOptions('options', { maxsize: 10 }, ['capacity'])).toThrow(
      /Unknown option `options\.maxsize`; expected one of `capacity`\.$/,
    );
    expect(() => assertOptions('options', { singal: 1 }, ['signal', 'clock'])).toThrow(
      /Did you mean `signal`\?/,
    );
  });

  test('known keys and keys set to undefined pass; without a key list anything passes', () => {
    expect(() =>
      assertOptions('options', { signal: undefined, x: undefined }, ['signal']),
    ).not.toThrow();
    expect(() => assertOptions('options', { anything: 1 })).not.toThrow();
    expect(() => assertOptions('options', 3)).toThrow(
      /`options` to be an object, got `3` \(number\)/,
    );
  });
});

describe('the checks @weft/core/validate shares with weft’s packages', () => {
  test('each rule has one phrasing: argument, expectation and the value received', () => {
    expect(() => v.assertFunction('fn', 3)).toThrow(
      new TypeError('Expected `fn` to be a function, got `3` (number)'),
    );
    expect(() => v.assertString('sql', 42)).toThrow(
      new TypeError('Expected `sql` to be a string, got `42` (number)'),
    );
    expect(() => v.assertDuration('options.timeout', '5')).toThrow(
      new TypeError('Expected `options.timeout` to be a number of milliseconds, got `5` (string)'),
    );
    expect(() => v.assertDuration('options.timeout', -1)).toThrow(
      new RangeError(
        'Expected `options.timeout` to be a number of milliseconds from 0 up (or Infinity), got `-1` (number)',
      ),
    );
    expect(() => v.assertSignal('options.signal', 'stop')).toThrow(
      new TypeError('Expected `options.signal` to be an AbortSignal, got `stop` (string)'),
    );
    expect(() => v.assertClock('options.clock', {})).toThrow(
      new TypeError(
        'Expected `options.clock` to be a Clock with now() and sleep(), got `{}` (object)',
      ),
    );
    expect(() => v.assertBoolean('options.ordered', 'yes')).toThrow(
      new TypeError('Expected `options.ordered` to be a boolean, got `yes` (string)'),
    );
    // What passes: Infinity as a duration, undefined where optional.
    v.assertDuration('t', Number.POSITIVE_INFINITY);
    v.assertSignal('s', undefined);
    v.assertClock('c', undefined);
    v.assertBoolean('b', undefined);
  });

  test('a package may format the received value its own way (db-sim writes bigints as 1n)', () => {
    const show = (value: unknown): string =>
      typeof value === 'bigint' ? `\`${value}n\` (bigint)` : v.describe(value);
    expect(() => v.assertDuration('options.latency', 5n, show)).toThrow(
      'Expected `options.latency` to be a number of milliseconds, got `5n` (bigint)',
    );
    expect(() => v.assertDuration('options.latency', 5n)).toThrow(
      'Expected `options.latency` to be a number of milliseconds, got `5` (bigint)',
    );
  });
});
