import { type Clock, systemClock } from '../clock.ts';
import type { Scope } from '../scope.ts';
import type { Task, TaskContext } from '../task.ts';

/** What a task context needs from the task it belongs to (implemented by `TaskImpl`). */
export interface ContextTask extends Task<unknown> {
  /** `ctx.started(value)`: see `Scope.start`. */
  markStarted(value: unknown): void;
  /**
   * Calls `callback` once when the task settles (at once if it has); returns a function
   * that unregisters it (so a helper that finished early leaves nothing behind).
   */
  onSettled(callback: () => void): () => void;
}

/**
 * The object passed to task functions and scope bodies (`TaskContext`), and what
 * `AsyncLocalStorage` carries to the code they run. It is deliberately not the `Task`: a
 * task is a thenable, a context must not be (`gather([async (ctx) => ctx])` would wait on
 * itself). One per task, or per scope body.
 */
export class TaskContextImpl implements TaskContext {
  readonly #scope: Scope;
  readonly #task: ContextTask | undefined;

  constructor(scope: Scope, task: ContextTask | undefined) {
    this.#scope = scope;
    this.#task = task;
  }

  get signal(): AbortSignal {
    return this.#task === undefined ? this.#scope.signal : this.#task.signal;
  }

  get scope(): Scope {
    return this.#scope;
  }

  get clock(): Clock {
    return this.#scope.clock;
  }

  /** The task this context belongs to; `undefined` for a scope body. */
  get task(): ContextTask | undefined {
    return this.#task;
  }

  /** Whether the task (or, for a body, the scope) has not settled yet. */
  get live(): boolean {
    return this.#task === undefined ? !this.#scope.closed : this.#task.state === 'running';
  }

  started(value?: unknown): void {
    this.#task?.markStarted(value);
  }

  get [Symbol.toStringTag](): string {
    return 'TaskContext';
  }
}

interface Storage {
  getStore(): TaskContextImpl | undefined;
  run<R, A>(store: TaskContextImpl, fn: (arg: A) => R, arg: A): R;
}

// The one piece of module state the runtime forces on us: the AsyncLocalStorage instance
// through which free functions (`sleep`, `gather`, …) find the task they run in. It is
// detected on first use, never at import time; `null` means the runtime has none, and
// weft then works with explicit signals only.
let storage: Storage | null | undefined;

function detect(): Storage | null {
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } })
      .process;
    const mod = proc?.getBuiltinModule?.('node:async_hooks') as
      | { AsyncLocalStorage?: new () => Storage }
      | undefined;
    const ALS =
      mod?.AsyncLocalStorage ??
      (globalThis as { AsyncLocalStorage?: new () => Storage }).AsyncLocalStorage;
    return ALS ? new ALS() : null;
  } catch {
    return null;
  }
}

/**
 * The context of the live task (or scope body) the caller runs in, if any. A context
 * whose task or scope has settled counts as none: callbacks that inherited it (timers,
 * listeners registered while the task ran) run as if outside any task.
 */
export function currentContext(): TaskContextImpl | undefined {
  if (storage === undefined) storage = detect();
  if (storage === null) return undefined;
  const ctx = storage.getStore();
  return ctx !== undefined && ctx.live ? ctx : undefined;
}

export function runInContext<A, R>(context: TaskContextImpl, fn: (arg: A) => R, arg: A): R {
  if (storage === undefined) storage = detect();
  nesting++;
  try {
    return storage === null ? fn(arg) : storage.run(context, fn, arg);
  } finally {
    nesting--;
  }
}

// How many task functions and scope bodies are being started inside one another on the
// current stack (each started synchronously by the one above it: `gather` of a function
// that calls `gather`…). Each level costs weft's frames on top of the program's, so past
// MAX_NESTING a task or body starts on a fresh stack instead (a microtask later): a
// recursion through `gather` or `scope` goes as deep as a plain async one (review D13).
// 100 keeps a 4× margin below the ~400 levels where a trivial `gather` recursion
// overflowed Node's default stack, and leaves start timing unchanged for any nesting a
// program reaches without recursion (24 changed it at depths a probe reached: P10).
let nesting = 0;
const MAX_NESTING = 100;

/** Whether a task function or scope body started now should wait for a fresh stack. */
export function nestedTooDeep(): boolean {
  return nesting >= MAX_NESTING;
}

// Ids are process-wide and shared by tasks and scopes, so that diagnostics can name either
// unambiguously.
let lastId = 0;

/** The next process-unique id for a task or a scope. */
export function nextId(): number {
  return ++lastId;
}

/**
 * A caller's effective cancellation and time, worked out in one place for every weft
 * function (scopes, gather, map, race, timeout, sleep, shield, run) and for
 * `callerContext`:
 *
 * - `signals`: the signals that cancel the caller: the live task's signal and the explicit
 *   one (an explicit signal adds to the task's, it never replaces it); 0, 1 or 2 entries.
 * - `clock`: the explicit clock, else the task's, else `systemClock`.
 * - `deadline`: the enclosing scopes' effective deadline, inherited only when the task's
 *   clock is `clock` (deadlines on different clocks cannot be compared).
 * - `ctx`: the live context, if any.
 */
export interface Caller {
  readonly ctx: TaskContextImpl | undefined;
  readonly signals: readonly AbortSignal[];
  readonly clock: Clock;
  readonly deadline: number;
}

const NO_SIGNALS: readonly AbortSignal[] = [];

export function resolveCaller(signal: AbortSignal | undefined, clock: Clock | undefined): Caller {
  const ctx = currentContext();
  if (ctx === undefined) {
    return {
      ctx,
      signals: signal === undefined ? NO_SIGNALS : [signal],
      clock: clock ?? systemClock,
      deadline: Number.POSITIVE_INFINITY,
    };
  }
  const own = ctx.signal;
  const effectiveClock = clock ?? ctx.clock;
  return {
    ctx,
    signals: signal === undefined || signal === own ? [own] : [own, signal],
    clock: effectiveClock,
    deadline: effectiveClock === ctx.clock ? ctx.scope.deadline : Number.POSITIVE_INFINITY,
  };
}

/**
 * One signal that aborts when any of `signals` does (with the first one's reason), and a
 * function that removes its listeners. With zero or one signal, no listener is added.
 */
export function joinSignals(signals: readonly AbortSignal[]): {
  signal: AbortSignal | undefined;
  dispose: () => void;
} {
  if (signals.length < 2) return { signal: signals[0], dispose: noListeners };
  const controller = new AbortController();
  unlimitListeners(controller.signal);
  const first = signals.find((s) => s.aborted);
  if (first !== undefined) {
    controller.abort(first.reason);
    return { signal: controller.signal, dispose: noListeners };
  }
  const onAbort = (): void => {
    dispose();
    controller.abort(signals.find((s) => s.aborted)?.reason);
  };
  const dispose = (): void => {
    for (const s of signals) s.removeEventListener('abort', onAbort);
  };
  for (const s of signals) s.addEventListener('abort', onAbort, { once: true });
  return { signal: controller.signal, dispose };
}

function noListeners(): void {}

type SetMaxListeners = (n: number, ...targets: EventTarget[]) => void;
// Node's `events.setMaxListeners`, found on first use (`null` where the runtime has none).
let setMaxListeners: SetMaxListeners | null | undefined;

/**
 * Lifts Node's listener-count warning (`MaxListenersExceededWarning` past 10) on a signal
 * weft created itself (a scope's, a task's, a joined one), never on a user's signal: 20
 * concurrent `sleep()`s in one task each listen to the task's signal, which is normal,
 * not a leak. A no-op where the runtime has no such limit.
 */
export function unlimitListeners(signal: AbortSignal): void {
  if (setMaxListeners === undefined) {
    try {
      const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } })
        .process;
      const events = proc?.getBuiltinModule?.('node:events') as
        | { setMaxListeners?: SetMaxListeners }
        | undefined;
      setMaxListeners = events?.setMaxListeners ?? null;
    } catch {
      setMaxListeners = null;
    }
  }
  setMaxListeners?.(0, signal);
}
