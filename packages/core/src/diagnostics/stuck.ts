import type { Scope } from '../scope.ts';
import type { Task } from '../task.ts';
import { runningItemName } from '../internal/pool-item.ts';
import { formatDuration } from './format.ts';

/**
 * A task (or scope body) still running a while after its signal aborted, or a source
 * still closing a while after it was asked to: a cancellation nobody honours. Passed to
 * `run()`'s `onStuck`.
 */
export interface StuckReport {
  /**
   * `task`, or `scope` for a scope's body (such as `run`'s `main`): it ignores its
   * cancellation. `shield` for a task or body that is inside `shield()` (which defers
   * cancellation on purpose): not a fault by itself, but a shield that never ends is a
   * hang; if it is still running once the shield has ended, it is reported again as
   * `task` or `scope`. `id`, `name` and `path` are the task's, or the body's scope's.
   * `close` for a source that a helper (`buffer`, `merge`, `map`, …) asked to close
   * (`return()`, or a `ReadableStream`'s `cancel()`) and that has not finished closing:
   * its scope waits for it.
   */
  readonly kind: 'task' | 'scope' | 'shield' | 'close';
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
    // Opened by a pool item: the item, not the worker running it (as tree() shows it).
    if (task !== undefined) path.push(runningItemName(task) ?? task.name);
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
  if (report.kind === 'shield') {
    console.warn(
      `weft: ${report.path.join(' › ')} is still in shield() ${formatDuration(report.cancelledFor)} after it was cancelled (shield defers the cancellation): if the shielded work can hang, give it a timeout`,
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
