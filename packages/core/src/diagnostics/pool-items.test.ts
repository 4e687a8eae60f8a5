import { describe, expect, test } from 'vitest';
import { collectUnhandled, deferred } from '../../test/helpers.ts';
import { asCompleted } from '../as-completed.ts';
import { currentTask } from '../current.ts';
import { gather, settle } from '../gather.ts';
import { mapConcurrent } from '../iter/map-concurrent.ts';
import { map, mapSettled } from '../map.ts';
import { run } from '../run.ts';
import { type Scope, scope } from '../scope.ts';
import type { Clock } from '../clock.ts';
import { sleep } from '../sleep.ts';
import type { Task } from '../task.ts';
import { TestClock } from '../test-clock.ts';
import { instrument, recordTimeline } from './instrument.ts';
import type { StuckReport } from './stuck.ts';
import type { TaskTreeNode } from './tree.ts';

const named = <F extends (...args: never[]) => unknown>(name: string, fn: F): F =>
  Object.defineProperty(fn, 'name', { value: name });

const sleeper = (name: string, ms: number, clock: TestClock) =>
  named(name, async () => {
    await sleep(ms, { clock });
    return name;
  });

/**
 * Runs `body` inside `run()` (its stuck check, on by default, makes pool calls track
 * their items without hooks), with `s` the run's root scope.
 */
const inRun = (body: (s: Scope) => Promise<void>, options: { clock?: Clock } = {}) =>
  run((ctx) => body(ctx.scope), { ...options, handleSignals: false });

/** Every node of a tree, depth first. */
function nodes(tree: TaskTreeNode): TaskTreeNode[] {
  const out: TaskTreeNode[] = [];
  const walk = (n: TaskTreeNode): void => {
    out.push(n);
    for (const c of n.children) walk(c);
  };
  walk(tree);
  return out;
}

describe('pool items in diagnostics', () => {
  test('the timeline of a limited gather shows one bar per item, overlapping as they ran', async () => {
    const clock = new TestClock({ autoAdvance: true });
    using timeline = recordTimeline({ clock });
    const values = await gather(
      [
        sleeper('a', 2000, clock),
        sleeper('b', 1000, clock),
        sleeper('c', 2000, clock),
        sleeper('d', 500, clock),
      ],
      { clock, concurrency: 2 },
    );
    expect(values).toEqual(['a', 'b', 'c', 'd']);
    const spans = timeline.spans;
    const scopeSpan = spans.find((s) => s.kind === 'scope' && s.name === 'gather')!;
    const items = spans.filter((s) => s.kind === 'task' && !s.name.startsWith('gather-worker'));
    // Two at a time: b ends at 1000 and c takes its place; a ends at 2000 and d follows.
    expect(
      items.map(({ name, start, end, state, parent }) => ({ name, start, end, state, parent })),
    ).toEqual([
      {
        name: expect.stringMatching(/^a#\d+$/),
        start: 0,
        end: 2000,
        state: 'fulfilled',
        parent: scopeSpan.id,
      },
      {
        name: expect.stringMatching(/^b#\d+$/),
        start: 0,
        end: 1000,
        state: 'fulfilled',
        parent: scopeSpan.id,
      },
      {
        name: expect.stringMatching(/^c#\d+$/),
        start: 1000,
        end: 3000,
        state: 'fulfilled',
        parent: scopeSpan.id,
      },
      {
        name: expect.stringMatching(/^d#\d+$/),
        start: 2000,
        end: 2500,
        state: 'fulfilled',
        parent: scopeSpan.id,
      },
    ]);
    // The workers are the two lanes; never more than two items run at once.
    expect(spans.filter((s) => s.name === 'gather-worker')).toHaveLength(2);
    const gantt = timeline.gantt({ width: 30, tasksOnly: true });
    // 30 columns for 3 s: a fills 0-2 s, c 1-3 s, d 2-2.5 s.
    expect(gantt).toMatch(/^a#\d+ +█{20} {10} 2\.00 s fulfilled$/m);
    expect(gantt).toMatch(/^c#\d+ + {10}█{20} 2\.00 s fulfilled$/m);
    expect(gantt).toMatch(/^d#\d+ + {20}█{5} {5} 500 ms fulfilled$/m);
  });

  test('hooks see every item start and settle, in order, with its state and scope', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const events: string[] = [];
    const boom = new Error('boom');
    {
      using _ = instrument({
        onTaskStart: (t, at) => {
          if (!t.name.includes('-worker'))
            events.push(`start ${t.name.replace(/#\d+$/, '')} in ${t.scope.name} @${at}`);
        },
        onTaskSettle: (t, at) => {
          if (!t.name.includes('-worker'))
            events.push(`settle ${t.name.replace(/#\d+$/, '')} ${t.state} @${at}`);
        },
      });
      const outcomes = await settle(
        [
          sleeper('a', 100, clock),
          named('b', async () => {
            await sleep(50, { clock });
            throw boom;
          }),
          named('c', () => 'c'),
        ],
        { clock, concurrency: 1, name: 'batch' },
      );
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    }
    expect(events).toEqual([
      'start a in batch @0',
      'settle a fulfilled @100',
      'start b in batch @100',
      'settle b rejected @150',
      'start c in batch @150',
      'settle c fulfilled @150',
    ]);
  });

  test('an item cut short by the first failure settles cancelled; items never started get no events', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const events: string[] = [];
    const boom = new Error('boom');
    {
      using _ = instrument({
        onTaskStart: (t) => void events.push(`start ${t.name}`),
        onTaskSettle: (t) => void events.push(`settle ${t.name} ${t.state}`),
      });
      const outcome = await map(
        [1000, 10, 5000, 7000],
        async (ms, { signal }) => {
          await sleep(ms, { signal, clock });
          if (ms === 10) throw boom;
        },
        { clock, concurrency: 2 },
      ).catch((e: unknown) => e);
      expect(outcome).toBe(boom);
    }
    const items = events.filter((e) => /map\[/.test(e)).map((e) => e.replace(/#\d+/, ''));
    expect(items).toEqual([
      'start map[0]',
      'start map[1]',
      'settle map[1] rejected',
      'settle map[0] cancelled',
    ]);
  });

  test('tree() shows the item each worker runs, with its age, and the scopes it opened under it', async () => {
    const clock = new TestClock();
    await inRun(
      async (s) => {
        const done = map(
          [1, 2, 3],
          async function fetchPage(x, { signal }) {
            if (x === 3) {
              await scope(async () => sleep(10_000, { signal }), { name: 'inner' });
            } else await sleep(1000 * x, { signal });
            return x;
          },
          { concurrency: 2, clock },
        );
        await clock.advance(1500);
        const tree = s.tree();
        const mapNode = tree.children[0]!;
        expect(mapNode).toMatchObject({ kind: 'scope', name: 'map' });
        const workers = mapNode.children;
        expect(workers.map((w) => w.name)).toEqual(['fetchPage-worker', 'fetchPage-worker']);
        // The first worker finished fetchPage[0] at 1000 and took fetchPage[2].
        expect(workers[0]!.children).toEqual([
          {
            kind: 'task',
            id: expect.any(Number),
            name: 'fetchPage[2]',
            state: 'running',
            age: 500,
            children: [expect.objectContaining({ kind: 'scope', name: 'inner', age: 500 })],
          },
        ]);
        expect(workers[1]!.children).toEqual([
          expect.objectContaining({ name: 'fetchPage[1]', age: 1500, children: [] }),
        ]);
        // The same item keeps its id from one snapshot to the next.
        const again = s.tree().children[0]!.children[0]!.children[0]!;
        expect(again.id).toBe(workers[0]!.children[0]!.id);
        s.cancel();
        await done.catch(() => {});
      },
      { clock },
    );
  });

  test('a worker between items shows no item', async () => {
    const clock = new TestClock();
    const gate = deferred<number>();
    async function* source() {
      yield 1;
      yield await gate.promise; // the worker waits here, between items
    }
    await scope(
      async (s) => {
        const done = map(source(), (x) => x, { concurrency: 1, clock });
        await clock.advance(0);
        const worker = s.tree().children[0]!.children[0]!;
        expect(worker).toMatchObject({ name: 'map-worker', children: [] });
        gate.resolve(2);
        expect(await done).toEqual([1, 2]);
      },
      { clock },
    );
  });

  test('with hooks the tree shows the same item id the hooks saw', async () => {
    const clock = new TestClock();
    const started: Task<unknown>[] = [];
    using _ = instrument({ onTaskStart: (t) => void started.push(t) });
    await scope(
      async (s) => {
        const done = gather([named('slow', () => sleep(100, { clock }))], {
          clock,
          concurrency: 1,
        });
        await clock.advance(0);
        const item = started.find((t) => t.name.startsWith('slow#'))!;
        const shown = nodes(s.tree()).find((n) => n.name === 'slow')!;
        expect(shown.id).toBe(item.id);
        expect(item.state).toBe('running');
        await clock.advance(100);
        await done;
        expect(item.state).toBe('fulfilled');
        expect(await item).toBeUndefined();
      },
      { clock },
    );
  });

  test("an item's scope is the call's scope, its signal the worker's, and awaiting it gives its outcome", async () => {
    const items: Task<unknown>[] = [];
    const inside: (Task<unknown> | undefined)[] = [];
    {
      using _ = instrument({ onTaskStart: (t) => void items.push(t) });
      await mapSettled(
        [1, 2],
        async (x, { signal }) => {
          inside.push(currentTask());
          expect(items.at(-1)!.signal).toBe(signal);
          if (x === 2) throw new Error('two');
          return x;
        },
        { concurrency: 1, name: 'pair' },
      );
    }
    const own = items.filter((t) => t.name.startsWith('pair['));
    expect(own.map((t) => t.scope.name)).toEqual(['pair', 'pair']);
    expect(own.map((t) => t.state)).toEqual(['fulfilled', 'rejected']);
    expect(await own[0]).toBe(1);
    expect(
      await own[1]!.then(
        () => 'fulfilled',
        (e: unknown) => e,
      ),
    ).toMatchObject({ message: 'two' });
    // Inside an item, currentTask() is the worker running it (documented).
    expect(inside.map((t) => t?.name)).toEqual(['mapSettled-worker', 'mapSettled-worker']);
  });

  test("cancelling an item through the hooks' reference fails the call, as cancelling an item task does", async () => {
    const clock = new TestClock({ autoAdvance: true });
    let item: Task<unknown> | undefined;
    let outcome: unknown;
    const ran: string[] = [];
    const unhandled = await collectUnhandled(async () => {
      using _ = instrument({
        onTaskStart: (t) => {
          if (!t.name.startsWith('victim#')) return;
          item = t;
          queueMicrotask(() => t.cancel());
        },
      });
      outcome = await gather(
        [
          named('victim', ({ signal }: { signal: AbortSignal }) => sleep(1000, { signal, clock })),
          named('other', () => void ran.push('other')),
        ],
        { clock, concurrency: 1 },
      ).catch((e: unknown) => e);
    });
    expect(outcome).toMatchObject({
      name: 'AbortError',
      message: expect.stringMatching(/victim#\d+/),
    });
    expect(item!.state).toBe('rejected');
    expect(ran).toEqual([]); // fail-fast: the next item never started
    item!.cancel(); // settled: nothing happens
    expect(unhandled).toEqual([]);
  });

  test("an item's cancel() ends that item only: a limited settle records it and runs the rest", async () => {
    const clock = new TestClock({ autoAdvance: true });
    let outcome: unknown;
    {
      using _ = instrument({
        onTaskStart: (t) => {
          if (t.name.startsWith('first#')) queueMicrotask(() => t.cancel());
        },
      });
      outcome = await settle(
        [
          named('first', ({ signal }: { signal: AbortSignal }) => sleep(1000, { signal, clock })),
          named('second', () => 2),
        ],
        { clock, concurrency: 1 },
      );
    }
    expect(outcome).toEqual([
      { status: 'rejected', reason: expect.objectContaining({ name: 'AbortError' }) },
      { status: 'fulfilled', value: 2 },
    ]);
  });

  test('a stuck item is reported by its name and its path through the call', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const gate = deferred();
    const reports: StuckReport[] = [];
    const boom = new Error('boom');
    const outcome = await run(
      async () => {
        await gather(
          [
            named('stubborn', () => gate.promise), // ignores its signal
            named('failing', async () => {
              await sleep(10);
              throw boom;
            }),
          ],
          { concurrency: 2, name: 'jobs' },
        );
      },
      {
        clock,
        handleSignals: false,
        stuckAfter: 1000,
        onStuck: (report) => {
          reports.push(report);
          gate.resolve();
        },
      },
    ).catch((e: unknown) => e);
    expect(outcome).toBe(boom);
    expect(reports).toEqual([
      {
        kind: 'task',
        id: expect.any(Number),
        name: expect.stringMatching(/^stubborn#\d+$/),
        path: ['run', 'jobs', reports[0]?.name],
        cancelledFor: 1000,
        reason: expect.objectContaining({ name: 'AbortError' }),
      },
    ]);
  });

  test('mapConcurrent and asCompleted items are visible too', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const names: string[] = [];
    {
      using _ = instrument({
        onTaskSettle: (t) => void names.push(`${t.name.replace(/#\d+$/, '')} ${t.state}`),
      });
      const out: number[] = [];
      for await (const v of mapConcurrent(
        [1, 2],
        async function double(x) {
          await sleep(x, { clock });
          return 2 * x;
        },
        { concurrency: 2, clock },
      )) {
        out.push(v);
      }
      expect(out).toEqual([2, 4]);
      for await (const v of asCompleted(
        [named('late', () => sleep(5, { clock }).then(() => 'late'))],
        {
          concurrency: 1,
          clock,
        },
      )) {
        expect(v).toBe('late');
      }
    }
    expect(names).toEqual(
      expect.arrayContaining(['double[0] fulfilled', 'double[1] fulfilled', 'late fulfilled']),
    );
  });

  test('tree() names the item a mapConcurrent worker runs', async () => {
    const clock = new TestClock();
    await inRun(
      async (s) => {
        const loop = mapConcurrent(
          [5],
          async function load(x, { signal }) {
            await sleep(x * 100, { signal, clock });
            return x;
          },
          { concurrency: 1, clock },
        );
        const first = loop.next();
        await clock.advance(200);
        const item = nodes(s.tree()).find((n) => n.name === 'load[0]');
        expect(item).toMatchObject({ kind: 'task', state: 'running', age: 200 });
        await clock.advance(300);
        expect(await first).toEqual({ done: false, value: 5 });
        await loop.return();
      },
      { clock },
    );
  });

  test('a scope an item opened in its synchronous part is never shown older than the item (review D2)', async () => {
    await inRun(async (s) => {
      const done = map(
        [1],
        (x, { signal }) =>
          scope(
            async () => {
              const until = Date.now() + 20;
              while (Date.now() < until); // a synchronous stretch before the item first waits
              await sleep(10_000, { signal });
            },
            { name: 'inner' },
          ),
        { concurrency: 1 },
      );
      await sleep(5);
      const item = nodes(s.tree()).find((n) => n.name === 'map[0]')!;
      const inner = item.children.find((n) => n.name === 'inner')!;
      expect(inner.age).toBeLessThanOrEqual(item.age!);
      s.cancel();
      await done.catch(() => {});
    });
  });

  test("the timeline nests a scope an item opened under the item's bar, as tree() does (review D3)", async () => {
    const clock = new TestClock({ autoAdvance: true });
    using timeline = recordTimeline({ clock });
    await map(
      [100, 200],
      async function page(ms) {
        await scope(async () => sleep(ms), { name: `inner${ms}` });
      },
      { concurrency: 1, clock },
    );
    const spans = timeline.spans;
    for (const [i, ms] of [
      [0, 100],
      [1, 200],
    ] as const) {
      const item = spans.find((s) => s.name.startsWith(`page[${i}]#`))!;
      expect(spans.find((s) => s.name === `inner${ms}`)).toMatchObject({ parent: item.id });
    }
  });

  test('a function whose name cannot be read still runs, named by default (review D4)', async () => {
    const f = async (x: number) => x * 2;
    Object.defineProperty(f, 'name', {
      get() {
        throw new Error('name getter');
      },
    });
    const out: number[] = [];
    for await (const v of mapConcurrent([1, 2, 3], f, { concurrency: 2 })) out.push(v);
    expect(out).toEqual([2, 4, 6]);
    const clock = new TestClock();
    const h = async () => sleep(10, { clock });
    Object.defineProperty(h, 'name', {
      get() {
        throw new Error('name getter');
      },
    });
    const g = async () => sleep(10, { clock });
    Object.defineProperty(g, 'name', { value: 42 });
    await inRun(
      async (s) => {
        // (an unlimited gather reads each item's name to name its task: it throws there)
        const done = gather([h, h], { clock, concurrency: 1 });
        const loop = mapConcurrent([1], g, { concurrency: 1, clock });
        const first = loop.next();
        await clock.advance(0);
        const names = nodes(s.tree()).map((n) => n.name);
        expect(names.filter((n) => n === 'task')).toHaveLength(1);
        expect(names).toContain('mapConcurrent[0]');
        await clock.advance(20);
        await done;
        await first;
        await loop.return();
      },
      { clock },
    );
  });

  test('tracking items changes no interleaving: asCompleted yields in the same order inside run(), with hooks, and without (review D11)', async () => {
    const ticks = async (n: number) => {
      for (let i = 0; i < n; i++) await Promise.resolve();
    };
    const fns = [1, 3, 5, 2, 4].map((d, i) => async () => {
      await ticks(d);
      return i;
    });
    const collect = async () => {
      const order: number[] = [];
      for await (const v of asCompleted(fns, { concurrency: 3 })) order.push(v as number);
      return order.join(',');
    };
    const plain = await collect();
    const inRunOrder = await run(collect, { handleSignals: false });
    let hooked: string;
    {
      using _ = instrument({ onTaskStart: () => {} });
      hooked = await collect();
    }
    expect([inRunOrder, hooked]).toEqual([plain, plain]);
  });
});
