// Whether the runner was interrupted (Ctrl-C or SIGTERM, so it stops after the current
// example) and the exit code that belongs to it, as core's run() sets it. Known from the
// signal itself, never guessed from an error's message: an example that fails with
// "stream interrupted by peer" or Effect's "All fibers interrupted" is an ordinary failure.

/** The signals that interrupt the runner. */
export type TerminationSignal = 'SIGINT' | 'SIGTERM';

/** Where termination signals are observed: `process` (Node, Bun, Deno), or a test's emitter. */
export interface SignalSource {
  on(signal: TerminationSignal, listener: () => void): unknown;
  off(signal: TerminationSignal, listener: () => void): unknown;
}

/** The first termination signal received while it was installed; dispose it to stop watching. */
export interface SignalWatch extends Disposable {
  readonly received: TerminationSignal | undefined;
}

/**
 * Records the first SIGINT or SIGTERM the process receives, next to the handlers of the
 * `run()` that turns it into cancellation (this only observes: it neither cancels nor
 * exits). Dispose it to remove its listeners.
 */
export function watchTerminationSignals(
  source: SignalSource = process as unknown as SignalSource,
): SignalWatch {
  let received: TerminationSignal | undefined;
  const onInt = (): void => {
    received ??= 'SIGINT';
  };
  const onTerm = (): void => {
    received ??= 'SIGTERM';
  };
  source.on('SIGINT', onInt);
  source.on('SIGTERM', onTerm);
  return {
    get received() {
      return received;
    },
    [Symbol.dispose]() {
      source.off('SIGINT', onInt);
      source.off('SIGTERM', onTerm);
    },
  };
}

/**
 * The exit code of a runner interrupted by `received`: 143 for SIGTERM, 130 for SIGINT
 * (Ctrl-C); `undefined` when no signal was received, whatever the examples' errors say.
 */
export function interruptExitCode(received: TerminationSignal | undefined): number | undefined {
  if (received === 'SIGTERM') return 143;
  if (received === 'SIGINT') return 130;
  return undefined;
}
