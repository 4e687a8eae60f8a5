import type { Scope } from '../scope.ts';
import type { Task } from '../task.ts';
import type { PoolItem } from './pool-item.ts';
import { NONE } from './symbols.ts';

/** What instrumentation receives; every field optional. See `instrument()`. */
export interface InstrumentHooks {
  /** A scope was created (`at`: its clock's time). */
  onScopeOpen?(scope: Scope, at: number): void;
  /** A scope settled: its body and every task have (state `closed`). */
  onScopeClose?(scope: Scope, at: number): void;
  /** A task started (before its synchronous part runs). */
  onTaskStart?(task: Task<unknown>, at: number): void;
  /** A task settled (its `state` says how). */
  onTaskSettle?(task: Task<unknown>, at: number): void;
}

/**
 * Per-task diagnostic data, created only when the task is cancelled with `cancel()`, and
 * for a pool worker when it starts (see `pool-item.ts`).
 */
export interface TaskDiag {
  /** Clock time `cancel()` was called on the task itself. */
  cancelledAt: number | undefined;
  /** Cancels the stuck-cancellation check armed for it. */
  stuckCheck: (() => void) | undefined;
  /** Whether it was reported as stuck already. */
  reported: boolean;
  /** Whether it was reported as still in `shield()` already. */
  shieldReported: boolean;
  // A pool worker's: what names its jobs (`undefined` for any other task), the job it
  // runs (`NONE` between jobs) and since when (its clock), the item object made for it
  // while hooks are registered, and the id given to the job (`idJob`) when first shown
  // without hooks.
  label: ((job: number) => string) | undefined;
  job: unknown;
  since: number;
  item: PoolItem | undefined;
  idJob: unknown;
  itemId: number;
}

/** A new, empty {@link TaskDiag}. */
export function newDiag(): TaskDiag {
  return {
    cancelledAt: undefined,
    stuckCheck: undefined,
    reported: false,
    shieldReported: false,
    label: undefined,
    job: NONE,
    since: 0,
    item: undefined,
    idJob: NONE,
    itemId: 0,
  };
}

/** What a task or scope calls on the hot path, once `hooks !== null`. */
export interface Dispatcher {
  scopeOpen(scope: Scope, at: number): void;
  scopeClose(scope: Scope, at: number): void;
  taskStart(task: Task<unknown>, at: number): void;
  taskSettle(task: Task<unknown>, at: number): void;
}

// The module state that instrumentation forces on us, in one place: the registered hook
// sets and the dispatcher that calls them. `null` while nothing is registered, so the hot
// path (every spawn and settle) pays one null check.
const registered: InstrumentHooks[] = [];
export let hooks: Dispatcher | null = null;

function call(name: keyof InstrumentHooks, subject: unknown, at: number): void {
  for (const set of registered.slice()) {
    const fn = set[name] as ((s: unknown, at: number) => void) | undefined;
    if (fn === undefined) continue;
    try {
      fn.call(set, subject, at);
    } catch (error) {
      // A diagnostic hook must never change what the program does.
      console.error(`weft: instrumentation hook ${name} threw`, error);
    }
  }
}

const dispatcher: Dispatcher = {
  scopeOpen: (scope, at) => call('onScopeOpen', scope, at),
  scopeClose: (scope, at) => call('onScopeClose', scope, at),
  taskStart: (task, at) => call('onTaskStart', task, at),
  taskSettle: (task, at) => call('onTaskSettle', task, at),
};

/** Registers a hook set; returns the function that removes it (idempotent). */
export function addHooks(set: InstrumentHooks): () => void {
  registered.push(set);
  hooks = dispatcher;
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    const i = registered.indexOf(set);
    if (i !== -1) registered.splice(i, 1);
    if (registered.length === 0) hooks = null;
  };
}
