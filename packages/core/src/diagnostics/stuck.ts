import type { Scope } from '../scope.ts';
import type { Task } from '../task.ts';
import { formatDuration } from './format.ts';

/**
 * A task (or scope body) still running a while after its signal aborted, or a source
 * still closing a while after it was asked to: a cancellation nobody honours. Passed to
 * `run()`'s `onStuck`.
 */
export interface StuckReport {
  /**
   * `task`; `scope` for a scope's body (such as `run`'s `main`); `close` for a source
   * that a helper (`buffer`, `merge`, `map`, …) asked to close (`return()`, or a
   * `ReadableStream`'s `cancel()`) and that has not finished closing: its scope waits
   * for it.
   */
  readonly kind: 'task' | 'scope' | 'close';
  readonly id: number;
  readonly name: string;
  /** Names from the root scope down to it, such as `['run', 'gather', 'fetch#7']`. */
  readonly path: readonly string[];
  /** How long ago its signal aborted, in ms of its clock. */
  readonly cancelledFor: number;
  /** Why it was cancelled (the signal's reason); `undefined` for a `close`. */
  readonly reason: unknown;
}

/** What `run()` passes down to its scopes: how to check for stuck cancellations. */
export interface StuckPolicy {
  readonly after: number;
  readonly onStuck: (report: StuckReport) => void;
}

/** The names from the root scope down to `scope`. */
export function scopePath(scope: Scope): string[] {
  const path: string[] = [];
  let s: Scope | undefined = scope;
  while (s !== undefined) {
    path.push(s.name);
    const task: Task<unknown> | undefined = s.parentTask;
    if (task !== undefined) path.push(task.name);
    s = task?.scope ?? s.parent;
  }
  return path.reverse();
}

/** The names from the root scope down to `task`. */
export function taskPath(task: Task<unknown>): string[] {
  return [...scopePath(task.scope), task.name];
}

/** The default `onStuck`: one `console.warn` line. */
export function warnStuck(report: StuckReport): void {
  if (report.kind === 'close') {
    console.warn(
      `weft: a source is still closing ${formatDuration(report.cancelledFor)} after "${report.name}" began (${report.path.join(' › ')}): its return() (or a ReadableStream's cancel()) has not settled, and its scope waits for it; make the source's cleanup finish or honour cancellation`,
    );
    return;
  }
  const what =
    report.kind === 'task' ? `task "${report.name}"` : `the body of scope "${report.name}"`;
  console.warn(
    `weft: ${what} (${report.path.join(' › ')}) is still running ${formatDuration(report.cancelledFor)} after it was cancelled: pass ctx.signal to what it awaits, or check for a loop that ignores cancellation`,
  );
}

/** Calls `onStuck`, reporting (not throwing) an error it throws. */
export function reportStuck(policy: StuckPolicy, report: StuckReport): void {
  try {
    policy.onStuck(report);
  } catch (error) {
    console.error('weft: onStuck threw', error);
  }
}
