import type { Clock } from '@weft/core';

/** What an example gets: where to print, and the clock to take time from. */
export interface ExampleIO {
  log(line: string): void;
  clock: Clock;
  /** `true` when the clock is virtual (a TestClock): times are simulated. */
  virtual: boolean;
}

/** One runnable section of the tutorials. */
export interface Example {
  /** The name to run it by: `pnpm examples <name>`. */
  name: string;
  /** The tutorial section it mirrors. */
  title: string;
  run(io: ExampleIO): Promise<void>;
}

/** Seconds with one decimal, as the tutorials print them (`6.0s`). */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}
