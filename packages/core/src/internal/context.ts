import type { TaskContext } from '../task.ts';

interface Storage {
  getStore(): TaskContext | undefined;
  run<R, A>(store: TaskContext, fn: (arg: A) => R, arg: A): R;
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

/** The context of the task (or scope body) the caller runs in, if any. */
export function currentContext(): TaskContext | undefined {
  if (storage === undefined) storage = detect();
  return storage === null ? undefined : storage.getStore();
}

export function runInContext<A, R>(context: TaskContext, fn: (arg: A) => R, arg: A): R {
  if (storage === undefined) storage = detect();
  return storage === null ? fn(arg) : storage.run(context, fn, arg);
}
