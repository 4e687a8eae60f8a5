/**
 * A signal that aborts when any of `signals` aborts (with its reason), and a `dispose`
 * that removes the listeners it put on them. Always a real `AbortSignal`.
 */
export function joinSignals(...signals: (AbortSignal | undefined)[]): {
  signal: AbortSignal;
  dispose: () => void;
} {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  const controller = new AbortController();
  const aborted = present.find((s) => s.aborted);
  if (aborted !== undefined) {
    controller.abort(aborted.reason);
    return { signal: controller.signal, dispose: () => {} };
  }
  const onAbort = (event: Event): void => {
    dispose();
    controller.abort((event.target as AbortSignal).reason);
  };
  const dispose = (): void => {
    for (const s of present) s.removeEventListener('abort', onAbort);
  };
  for (const s of present) s.addEventListener('abort', onAbort, { once: true });
  return { signal: controller.signal, dispose };
}
