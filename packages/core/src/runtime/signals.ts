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

/** Signals `run({ dumpTasksOn })` accepts: ones a user sends on purpose, none that stops. */
export type DumpSignal = 'SIGUSR1' | 'SIGUSR2' | 'SIGHUP' | 'SIGQUIT' | 'SIGWINCH';

export const DUMP_SIGNALS: readonly DumpSignal[] = [
  'SIGUSR1',
  'SIGUSR2',
  'SIGHUP',
  'SIGQUIT',
  'SIGWINCH',
];

/**
 * Why this runtime cannot lend `signal` to `run({ dumpTasksOn })`, or `undefined` when it
 * can. Node starts its inspector on SIGUSR1, and once a JavaScript listener for it has
 * been added and removed, Node leaves the signal at the system default (the process is
 * killed): what was there cannot be restored. Deno restores its inspector behaviour when
 * the listener is removed, and Bun has none, so both may use it.
 */
export function reservedSignal(signal: DumpSignal): string | undefined {
  if (signal !== 'SIGUSR1' || deno() !== undefined) return undefined;
  const g = globalThis as { Bun?: unknown; process?: { features?: { inspector?: boolean } } };
  if (g.Bun !== undefined || g.process?.features?.inspector === false) return undefined;
  return "Node starts its inspector on SIGUSR1 and cannot get that back once a listener is removed: use 'SIGUSR2'";
}

/**
 * Calls `handler` each time the process receives `signal` (Deno's API on Deno, `process`
 * on Node and Bun). Returns the function that removes the handler. Where the runtime does
 * not have the signal (Windows) or cannot listen for it, it does nothing and says so with
 * `false` as `listening`.
 */
export function onSignal(
  signal: DumpSignal,
  handler: () => void,
): { listening: boolean; remove: () => void } {
  const d = deno();
  if (d !== undefined) {
    if (d.build?.os === 'windows') return { listening: false, remove: () => {} };
    try {
      d.addSignalListener(signal, handler);
    } catch {
      return { listening: false, remove: () => {} };
    }
    return { listening: true, remove: () => d.removeSignalListener(signal, handler) };
  }
  const p = proc();
  if (p !== undefined && p.platform !== 'win32') {
    try {
      p.on(signal, handler);
    } catch {
      return { listening: false, remove: () => {} };
    }
    return { listening: true, remove: () => void p.off(signal, handler) };
  }
  return { listening: false, remove: () => {} };
}

/** Writes a block of text to stderr (`console.error` writes there on every runtime). */
export function writeStderr(text: string): void {
  console.error(text);
}
