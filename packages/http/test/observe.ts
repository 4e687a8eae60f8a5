// Helpers the http package's tests share to observe promises without advancing a clock, and
// to count work instead of timing it.

/** One macrotask: lets requests reach fetch and settle, without advancing any clock. */
export function tick(ms = 5): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What `promise` resolves to, or rejects with. */
export function settled(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => value,
    (error: unknown) => error,
  );
}

/** Whether `promise` has settled after a few macrotasks (no clock is advanced). */
export async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 4; i++) await tick(1);
  return done;
}

/** A promise and its resolver. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * How many times `String.prototype.charCodeAt` is called while `run` runs: a
 * deterministic count of the characters a scanner looks at (the line splitter's scan for
 * line breaks, `utf8Length`, `parserTrim`), instead of a timed assertion.
 */
export async function charCodeAtCalls(run: () => unknown): Promise<number> {
  const original = String.prototype.charCodeAt;
  let calls = 0;
  String.prototype.charCodeAt = function (this: string, index: number): number {
    calls++;
    return original.call(this, index);
  };
  try {
    await run();
  } finally {
    String.prototype.charCodeAt = original;
  }
  return calls;
}
