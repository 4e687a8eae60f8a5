/**
 * The one way a public function that returns a promise turns a synchronous throw (a
 * validation error) into a rejection: `return rejectOnThrow(() => work(...))`.
 */
export function rejectOnThrow<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Formats a received value for an error message the way p-queue does: `` `0` (number) ``,
 * cut to 60 characters.
 *
 * @example
 * ```ts
 * import { describe } from '@weft/core/validate';
 *
 * describe(0); // '`0` (number)'
 * ```
 */
export function describe(value: unknown): string {
  let text: string;
  try {
    if (typeof value === 'function') text = `[Function ${String(value.name) || 'anonymous'}]`;
    else if (typeof value === 'symbol') text = value.toString();
    else if (typeof value === 'object' && value !== null) {
      const ctor = (value as { constructor?: { name?: string } }).constructor?.name;
      text = ctor && ctor !== 'Object' ? `[object ${String(ctor)}]` : safeJson(value);
    } else text = String(value);
  } catch {
    // A Proxy whose traps throw, a throwing `name` getter: describe it by its type.
    text = typeof value === 'function' ? '[Function]' : '[object]';
  }
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  return `\`${text}\` (${value === null ? 'null' : typeof value})`;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * How a shared check formats the value it received: {@link describe} by default; a
 * package may pass its own (db-sim writes bigints as `1n`, as SQL parameters show them).
 */
export type Describe = (value: unknown) => string;

/**
 * Throws a `TypeError` unless `value` is a function.
 *
 * @example
 * ```ts
 * import { assertFunction } from '@weft/core/validate';
 *
 * assertFunction('fn', 3); // TypeError: Expected `fn` to be a function, got `3` (number)
 * ```
 */
export function assertFunction(
  name: string,
  value: unknown,
  show: Describe = describe,
): asserts value is Function {
  if (typeof value !== 'function') {
    throw new TypeError(`Expected \`${name}\` to be a function, got ${show(value)}`);
  }
}

/**
 * A duration in ms: a number from 0 up, `Infinity` allowed (no limit). A `TypeError` for
 * a non-number, a `RangeError` for NaN or a negative number.
 *
 * @example
 * ```ts
 * import { assertDuration } from '@weft/core/validate';
 *
 * assertDuration('options.timeout', -1);
 * // RangeError: Expected `options.timeout` to be a number of milliseconds from 0 up (or Infinity), got `-1` (number)
 * ```
 */
export function assertDuration(
  name: string,
  value: unknown,
  show: Describe = describe,
): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(`Expected \`${name}\` to be a number of milliseconds, got ${show(value)}`);
  }
  if (Number.isNaN(value) || value < 0) {
    throw new RangeError(
      `Expected \`${name}\` to be a number of milliseconds from 0 up (or Infinity), got ${show(value)}`,
    );
  }
}

/** A point in clock time: any number but NaN (`Infinity` means never). */
export function assertTime(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(`Expected \`${name}\` to be a clock time in ms, got ${describe(value)}`);
  }
  if (Number.isNaN(value) || value === Number.NEGATIVE_INFINITY) {
    throw new RangeError(
      `Expected \`${name}\` to be a finite clock time or Infinity, got ${describe(value)}`,
    );
  }
}

/** An integer from `min` up, or `Infinity`. */
export function assertCount(name: string, value: unknown, min = 1): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(
      `Expected \`${name}\` to be an integer from ${min} up, got ${describe(value)}`,
    );
  }
  if (!(value === Number.POSITIVE_INFINITY || (Number.isInteger(value) && value >= min))) {
    throw new RangeError(
      `Expected \`${name}\` to be an integer from ${min} up, got ${describe(value)}`,
    );
  }
}

/**
 * Throws a `TypeError` unless `value` is an `AbortSignal` (anything with a boolean
 * `aborted` and `addEventListener`, so signals from another realm pass) or `undefined`.
 *
 * @example
 * ```ts
 * import { assertSignal } from '@weft/core/validate';
 *
 * assertSignal('options.signal', 'stop'); // TypeError: Expected `options.signal` to be an AbortSignal, got `stop` (string)
 * ```
 */
export function assertSignal(
  name: string,
  value: unknown,
  show: Describe = describe,
): asserts value is AbortSignal | undefined {
  if (value === undefined) return;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as AbortSignal).aborted !== 'boolean' ||
    typeof (value as AbortSignal).addEventListener !== 'function'
  ) {
    throw new TypeError(`Expected \`${name}\` to be an AbortSignal, got ${show(value)}`);
  }
}

/**
 * An options object (or `undefined`). When `known` is given, a key outside it is a
 * `TypeError` that names the key, the known ones and the closest match: in JavaScript an
 * unknown key (`retry(fn, { retries: 5 })`) would otherwise be silently ignored.
 * Keys whose value is `undefined` are allowed, so callers can spread partial options.
 *
 * @example
 * ```ts
 * import { assertOptions } from '@weft/core/validate';
 *
 * assertOptions('options', { retries: 5 }, ['attempts']); // TypeError: Unknown option `options.retries`…
 * ```
 */
export function assertOptions(name: string, value: unknown, known?: readonly string[]): void {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new TypeError(`Expected \`${name}\` to be an object, got ${describe(value)}`);
  }
  if (known === undefined || value === undefined) return;
  for (const key of Object.keys(value as object)) {
    if (known.includes(key) || (value as Record<string, unknown>)[key] === undefined) continue;
    const close = closest(key, known);
    const hint = close === undefined ? '' : ` Did you mean \`${close}\`?`;
    throw new TypeError(
      `Unknown option \`${name}.${key}\`; expected one of ${known.map((k) => `\`${k}\``).join(', ')}.${hint}`,
    );
  }
}

/** The known key nearest to `key` by edit distance, if it is near enough to be a typo. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  const lower = key.toLowerCase();
  for (const candidate of known) {
    const c = candidate.toLowerCase();
    const d = c.includes(lower) || lower.includes(c) ? 1 : distance(lower, c);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/**
 * Throws a `TypeError` unless `value` is a boolean (or `undefined`, when `optional`).
 *
 * @example
 * ```ts
 * import { assertBoolean } from '@weft/core/validate';
 *
 * assertBoolean('options.ordered', 'yes'); // TypeError: Expected `options.ordered` to be a boolean, got `yes` (string)
 * ```
 */
export function assertBoolean(name: string, value: unknown, optional = true): void {
  if (optional && value === undefined) return;
  if (typeof value !== 'boolean') {
    throw new TypeError(`Expected \`${name}\` to be a boolean, got ${describe(value)}`);
  }
}

/** A finite number (`Infinity` and NaN refused). */
export function assertFinite(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(`Expected \`${name}\` to be a finite number, got ${describe(value)}`);
  }
  if (!Number.isFinite(value)) {
    throw new RangeError(`Expected \`${name}\` to be a finite number, got ${describe(value)}`);
  }
}

/** Something with `[Symbol.iterator]`. */
export function assertIterable(name: string, value: unknown): asserts value is Iterable<unknown> {
  if (
    value === null ||
    value === undefined ||
    typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function'
  ) {
    throw new TypeError(`Expected \`${name}\` to be an iterable, got ${describe(value)}`);
  }
}

/** A list with at least one entry. */
export function assertNonEmpty(name: string, list: readonly unknown[]): void {
  if (list.length === 0) {
    throw new RangeError(`Expected \`${name}\` to hold at least one item, got none`);
  }
}

/**
 * Throws a `TypeError` unless `value` is a `Clock` (an object with `now()` and `sleep()`)
 * or `undefined`.
 *
 * @example
 * ```ts
 * import { assertClock } from '@weft/core/validate';
 *
 * assertClock('options.clock', Date); // TypeError: Expected `options.clock` to be a Clock with now() and sleep(), got …
 * ```
 */
export function assertClock(name: string, value: unknown, show: Describe = describe): void {
  if (value === undefined) return;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as { now?: unknown }).now !== 'function' ||
    typeof (value as { sleep?: unknown }).sleep !== 'function'
  ) {
    throw new TypeError(
      `Expected \`${name}\` to be a Clock with now() and sleep(), got ${show(value)}`,
    );
  }
}

export function assertName(name: string, value: unknown): asserts value is string | undefined {
  if (value !== undefined && typeof value !== 'string') {
    throw new TypeError(`Expected \`${name}\` to be a string, got ${describe(value)}`);
  }
}

/**
 * Throws a `TypeError` unless `value` is a string (required: `undefined` fails too).
 *
 * @example
 * ```ts
 * import { assertString } from '@weft/core/validate';
 *
 * assertString('sql', 42); // TypeError: Expected `sql` to be a string, got `42` (number)
 * ```
 */
export function assertString(
  name: string,
  value: unknown,
  show: Describe = describe,
): asserts value is string {
  if (typeof value !== 'string') {
    throw new TypeError(`Expected \`${name}\` to be a string, got ${show(value)}`);
  }
}

/** One of a fixed set of values (strings or numbers). */
export function assertOneOf<T extends string | number>(
  name: string,
  value: unknown,
  choices: readonly T[],
): asserts value is T {
  if (!choices.includes(value as T)) {
    throw new TypeError(
      `Expected \`${name}\` to be one of ${choices.map((c) => (typeof c === 'string' ? `'${c}'` : String(c))).join(', ')}, got ${describe(value)}`,
    );
  }
}

/** A finite number that is not below `min`, which is the value of `minName`. */
export function assertNotBelow(name: string, value: number, min: number, minName: string): void {
  if (value < min) {
    throw new RangeError(
      `Expected \`${name}\` to be at least \`${minName}\` (${min}), got ${describe(value)}`,
    );
  }
}
