import {
  assertBoolean,
  assertFinite,
  assertOneOf,
  assertOptions,
  assertString,
  describe,
} from '../internal/validate.ts';
import type { ScopeState } from '../scope.ts';
import type { TaskState } from '../task.ts';
import { formatDuration } from './format.ts';
import { NODE_STATES } from './timeline.ts';

/**
 * One node of a task tree snapshot (see `Scope.tree()`): a scope or a task, with its
 * children. Plain data: it can be logged, serialized to JSON, or compared in a test.
 */
export interface TaskTreeNode {
  /**
   * `scope`, `task`, or `close`. A `task` node under a `task` node is the item that a
   * pool worker (of a limited `gather`, a `map`, a `mapConcurrent`) is running right now,
   * named `fetchPage[3]` or after its function, with the scopes the item opened under it.
   * A `close` is a source that a helper asked to close and that has not
   * finished closing (its `return()`, or a `ReadableStream`'s `cancel()`, has not settled),
   * which keeps its scope open. Named after the helper (`close buffer`), `running` until it
   * settles, with `cancelledFor` (= its age) since the close is a cancellation request.
   */
  readonly kind: 'scope' | 'task' | 'close';
  /** A process-unique number (tasks and scopes each have their own sequence). */
  readonly id: number;
  /**
   * The name given, else the function's name (`'task'` for an anonymous one) for a task,
   * `'scope'` for a scope. The id is apart: a task's `Task.name` is the same with `#id`
   * appended when it was given no name.
   */
  readonly name: string;
  /**
   * The task's `state` (`running`, then `fulfilled`, `rejected` or `cancelled`) or the
   * scope's (`open`, then `closed`): the same values as `Task.state` and `Scope.state`.
   */
  readonly state: TaskState | ScopeState;
  /**
   * How long ago it started, in ms of its clock, when the snapshot was taken. On the
   * system clock, tasks started in the same synchronous stretch share one reading of the
   * clock (exact on any other clock, such as a `TestClock`). Optional only for snapshots
   * made elsewhere: `Scope.tree()` always sets it.
   */
  readonly age?: number;
  /** Time left until its effective deadline, in ms (negative once passed); absent when none. */
  readonly deadline?: number;
  /**
   * For a node still running after its signal aborted: how long ago that happened, in ms.
   * A large value is a cancellation nobody honours.
   */
  readonly cancelledFor?: number;
  readonly children: readonly TaskTreeNode[];
}

/** Options of {@link formatTaskTree}. */
export interface FormatTaskTreeOptions {
  /**
   * Leave out settled tasks and closed scopes (a snapshot from `Scope.tree()` has none,
   * but one kept from earlier may).
   * @default false
   */
  runningOnly?: boolean;
}

function line(node: TaskTreeNode): string {
  const parts = [`${node.name} (${node.kind} #${node.id})`];
  if (node.cancelledFor !== undefined && (node.state === 'running' || node.state === 'open')) {
    const doing = node.kind === 'close' ? 'closing' : 'cancelling';
    parts.push(`${doing} for ${formatDuration(node.cancelledFor)}`);
  } else {
    parts.push(node.state);
  }
  if (node.age !== undefined) parts.push(`age ${formatDuration(node.age)}`);
  if (node.deadline !== undefined) {
    parts.push(
      node.deadline >= 0
        ? `deadline in ${formatDuration(node.deadline)}`
        : `deadline passed ${formatDuration(-node.deadline)} ago`,
    );
  }
  return parts.join(' · ');
}

const KINDS = ['scope', 'task', 'close'] as const;

/** Where a node sits, for naming it in an error: built only when one is thrown. */
interface At {
  readonly parent: At | undefined;
  readonly index: number;
}

function pathOf(at: At): string {
  const indexes: number[] = [];
  for (let a: At | undefined = at; a.parent !== undefined; a = a.parent) indexes.push(a.index);
  return `tree${indexes
    .reverse()
    .map((i) => `.children[${i}]`)
    .join('')}`;
}

/** Checks one node's own fields (not its children), naming the first that is wrong. */
function assertFields(at: string, node: unknown): asserts node is TaskTreeNode {
  if (typeof node !== 'object' || node === null) {
    throw new TypeError(
      `Expected \`${at}\` to be a TaskTreeNode (from scope.tree()), got ${describe(node)}`,
    );
  }
  const n = node as Record<keyof TaskTreeNode, unknown>;
  assertOneOf(`${at}.kind`, n.kind, KINDS);
  assertFinite(`${at}.id`, n.id);
  assertString(`${at}.name`, n.name);
  assertOneOf(`${at}.state`, n.state, NODE_STATES);
  for (const key of ['age', 'deadline', 'cancelledFor'] as const) {
    if (n[key] !== undefined) assertFinite(`${at}.${key}`, n[key]);
  }
  // An age or a cancelling time is how long ago something happened; only a deadline
  // (time left) may be negative.
  for (const key of ['age', 'cancelledFor'] as const) {
    if ((n[key] as number | undefined)! < 0) {
      throw new RangeError(
        `Expected \`${at}.${key}\` to be a number of milliseconds from 0 up, got ${describe(n[key])}`,
      );
    }
  }
  if (!Array.isArray(n.children)) {
    throw new TypeError(`Expected \`${at}.children\` to be an array, got ${describe(n.children)}`);
  }
}

/**
 * Checks a node and everything under it, naming the first field that is wrong
 * (`tree.children[0].state`). Iterative, so any depth works; a node that is its own
 * ancestor is a TypeError (a node shared by two branches is fine).
 */
function assertTree(tree: unknown): asserts tree is TaskTreeNode {
  const root: At = { parent: undefined, index: 0 };
  assertFields('tree', tree);
  const onPath = new Set<unknown>([tree]);
  // Each frame: a node, where it is, and which child to look at next.
  const stack: { node: TaskTreeNode; at: At; next: number }[] = [{ node: tree, at: root, next: 0 }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const { children } = frame.node;
    if (frame.next >= children.length) {
      stack.pop();
      onPath.delete(frame.node);
      continue;
    }
    const index = frame.next++;
    // A sparse array's hole is read as `undefined`, and reported as such.
    const child: unknown = children[index];
    const at: At = { parent: frame.at, index };
    if (onPath.has(child)) {
      throw new TypeError(
        `Expected \`${pathOf(at)}\` to be a TaskTreeNode, got one of its own ancestors`,
      );
    }
    try {
      assertFields('', child); // cheap: the path is spelt out only for an error
    } catch {
      assertFields(pathOf(at), child); // throws again, now naming where
    }
    onPath.add(child);
    stack.push({ node: child as TaskTreeNode, at, next: 0 });
  }
}

/** Levels of indentation shown in full; deeper lines say how many more are hidden. */
const MAX_INDENT = 64;

/**
 * Formats a task tree snapshot as text, one node per line, the way
 * `python -m asyncio pstree` does: name, kind and id, state (or how long it has been
 * cancelling), age, and the time left to its deadline.
 *
 * @example
 * ```ts
 * import { formatTaskTree, scope, sleep } from '@weft/core';
 *
 * await scope(async (s) => {
 *   s.spawn(function download() { return sleep(100); });
 *   console.log(formatTaskTree(s.tree()));
 *   // scope (scope #4) · open · age 0.0 ms
 *   // └── download (task #5) · running · age 0.0 ms
 * });
 * ```
 */
export function formatTaskTree(tree: TaskTreeNode, options: FormatTaskTreeOptions = {}): string {
  assertTree(tree);
  assertOptions('options', options, ['runningOnly']);
  assertBoolean('options.runningOnly', options.runningOnly);
  const runningOnly = options.runningOnly === true;
  const out: string[] = [line(tree)];
  const shownChildren = (node: TaskTreeNode): readonly TaskTreeNode[] =>
    runningOnly
      ? node.children.filter((c) => c.state === 'running' || c.state === 'open')
      : node.children;
  // Iterative, so a tree of any depth prints. The indentation keeps the last MAX_INDENT
  // levels; `[+N]` in front says how many levels above them are not drawn.
  const stack: {
    children: readonly TaskTreeNode[];
    next: number;
    prefix: string;
    hidden: number;
  }[] = [{ children: shownChildren(tree), next: 0, prefix: '', hidden: 0 }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.next >= frame.children.length) {
      stack.pop();
      continue;
    }
    const i = frame.next++;
    const child = frame.children[i]!;
    const last = i === frame.children.length - 1;
    const marker = frame.hidden > 0 ? `[+${frame.hidden}] ` : '';
    out.push(`${marker}${frame.prefix}${last ? '└── ' : '├── '}${line(child)}`);
    let prefix = `${frame.prefix}${last ? '    ' : '│   '}`;
    let hidden = frame.hidden;
    if (prefix.length > 4 * MAX_INDENT) {
      prefix = prefix.slice(4);
      hidden++;
    }
    stack.push({ children: shownChildren(child), next: 0, prefix, hidden });
  }
  return out.join('\n');
}
