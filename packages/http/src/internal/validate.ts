// Argument checks of @weft/http, in the phrasing of @weft/core's validate module: every
// TypeError/RangeError names the argument, the expectation and the value received.

/** Formats a received value: `` `0` (number) ``. */
export function describe(value: unknown): string {
  let text: string;
  if (typeof value === 'function') text = `[Function ${value.name || 'anonymous'}]`;
  else if (typeof value === 'symbol') text = value.toString();
  else if (typeof value === 'object' && value !== null) {
    const ctor = (value as { constructor?: { name?: string } }).constructor?.name;
    text = ctor && ctor !== 'Object' ? `[object ${ctor}]` : safeJson(value);
  } else text = String(value);
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
 * An options object (or `undefined`); a key outside `known` is a `TypeError` naming the
 * key, the known ones and the closest match. Keys whose value is `undefined` are allowed.
 */
export function assertOptions(name: string, value: unknown, known: readonly string[]): void {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new TypeError(`Expected \`${name}\` to be an object, got ${describe(value)}`);
  }
  if (value === undefined) return;
  for (const key of Object.keys(value as object)) {
    if (known.includes(key) || (value as Record<string, unknown>)[key] === undefined) continue;
    const close = closest(key, known);
    const hint = close === undefined ? '' : ` Did you mean \`${close}\`?`;
    throw new TypeError(
      `Unknown option \`${name}.${key}\`; expected one of ${known.map((k) => `\`${k}\``).join(', ')}.${hint}`,
    );
  }
}

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
  if (!Array.isArray(value) || !value.every(check)) {
    throw new TypeError(`Expected \`${name}\` to be an array of ${what}, got ${describe(value)}`);
  }
}
