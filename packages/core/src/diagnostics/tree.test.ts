import { describe, expect, test } from 'vitest';
import { deferred } from '../../test/helpers.ts';
import { run } from '../run.ts';
import { Scope, scope, scopeInternals } from '../scope.ts';
import { sleep } from '../sleep.ts';
import { TestClock } from '../test-clock.ts';
import { timeout } from '../timeout.ts';
import { instrument } from './instrument.ts';
import { formatTaskTree, type TaskTreeNode } from './tree.ts';

/** The tree as `kind name state` lines, ids and times left out. */
function shape(node: TaskTreeNode, depth = 0): string[] {
  const name = node.name.replace(/#\d+$/, '#');
  return [
    `${'  '.repeat(depth)}${node.kind} ${name} ${node.state}`,
    ...node.children.flatMap((c) => shape(c, depth + 1)),
  ];
}

describe('Scope.tree()', () => {
  test('inside run(): tasks under their scope, scopes under the task that opened them', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let snapshot: TaskTreeNode | undefined;
    await run(
      async (ctx) => {
        await scope(
          async (s) => {
            s.spawn(() => sleep(1000), { name: 'sleeper' });
            s.spawn(
              () =>
                timeout(500, () =>
                  scope(async (inner) => void inner.spawn(() => sleep(300), { name: 'leaf' }), {
                    name: 'inner',
                  }),
                ),
              { name: 'parent' },
            );
            await sleep(100);
            snapshot = ctx.scope.tree();
            s.cancel();
          },
          { name: 'work', timeout: 2000 },
        );
      },
      { clock, handleSignals: false },
    );
    expect(shape(snapshot!)).toEqual([
      'scope run open',
      '  scope work open',
      '    task sleeper running',
      '    task parent running',
      '      scope timeout open',
      '        scope inner open',
      '          task leaf running',
    ]);
    const work = snapshot!.children[0]!;
    expect(work.age).toBe(100);
    expect(work.deadline).toBe(1900);
    expect(snapshot!.deadline).toBeUndefined();
    // Tasks have ages too, with no instrumentation on.
    expect(work.children.map((c) => [c.name, c.age])).toEqual([
      ['sleeper', 100],
      ['parent', 100],
    ]);
  });

  test('shows how long a cancelled task has been ignoring it', async () => {
    const clock = new TestClock();
    const gate = deferred();
    let snapshot: TaskTreeNode | undefined;
    const done = run(
      async (ctx) => {
        const t = ctx.scope.spawn(() => gate.promise, { name: 'stubborn' });
        await sleep(100);
        t.cancel();
        await sleep(250);
        snapshot = ctx.scope.tree();
        gate.resolve();
      },
      { clock, handleSignals: false, stuckAfter: 60_000 },
    );
    await clock.advance(100);
    await clock.advance(250);
    await done;
    expect(snapshot!.children[0]).toMatchObject({
      name: 'stubborn',
      state: 'running',
      cancelledFor: 250,
    });
    expect(formatTaskTree(snapshot!)).toMatch(
      /└── stubborn \(task #\d+\) · cancelling for 250 ms · age 350 ms$/,
    );
  });

  test('outside run(), with no instrumentation, lists every running task and open scope with its age', async () => {
    const clock = new TestClock();
    const s = new Scope({ clock, name: 'plain' });
    s.spawn(function download() {
      return sleep(100, { clock });
    });
    await clock.advance(10);
    s.spawn(
      () =>
        scope(
          (inner) => {
            inner.spawn(() => sleep(300, { clock }), { name: 'leaf' });
          },
          { name: 'inner', clock },
        ),
      { name: 'parent' },
    );
    await clock.advance(30);
    const tree = s.tree();
    expect(shape(tree)).toEqual([
      'scope plain open',
      '  task download running',
      '  task parent running',
      '    scope inner open',
      '      task leaf running',
    ]);
    expect(tree.age).toBe(40);
    expect(tree.children.map((c) => [c.name, c.age])).toEqual([
      ['download', 40],
      ['parent', 30],
    ]);
    expect(formatTaskTree(tree)).toMatch(/^├── download \(task #\d+\) · running · age 40 ms$/m);
    // Settled tasks leave the tree.
    await clock.advance(70);
    expect(shape(s.tree())).toEqual([
      'scope plain open',
      '  task parent running',
      '    scope inner open',
      '      task leaf running',
    ]);
    await clock.advance(300);
    await s[Symbol.asyncDispose]();
    expect(s.tree()).toMatchObject({ state: 'closed', children: [] });
  });

  test('is the same whether instrumentation is on or off', async () => {
    const clock = new TestClock();
    const trees: string[][] = [];
    for (const on of [false, true]) {
      const hooks = on ? instrument({}) : undefined;
      const s = new Scope({ clock, name: 'outer' });
      s.spawn(() => sleep(50, { clock }), { name: 'a' });
      s.spawn(() => scope(() => sleep(50, { clock }), { name: 'nested', clock }), { name: 'b' });
      trees.push(shape(s.tree()));
      await clock.advance(50);
      await s[Symbol.asyncDispose]();
      hooks?.remove();
    }
    expect(trees[0]).toEqual(trees[1]);
    expect(trees[0]).toHaveLength(4);
  });

  test('keeps no settled task for long in a scope whose tasks settle out of order', async () => {
    const clock = new TestClock();
    const s = new Scope({ clock });
    const gate = deferred();
    s.spawn(() => gate.promise, { name: 'long' });
    for (let i = 0; i < 1000; i++) s.spawn(() => sleep(1, { clock }));
    await clock.advance(1);
    s.spawn(() => sleep(1, { clock }), { name: 'last' });
    const listed = scopeInternals.listed(s);
    // The 1000 settled ones were dropped (compacted) when `last` was listed.
    expect(listed).toBeLessThanOrEqual(2 * s.pending + 64);
    expect(shape(s.tree())).toEqual([
      'scope scope open',
      '  task long running',
      '  task last running',
    ]);
    gate.resolve();
    await clock.advance(1);
    await s[Symbol.asyncDispose]();
  });
});
