import { describe, expect, test } from 'vitest';
import { deferred } from '../../test/helpers.ts';
import { run } from '../run.ts';
import { Scope, scope } from '../scope.ts';
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
    // Without instrumentation no task start time is kept: no age for tasks.
    expect(work.children[0]!.age).toBeUndefined();
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
      /└── stubborn \(task #\d+\) · cancelling for 250 ms$/,
    );
  });

  test('outside run() it counts the tasks it did not track, and lists them while instrumentation is on', async () => {
    const clock = new TestClock();
    const s = new Scope({ clock, name: 'plain' });
    s.spawn(() => sleep(100), { name: 'untracked' });
    const untracked = s.tree();
    expect(untracked.children).toEqual([]);
    expect(untracked.untracked).toBe(1);
    expect(formatTaskTree(untracked)).toMatch(/└── … 1 running task not tracked/);
    {
      using _ = instrument({});
      s.spawn(() => sleep(100), { name: 'tracked' });
    }
    await clock.advance(40);
    const tree = s.tree();
    expect(tree.children.map((c) => [c.name, c.age])).toEqual([['tracked', 40]]);
    expect(tree.untracked).toBe(1);
    await clock.advance(100);
    await s[Symbol.asyncDispose]();
    expect(s.tree()).toMatchObject({ state: 'closed', children: [] });
    expect(s.tree().untracked).toBeUndefined();
  });
});
