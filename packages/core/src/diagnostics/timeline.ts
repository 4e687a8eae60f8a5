import {
  assertBoolean,
  assertFinite,
  assertNotBelow,
  assertOneOf,
  assertOptions,
  assertString,
  describe,
} from '../internal/validate.ts';
import type { ScopeState } from '../scope.ts';
import type { TaskState } from '../task.ts';
import { formatDuration } from './format.ts';

/**
 * One bar of a timeline: a task or a scope from start to end, on one clock. Plain data;
 * `Timeline.spans` produces it, and the renderers accept any list of it.
 */
export interface TimelineSpan {
  /** Unique among the spans (tasks and scopes share one sequence of ids). */
  readonly id: number;
  readonly kind: 'scope' | 'task';
  readonly name: string;
  /**
   * The id of the span it nests under: a task's scope (for an item of a limited `gather`
   * or `map`, the call's scope); a scope's opening task, or the enclosing scope when it
   * was opened in a body. Absent for a root.
   */
  readonly parent?: number;
  /** Clock time it started, in ms. */
  readonly start: number;
  /** Clock time it settled, in ms; absent while it runs. */
  readonly end?: number;
  /** The task's or scope's state when it ended (or `running`/`open` while it runs). */
  readonly state: TaskState | ScopeState;
}

/** Options of {@link renderGantt} and {@link renderTimelineSvg}. */
export interface RenderTimelineOptions {
  /**
   * Width of the bar area: characters for the Gantt chart (10 to 1000), pixels for the
   * SVG (10 to 100,000); outside that range a `RangeError`.
   * @default 60 (Gantt), 800 (SVG)
   */
  width?: number;
  /**
   * Where a span still running ends on the chart: at least the latest start or end among
   * the spans (else a `RangeError`).
   * @default the latest start or end among the spans
   */
  now?: number;
  /**
   * Leave out scopes (show tasks only).
   * @default false
   */
  tasksOnly?: boolean;
}

const KEYS = ['width', 'now', 'tasksOnly'] as const;
const KINDS = ['scope', 'task'] as const;
/** Every state a task or scope can be in (the values of `Task.state` and `Scope.state`). */
export const NODE_STATES: readonly (TaskState | ScopeState)[] = [
  'running',
  'fulfilled',
  'rejected',
  'cancelled',
  'open',
  'closed',
];

/** Checks that `span` (at `spans[i]`) is a TimelineSpan, naming the field that is not. */
function assertSpan(i: number, span: unknown): asserts span is TimelineSpan {
  const at = `spans[${i}]`;
  if (typeof span !== 'object' || span === null) {
    throw new TypeError(`Expected \`${at}\` to be a TimelineSpan, got ${describe(span)}`);
  }
  const s = span as Record<keyof TimelineSpan, unknown>;
  assertFinite(`${at}.id`, s.id);
  assertOneOf(`${at}.kind`, s.kind, KINDS);
  assertString(`${at}.name`, s.name);
  if (s.parent !== undefined) assertFinite(`${at}.parent`, s.parent);
  assertFinite(`${at}.start`, s.start);
  if (s.end !== undefined) {
    assertFinite(`${at}.end`, s.end);
    assertNotBelow(`${at}.end`, s.end, s.start, `${at}.start`);
  }
  assertOneOf(`${at}.state`, s.state, NODE_STATES);
}

interface Row {
  span: TimelineSpan;
  depth: number;
  end: number;
}

/** Spans in tree order (children under their parent, each level by start time). */
function layout(
  spans: readonly TimelineSpan[],
  options: RenderTimelineOptions,
): { rows: Row[]; t0: number; t1: number } {
  if (!Array.isArray(spans)) {
    throw new TypeError(
      `Expected \`spans\` to be an array of TimelineSpan, got ${describe(spans)}`,
    );
  }
  // Index by index: a sparse array's hole is `spans[i]` = undefined, reported as such.
  const all = new Map<number, TimelineSpan>();
  for (let i = 0; i < spans.length; i++) {
    const span: unknown = spans[i];
    assertSpan(i, span);
    if (all.has(span.id)) {
      throw new TypeError(
        `Expected \`spans[${i}].id\` to be unique among the spans, got ${describe(span.id)} a second time`,
      );
    }
    all.set(span.id, span);
  }
  assertOptions('options', options, KEYS);
  if (options.now !== undefined) assertFinite('options.now', options.now);
  assertBoolean('options.tasksOnly', options.tasksOnly);
  const shown = options.tasksOnly
    ? [...all.values()].filter((s) => s.kind === 'task')
    : [...all.values()];
  let t0 = Number.POSITIVE_INFINITY;
  let latest = Number.NEGATIVE_INFINITY;
  for (const s of shown) {
    t0 = Math.min(t0, s.start);
    latest = Math.max(latest, s.start, s.end ?? s.start);
  }
  if (options.now !== undefined && shown.length > 0 && options.now < latest) {
    throw new RangeError(
      `Expected \`options.now\` to be at least the latest start or end among the spans (${latest}), got ${describe(options.now)}`,
    );
  }
  const t1 = options.now ?? latest;
  if (shown.length > 0 && !Number.isFinite(t1 - t0)) {
    throw new RangeError(
      `Expected the spans to cover a finite time range, got from ${t0} to ${t1} ms (a difference of ${t1 - t0})`,
    );
  }
  // Ids are shared by tasks and scopes, so a span nests under whichever it names; when that
  // one is not shown (tasksOnly), under its nearest shown ancestor; when it names none of
  // the spans, at the top.
  const shownIds = new Set(shown.map((s) => s.id));
  const parentOf = new Map<number, number | undefined>();
  for (const s of shown) {
    let parent = s.parent;
    const seen = new Set<number>();
    while (parent !== undefined && !shownIds.has(parent) && !seen.has(parent)) {
      seen.add(parent);
      parent = all.get(parent)?.parent;
    }
    parentOf.set(s.id, parent !== undefined && shownIds.has(parent) ? parent : undefined);
  }
  // Spans in a parent cycle (a span its own ancestor, itself included) would hang under
  // nothing that reaches the top: they are drawn at the top instead, the spans under them
  // in place. One pass, each span visited once (0: new, 1: on the current chain, 2: done).
  const mark = new Map<number, 1 | 2>();
  for (const s of shown) {
    const chain: number[] = [];
    let id: number | undefined = s.id;
    while (id !== undefined && mark.get(id) === undefined) {
      mark.set(id, 1);
      chain.push(id);
      id = parentOf.get(id);
    }
    if (id !== undefined && mark.get(id) === 1) {
      for (let k = chain.indexOf(id); k < chain.length; k++) parentOf.set(chain[k]!, undefined);
    }
    for (const c of chain) mark.set(c, 2);
  }
  const children = new Map<number | undefined, TimelineSpan[]>();
  for (const s of shown) {
    const parent = parentOf.get(s.id);
    let list = children.get(parent);
    if (list === undefined) children.set(parent, (list = []));
    list.push(s);
  }
  const byStart = (a: TimelineSpan, b: TimelineSpan): number =>
    a.start - b.start || (a.kind === b.kind ? a.id - b.id : a.kind === 'scope' ? -1 : 1);
  // Depth first, iterative (a chain of any depth renders), each level by start time.
  const rows: Row[] = [];
  const stack: { list: TimelineSpan[]; next: number; depth: number }[] = [
    { list: (children.get(undefined) ?? []).sort(byStart), next: 0, depth: 0 },
  ];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.next >= frame.list.length) {
      stack.pop();
      continue;
    }
    const span = frame.list[frame.next++]!;
    rows.push({ span, depth: frame.depth, end: span.end ?? Math.max(t1, span.start) });
    const list = children.get(span.id);
    if (list !== undefined)
      stack.push({ list: list.sort(byStart), next: 0, depth: frame.depth + 1 });
  }
  return { rows, t0: Number.isFinite(t0) ? t0 : 0, t1: Number.isFinite(t1) ? t1 : 0 };
}

const BAR: Record<TimelineSpan['state'], string> = {
  fulfilled: '█',
  closed: '█',
  rejected: '▓',
  cancelled: '░',
  running: '▒',
  open: '▒',
};

/** Levels of indentation drawn in full; a deeper row says its depth instead. */
const MAX_INDENT = 32;

const label = (row: Row): string => {
  const indent =
    row.depth <= MAX_INDENT ? '  '.repeat(row.depth) : `${'  '.repeat(MAX_INDENT)}[${row.depth}] `;
  return `${indent}${row.span.name}${row.span.kind === 'scope' ? ' (scope)' : ''}`;
};

/** The widest chart: characters for the Gantt chart, pixels for the SVG. */
const MAX_GANTT_WIDTH = 1000;
const MAX_SVG_WIDTH = 100_000;

function assertWidth(width: unknown, max: number): asserts width is number {
  const ok = typeof width === 'number' && Number.isInteger(width) && width >= 10 && width <= max;
  if (!ok) {
    const message = `Expected \`options.width\` to be an integer from 10 to ${max}, got ${describe(width)}`;
    throw typeof width === 'number' ? new RangeError(message) : new TypeError(message);
  }
}

/**
 * Draws spans as a Gantt chart for the terminal: one row per task or scope (nested under
 * its scope), a bar from its start to its end on a shared time axis, and its duration
 * and outcome. `█` fulfilled (or a closed scope), `▓` rejected, `░` cancelled, `▒` still
 * running. Overlapping bars are work that ran concurrently.
 *
 * A span whose `parent` names no span is drawn at the top, as are spans in a parent
 * cycle (such as a span that is its own parent). Malformed input is a `TypeError` naming
 * the field (`spans[2].end`, a hole at `spans[1]`, a repeated `spans[3].id`); a `width`
 * outside 10–1000 a `RangeError`.
 *
 * @example
 * ```ts
 * import { renderGantt } from '@weft/core';
 *
 * console.log(renderGantt([
 *   { id: 1, kind: 'task', name: 'fetchA', start: 0, end: 2000, state: 'fulfilled' },
 *   { id: 2, kind: 'task', name: 'fetchB', start: 0, end: 2000, state: 'fulfilled' },
 * ], { width: 20 }));
 * // 0 ms                   2.00 s
 * // fetchA ████████████████████ 2.00 s fulfilled
 * // fetchB ████████████████████ 2.00 s fulfilled
 * ```
 */
export function renderGantt(
  spans: readonly TimelineSpan[],
  options: RenderTimelineOptions = {},
): string {
  const { rows, t0, t1 } = layout(spans, options);
  const width = options.width ?? 60;
  assertWidth(width, MAX_GANTT_WIDTH);
  if (rows.length === 0) return '(no spans)';
  const labels = rows.map(label);
  const pad = labels.reduce((max, l) => Math.max(max, l.length), 0);
  const total = t1 - t0;
  const col = (t: number): number => (total <= 0 ? 0 : Math.round(((t - t0) / total) * width));
  const startText = formatDuration(0);
  const endText = formatDuration(total);
  const axis = `${' '.repeat(pad + 1)}${startText}${' '.repeat(Math.max(1, width - startText.length - endText.length))}${endText}`;
  const lines = [axis.trimEnd()];
  rows.forEach((row, i) => {
    const from = Math.min(col(row.span.start), width - 1);
    const to = Math.max(from + 1, col(row.end));
    const bar =
      ' '.repeat(from) +
      BAR[row.span.state].repeat(to - from) +
      ' '.repeat(Math.max(0, width - to));
    const duration = formatDuration(row.end - row.span.start);
    lines.push(`${labels[i]!.padEnd(pad)} ${bar} ${duration} ${row.span.state}`);
  });
  return lines.join('\n');
}

const COLORS: Record<TimelineSpan['state'], string> = {
  fulfilled: '#4caf50',
  closed: '#90a4ae',
  rejected: '#e53935',
  cancelled: '#fbc02d',
  running: '#42a5f5',
  open: '#42a5f5',
};

const escapeXml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Draws spans as an SVG document (a string: write it to a `.svg` file and open it in a
 * browser). Same layout as {@link renderGantt}: one row per span, nested under its
 * scope, on a shared time axis, coloured by outcome, with the name, duration and state
 * in each bar's tooltip. Input is checked as by {@link renderGantt}; `width` (pixels) is
 * 10 to 100,000.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { renderTimelineSvg } from '@weft/core';
 *
 * writeFileSync('timeline.svg', renderTimelineSvg([
 *   { id: 1, kind: 'task', name: 'fetchA', start: 0, end: 2000, state: 'fulfilled' },
 * ]));
 * ```
 */
export function renderTimelineSvg(
  spans: readonly TimelineSpan[],
  options: RenderTimelineOptions = {},
): string {
  const { rows, t0, t1 } = layout(spans, options);
  const width = options.width ?? 800;
  assertWidth(width, MAX_SVG_WIDTH);
  const rowHeight = 22;
  const longest = rows.reduce((max, r) => Math.max(max, label(r).length), 4);
  const labelWidth = Math.min(320, 8 + 7 * longest);
  const top = 28;
  const height = top + rows.length * rowHeight + 10;
  const total = t1 - t0;
  const x = (t: number): number => labelWidth + (total <= 0 ? 0 : ((t - t0) / total) * width);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + width + 20}" height="${height}" font-family="monospace" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
  ];
  const ticks = 5;
  for (let i = 0; i <= ticks; i++) {
    const t = t0 + total * (i / ticks); // not (total * i): it could overflow
    const tx = x(t).toFixed(1);
    out.push(
      `<line x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${height - 6}" stroke="#e0e0e0"/>`,
      `<text x="${tx}" y="${top - 10}" text-anchor="middle" fill="#616161">${escapeXml(formatDuration(t - t0))}</text>`,
    );
  }
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    const x0 = x(row.span.start);
    const w = Math.max(1, x(row.end) - x0);
    const duration = formatDuration(row.end - row.span.start);
    const title = escapeXml(
      `${row.span.name} (${row.span.kind} #${row.span.id}): ${duration}, ${row.span.state}`,
    );
    out.push(
      `<text x="4" y="${y + 15}" fill="#212121">${escapeXml(label(row))}</text>`,
      `<rect x="${x0.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowHeight - 6}" rx="3" fill="${COLORS[row.span.state]}" data-kind="${row.span.kind}" data-state="${row.span.state}"><title>${title}</title></rect>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
