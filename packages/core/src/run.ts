import type { Clock } from './clock.ts';
import { CancelledError, unwrapSingle } from './errors.ts';
import { currentContext } from './internal/context.ts';

function runMarker(): object | undefined {
  const ctx = currentContext();
  return ctx === undefined ? undefined : scopeInternals.runOf(ctx.scope);
}

import { type StuckReport, warnStuck } from './diagnostics/stuck.ts';
import { formatTaskTree } from './diagnostics/tree.ts';
import { kDetached, kRootRun } from './internal/symbols.ts';
import {
  assertBoolean,
  assertClock,
  assertDuration,
  assertFunction,
  assertName,
  assertOneOf,
  assertOptions,
  assertSignal,
  describe,
} from './internal/validate.ts';
import {
  DUMP_SIGNALS,
  type DumpSignal,
  exitNow,
  onSignal,
  onTerminationSignals,
  reservedSignal,
  setExitCode,
  signalExitCode,
  type TerminationSignal,
  writeStderr,
} from './runtime/signals.ts';
import { type RunMarker, Scope, type ScopeOptions, scopeInternals } from './scope.ts';
import type { TaskFn } from './task.ts';

const KNOWN = [
  'signal',
  'clock',
  'timeout',
  'name',
  'handleSignals',
  'dumpTasksOn',
  'stuckAfter',
  'onStuck',
] as const;

/** Options of {@link run}. */
export interface RunOptions {
  /** Cancels the whole program when it aborts. */
  signal?: AbortSignal;
  /**
   * The clock every task of the program takes time from.
   * @default systemClock
   */
  clock?: Clock;
  /** Cancels the program with a `TimeoutError` after this many ms. */
  timeout?: number;
  /**
   * The root scope's name.
   * @default 'run'
   */
  name?: string;
  /**
   * Turn SIGINT/SIGTERM into cancellation (default `true`): the first signal cancels the
   * root scope and waits for cleanup; a second one exits at once (130 for SIGINT, 143
   * for SIGTERM).
   */
  handleSignals?: boolean;
  /**
   * Print the live task tree (`formatTaskTree(root.tree())`) to stderr each time the
   * process receives this signal, without stopping anything: `kill -USR2 <pid>` shows
   * what a stuck service is doing, like `python -m asyncio pstree <pid>`. Opt-in. Where
   * the runtime does not have the signal (Windows) it does nothing. On Node, `'SIGUSR1'`
   * is a `TypeError`: Node starts its inspector on it and cannot get that back once the
   * listener is removed. When `run` settles, the signal does again what it did before.
   * @default undefined (off)
   */
  dumpTasksOn?: DumpSignal;
  /**
   * How long (ms of the run's clock) a task or body may keep running after its signal
   * aborted before it is reported as stuck; `false` turns the check off. Each task is
   * reported once. Only the innermost stuck work is reported: not a task waiting for a
   * cancelled scope it opened (checked again once that scope closes). A task inside
   * `shield()` is reported with `kind: 'shield'` instead, and checked again once the
   * shield ends.
   * @default 5000
   */
  stuckAfter?: number | false;
  /**
   * Receives each stuck-cancellation report (name, path in the tree, how long).
   * @default a `console.warn` line
   */
  onStuck?: (report: StuckReport) => void;
}

/**
 * The entry point of a program (`asyncio.run`): runs `main` as the root task, waits for
 * every task it started, and returns `main`'s value.
 *
 * SIGINT and SIGTERM (on Node, Bun and Deno) cancel the root scope: every task sees its
 * signal abort, cleanup runs, and `run` rejects with a `CancelledError` and sets the
 * process exit code to 130 (SIGINT) or 143 (SIGTERM). A second signal exits at once. The
 * handlers are removed when `run` settles. A single failure rejects as itself; several
 * as a `TaskGroupError`.
 *
 * `run` inside a running `run` throws: await the function, or use `scope` for a nested
 * group of tasks.
 *
 * @example
 * ```ts
 * import { gather, run, sleep } from '@weft/core';
 *
 * const total = await run(async () => {
 *   const [a, b] = await gather([async () => { await sleep(100); return 1; }, () => 2]);
 *   return a + b;
 * });
 * ```
 */
export async function run<T>(main: TaskFn<T>, options?: RunOptions): Promise<T> {
  assertFunction('main', main);
  assertOptions('options', options, KNOWN);
  assertSignal('options.signal', options?.signal);
  assertClock('options.clock', options?.clock);
  if (options?.timeout !== undefined) assertDuration('options.timeout', options.timeout);
  assertName('options.name', options?.name);
  assertBoolean('options.handleSignals', options?.handleSignals);
  const dumpOn = options?.dumpTasksOn;
  if (dumpOn !== undefined) assertOneOf('options.dumpTasksOn', dumpOn, DUMP_SIGNALS);
  const reserved = dumpOn === undefined ? undefined : reservedSignal(dumpOn);
  if (reserved !== undefined) {
    throw new TypeError(
      `Expected \`options.dumpTasksOn\` to be a signal this runtime does not reserve, got ${describe(dumpOn)}: ${reserved}`,
    );
  }
  const stuckAfter = options?.stuckAfter ?? 5000;
  if (stuckAfter !== false) assertDuration('options.stuckAfter', stuckAfter);
  if (options?.onStuck !== undefined) assertFunction('options.onStuck', options.onStuck);
  if (runMarker() !== undefined) {
    throw new Error(
      'run() cannot be called inside a running run(): await the async function directly, or use scope() for a nested group of tasks',
    );
  }
  const marker: RunMarker = dumpOn === undefined ? {} : { dump: true };
  if (stuckAfter !== false && stuckAfter !== Number.POSITIVE_INFINITY) {
    marker.stuck = { after: stuckAfter, onStuck: options?.onStuck ?? warnStuck };
  }
  const root = new Scope({
    signal: options?.signal,
    clock: options?.clock,
    timeout: options?.timeout,
    name: options?.name ?? 'run',
    [kRootRun]: marker,
    [kDetached]: true,
  } as ScopeOptions);
  const dump =
    dumpOn === undefined
      ? undefined
      : onSignal(dumpOn, () => {
          writeStderr(
            `weft: task tree on ${dumpOn} (${new Date().toISOString()})\n${formatTaskTree(root.tree())}`,
          );
        });

  let received: TerminationSignal | undefined;
  const removeHandlers =
    options?.handleSignals === false
      ? undefined
      : onTerminationSignals((sig) => {
          if (received !== undefined) {
            exitNow(signalExitCode(sig));
            return;
          }
          received = sig;
          scopeInternals.interrupt(
            root,
            new CancelledError(`Received ${sig}: the program was cancelled`),
          );
        });
  try {
    return await scopeInternals.runBody(root, main, true);
  } catch (error) {
    throw unwrapSingle(error);
  } finally {
    dump?.remove();
    removeHandlers?.();
    if (received !== undefined) setExitCode(signalExitCode(received));
  }
}
