import { describe, expect, test } from 'vitest';
import { gather } from '../gather.ts';
import { Scope, scope } from '../scope.ts';
import { sleep } from '../sleep.ts';
import { TestClock } from '../test-clock.ts';
import { instrument, recordTimeline } from './instrument.ts';

const named = <T>(name: string, fn: () => T): (() => T) =>
  Object.defineProperty(fn, 'name', { value: name });

describe('instrument', () => {
  test('reports scope open/close and task start/settle in order, with clock times', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const events: string[] = [];
    {
      using _ = instrument({
        onScopeOpen: (s, at) => events.push(`open ${s.name} @${at}`),
        onScopeClose: (s, at) => events.push(`close ${s.name} ${s.state} @${at}`),
        onTaskStart: (t, at) => events.push(`start ${t.name} in ${t.scope.name} @${at}`),
        onTaskSettle: (t, at) => events.push(`settle ${t.name} ${t.state} @${at}`),
      });
      await scope(
        async (s) => {
          s.spawn(() => sleep(100), { name: 'a' });
          s.spawn(
            async () => {
              await sleep(50);
              throw new Error('b failed');
            },
            { name: 'b' },
          );
        },
        { name: 'outer', clock },
      ).catch(() => {});
    }
    expect(events).toEqual([
      'open outer @0',
      'start a in outer @0',
      'start b in outer @0',
      'settle b rejected @50',
      'settle a cancelled @50',
      'close outer closed @50',
    ]);
  });

  test('calls nothing once removed, and a hook that throws changes nothing', async () => {
    const seen: string[] = [];
    const logged: unknown[] = [];
    const originalError = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    try {
      const handle = instrument({
        onTaskStart: (t) => {
          seen.push(t.name);
          throw new Error('hook bug');
        },
      });
      expect(await gather([named('one', () => 1), named('two', () => 2)])).toEqual([1, 2]);
      handle.remove();
      handle.remove();
      await gather([named('three', () => 3)]);
    } finally {
      console.error = originalError;
    }
    // A task's name defaults to its function's name and its id (one source: Task.name).
    expect(seen).toEqual([expect.stringMatching(/^one#\d+$/), expect.stringMatching(/^two#\d+$/)]);
    expect(logged).toHaveLength(2);
  });

  test('validates its hooks', () => {
    expect(() => instrument({ onTaskStrat: () => {} } as never)).toThrow(
      /Unknown option `hooks.onTaskStrat`.*Did you mean `onTaskStart`/,
    );
    expect(() => instrument({ onTaskStart: 1 } as never)).toThrow(
      'Expected `hooks.onTaskStart` to be a function, got `1` (number)',
    );
    expect(() => instrument(undefined as never)).toThrow(TypeError);
  });
});

describe('recordTimeline', () => {
  test("the tutorial's gather of three 2 s tasks shows three overlapping 2 s bars", async () => {
    const clock = new TestClock({ autoAdvance: true });
    const fetchData = (name: string) => named(name, () => sleep(2000, { clock }));
    using timeline = recordTimeline({ clock });
    const started = clock.now();
    await gather([fetchData('fetchA'), fetchData('fetchB'), fetchData('fetchC')], { clock });
    expect(clock.now() - started).toBe(2000);
    timeline.stop();

    const tasks = timeline.spans.filter((s) => s.kind === 'task');
    expect(tasks.map((t) => [t.name.replace(/#\d+$/, ''), t.start, t.end, t.state])).toEqual([
      ['fetchA', 0, 2000, 'fulfilled'],
      ['fetchB', 0, 2000, 'fulfilled'],
      ['fetchC', 0, 2000, 'fulfilled'],
    ]);
    const gatherScope = timeline.spans.find((s) => s.kind === 'scope')!;
    expect(gatherScope).toMatchObject({ name: 'gather', start: 0, end: 2000, state: 'closed' });
    expect(tasks.every((t) => t.parent === gatherScope.id)).toBe(true);

    const lines = timeline.gantt({ width: 40 }).split('\n');
    expect(lines[0]).toMatch(/^\s+0\.0 ms\s+2\.00 s$/);
    expect(lines[1]).toMatch(/^gather \(scope\)\s+█{40} 2\.00 s closed$/);
    for (const [i, name] of ['fetchA', 'fetchB', 'fetchC'].entries()) {
      expect(lines[i + 2]).toMatch(new RegExp(`^  ${name}#\\d+\\s+█{40} 2\\.00 s fulfilled$`));
    }
    const svg = timeline.svg();
    expect(svg.match(/data-kind="task"/g)).toHaveLength(3);
  });

  test('sequential awaits show as bars one after the other', async () => {
    const clock = new TestClock({ autoAdvance: true });
    using timeline = recordTimeline({ clock });
    await scope(
      async (s) => {
        await s.spawn(() => sleep(1000), { name: 'first' });
        await s.spawn(() => sleep(1000), { name: 'second' });
      },
      { clock, name: 'sequential' },
    );
    const chart = timeline.gantt({ width: 20, tasksOnly: true }).split('\n');
    expect(chart[1]).toBe(`first  ${'█'.repeat(10)}${' '.repeat(10)} 1.00 s fulfilled`);
    expect(chart[2]).toBe(`second ${' '.repeat(10)}${'█'.repeat(10)} 1.00 s fulfilled`);
  });

  test('records only its clock, nests scopes under the task that opened them, and stops', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const other = new TestClock({ autoAdvance: true });
    const timeline = recordTimeline({ clock });
    await scope(
      async (s) => {
        s.spawn(
          () =>
            scope(async (inner) => void inner.spawn(() => sleep(10), { name: 'child' }), {
              name: 'inner',
            }),
          { name: 'parent' },
        );
      },
      { clock, name: 'outer' },
    );
    await scope(async (s) => void s.spawn(named('elsewhere', () => sleep(10))), { clock: other });
    timeline.stop();
    await scope(async (s) => void s.spawn(named('after', () => sleep(10))), { clock });
    const byName = new Map(timeline.spans.map((s) => [s.name, s]));
    expect([...byName.keys()]).toEqual(['outer', 'parent', 'inner', 'child']);
    expect(byName.get('inner')!.parent).toBe(byName.get('parent')!.id);
    expect(byName.get('child')!.parent).toBe(byName.get('inner')!.id);
    expect(timeline.stopped).toBe(true);
  });

  test('shows running spans up to now and keeps at most `limit` spans', async () => {
    const clock = new TestClock();
    using timeline = recordTimeline({ clock, limit: 2 });
    const s = new Scope({ clock, name: 'live' });
    s.spawn(() => sleep(1000), { name: 'slow' });
    s.spawn(() => sleep(1000), { name: 'dropped' });
    await clock.advance(500);
    expect(timeline.gantt({ width: 10 }).split('\n')[2]).toBe(
      `${'  slow'.padEnd('live (scope)'.length)} ${'▒'.repeat(10)} 500 ms running`,
    );
    expect(timeline.dropped).toBe(1);
    await clock.advance(500);
    await s[Symbol.asyncDispose]();
    expect(() => recordTimeline({ limit: 0 })).toThrow(RangeError);
    expect(() => recordTimeline({ clok: clock } as never)).toThrow(/Did you mean `clock`/);
  });
});
