import type { TaskContext } from '../task.ts';
import { abortable, isThenable } from './abortable.ts';
import { noop } from './schedule.ts';
import { assertIterable } from './validate.ts';

/** Turns a gather/race item into its value inside a task: call, observe or pass through. */
export function resolveItem(item: unknown, ctx: TaskContext): unknown {
  if (typeof item === 'function') return (item as (ctx: TaskContext) => unknown)(ctx);
  if (isThenable(item)) return abortable(item, ctx.signal);
  return item;
}

export function toArray(name: string, items: unknown): unknown[] {
  if (Array.isArray(items)) return items;
  assertIterable(name, items);
  const list: unknown[] = [];
  try {
    for (const item of items as Iterable<unknown>) list.push(item);
  } catch (error) {
    // The promises read before the iterable threw are running: never unhandled (review D5).
    observeAll(list);
    throw error;
  }
  return list;
}

/**
 * Marks every promise of `list` handled: called when a call rejects before it took them
 * in (a bad option, an iterable that throws), so that the caller gets that one error and
 * no unhandled rejection besides (review D5).
 */
export function observeAll(list: readonly unknown[]): void {
  for (const item of list) {
    try {
      if (isThenable(item)) Promise.resolve(item).then(noop, noop);
    } catch {
      // A `then` getter that throws: nothing runs, nothing to observe.
    }
  }
}

/**
 * How diagnostics name the function item at `i` of a limited gather (or asCompleted): as
 * a task of an unlimited one (its function's name, `task` for an anonymous one), so that
 * the two look alike.
 */
export function itemLabel(list: readonly unknown[]): (i: number) => string {
  return (i) => functionName(list[i]) || 'task';
}

/**
 * A function's `name` for diagnostics, `''` when it has none, it is not a string, or
 * reading it throws (a getter, a Proxy): diagnostics never change what the program does.
 */
export function functionName(fn: unknown): string {
  try {
    const name = (fn as { name?: unknown }).name;
    return typeof name === 'string' ? name : '';
  } catch {
    return '';
  }
}
