// Review D6 of issue 7: a helper's close that never settles (a ReadableStream whose
// cancel() never does, a source whose return() never does) keeps its scope open, as a task
// ignoring cancellation would; it must not be invisible. It is a `close` node of
// `tree()` and, after `stuckAfter`, a stuck report of kind `close`. The wait is not
// bounded (see the README: a native `for await … break` over such a stream hangs too).
import { describe, expect, test } from 'vitest';
import { currentScope } from '../src/current.ts';
import { formatTaskTree, type TaskTreeNode } from '../src/diagnostics/tree.ts';
import type { StuckReport } from '../src/diagnostics/stuck.ts';
import { batch } from '../src/iter/batch.ts';
import { buffer } from '../src/iter/buffer.ts';
import { mapConcurrent } from '../src/iter/map-concurrent.ts';
import { merge } from '../src/iter/merge.ts';
import { take } from '../src/iter/take.ts';
import { map } from '../src/map.ts';
import { run } from '../src/run.ts';
import { type Scope, scope } from '../src/scope.ts';
import { TestClock } from '../src/test-clock.ts';
import { timeout } from '../src/timeout.ts';
import { deferred } from './helpers.ts';

/** A stream with one item whose cancel() settles only when `gate` does. */
function stubbornStream(gate: Promise<void>): ReadableStream<number> {
  return new ReadableStream<number>({
    start(controller) {
      controller.enqueue(1);
    },
    cancel: () => gate,
  });
}

/** An iterator: one item, then a read that waits until `gate`; return() waits for it too. */
function stubbornIterator(gate: Promise<void>): AsyncIterable<number> {
  let i = 0;
  const it: AsyncIterator<number> & AsyncIterable<number> = {
    [Symbol.asyncIterator]: () => it,
    next: () =>
      i++ === 0
        ? Promise.resolve({ value: 1, done: false })
        : gate.then(() => ({ value: 0, done: true })),
    return: () => gate.then(() => ({ value: undefined, done: true })),
  };
  return it;
}

/** Waits (real time, up to 2 s) until `cond()` holds. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  if (!cond()) throw new Error('timed out waiting');
}

function closes(node: TaskTreeNode): TaskTreeNode[] {
  return [...(node.kind === 'close' ? [node] : []), ...node.children.flatMap(closes)];
}

const helpers = {
  buffer: (src: AsyncIterable<number>) => buffer(src, { size: 2 }),
  merge: (src: AsyncIterable<number>) => merge([src]),
  mapConcurrent: (src: AsyncIterable<number>) => mapConcurrent(src, (x) => x, { concurrency: 2 }),
  batch: (src: AsyncIterable<number>) => batch(src, { size: 1 }),
  take: (src: AsyncIterable<number>) => take(src, { count: 5 }),
};

describe('a close that does not settle is visible (review D6; take and batch: review D2 of corefix)', () => {
  for (const [name, open] of Object.entries(helpers)) {
    for (const [kind, source] of Object.entries({
      'a ReadableStream whose cancel()': (gate: Promise<void>) =>
        stubbornStream(gate) as unknown as AsyncIterable<number>,
      'an iterator whose return()': stubbornIterator,
    })) {
      for (const where of ['scope body', 'task'] as const) {
        test(`${name} in a ${where}, ${kind} never settles: a "close ${name}" node in tree() and a stuck report of kind close`, async () => {
          const clock = new TestClock();
          const gate = deferred();
          const reports: StuckReport[] = [];
          let root!: Scope;
          const loop = async (): Promise<void> => {
            for await (const _ of open(source(gate.promise))) break;
          };
          const done = run(
            async () => {
              root = currentScope()!;
              await scope(
                async (s) => {
                  if (where === 'task') s.spawn(loop);
                  else await loop();
                },
                { name: 'reader' },
              );
            },
            { clock, handleSignals: false, stuckAfter: 100, onStuck: (r) => reports.push(r) },
          );
          await until(() => root !== undefined && closes(root.tree()).length > 0);
          expect(closes(root.tree())).toEqual([
            {
              kind: 'close',
              id: expect.any(Number),
              name: `close ${name}`,
              state: 'running',
              age: 0,
              cancelledFor: 0,
              children: [],
            },
          ]);
          await clock.advance(99);
          expect(reports).toEqual([]);
          await clock.advance(1);
          expect(reports).toEqual([
            {
              kind: 'close',
              id: closes(root.tree())[0]!.id,
              name: `close ${name}`,
              path: ['run', 'reader', `close ${name}`],
              cancelledFor: 100,
              reason: undefined,
            },
          ]);
          expect(closes(root.tree())[0]).toMatchObject({ age: 100, cancelledFor: 100 });
          gate.resolve();
          await done;
          expect(reports).toHaveLength(1);
          expect(clock.pendingTimers).toBe(0);
        });
      }
    }
  }

  test("the review's repro: formatTaskTree says what the open scope waits for", async () => {
    const gate = deferred();
    let text = '';
    await scope(async (outer) => {
      const inner = scope(
        async () => {
          for await (const _ of buffer(stubbornStream(gate.promise), { size: 2 })) break;
        },
        { name: 'reader' },
      );
      // Poll (real time) until the close is held, then print the tree.
      for (let i = 0; i < 200 && closes(outer.tree()).length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      text = formatTaskTree(outer.tree());
      gate.resolve();
      await inner;
    });
    expect(text).toMatch(
      /└── reader \(scope #\d+\) · open · age .*\n +└── close buffer \(close #\d+\) · closing for .* · age /,
    );
  });

  test('once the close settles, the node is gone and no report comes', async () => {
    const clock = new TestClock();
    const reports: StuckReport[] = [];
    const gate = deferred();
    let root!: Scope;
    let bodyDone = false;
    const done = run(
      async () => {
        root = currentScope()!;
        await scope(async () => {
          for await (const _ of buffer(stubbornStream(gate.promise), { size: 2 })) break;
          bodyDone = true;
        });
      },
      { clock, handleSignals: false, stuckAfter: 100, onStuck: (r) => reports.push(r) },
    );
    await until(() => bodyDone && closes(root.tree()).length > 0);
    await clock.advance(50);
    gate.resolve();
    await done;
    expect(closes(root.tree())).toEqual([]);
    await clock.advance(500);
    expect(reports).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  test('a scope cancelled (timeout) while a close hangs: the close is reported, not the body that already returned', async () => {
    const clock = new TestClock();
    const gate = deferred();
    const reports: StuckReport[] = [];
    let root!: Scope;
    const done = run(
      async () => {
        root = currentScope()!;
        return timeout(
          10,
          async () => {
            for await (const _ of merge([stubbornStream(gate.promise)])) {
              // waits for a second item that never comes, until the timeout
            }
          },
          { name: 'slow' },
        ).catch((e: unknown) => (e as Error).name);
      },
      { clock, handleSignals: false, stuckAfter: 100, onStuck: (r) => reports.push(r) },
    );
    await until(() => root !== undefined);
    await clock.advance(10);
    await until(() => closes(root.tree()).length > 0);
    await clock.advance(300);
    expect(reports.map((r) => [r.kind, r.name])).toEqual([['close', 'close merge']]);
    gate.resolve();
    expect(await done).toBe('TimeoutError');
  });

  test('map cut by its timeout while its source never finishes closing: a "close map" node and report', async () => {
    const clock = new TestClock();
    const gate = deferred();
    const reports: StuckReport[] = [];
    let root!: Scope;
    let outcome: unknown;
    const done = run(
      async () => {
        root = currentScope()!;
        await scope(
          async () => {
            outcome = await map(stubbornIterator(gate.promise), (x) => x, {
              concurrency: 2,
              timeout: 10,
            }).catch((e: unknown) => (e as Error).name);
          },
          { name: 'loader' },
        );
      },
      { clock, handleSignals: false, stuckAfter: 100, onStuck: (r) => reports.push(r) },
    );
    await until(() => root !== undefined);
    await clock.advance(10);
    await until(() => closes(root.tree()).length > 0);
    expect(outcome).toBe('TimeoutError');
    await clock.advance(100);
    expect(reports.map((r) => [r.kind, r.path.join(' › ')])).toEqual([
      ['close', 'run › loader › close map'],
    ]);
    gate.resolve();
    await done;
    expect(clock.pendingTimers).toBe(0);
  });
});
