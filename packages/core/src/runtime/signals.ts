/** The termination signals that `run()` turns into cancellation. */
export type TerminationSignal = 'SIGINT' | 'SIGTERM';

interface DenoLike {
  addSignalListener(signal: string, handler: () => void): void;
  removeSignalListener(signal: string, handler: () => void): void;
  exit(code: number): never;
  exitCode?: number;
  build?: { os?: string };
}

interface ProcessLike {
  on(event: string, handler: () => void): unknown;
  off(event: string, handler: () => void): unknown;
  exit(code: number): never;
  exitCode?: number | string;
  platform?: string;
}

function deno(): DenoLike | undefined {
  const d = (globalThis as { Deno?: DenoLike }).Deno;
  return typeof d?.addSignalListener === 'function' ? d : undefined;
}

function proc(): ProcessLike | undefined {
  const p = (globalThis as { process?: ProcessLike }).process;
  return typeof p?.on === 'function' && typeof p.off === 'function' ? p : undefined;
}

/**
 * Calls `handler` on SIGINT and SIGTERM, through Deno's own API on Deno and `process` on
 * Node and Bun. Returns the function that removes the handlers. Where the runtime has
 * neither, does nothing.
 */
export function onTerminationSignals(handler: (signal: TerminationSignal) => void): () => void {
  const signals: TerminationSignal[] = ['SIGINT', 'SIGTERM'];
  const d = deno();
  if (d !== undefined) {
    const wanted = d.build?.os === 'windows' ? (['SIGINT'] as const) : signals;
    const handlers = wanted.map((sig) => [sig, () => handler(sig)] as const);
    for (const [sig, h] of handlers) d.addSignalListener(sig, h);
    return () => {
      for (const [sig, h] of handlers) d.removeSignalListener(sig, h);
    };
  }
  const p = proc();
  if (p !== undefined) {
    const handlers = signals.map((sig) => [sig, () => handler(sig)] as const);
    for (const [sig, h] of handlers) p.on(sig, h);
    return () => {
      for (const [sig, h] of handlers) p.off(sig, h);
    };
  }
  return () => {};
}

/** The conventional exit code of a process ended by `signal` (128 + its number). */
export function signalExitCode(signal: TerminationSignal): number {
  return signal === 'SIGINT' ? 130 : 143;
}

/** Ends the process now. */
export function exitNow(code: number): void {
  const d = deno();
  if (d !== undefined) d.exit(code);
  else proc()?.exit(code);
}

/** Sets the exit code the process ends with, unless one was set already. */
export function setExitCode(code: number): void {
  const d = deno();
  if (d !== undefined) {
    if (!d.exitCode) d.exitCode = code;
    return;
  }
  const p = proc();
  if (p !== undefined && !p.exitCode) p.exitCode = code;
}
