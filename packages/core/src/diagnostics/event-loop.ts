import {
  assertDuration,
  assertFunction,
  assertOptions,
  assertSignal,
} from '../internal/validate.ts';
import { unrefTimer } from '../runtime/timers.ts';

/** One stall of the event loop, as {@link monitorEventLoop} reports it. */
export interface EventLoopBlock {
  /**
   * How long the loop could not run timers, in ms: how late the monitor's check ran. The
   * real block is at least this long and at most `interval` longer.
   */
  readonly duration: number;
  /** `performance.now()` when the loop ran again. */
  readonly endedAt: number;
  /** The threshold the block passed. */
  readonly threshold: number;
}

/** Options of {@link monitorEventLoop}. */
export interface EventLoopMonitorOptions {
  /**
   * Report blocks at least this long, in ms.
   * @default 100
   */
  threshold?: number;
  /**
   * Called with each block. Errors it throws are reported to `console.error` and do not
   * stop the monitor.
   * @default a `console.warn` line: "weft: the event loop was blocked for 203 ms"
   */
  onBlock?: (block: EventLoopBlock) => void;
  /**
   * How often the monitor checks, in ms: the precision of `duration`.
   * @default 20, or half the threshold when that is smaller
   */
  interval?: number;
  /** Stops the monitor when it aborts. */
  signal?: AbortSignal;
}

/** A running event-loop monitor; `stop()` it or `using` it. */
export interface EventLoopMonitor extends Disposable {
  /** Stops the monitor; no report after it returns. Idempotent. */
  stop(): void;
  /** Whether the monitor has stopped. */
  readonly stopped: boolean;
  /** How many blocks it reported. */
  readonly blocks: number;
  /** The longest block seen so far, in ms (0 if none passed the threshold). */
  readonly longest: number;
}

const KEYS = ['threshold', 'onBlock', 'interval', 'signal'] as const;

const warn = (block: EventLoopBlock): void => {
  console.warn(
    `weft: the event loop was blocked for ${Math.round(block.duration)} ms (threshold ${block.threshold} ms): synchronous work is starving every task; move CPU-bound work to runInWorker()`,
  );
};

/**
 * Watches the event loop and reports each time it was blocked for `threshold` ms or more
 * — the async mistake of calling something synchronous and slow (a busy loop, a sync
 * file read, a big `JSON.parse`) where every other task then waits. Works on Node, Bun
 * and Deno with ordinary timers, so it measures what tasks feel: how late a timer runs.
 *
 * The monitor's timer does not keep the process alive. Stop it with `stop()`, `using`,
 * or its `signal`.
 *
 * @example
 * ```ts
 * import { monitorEventLoop } from '@weft/core';
 *
 * using monitor = monitorEventLoop({
 *   threshold: 50,
 *   onBlock: ({ duration }) => console.warn(`loop blocked for ${duration.toFixed(0)} ms`),
 * });
 * const end = performance.now() + 200;
 * while (performance.now() < end); // reported once the loop runs again
 * ```
 */
export function monitorEventLoop(options: EventLoopMonitorOptions = {}): EventLoopMonitor {
  assertOptions('options', options, KEYS);
  const threshold = options.threshold ?? 100;
  assertDuration('options.threshold', threshold);
  if (threshold === Number.POSITIVE_INFINITY) {
    throw new RangeError(
      'Expected `options.threshold` to be a finite number of milliseconds, got `Infinity` (number)',
    );
  }
  const onBlock = options.onBlock ?? warn;
  assertFunction('options.onBlock', onBlock);
  const interval = options.interval ?? Math.max(1, Math.min(20, threshold / 2));
  assertDuration('options.interval', interval);
  if (interval < 1 || interval === Number.POSITIVE_INFINITY) {
    throw new RangeError(
      `Expected \`options.interval\` to be a finite number of milliseconds from 1 up, got \`${interval}\` (number)`,
    );
  }
  const signal = options.signal;
  assertSignal('options.signal', signal);
  return new Monitor(threshold, interval, onBlock, signal);
}

class Monitor implements EventLoopMonitor {
  readonly #threshold: number;
  readonly #interval: number;
  readonly #onBlock: (block: EventLoopBlock) => void;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.stop();
  #handle: ReturnType<typeof setTimeout> | undefined;
  // When the pending check should run if the loop were free.
  #expected = 0;
  #stopped = false;
  #blocks = 0;
  #longest = 0;

  constructor(
    threshold: number,
    interval: number,
    onBlock: (block: EventLoopBlock) => void,
    signal: AbortSignal | undefined,
  ) {
    this.#threshold = threshold;
    this.#interval = interval;
    this.#onBlock = onBlock;
    this.#signal = signal;
    if (signal?.aborted) {
      this.#stopped = true;
      return;
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#arm();
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  get blocks(): number {
    return this.#blocks;
  }

  get longest(): number {
    return this.#longest;
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#handle);
    this.#handle = undefined;
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }

  [Symbol.dispose](): void {
    this.stop();
  }

  #arm(): void {
    this.#expected = performance.now() + this.#interval;
    this.#handle = setTimeout(this.#check, this.#interval);
    unrefTimer(this.#handle);
  }

  readonly #check = (): void => {
    if (this.#stopped) return;
    const now = performance.now();
    const late = now - this.#expected;
    this.#arm();
    if (late < this.#threshold) return;
    this.#blocks++;
    if (late > this.#longest) this.#longest = late;
    try {
      this.#onBlock({ duration: late, endedAt: now, threshold: this.#threshold });
    } catch (error) {
      console.error('weft: monitorEventLoop onBlock threw', error);
    }
  };
}
