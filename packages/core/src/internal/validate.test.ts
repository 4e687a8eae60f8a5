import { describe, expect, test } from 'vitest';
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
