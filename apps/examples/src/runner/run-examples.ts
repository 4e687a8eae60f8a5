// Runs examples: each inside its own `run()` (a `topLevel` example makes that call
// itself), on a TestClock with autoAdvance (virtual time: a 10-second example takes
// milliseconds, and its times are exact) unless it needs the real clock. Collects its
// lines, its virtual and real time, and optionally its task timeline.
import { type Clock, recordTimeline, renderGantt, run, systemClock, TestClock } from '@weft/core';
import type { Example, ExampleIO } from '../example.ts';
import { createMockApi } from '../upstream/mock-api.ts';
import { type LocalServer, serveLocal } from './serve-local.ts';

export interface RunOneOptions {
  /** Every example on the real clock. @default false */
  real?: boolean;
  /** Base URL of the mock upstream; required by examples with `upstream: true`. */
  upstream?: string;
  /** Where each output line goes (besides the result's `lines`). */
  onLine?: (line: string) => void;
  /** Record the task timeline and render it as a Gantt chart. @default false */
  timeline?: boolean;
  /** Let Ctrl-C cancel the example (the CLI); tests leave it off. @default false */
  handleSignals?: boolean;
  /** The clock to use instead of a fresh `TestClock` (tests that drive time themselves). */
  clock?: Clock;
}

export interface RunResult {
  example: Example;
  ok: boolean;
  error?: unknown;
  /** Virtual ms elapsed, or `undefined` on the real clock. */
  virtualMs: number | undefined;
  realMs: number;
  lines: string[];
  /** The Gantt chart, when `timeline` was asked for. */
  timeline?: string;
}

/** Runs one example in its own `run()`; never throws (a failure is `ok: false`). */
export async function runExample(
  example: Example,
  options: RunOneOptions = {},
): Promise<RunResult> {
  const real = options.real === true || example.realTime === true;
  const clock = options.clock ?? (real ? systemClock : new TestClock({ autoAdvance: true }));
  const virtual = clock instanceof TestClock;
  const lines: string[] = [];
  const io: ExampleIO = {
    log(line) {
      lines.push(line);
      options.onLine?.(line);
    },
    clock,
    virtual,
    upstream() {
      if (example.upstream !== true) {
        throw new Error(`example ${example.name} did not declare \`upstream: true\``);
      }
      if (options.upstream === undefined) throw new Error('the mock upstream is not running');
      return options.upstream;
    },
  };
  const recorder = options.timeline === true ? recordTimeline({ clock }) : undefined;
  const startVirtual = clock.now();
  const startReal = performance.now();
  let error: unknown;
  let ok = true;
  try {
    if (example.topLevel === true) {
      await example.run(io);
    } else {
      await run(() => example.run(io), {
        clock,
        name: example.name,
        handleSignals: options.handleSignals ?? false,
      });
    }
    if (clock instanceof TestClock && clock.pendingTimers > 0) {
      throw new Error(`left ${clock.pendingTimers} timer(s) pending`);
    }
  } catch (err) {
    ok = false;
    error = err;
  }
  const result: RunResult = {
    example,
    ok,
    virtualMs: virtual ? clock.now() - startVirtual : undefined,
    realMs: performance.now() - startReal,
    lines,
  };
  if (!ok) result.error = error;
  if (recorder !== undefined) {
    result.timeline = renderGantt(recorder.spans, { width: 48 });
    recorder[Symbol.dispose]();
  }
  return result;
}

/** Starts the mock upstream on 127.0.0.1 when any of `examples` needs it. */
export async function startUpstreamFor(
  examples: readonly Example[],
): Promise<LocalServer | undefined> {
  if (!examples.some((e) => e.upstream === true)) return undefined;
  return serveLocal(createMockApi().fetch);
}
