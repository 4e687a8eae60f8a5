// Timers that do not keep the process alive: `unref()` on Node and Bun, `Deno.unrefTimer`
// on Deno. Elsewhere (browsers) a timer never keeps anything alive.

/** Stops `handle` (a `setTimeout`/`setInterval` result) from keeping the process alive. */
export function unrefTimer(handle: unknown): void {
  if (typeof handle === 'object' && handle !== null) {
    (handle as { unref?: () => void }).unref?.();
    return;
  }
  const deno = (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno;
  if (typeof handle === 'number' && typeof deno?.unrefTimer === 'function') {
    deno.unrefTimer(handle);
  }
}
