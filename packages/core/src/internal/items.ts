import type { TaskContext } from '../task.ts';
import { abortable, isThenable } from './abortable.ts';
import { describe } from './validate.ts';

/** Turns a gather/race item into its value inside a task: call, observe or pass through. */
export function resolveItem(item: unknown, ctx: TaskContext): unknown {
  if (typeof item === 'function') return (item as (ctx: TaskContext) => unknown)(ctx);
  if (isThenable(item)) return abortable(item, ctx.signal);
  return item;
}

export function toArray(name: string, items: unknown): unknown[] {
  if (Array.isArray(items)) return items;
  if (
    items === null ||
    items === undefined ||
    typeof (items as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function'
  ) {
    throw new TypeError(`Expected \`${name}\` to be an iterable, got ${describe(items)}`);
  }
  return Array.from(items as Iterable<unknown>);
}
