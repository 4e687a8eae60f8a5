/**
 * The structured-concurrency property, shared by the vitest suite (500 runs) and
 * `pnpm soak` (100,000 runs). It takes the weft API as a parameter so that the soak can
 * run it against the built package and the tests against the sources.
 *
 * A random tree (depth up to 4) of tasks, nested scopes, timeouts, moveOnAfter and
 * shields, with random sleeps, failures and cancellations, runs on a TestClock. Some
 * nodes sleep with an explicit signal of their own (which must add to the task's
 * cancellation, never replace it) and some leave a callback behind (a timer that runs
 * weft code after the task settled, which must run as outside any task). Checked:
 * no task outlives its scope; every failure thrown reaches the caller (as the rejection
 * or inside a TaskGroupError); no unhandled rejection; no pending timer at the end;
 * every `finally` runs exactly once; a timeout or moveOnAfter without a shield inside
 * settles by its deadline even when its tasks pass explicit signals; no listener is left
 * on the explicit signal; a left-behind callback sees no current task and its own
 * `timeout` fires.
 */
import fc from 'fast-check';
import type * as Weft from '../src/index.ts';

type Kind = 'task' | 'scope' | 'timeout' | 'moveOn' | 'shield';

export interface TreeNode {
  kind: Kind;
  sleep: number;
  fail: boolean;
  ms: number;
  cancelAfter: number | null;
  /** Sleep with an explicit (never aborted) signal instead of the implicit one. */
  explicitSignal: boolean;
  /** Leave a timer behind that runs weft code after the task settled. */
  callback: boolean;
  children: TreeNode[];
}

function nodeArb(depth: number): fc.Arbitrary<TreeNode> {
  return fc.record({
    kind: fc.constantFrom<Kind>('task', 'task', 'scope', 'timeout', 'moveOn', 'shield'),
    sleep: fc.integer({ min: 0, max: 100 }),
    fail: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
    ms: fc.integer({ min: 0, max: 150 }),
    cancelAfter: fc.option(fc.integer({ min: 0, max: 100 }), { freq: 4 }),
    explicitSignal: fc.boolean(),
    callback: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
    children: depth === 0 ? fc.constant([]) : fc.array(nodeArb(depth - 1), { maxLength: 3 }),
  });
}

export const treeArb: fc.Arbitrary<TreeNode> = nodeArb(4);

interface Ctx {
  scope: Weft.Scope;
  signal: AbortSignal;
}

/** Runs one tree and returns a list of violated invariants (empty when all hold). */
export async function checkTree(weft: typeof Weft, root: TreeNode): Promise<string[]> {
  const problems: string[] = [];
  const clock = new weft.TestClock({ autoAdvance: true });
  let seq = 0;
  const finallyCount = new Map<number, number>();
  const thrown = new Set<unknown>();
  const taskEnds: Array<{ id: number; scope: Weft.Scope; at: number }> = [];
  const scopeSettled = new Map<Weft.Scope, number>();
  let nextId = 0;
  // A long-lived signal of the caller's own, passed explicitly inside tasks: it never
  // aborts, and must end with no listener on it.
  const explicit = new AbortController();
  let explicitListeners = 0;
  {
    const signal = explicit.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    const live = new Set<unknown>();
    signal.addEventListener = ((t: string, l: EventListener, o?: AddEventListenerOptions) => {
      if (t === 'abort') live.add(l);
      explicitListeners = live.size;
      add(t, l, o);
    }) as typeof signal.addEventListener;
    signal.removeEventListener = ((t: string, l: EventListener, o?: EventListenerOptions) => {
      if (t === 'abort') live.delete(l);
      explicitListeners = live.size;
      remove(t, l, o);
    }) as typeof signal.removeEventListener;
  }
  const callbacks: Promise<void>[] = [];
  const hasShield = (node: TreeNode): boolean =>
    node.children.some((c) => c.kind === 'shield' || hasShield(c));

  const settledAfter = async <T>(ctxOf: { scope?: Weft.Scope }, work: Promise<T>): Promise<T> => {
    try {
      return await work;
    } finally {
      if (ctxOf.scope !== undefined) scopeSettled.set(ctxOf.scope, ++seq);
    }
  };

  const exec = async (node: TreeNode, ctx: Ctx, spawned: boolean): Promise<void> => {
    const id = nextId++;
    try {
      for (const child of node.children) {
        if (child.kind !== 'task') continue;
        const task = ctx.scope.spawn((c) => exec(child, c, true));
        if (child.cancelAfter !== null) {
          const after = child.cancelAfter;
          ctx.scope.spawn(async () => {
            await weft.sleep(after);
            task.cancel();
          });
        }
      }
      for (const child of node.children) {
        const holder: { scope?: Weft.Scope } = {};
        const enter = (c: Ctx): Promise<void> => {
          holder.scope = c.scope;
          return exec(child, c, false);
        };
        switch (child.kind) {
          case 'task':
            break;
          case 'scope':
            await settledAfter(
              holder,
              weft.scope((s) => enter({ scope: s, signal: s.signal })),
            );
            break;
          case 'timeout':
          case 'moveOn': {
            const started = clock.now();
            const limited: Promise<unknown> =
              child.kind === 'timeout'
                ? weft.timeout(child.ms, enter)
                : weft.moveOnAfter(child.ms, enter);
            try {
              await settledAfter(holder, limited);
            } finally {
              const late = clock.now() - started - child.ms;
              if (late > 0 && !hasShield(child)) {
                problems.push(`${child.kind}(${child.ms}) of node ${id} settled ${late} ms late`);
              }
            }
            break;
          }
          case 'shield':
            await settledAfter(holder, weft.shield(enter));
            break;
        }
      }
      if (node.explicitSignal) await weft.sleep(node.sleep, { signal: explicit.signal });
      else await weft.sleep(node.sleep);
      if (node.fail) {
        const error = new Error(`node ${id} failed`);
        thrown.add(error);
        throw error;
      }
    } finally {
      // A timer set here fires after the task has settled (a macrotask later).
      if (node.callback && spawned) {
        callbacks.push(
          new Promise<void>((resolve) => {
            setTimeout(() => {
              // Runs after the task settled: outside any task, with a working timeout.
              if (weft.currentTask() !== undefined) problems.push('callback saw a dead task');
              weft
                .timeout(5, () => weft.sleep(10, { clock }), { clock })
                .then(
                  () => problems.push('callback timeout did not fire'),
                  (e: unknown) => {
                    if (!(e instanceof weft.TimeoutError)) {
                      problems.push(`callback timeout failed with ${String(e)}`);
                    }
                  },
                )
                .finally(resolve);
            }, 0);
          }),
        );
      }
      finallyCount.set(id, (finallyCount.get(id) ?? 0) + 1);
      if (spawned) taskEnds.push({ id, scope: ctx.scope, at: ++seq });
    }
  };

  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  proc?.on('unhandledRejection', onUnhandled);
  let outcome: unknown;
  let rootScope: Weft.Scope | undefined;
  try {
    await weft
      .scope(
        (s) => {
          rootScope = s;
          return exec(root, { scope: s, signal: s.signal }, false);
        },
        { clock },
      )
      .catch((error: unknown) => {
        outcome = error;
      })
      .finally(async () => {
        // Callbacks left behind run on the clock too; then stop it at once: a leaked timer
        // must still be pending when we look.
        await Promise.all(callbacks);
        clock.autoAdvance = false;
      });
    if (rootScope !== undefined) scopeSettled.set(rootScope, ++seq);
    for (let i = 0; i < 2; i++) await new Promise((resolve) => setTimeout(resolve, 0));
  } finally {
    proc?.off('unhandledRejection', onUnhandled);
  }

  for (const end of taskEnds) {
    const settled = scopeSettled.get(end.scope);
    if (settled === undefined)
      problems.push(`task of node ${end.id} ran in a scope that never settled`);
    else if (end.at > settled) problems.push(`task of node ${end.id} outlived its scope`);
  }
  for (const [id, count] of finallyCount) {
    if (count !== 1) problems.push(`finally of node ${id} ran ${count} times`);
  }
  if (finallyCount.size !== nextId) problems.push('a started node never ran its finally');
  const reported = new Set<unknown>();
  const flatten = (error: unknown): void => {
    if (error instanceof weft.TaskGroupError) for (const inner of error.errors) flatten(inner);
    else reported.add(error);
  };
  flatten(outcome);
  for (const error of thrown) {
    if (!reported.has(error)) problems.push(`lost error: ${(error as Error).message}`);
  }
  for (const error of reported) {
    if (error === undefined || thrown.has(error)) continue;
    if (!(error instanceof weft.TimeoutError) && !weft.isCancellation(error)) {
      problems.push(`unexpected outcome: ${String(error)}`);
    }
  }
  if (unhandled.length > 0)
    problems.push(`unhandled rejections: ${unhandled.map(String).join(', ')}`);
  if (clock.pendingTimers !== 0) problems.push(`${clock.pendingTimers} timers left pending`);
  if (explicitListeners !== 0) {
    problems.push(`${explicitListeners} listeners left on the explicit signal`);
  }
  return problems;
}

/** The fast-check property. */
export function scopeTreeProperty(weft: typeof Weft): fc.IAsyncPropertyWithHooks<[TreeNode]> {
  return fc.asyncProperty(treeArb, async (tree) => {
    const problems = await checkTree(weft, tree);
    if (problems.length > 0) throw new Error(problems.join('\n'));
  });
}
