import type { Clock } from '../clock.ts';
import { addHooks, type InstrumentHooks } from '../internal/instrument.ts';
import { runningItemId } from '../internal/pool-item.ts';
import { assertClock, assertCount, assertFunction, assertOptions } from '../internal/validate.ts';
import type { Scope } from '../scope.ts';
import type { Task } from '../task.ts';
import {
  type RenderTimelineOptions,
  renderGantt,
  renderTimelineSvg,
  type TimelineSpan,
} from './timeline.ts';

export type { InstrumentHooks } from '../internal/instrument.ts';

/** A registration of instrumentation hooks; `remove()` it or `using` it. */
export interface Instrumentation extends Disposable {
  /** Unregisters the hooks; no call after it returns. Idempotent. */
  remove(): void;
}

const HOOK_KEYS = ['onScopeOpen', 'onScopeClose', 'onTaskStart', 'onTaskSettle'] as const;

/**
 * Registers hooks that weft calls as scopes open and close and tasks start and settle,
 * process-wide, with the time on the scope's or task's clock. With no hooks registered
 * this costs one `null` check per task start and settle.
 *
 * The items of a limited `gather`/`settle`/`asCompleted`, of `map`/`mapSettled` and of
 * `mapConcurrent` run inside worker tasks (which the hooks see too); each item is also
 * passed to `onTaskStart`/`onTaskSettle` as a task-like `Task`: named after its function
 * (`fetchPage[3]#17` for a map item), its `scope` the call's scope, its `signal` its
 * worker's; awaiting it gives its outcome, and `cancel()` cancels its worker, which fails
 * the whole call (`settle` and `mapSettled` too). These objects are made only while hooks
 * are registered, for the calls that started while they were.
 *
 * Hooks run synchronously, in the middle of weft's bookkeeping: keep them short, and
 * do not start or cancel work from them. A hook that throws is reported with
 * `console.error` and changes nothing else. The `Task` and `Scope` passed are the real
 * objects (their `id`, `name`, `state`, `scope`, `parent` and `parentTask` are the one
 * source of truth for diagnostics).
 *
 * @example
 * ```ts
 * import { gather, instrument, sleep } from '@weft/core';
 *
 * using _ = instrument({
 *   onTaskSettle: (task, at) => console.log(`${task.name} ${task.state} at ${at.toFixed(0)}`),
 * });
 * await gather([function a() { return sleep(10); }, function b() { return sleep(20); }]);
 * ```
 */
export function instrument(hooks: InstrumentHooks): Instrumentation {
  assertOptions('hooks', hooks, HOOK_KEYS);
  if (hooks === undefined) {
    throw new TypeError(
      'Expected `hooks` to be an object of hook functions, got `undefined` (undefined)',
    );
  }
  for (const key of HOOK_KEYS) {
    if (hooks[key] !== undefined) assertFunction(`hooks.${key}`, hooks[key]);
  }
  const remove = addHooks({ ...hooks });
  return { remove, [Symbol.dispose]: remove };
}

/** Options of {@link recordTimeline}. */
export interface TimelineOptions {
  /**
   * Record only the tasks and scopes on this clock (one time axis). Recommended with a
   * `TestClock`, and when other code runs at the same time.
   * @default every task and scope
   */
  clock?: Clock;
  /**
   * The most spans kept; later ones are counted in `dropped` instead.
   * @default 100_000
   */
  limit?: number;
}

const TIMELINE_KEYS = ['clock', 'limit'] as const;

/**
 * Records every scope and task (start, end, outcome) from now until `stop()`, and draws
 * them as a Gantt chart for the terminal or an SVG file: the way to *see* that three
 * 2-second downloads ran in 2 seconds, not 6. Built on {@link instrument}, so the items
 * of a limited `gather`/`map`/`mapConcurrent` have bars of their own (under the call's
 * scope, beside the `-worker` bars that ran them).
 *
 * @example
 * ```ts
 * import { gather, recordTimeline, sleep, TestClock } from '@weft/core';
 *
 * const clock = new TestClock({ autoAdvance: true });
 * using timeline = recordTimeline({ clock });
 * const download = (name: string) => Object.defineProperty(
 *   () => sleep(2000, { clock }), 'name', { value: name });
 * await gather(['a', 'b', 'c'].map(download), { clock });
 * console.log(timeline.gantt({ width: 30 }));
 * ```
 */
export function recordTimeline(options: TimelineOptions = {}): Timeline {
  assertOptions('options', options, TIMELINE_KEYS);
  assertClock('options.clock', options.clock);
  const limit = options.limit ?? 100_000;
  assertCount('options.limit', limit, 1);
  return new Timeline(options.clock, limit);
}

interface MutableSpan {
  id: number;
  kind: 'scope' | 'task';
  name: string;
  parent?: number;
  start: number;
  end?: number;
  state: TimelineSpan['state'];
}

/**
 * A running timeline recording (see {@link recordTimeline}). `spans` is plain data; the
 * renderers draw the spans recorded so far, still-running ones up to the latest event
 * (or `clock.now()` when a clock was given).
 */
export class Timeline implements Disposable {
  readonly #clock: Clock | undefined;
  readonly #limit: number;
  readonly #spans: MutableSpan[] = [];
  readonly #open = new Map<number, MutableSpan>();
  readonly #remove: () => void;
  #dropped = 0;
  #stopped = false;

  /** @internal use {@link recordTimeline}. */
  constructor(clock: Clock | undefined, limit: number) {
    this.#clock = clock;
    this.#limit = limit;
    this.#remove = addHooks({
      onScopeOpen: (scope: Scope, at: number) => {
        if (clock !== undefined && scope.clock !== clock) return;
        // Opened by a pool item: under the item's bar, as tree() shows it, not the worker's.
        const parent = runningItemId(scope.parentTask) ?? scope.parentTask?.id ?? scope.parent?.id;
        this.#add({
          id: scope.id,
          kind: 'scope',
          name: scope.name,
          parent,
          start: at,
          state: 'open',
        });
      },
      onScopeClose: (scope: Scope, at: number) => this.#end(scope.id, at, 'closed'),
      onTaskStart: (task: Task<unknown>, at: number) => {
        if (clock !== undefined && task.scope.clock !== clock) return;
        this.#add({
          id: task.id,
          kind: 'task',
          name: task.name,
          parent: task.scope.id,
          start: at,
          state: 'running',
        });
      },
      onTaskSettle: (task: Task<unknown>, at: number) => this.#end(task.id, at, task.state),
    });
  }

  /** The spans recorded so far, in start order (a copy: plain data). */
  get spans(): TimelineSpan[] {
    return this.#spans.map((s) => ({ ...s }));
  }

  /** How many spans were not kept because `limit` was reached. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Whether recording has stopped. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Stops recording (the spans stay). Idempotent. */
  stop(): void {
    this.#stopped = true;
    this.#remove();
  }

  [Symbol.dispose](): void {
    this.stop();
  }

  /** The recorded spans as a terminal Gantt chart: see {@link renderGantt}. */
  gantt(options: RenderTimelineOptions = {}): string {
    return renderGantt(this.#spans, this.#withNow(options));
  }

  /** The recorded spans as an SVG document: see {@link renderTimelineSvg}. */
  svg(options: RenderTimelineOptions = {}): string {
    return renderTimelineSvg(this.#spans, this.#withNow(options));
  }

  #withNow(options: RenderTimelineOptions): RenderTimelineOptions {
    if (options.now !== undefined || this.#clock === undefined || this.#open.size === 0) {
      return options;
    }
    return { ...options, now: this.#clock.now() };
  }

  #add(span: MutableSpan): void {
    if (this.#spans.length >= this.#limit) {
      this.#dropped++;
      return;
    }
    if (span.parent === undefined) delete span.parent;
    this.#spans.push(span);
    this.#open.set(span.id, span);
  }

  #end(id: number, at: number, state: TimelineSpan['state']): void {
    const span = this.#open.get(id);
    if (span === undefined) return;
    this.#open.delete(id);
    span.end = at;
    span.state = state;
  }
}
