import type { TaskContext } from '../task.ts';
import { abortable, isThenable } from './abortable.ts';
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
  return Array.from(items);
}

/**
 * How diagnostics name the function item at `i` of a limited gather (or asCompleted): as
 * a task of an unlimited one (its function's name, `task` for an anonymous one), so that
 * the two look alike.
 */
export function itemLabel(list: readonly unknown[]): (i: number) => string {
  return (i) => {
    let name: unknown;
    try {
      name = (list[i] as { name?: unknown }).name;
    } catch {
      // A `name` getter that throws: diagnostics never change what the program does.
    }
    return typeof name === 'string' && name !== '' ? name : 'task';
  };
}
