import { describe, expect, test } from 'vitest';
import { formatDuration } from './format.ts';
import { renderGantt, renderTimelineSvg, type TimelineSpan } from './timeline.ts';
import { formatTaskTree, type TaskTreeNode } from './tree.ts';

const gatherSpans: TimelineSpan[] = [
  { id: 10, kind: 'scope', name: 'gather', start: 0, end: 2000, state: 'closed' },
  { id: 1, kind: 'task', name: 'fetchA', parent: 10, start: 0, end: 2000, state: 'fulfilled' },
  { id: 2, kind: 'task', name: 'fetchB', parent: 10, start: 0, end: 2000, state: 'fulfilled' },
  { id: 3, kind: 'task', name: 'fetchC', parent: 10, start: 0, end: 2000, state: 'fulfilled' },
];

/** The [first, last] column of the bar on a Gantt row, relative to the bar area. */
function barColumns(row: string, barStart: number): [number, number] {
  const cells = [...row.slice(barStart)];
  const first = cells.findIndex((c) => '█▓░▒'.includes(c));
  let last = first;
  while (last + 1 < cells.length && '█▓░▒'.includes(cells[last + 1]!)) last++;
  return [first, last];
}

describe('renderGantt', () => {
  test('draws three concurrent 2 s tasks as three overlapping full-width bars', () => {
    const chart = renderGantt(gatherSpans, { width: 40 });
    const lines = chart.split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^\s+0\.0 ms\s+2\.00 s$/);
    expect(lines[1]).toMatch(/^gather \(scope\)\s+█{40} 2\.00 s closed$/);
    const barStart = lines[1]!.indexOf('█');
    for (const [i, name] of ['fetchA', 'fetchB', 'fetchC'].entries()) {
      const row = lines[i + 2]!;
      expect(row.trimStart().startsWith(name)).toBe(true);
      expect(row.startsWith('  ')).toBe(true); // nested under the scope
      expect(barColumns(row, barStart)).toEqual([0, 39]);
      expect(row).toMatch(/ 2\.00 s fulfilled$/);
    }
  });

  test('places sequential work side by side and marks each outcome', () => {
    const chart = renderGantt(
      [
        { id: 1, kind: 'task', name: 'a', start: 0, end: 1000, state: 'fulfilled' },
        { id: 2, kind: 'task', name: 'b', start: 1000, end: 1500, state: 'rejected' },
        { id: 3, kind: 'task', name: 'c', start: 1500, end: 2000, state: 'cancelled' },
        { id: 4, kind: 'task', name: 'd', start: 1000 },
      ].map((s) => ({ state: 'running', ...s }) as TimelineSpan),
      { width: 20, now: 2000 },
    );
    const [, a, b, d, c] = chart.split('\n');
    expect(a).toBe(`a ${'█'.repeat(10)}${' '.repeat(10)} 1.00 s fulfilled`);
    expect(b).toBe(`b ${' '.repeat(10)}${'▓'.repeat(5)}${' '.repeat(5)} 500 ms rejected`);
    expect(c).toBe(`c ${' '.repeat(15)}${'░'.repeat(5)} 500 ms cancelled`);
    expect(d).toBe(`d ${' '.repeat(10)}${'▒'.repeat(10)} 1.00 s running`);
  });

  test('gives an instant span one column and leaves scopes out on request', () => {
    const chart = renderGantt(
      [
        { id: 10, kind: 'scope', name: 's', start: 0, end: 100, state: 'closed' },
        { id: 1, kind: 'task', name: 'quick', parent: 10, start: 50, end: 50, state: 'fulfilled' },
        { id: 2, kind: 'task', name: 'slow', parent: 10, start: 0, end: 100, state: 'fulfilled' },
      ],
      { width: 10, tasksOnly: true },
    );
    const lines = chart.split('\n');
    expect(lines.slice(1).map((l) => l.split(' ')[0])).toEqual(['slow', 'quick']);
    expect(lines[2]).toBe(`quick ${' '.repeat(5)}█${' '.repeat(4)} 0.0 ms fulfilled`);
    expect(renderGantt([])).toBe('(no spans)');
  });

  test('validates its input', () => {
    expect(() => renderGantt('spans' as never)).toThrow(/Expected `spans` to be an array/);
    expect(() => renderGantt(gatherSpans, { width: 3 })).toThrow(RangeError);
    expect(() => renderGantt(gatherSpans, { widht: 3 } as never)).toThrow(/Did you mean `width`/);
    expect(() => renderGantt(gatherSpans, { now: Number.NaN })).toThrow(/`options.now`/);
  });

  test('names the span and field that is malformed, for both renderers', () => {
    const span = gatherSpans[1]!;
    const cases: [unknown, RegExp][] = [
      [{}, /^Expected `spans\[0\]\.id` to be a finite number, got `undefined` \(undefined\)$/],
      [null, /^Expected `spans\[0\]` to be a TimelineSpan, got `null` \(null\)$/],
      [
        { ...span, kind: 'thread' },
        /`spans\[0\]\.kind` to be one of 'scope', 'task', got `thread`/,
      ],
      [{ ...span, name: 3 }, /`spans\[0\]\.name` to be a string, got `3` \(number\)/],
      [{ ...span, start: Number.NaN }, /`spans\[0\]\.start` to be a finite number, got `NaN`/],
      [{ ...span, end: '5' }, /`spans\[0\]\.end` to be a finite number, got `5` \(string\)/],
      [{ ...span, state: 'done' }, /`spans\[0\]\.state` to be one of 'running', .*got `done`/],
      [{ ...span, parent: 'x' }, /`spans\[0\]\.parent` to be a finite number/],
    ];
    for (const [bad, message] of cases) {
      for (const render of [renderGantt, renderTimelineSvg]) {
        expect(() => render([bad as TimelineSpan])).toThrow(message);
      }
    }
    const backwards = { ...span, start: 10, end: 5 };
    for (const render of [renderGantt, renderTimelineSvg]) {
      expect(() => render([gatherSpans[0]!, backwards])).toThrow(RangeError);
      expect(() => render([gatherSpans[0]!, backwards])).toThrow(
        'Expected `spans[1].end` to be at least `spans[1].start` (10), got `5` (number)',
      );
      expect(() => render(gatherSpans, { tasksOnly: 'yes' } as never)).toThrow(
        /`options.tasksOnly` to be a boolean/,
      );
    }
  });
});

describe('renderGantt and renderTimelineSvg on unusual input (review D4)', () => {
  const sp = (o: Partial<TimelineSpan>): TimelineSpan => ({
    id: 1,
    kind: 'task',
    name: 'a',
    start: 0,
    end: 5,
    state: 'fulfilled',
    ...o,
  });

  test('draw spans in a parent cycle at the top instead of dropping them', () => {
    const spans = [
      sp({ id: 1, name: 'ping', parent: 2 }),
      sp({ id: 2, name: 'pong', parent: 1 }),
      sp({ id: 3, name: 'self', parent: 3 }),
      sp({ id: 4, name: 'under', parent: 1 }),
    ];
    const lines = renderGantt(spans, { width: 10 }).split('\n');
    expect(lines.slice(1).map((l) => l.split(' ██')[0]!.trimEnd())).toEqual([
      'ping',
      '  under',
      'pong',
      'self',
    ]);
    const svg = renderTimelineSvg(spans);
    for (const name of ['ping', 'pong', 'self', '  under']) expect(svg).toContain(`>${name}<`);
    expect(svg.match(/<rect x=/g)).toHaveLength(4);
  });

  test('bound options.width, naming it and its maximum', () => {
    expect(() => renderGantt([sp({})], { width: 1e9 })).toThrow(
      new RangeError(
        'Expected `options.width` to be an integer from 10 to 1000, got `1000000000` (number)',
      ),
    );
    expect(() => renderTimelineSvg([sp({})], { width: 1e9 })).toThrow(
      new RangeError(
        'Expected `options.width` to be an integer from 10 to 100000, got `1000000000` (number)',
      ),
    );
    expect(() => renderGantt([sp({})], { width: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => renderGantt([sp({})], { width: '20' as never })).toThrow(TypeError);
    expect(renderGantt([sp({})], { width: 1000 }).split('\n')[1]).toContain('█'.repeat(1000));
  });

  test('refuse an options.now before the spans end, and a time range that overflows (review diag D4)', () => {
    const spans = [sp({ start: 0, end: 100 }), sp({ id: 2, end: 10 })];
    for (const render of [renderGantt, renderTimelineSvg]) {
      expect(() => render(spans, { now: 50, width: 20 })).toThrow(
        new RangeError(
          'Expected `options.now` to be at least the latest start or end among the spans (100), got `50` (number)',
        ),
      );
      expect(() => render([sp({ start: 10, end: 20 })], { now: 0, width: 20 })).toThrow(RangeError);
      expect(() => render([sp({ start: -1e308, end: 1e308 })], { width: 20 })).toThrow(
        /^Expected the spans to cover a finite time range, got from -1e\+308 to 1e\+308 ms/,
      );
    }
    // A range near Number.MAX_VALUE is finite, and so is every coordinate.
    const svg = renderTimelineSvg([sp({ kind: 'scope', start: 0, end: 1e6 })], { now: 4.49e307 });
    expect(svg).not.toMatch(/NaN|Infinity|∞/);
    // `now` at or after the end is fine: a running span is drawn up to it.
    expect(
      renderGantt([sp({ end: undefined, state: 'running' })], { now: 5, width: 10 }),
    ).toContain('▒'.repeat(10));
  });

  test('name a hole in a sparse array and a repeated id', () => {
    const sparse: TimelineSpan[] = [];
    sparse[1] = sp({}); // spans[0] is a hole
    for (const render of [renderGantt, renderTimelineSvg]) {
      expect(() => render(sparse)).toThrow(
        new TypeError('Expected `spans[0]` to be a TimelineSpan, got `undefined` (undefined)'),
      );
      expect(() => render([sp({}), sp({ name: 'b' })])).toThrow(
        new TypeError(
          'Expected `spans[1].id` to be unique among the spans, got `1` (number) a second time',
        ),
      );
    }
  });

  test('render a chain 20,000 deep (iteratively, with bounded indentation)', () => {
    const spans = Array.from({ length: 20_000 }, (_, i) =>
      sp({ id: i + 1, name: `s${i}`, parent: i === 0 ? undefined : i }),
    );
    const lines = renderGantt(spans, { width: 10 }).split('\n');
    expect(lines).toHaveLength(20_001);
    expect(lines[1]!.startsWith('s0 ')).toBe(true);
    expect(lines[20_000]!.trimStart().startsWith('[19999] s19999 ')).toBe(true);
    // Indentation stops growing: every row is short.
    expect(Math.max(...lines.slice(0, 100).map((l) => l.length))).toBeLessThan(200);
    const svg = renderTimelineSvg(spans);
    expect(svg.match(/<rect x=/g)).toHaveLength(20_000);
  });
});

describe('renderTimelineSvg', () => {
  test('draws one bar per span, to scale, with escaped names and tooltips', () => {
    const svg = renderTimelineSvg(
      [
        ...gatherSpans,
        {
          id: 4,
          kind: 'task',
          name: '<half & half>',
          parent: 10,
          start: 0,
          end: 1000,
          state: 'rejected',
        },
      ],
      { width: 400 },
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const bars = [
      ...svg.matchAll(
        /<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*data-kind="(\w+)" data-state="(\w+)"/g,
      ),
    ];
    expect(bars).toHaveLength(5);
    const tasks = bars.filter((b) => b[3] === 'task');
    // The three 2 s tasks share one x and one width; the 1 s one is half as wide.
    expect(new Set(tasks.slice(0, 3).map((b) => `${b[1]}/${b[2]}`)).size).toBe(1);
    expect(Number(tasks[0]![2])).toBeCloseTo(400, 0);
    expect(Number(tasks[3]![2])).toBeCloseTo(200, 0);
    expect(svg).toContain('&#60;half &#38; half&#62;');
    expect(svg).not.toContain('<half');
    expect(svg).toContain('<title>fetchA (task #1): 2.00 s, fulfilled</title>');
  });
});

describe('formatTaskTree', () => {
  const tree: TaskTreeNode = {
    kind: 'scope',
    id: 1,
    name: 'run',
    state: 'running',
    age: 12_300,
    children: [
      {
        kind: 'task',
        id: 1,
        name: 'main',
        state: 'running',
        age: 12_300,
        children: [
          {
            kind: 'scope',
            id: 2,
            name: 'downloads',
            state: 'running',
            age: 3100,
            deadline: 1900,
            children: [
              {
                kind: 'task',
                id: 4,
                name: 'fetch',
                state: 'running',
                age: 3100,
                deadline: 1900,
                children: [],
              },
              {
                kind: 'task',
                id: 5,
                name: 'stuck',
                state: 'running',
                age: 9300,
                cancelledFor: 6200,
                deadline: -50,
                children: [],
              },
              { kind: 'task', id: 6, name: 'done', state: 'fulfilled', age: 10, children: [] },
            ],
          },
        ],
      },
      { kind: 'task', id: 2, name: 'ticker', state: 'running', age: 12_000, children: [] },
    ],
  };

  test('prints the tree with name, kind, id, state, age and deadline', () => {
    expect(formatTaskTree(tree)).toBe(
      [
        'run (scope #1) · running · age 12.30 s',
        '├── main (task #1) · running · age 12.30 s',
        '│   └── downloads (scope #2) · running · age 3.10 s · deadline in 1.90 s',
        '│       ├── fetch (task #4) · running · age 3.10 s · deadline in 1.90 s',
        '│       ├── stuck (task #5) · cancelling for 6.20 s · age 9.30 s · deadline passed 50 ms ago',
        '│       └── done (task #6) · fulfilled · age 10 ms',
        '└── ticker (task #2) · running · age 12.00 s',
      ].join('\n'),
    );
  });

  test('prints a tree 20,000 deep (iteratively, with bounded indentation) (review D4)', () => {
    let node: TaskTreeNode = {
      kind: 'task',
      id: 20_000,
      name: 'leaf',
      state: 'running',
      children: [],
    };
    for (let id = 19_999; id >= 1; id--) {
      node = { kind: 'scope', id, name: `s${id}`, state: 'open', children: [node] };
    }
    const lines = formatTaskTree(node).split('\n');
    expect(lines).toHaveLength(20_000);
    expect(lines[1]).toBe('└── s2 (scope #2) · open');
    expect(lines[19_999]).toBe(
      `[+${19_998 - 64}] ${' '.repeat(4 * 64)}└── leaf (task #20000) · running`,
    );
    expect(Math.max(...lines.slice(-100).map((l) => l.length))).toBeLessThan(320);
  });

  test('leaves settled nodes out with runningOnly', () => {
    const text = formatTaskTree(tree, { runningOnly: true });
    expect(text).not.toContain('done');
    expect(text).toContain('│       └── stuck (task #5)');
  });

  test('validates its input', () => {
    expect(() => formatTaskTree(undefined as never)).toThrow(
      /Expected `tree` to be a TaskTreeNode/,
    );
    expect(() => formatTaskTree(tree, { running: true } as never)).toThrow(
      /Did you mean `runningOnly`/,
    );
  });

  test('names the node and field that is malformed, down the tree', () => {
    const root = { kind: 'scope', id: 1, name: 'x', state: 'open' } as const;
    expect(() => formatTaskTree({ ...root, children: [null] } as never)).toThrow(
      'Expected `tree.children[0]` to be a TaskTreeNode (from scope.tree()), got `null` (null)',
    );
    expect(() => formatTaskTree({ ...root, children: undefined } as never)).toThrow(
      'Expected `tree.children` to be an array, got `undefined` (undefined)',
    );
    const deep = {
      ...root,
      children: [{ ...root, id: 2, children: [{ ...root, state: 'done', children: [] }] }],
    };
    expect(() => formatTaskTree(deep as never)).toThrow(
      /^Expected `tree\.children\[0\]\.children\[0\]\.state` to be one of 'running', .*got `done` \(string\)$/,
    );
    expect(() => formatTaskTree({ ...root, age: Number.NaN, children: [] })).toThrow(
      /`tree\.age` to be a finite number, got `NaN`/,
    );
    expect(() => formatTaskTree({ ...root, name: undefined, children: [] } as never)).toThrow(
      /`tree\.name` to be a string/,
    );
    expect(() => formatTaskTree({ ...root, age: -5, children: [] })).toThrow(
      new RangeError(
        'Expected `tree.age` to be a number of milliseconds from 0 up, got `-5` (number)',
      ),
    );
    expect(() =>
      formatTaskTree({ ...root, children: [{ ...root, cancelledFor: -1, children: [] }] }),
    ).toThrow(
      /^Expected `tree\.children\[0\]\.cancelledFor` to be a number of milliseconds from 0 up/,
    );
    // A deadline is time left: negative once passed, and accepted.
    expect(formatTaskTree({ ...root, deadline: -5, children: [] })).toContain('deadline passed');
    const cyclic = { ...root, children: [] as unknown[] };
    cyclic.children.push(cyclic);
    expect(() => formatTaskTree(cyclic as never)).toThrow(/`tree\.children\[0\]`.*own ancestors/);
    expect(() => formatTaskTree({ ...root, children: [] }, { runningOnly: 1 } as never)).toThrow(
      /`options.runningOnly` to be a boolean/,
    );
  });
});

test('formatDuration picks a readable unit', () => {
  expect([0.25, 12.4, 999, 1000, 59_999, 200_000].map(formatDuration)).toEqual([
    '0.3 ms',
    '12 ms',
    '999 ms',
    '1.00 s',
    '60.00 s',
    '3 min 20 s',
  ]);
});
