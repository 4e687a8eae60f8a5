// Argument checks of @weft/db-sim, in the same vocabulary as @weft/core's validate.ts.

/** Formats a received value the way p-queue does: `` `0` (number) ``. */
export function describe(value: unknown): string {
  let text: string;
  if (typeof value === 'function') text = `[Function ${value.name || 'anonymous'}]`;
  else if (typeof value === 'symbol') text = value.toString();
  else if (typeof value === 'bigint') text = `${value}n`;
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

/**
 * An options object (or `undefined`). A key outside `known` is a `TypeError` that names
 * the key, the known ones and the closest match. Keys whose value is `undefined` pass.
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
