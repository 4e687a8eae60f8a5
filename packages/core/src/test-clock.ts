import type { Clock } from './clock.ts';
import { type Cancel, isDiagnosticTimer, macrotask, sleepWith } from './internal/schedule.ts';
import {
  assertBoolean,
  assertCount,
  assertDuration,
  assertFinite,
  assertOptions,
  assertSignal,
  assertTime,
  describe,
} from './internal/validate.ts';

interface Timer {
  at: number;
  seq: number;
  callback: (() => void) | undefined;
  /** Only diagnostics wait for it (see #scheduleAuto). */
  diagnostic: boolean;
  /** The delay it was set with (a diagnostic one's real-time grace is based on it). */
  delay: number;
}

/**
 * How long, at most, the program must also be idle in real time before `autoAdvance`
 * jumps to a timer that only diagnostics wait for (`run()`'s stuck check): long enough
 * for real work that ignores virtual time (a socket closing, a worker being stopped) to
 * wind down, short enough for a test that expects the report.
 */
const DIAGNOSTIC_IDLE_MS = 200;

/** Options of {@link TestClock}. */
export interface TestClockOptions {
  /** The virtual time the clock starts at, in ms. Default `0`. */
  start?: number;
  /**
   * Jump to the next timer whenever the program is otherwise idle (a macrotask turn
   * passes with no new timer), like Trio's autojump clock. A timer that only diagnostics
   * wait for (`run()`'s stuck-cancellation check) is jumped to only once the program has
   * also stayed idle for a while of real time (up to 200 ms, at most the timer's own
   * delay), so that work winding down in real time (a socket closing, a worker stopping)
   * is not reported as stuck. Default `false`.
   */
  autoAdvance?: boolean;
}

/**
 * A virtual clock for tests. Time stands still until you move it with `advance(ms)` or
 * `runAll()`, or until `autoAdvance` moves it for you whenever the program is waiting
 * only on timers. A program that sleeps for minutes runs in milliseconds, and always in
 * the same order: timers due at the same time fire in the order they were set.
 *
 * Between timers the clock lets every pending callback run (a macrotask turn), so a
 * timer set by code that another timer woke up fires in the same `advance` call if it
 * falls due within it.
 *
 * @example
 * ```ts
 * import { gather, sleep, TestClock } from '@weft/core';
 *
 * const clock = new TestClock({ autoAdvance: true });
 * const started = clock.now();
 * await gather([() => sleep(2000, { clock }), () => sleep(2000, { clock })]);
 * console.log(clock.now() - started); // 2000, in a few real milliseconds
 * ```
 */
export class TestClock implements Clock {
  #now: number;
  #heap: Timer[] = [];
  #live = 0;
  #seq = 0;
  #auto = false;
  #autoScheduled = false;
  // The real-time wait before jumping to a diagnostic timer (see #scheduleAuto), if one
  // is pending: any timer set or cancelled meanwhile ends it (the program is not idle).
  #diagnosticWait: ReturnType<typeof setTimeout> | undefined;
  #advancing = 0;
  #generation = 0;

  constructor(options: TestClockOptions = {}) {
    assertOptions('options', options, ['start', 'autoAdvance']);
    const start = options.start ?? 0;
    assertFinite('options.start', start);
    this.#now = start;
    this.autoAdvance = options.autoAdvance ?? false;
  }

  /** The current virtual time, in ms. */
  now(): number {
    return this.#now;
  }

  /** Resolves when virtual time reaches `now() + ms`; rejects with `signal.reason` on abort. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    assertDuration('ms', ms);
    assertSignal('signal', signal);
    return sleepWith((delay, callback) => this.schedule(delay, callback), ms, signal);
  }

  /** How many timers are waiting to fire. A settled program should leave `0`. */
  get pendingTimers(): number {
    return this.#live;
  }

  /** The virtual time of the next timer, or `undefined` when none is pending. */
  get nextTimerAt(): number | undefined {
    this.#dropCancelled();
    return this.#heap[0]?.at;
  }

  /** Whether the clock jumps to the next timer on its own when the program is idle. */
  get autoAdvance(): boolean {
    return this.#auto;
  }

  set autoAdvance(enabled: boolean) {
    assertBoolean('autoAdvance', enabled, false);
    this.#auto = enabled;
    if (enabled) this.#scheduleAuto();
  }

  /**
   * Moves virtual time forward by `ms`, firing every timer that falls due on the way, in
   * order, and letting the code they wake run before the next one.
   */
  async advance(ms: number): Promise<void> {
    assertDuration('ms', ms);
    if (ms === Number.POSITIVE_INFINITY) {
      throw new RangeError(
        `Expected \`ms\` to be a finite number, got ${describe(ms)}: use runAll() to run every timer`,
      );
    }
    await this.advanceTo(this.#now + ms);
  }

  /** Moves virtual time forward to `time` (never backwards), firing timers on the way. */
  async advanceTo(time: number): Promise<void> {
    assertTime('time', time);
    this.#advancing++;
    try {
      await macrotask();
      for (;;) {
        this.#dropCancelled();
        const next = this.#heap[0];
        if (next === undefined || next.at > time) break;
        this.#fireDue(next.at);
        await macrotask();
      }
      if (time > this.#now) this.#now = time;
    } finally {
      this.#advancing--;
      this.#scheduleAuto();
    }
  }

  /**
   * Fires timers until none is left, jumping from each to the next, including timers
   * that fired code sets. Throws a `RangeError` after `limit` timers, which guards
   * against a program that re-arms a timer forever.
   */
  async runAll(limit = 100_000): Promise<void> {
    assertCount('limit', limit);
    this.#advancing++;
    try {
      await macrotask();
      let fired = 0;
      for (;;) {
        this.#dropCancelled();
        const next = this.#heap[0];
        if (next === undefined) return;
        fired += this.#fireDue(next.at);
        if (fired > limit) {
          throw new RangeError(
            `runAll() fired more than ${limit} timers; is a timer re-armed forever?`,
          );
        }
        await macrotask();
      }
    } finally {
      this.#advancing--;
      this.#scheduleAuto();
    }
  }

  /**
   * Calls `callback` once virtual time has moved `ms` forward; returns a function that
   * cancels it. This is the timer every weft primitive uses on this clock.
   */
  schedule(ms: number, callback: () => void): Cancel {
    assertDuration('ms', ms);
    if (ms === Number.POSITIVE_INFINITY) return () => {};
    const timer: Timer = {
      at: this.#now + ms,
      seq: this.#seq++,
      callback,
      diagnostic: isDiagnosticTimer(callback),
      delay: ms,
    };
    this.#push(timer);
    this.#live++;
    this.#generation++;
    this.#endDiagnosticWait();
    this.#scheduleAuto();
    return () => {
      if (timer.callback !== undefined) {
        timer.callback = undefined;
        this.#live--;
        this.#generation++;
        if (this.#endDiagnosticWait()) this.#scheduleAuto();
      }
    };
  }

  /** The program set or cancelled a timer: a pending real-time wait ends, to look again. */
  #endDiagnosticWait(): boolean {
    if (this.#diagnosticWait === undefined) return false;
    clearTimeout(this.#diagnosticWait);
    this.#diagnosticWait = undefined;
    this.#autoScheduled = false;
    return true;
  }

  /**
   * Fires every timer due at `at`; returns how many fired. With `ordinaryOnly` (an
   * autoAdvance jump to an ordinary timer), diagnostic timers due then are kept for a
   * jump of their own, after their real-time grace (see #scheduleAuto).
   */
  #fireDue(at: number, ordinaryOnly = false): number {
    if (at > this.#now) this.#now = at;
    let fired = 0;
    const kept: Timer[] = [];
    for (;;) {
      this.#dropCancelled();
      const head = this.#heap[0];
      if (head === undefined || head.at > at) {
        for (const timer of kept) this.#push(timer);
        return fired;
      }
      this.#pop();
      if (ordinaryOnly && head.diagnostic) {
        kept.push(head);
        continue;
      }
      const callback = head.callback!;
      head.callback = undefined;
      this.#live--;
      fired++;
      callback();
    }
  }

  #scheduleAuto(): void {
    if (!this.#auto || this.#autoScheduled || this.#advancing > 0 || this.#live === 0) return;
    this.#autoScheduled = true;
    const seen = this.#generation;
    void macrotask().then(() => {
      this.#autoScheduled = false;
      if (!this.#auto || this.#advancing > 0 || this.#live === 0) return;
      if (seen !== this.#generation) {
        // Something changed during the turn: the program is still busy. Look again.
        this.#scheduleAuto();
        return;
      }
      this.#dropCancelled();
      const next = this.#heap[0];
      if (next === undefined) return;
      if (next.diagnostic) {
        // Only a diagnostic (the stuck check) waits: the program may be idle in virtual
        // time only, while real work (I/O, a worker) winds down. Jump to it once the
        // program has stayed idle in real time too (D9: a task that takes a few real ms
        // to honour its cancellation was reported as stuck).
        this.#autoScheduled = true;
        // The grace is based on the check's own delay, not on how far virtual time still
        // is from it (another timer may have brought the clock right up to it).
        const wait = Math.min(next.delay, DIAGNOSTIC_IDLE_MS);
        this.#diagnosticWait = setTimeout(() => {
          this.#diagnosticWait = undefined;
          this.#autoScheduled = false;
          if (!this.#auto || this.#advancing > 0 || this.#live === 0) return;
          if (seen !== this.#generation) this.#scheduleAuto();
          else this.#jump(false);
        }, wait);
        return;
      }
      this.#jump(true);
    });
  }

  /**
   * autoAdvance: fires the next timers (the program is idle); with `ordinaryOnly`, not
   * the diagnostic ones due at the same time (see #fireDue).
   */
  #jump(ordinaryOnly: boolean): void {
    const next = this.nextTimerAt;
    if (next === undefined) return;
    this.#fireDue(next, ordinaryOnly);
    this.#generation++;
    this.#scheduleAuto();
  }

  #dropCancelled(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.callback === undefined) this.#pop();
  }

  #less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && this.#less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && this.#less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
}
