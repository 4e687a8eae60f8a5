// Review D7 (previous core review): `tree()` showed a task older than the scope it runs
// in, because task start times are one system-clock reading per microtask checkpoint and
// scope opening times were a fresh reading.
import { describe, expect, test } from 'vitest';
import { deferred } from '../../test/helpers.ts';
import { gather } from '../gather.ts';
import { scope } from '../scope.ts';
import { sleep } from '../sleep.ts';
import { TestClock } from '../test-clock.ts';
import type { TaskTreeNode } from './tree.ts';

/** Every `parent age → child age` pair where the child is older than its parent. */
function olderThanParent(node: TaskTreeNode): string[] {
  const bad: string[] = [];
  for (const child of node.children) {
    if (child.age !== undefined && node.age !== undefined && child.age > node.age) {
      bad.push(`${node.name} ${node.age} < ${child.name} ${child.age}`);
    }
    bad.push(...olderThanParent(child));
  }
  return bad;
}

/** Keeps the system clock moving for `ms` without yielding (same microtask checkpoint). */
function spin(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: the point is that no checkpoint passes
  }
}

describe('Scope.tree() ages (review D7)', () => {
  test('a task started in a scope opened later in the same checkpoint is never older than that scope', async () => {
    const gate = deferred();
    await scope(async (s) => {
      // The first task start of this checkpoint reads the clock; the rest of it shares
      // that reading.
      s.spawn(() => gate.promise, { name: 'first' });
      spin(3);
      s.spawn(async function outer() {
        await scope(
          async (inner) => {
            inner.spawn(() => gate.promise, { name: 'leaf' });
            await gate.promise;
          },
          { name: 'inner' },
        );
      });
      await sleep(5);
      const tree = s.tree();
      expect(tree.children.map((c) => c.name)).toEqual(['first', 'outer']);
      expect(tree.children[1]!.children[0]!.children.map((c) => c.name)).toEqual(['leaf']);
      expect(olderThanParent(tree)).toEqual([]);
      gate.resolve();
    });
  });

  test("the reviewer's case: gather inside a task, seen from the outer scope", async () => {
    const gate = deferred();
    await scope(async (s) => {
      s.spawn(async function g() {
        await gather([
          async function ga() {
            await gate.promise;
          },
        ]);
      });
      spin(3);
      await sleep(5);
      const tree = s.tree();
      const g = tree.children[0]!;
      const gs = g.children[0]!;
      expect(gs.kind).toBe('scope');
      expect(gs.children[0]!.name).toBe('ga');
      expect(olderThanParent(tree)).toEqual([]);
      gate.resolve();
    });
  });

  test('a child scope on another clock keeps its own ages (perf review D9)', async () => {
    const other = new TestClock();
    await scope(async (outer) => {
      outer.spawn(async function host() {
        await scope(
          async (v) => {
            v.spawn(async function virtualWork({ clock }) {
              await clock.sleep(120_000);
            });
            await other.advance(60_000);
            const host = outer.tree().children[0]!;
            const virtual = host.children[0]!;
            expect(virtual.name).toBe('virtual');
            expect(virtual.age).toBe(60_000);
            expect(virtual.children.map((c) => [c.name, c.age])).toEqual([['virtualWork', 60_000]]);
            await other.advance(60_000);
          },
          { clock: other, name: 'virtual' },
        );
      });
    });
  });

  test('on a TestClock ages stay exact', async () => {
    const clock = new TestClock({ autoAdvance: true });
    await scope(
      async (s) => {
        s.spawn(() => sleep(100), { name: 'a' });
        await sleep(40);
        s.spawn(() => sleep(100), { name: 'b' });
        await sleep(10);
        const tree = s.tree();
        expect(tree.age).toBe(50);
        expect(tree.children.map((c) => [c.name, c.age])).toEqual([
          ['a', 50],
          ['b', 10],
        ]);
      },
      { clock },
    );
  });
});
