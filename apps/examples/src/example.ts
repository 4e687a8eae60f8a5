import type { Clock } from '@weft/core';

/** What an example gets from the runner (or from a test). */
export interface ExampleIO {
  /** Prints one line of the example's output. */
  log(line: string): void;
  /** The clock to take time from: a `TestClock` (virtual time) unless the example is `realTime`. */
  clock: Clock;
  /** `true` when `clock` is virtual: waits cost no real time and times are exact. */
  virtual: boolean;
  /**
   * The base URL of the local mock of the tutorials' public APIs (jsonplaceholder,
   * httpbin) on 127.0.0.1, e.g. `http://127.0.0.1:40123`. Only for examples that set
   * `upstream: true`; others get an error if they call it.
   */
  upstream(): string;
}

/** One runnable section of the tutorials. */
export interface Example {
  /** Its number in the tutorial order: `pnpm examples 4`. */
  number: number;
  /** The name to run it by: `pnpm examples gather`. */
  name: string;
  /** One line: what it shows. */
  title: string;
  /** The tutorial and section it mirrors, as the tutorial names it. */
  section: string;
  /** Needs the local mock upstream API (`io.upstream()`). */
  upstream?: boolean;
  /**
   * Runs on the real clock even without `--real` (CPU-bound work, event-loop blocking:
   * things virtual time cannot show).
   */
  realTime?: boolean;
  /**
   * The example calls `run()` itself, as a program's top level does (the entry-point
   * example): the runner calls `example.run(io)` outside any task instead of inside its
   * own `run()`, so the example must pass `io.clock` to the `run()` it makes.
   */
  topLevel?: boolean;
  run(io: ExampleIO): Promise<void>;
}

/** Seconds with one decimal, as the first tutorial prints them (`6.0s`). */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Seconds with two decimals, as the second tutorial prints them (`2.00s`). */
export function seconds2(ms: number): string {
  return `${(ms / 1000).toFixed(2)}s`;
}

/** The two tutorials the examples follow. */
export const TUTORIAL_1 = 'Python Tutorial #18 (async/await)';
export const TUTORIAL_2 = 'Async Python Basics';
