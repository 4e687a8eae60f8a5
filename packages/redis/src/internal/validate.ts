// Argument checks of @weft/redis, in the same phrasing as @weft/core's validate module.

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

/** An options object; a key outside `known` is a TypeError with a did-you-mean. */
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

/** An integer from `min` up (no Infinity: Redis stores these numbers). */
export function assertInteger(name: string, value: unknown, min = 1): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(
      `Expected \`${name}\` to be an integer from ${min} and up, got ${describe(value)}`,
    );
  }
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(
      `Expected \`${name}\` to be an integer from ${min} and up, got ${describe(value)}`,
    );
  }
}

/** The longest delay `setTimeout` takes (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS: number = 2 ** 31 - 1;

/** A finite duration in whole milliseconds, from `min` up to `max`. */
export function assertMs(
  name: string,
  value: unknown,
  min = 1,
  max: number = Number.MAX_SAFE_INTEGER,
): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(
      `Expected \`${name}\` to be a number of milliseconds, got ${describe(value)}`,
    );
  }
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `from ${min} up` : `from ${min} to ${max}`;
    throw new RangeError(
      `Expected \`${name}\` to be a whole number of milliseconds ${range}, got ${describe(value)}`,
    );
  }
}

/** A key: a non-empty string. */
export function assertKey(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') {
    throw new TypeError(`Expected \`${name}\` to be a non-empty string, got ${describe(value)}`);
  }
  if (value.length === 0) {
    throw new RangeError(`Expected \`${name}\` to be a non-empty string, got ${describe(value)}`);
  }
}

export function assertFunction(name: string, value: unknown): asserts value is Function {
  if (typeof value !== 'function') {
    throw new TypeError(`Expected \`${name}\` to be a function, got ${describe(value)}`);
  }
}
