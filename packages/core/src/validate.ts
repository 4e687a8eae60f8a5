/**
 * `@weft/core/validate`: the argument checks that weft's own packages share (`@weft/http`,
 * `@weft/db-sim` and `@weft/redis` take them from here, so each rule has one phrasing),
 * for libraries built on weft that want the same messages. Every check throws a
 * `TypeError` (wrong type) or `RangeError` (wrong value) naming the argument, the
 * expectation and the value received, formatted by {@link describe} (or by the formatter
 * given as the last argument).
 *
 * @example
 * ```ts
 * import { assertOptions, describe } from '@weft/core/validate';
 *
 * function connect(options?: { host?: string; port?: number }): void {
 *   assertOptions('options', options, ['host', 'port']); // { hots: 'x' }: did you mean `host`?
 *   if (options?.port !== undefined && !Number.isInteger(options.port)) {
 *     throw new TypeError(`Expected \`options.port\` to be an integer, got ${describe(options.port)}`);
 *   }
 * }
 * ```
 *
 * @module
 */
export {
  assertBoolean,
  assertClock,
  assertDuration,
  assertFunction,
  assertOptions,
  assertSignal,
  assertString,
  type Describe,
  describe,
} from './internal/validate.ts';
