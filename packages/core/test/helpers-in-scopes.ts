/**
 * The property of the async-iterable helpers inside scopes (issue 7), shared by the vitest
 * suite and `pnpm soak`. It takes the weft API as a parameter so that the soak can run it
 * against the built package and the tests against the sources.
 *
 * A random helper (buffer, merge, batch, mapConcurrent, take) over random finite sources
 * (gaps, failures, a `finally` that throws) is consumed by a random consumer (slow or fast;
 * runs to the end, breaks, throws, or abandons the loop) placed in a task of a scope, in a
 * scope body, in a `timeout` fn, in a task the scope body handed the loop to after reading
 * its first item (review D8: the helper belongs to the body's scope), or outside any task,
 * with an explicit signal that may abort and a scope timeout, all on a TestClock. Checked:
 *
 * - every source that started is closed once the outer scope (or the loop) has settled;
 * - no reader outlives it: no pending timer, no later pull;
 * - cancellation is always a rejection: a loop that ends normally got every item;
 * - no item lost: a source failure comes after every item read before it (buffer, batch,
 *   take, merge per source) or after a prefix of the results (mapConcurrent, fail-fast);
 * - a cleanup error (a source's `finally` throwing) is never dropped;
 * - no unhandled rejection.
 *
 * Not generated: code outside any task or body that abandons a loop without closing it:
 * there is no owner whose end weft could observe (the reader then stops only with the
 * caller's cancellation). Not checked: a cleanup error when the loop body itself
 * throws a non-cancellation error (for-await then discards `return()`'s error: the
 * language's rule, not weft's).
 */
import fc from 'fast-check';
import type * as Weft from '../src/index.ts';

type Helper = 'buffer' | 'merge' | 'batch' | 'mapConcurrent' | 'take';
type Placement = 'task' | 'body' | 'timeoutFn' | 'handoff' | 'outside';
type Stop = 'end' | 'break' | 'throw' | 'abandon';

interface SourceSpec {
  length: number;
  gap: number;
  failAt: number | null;
  cleanupThrows: boolean;
}

export interface HelperScenario {
  helper: Helper;
  sources: SourceSpec[];
  /** size / concurrency / count. */
  n: number;
  ordered: boolean;
  maxWait: number | null;
  placement: Placement;
  stop: Stop;
  stopAfter: number;
  consumerDelay: number;
  fnDelay: number;
  abortAt: number | null;
  scopeTimeout: number | null;
}

const sourceArb: fc.Arbitrary<SourceSpec> = fc.record({
  length: fc.integer({ min: 0, max: 6 }),
  gap: fc.integer({ min: 0, max: 20 }),
  failAt: fc.option(fc.integer({ min: 0, max: 6 }), { freq: 4 }),
  cleanupThrows: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
});

export const helperScenarioArb: fc.Arbitrary<HelperScenario> = fc
  .record({
    helper: fc.constantFrom<Helper>('buffer', 'merge', 'batch', 'mapConcurrent', 'take'),
    sources: fc.array(sourceArb, { minLength: 1, maxLength: 3 }),
    n: fc.integer({ min: 1, max: 4 }),
    ordered: fc.boolean(),
    maxWait: fc.option(fc.integer({ min: 0, max: 30 }), { freq: 2 }),
    placement: fc.constantFrom<Placement>('task', 'body', 'timeoutFn', 'handoff', 'outside'),
    stop: fc.constantFrom<Stop>('end', 'end', 'break', 'throw', 'abandon'),
    stopAfter: fc.integer({ min: 0, max: 5 }),
    consumerDelay: fc.integer({ min: 0, max: 15 }),
    fnDelay: fc.integer({ min: 0, max: 15 }),
    abortAt: fc.option(fc.integer({ min: 0, max: 120 }), { freq: 3 }),
    scopeTimeout: fc.option(fc.integer({ min: 0, max: 150 }), { freq: 3 }),
  })
  .map((s) => ({
    ...s,
    sources: s.helper === 'merge' ? s.sources : s.sources.slice(0, 1),
    // Outside any task or body nobody owns the loop: abandoning there is not generated.
    stop: s.placement === 'outside' && s.stop === 'abandon' ? 'break' : s.stop,
  }));

interface SourceState {
  started: boolean;
  closed: boolean;
  pulled: number;
  cleanup: Error | undefined;
}

/** The items every source yields before it ends or fails. */
function itemsOf(index: number, spec: SourceSpec): number[] {
  const count = spec.failAt === null ? spec.length : Math.min(spec.length, spec.failAt);
  return Array.from({ length: count }, (_, i) => index * 100 + i);
}

function fails(spec: SourceSpec): boolean {
  return spec.failAt !== null && spec.failAt < spec.length;
}

/** Every error reachable from `error`: itself, a TaskGroupError's errors, suppressed ones. */
function reachable(weft: typeof Weft, error: unknown, out: Set<unknown> = new Set()): Set<unknown> {
  if (error === undefined || out.has(error)) return out;
  out.add(error);
  if (error instanceof AggregateError) for (const e of error.errors) reachable(weft, e, out);
  for (const e of weft.suppressedErrors(error)) reachable(weft, e, out);
  return out;
}

/** Runs one scenario and returns the violated invariants (empty when all hold). */
export async function checkHelperScenario(
  weft: typeof Weft,
  scenario: HelperScenario,
): Promise<string[]> {
  const problems: string[] = [];
  const clock = new weft.TestClock({ autoAdvance: true });
  const states: SourceState[] = [];
  const sources = scenario.sources.map((spec, index) => {
    const state: SourceState = { started: false, closed: false, pulled: 0, cleanup: undefined };
    states.push(state);
    return (async function* (): AsyncGenerator<number, void, undefined> {
      state.started = true;
      try {
        for (let i = 0; i < spec.length; i++) {
          if (spec.gap > 0) await weft.sleep(spec.gap, { clock });
          if (spec.failAt === i) throw new Error(`source ${index} failed`);
          state.pulled++;
          yield index * 100 + i;
        }
      } finally {
        state.closed = true;
        if (spec.cleanupThrows) {
          state.cleanup = new Error(`source ${index} cleanup failed`);
          // biome-ignore lint/correctness/noUnsafeFinally: simulates a failing cleanup
          throw state.cleanup;
        }
      }
    })();
  });

  const controller = new AbortController();
  const reason = new weft.CancelledError('aborted by the test');
  if (scenario.abortAt !== null) clock.schedule(scenario.abortAt, () => controller.abort(reason));
  const signal = controller.signal;

  const open = (): AsyncGenerator<unknown, void, undefined> => {
    const n = scenario.n;
    switch (scenario.helper) {
      case 'buffer':
        return weft.buffer(sources[0]!, { size: n, signal, clock });
      case 'merge':
        return weft.merge(sources, { signal, clock });
      case 'batch':
        return weft.batch(sources[0]!, {
          size: n,
          maxWait: scenario.maxWait ?? undefined,
          signal,
          clock,
        });
      case 'take':
        return weft.take(sources[0]!, { count: n + 2, signal });
      case 'mapConcurrent':
        return weft.mapConcurrent(
          sources[0]!,
          async (x: number, { signal: s }) => {
            await weft.sleep(scenario.fnDelay * ((x % 3) + 1), { signal: s, clock });
            return x;
          },
          { concurrency: n, ordered: scenario.ordered, signal, clock },
        );
    }
  };

  const received: unknown[] = [];
  let loop: { ended: true } | { error: unknown } | { stopped: Stop } | undefined;
  const consumerError = new Error('consumer stopped');
  // The consumer broke, threw or abandoned: it did not ask for every item.
  let stoppedEarly = false;
  const consume = async (opened?: AsyncGenerator<unknown, void, undefined>): Promise<void> => {
    const it = opened ?? open();
    try {
      if (scenario.stop === 'abandon') {
        for (let i = received.length; i < scenario.stopAfter; i++) {
          const step = await it.next();
          if (step.done) {
            loop = { ended: true };
            return;
          }
          received.push(step.value);
        }
        loop = { stopped: 'abandon' };
        stoppedEarly = true;
        return;
      }
      for await (const x of it) {
        received.push(x);
        if (scenario.stop !== 'end' && received.length >= scenario.stopAfter) {
          loop = { stopped: scenario.stop };
          stoppedEarly = true;
          if (scenario.stop === 'throw') throw consumerError;
          break;
        }
        if (scenario.consumerDelay > 0) await weft.sleep(scenario.consumerDelay, { clock });
      }
      loop ??= { ended: true };
    } catch (error) {
      if (error !== consumerError) loop = { error };
      throw error;
    }
  };

  let outer: unknown;
  const scopeOptions = {
    clock,
    ...(scenario.scopeTimeout === null ? {} : { timeout: scenario.scopeTimeout }),
  };
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => {
    unhandled.push(e);
  };
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  proc?.on?.('unhandledRejection', onUnhandled);
  try {
    if (scenario.placement === 'task') {
      await weft
        .scope(async (s) => {
          s.spawn(() => consume());
        }, scopeOptions)
        .catch((e: unknown) => {
          outer = e;
        });
    } else if (scenario.placement === 'body') {
      await weft
        .scope(() => consume(), scopeOptions)
        .catch((e: unknown) => {
          outer = e;
        });
    } else if (scenario.placement === 'handoff') {
      // The body reads the first item, then hands the loop to a task of its scope.
      await weft
        .scope(async (s) => {
          const it = open();
          let first: IteratorResult<unknown, void>;
          try {
            first = await it.next();
          } catch (error) {
            loop = { error };
            throw error;
          }
          if (first.done) {
            loop = { ended: true };
            return;
          }
          received.push(first.value);
          if (scenario.stop !== 'end' && received.length >= scenario.stopAfter) {
            loop = { stopped: scenario.stop === 'throw' ? 'break' : scenario.stop };
            stoppedEarly = true;
            if (scenario.stop !== 'abandon') await it.return();
            return;
          }
          s.spawn(() => consume(it));
        }, scopeOptions)
        .catch((e: unknown) => {
          outer = e;
        });
    } else if (scenario.placement === 'timeoutFn') {
      await weft
        .timeout(scenario.scopeTimeout ?? 1_000_000, () => consume(), { clock })
        .catch((e: unknown) => {
          outer = e;
        });
    } else {
      await consume().catch((e: unknown) => {
        outer = e;
      });
    }
    // Give any straggler a chance to show itself.
    for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 0));
  } finally {
    proc?.off?.('unhandledRejection', onUnhandled);
  }

  const pulledAtEnd = states.map((s) => s.pulled);
  // 1. Sources closed (a generator that never started has nothing to close).
  states.forEach((s, i) => {
    if (s.started && !s.closed) problems.push(`source ${i} started but was never closed`);
  });
  // 2. Nothing outlives the scope or the loop.
  if (clock.pendingTimers !== 0) problems.push(`${clock.pendingTimers} timers left pending`);
  await clock.advance(10_000);
  for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 0));
  states.forEach((s, i) => {
    if (s.pulled !== pulledAtEnd[i]) problems.push(`source ${i} was pulled after the end`);
  });
  // 3 and 4. A normal end delivers everything; a failure comes after what was read.
  const expected = scenario.sources.map((spec, i) => itemsOf(i, spec));
  const flat = (
    scenario.helper === 'batch' ? (received as number[][]).flat() : received
  ) as number[];
  const anyFails = scenario.sources.some(
    (spec) => fails(spec) && (scenario.helper !== 'take' || spec.failAt! < scenario.n + 2),
  );
  if (loop !== undefined && 'ended' in loop) {
    if (anyFails) problems.push('the loop ended normally although a source failed');
    let want = expected.flat();
    if (scenario.helper === 'take') want = want.slice(0, scenario.n + 2);
    const sortedGot = [...flat].sort((a, b) => a - b);
    const ordered =
      scenario.helper === 'merge' || (scenario.helper === 'mapConcurrent' && !scenario.ordered)
        ? sortedGot
        : flat;
    if (JSON.stringify(ordered) !== JSON.stringify(want)) {
      problems.push(
        `ended normally with ${JSON.stringify(flat)}, expected ${JSON.stringify(want)}`,
      );
    }
  }
  if (loop !== undefined && 'error' in loop) {
    const message = (loop.error as { message?: unknown } | null)?.message;
    const match = typeof message === 'string' ? /^source (\d) failed$/.exec(message) : null;
    if (match !== null && !stoppedEarly) {
      const i = Number(match[1]);
      const fromSource = flat.filter((x) => Math.floor(x / 100) === i);
      const want = expected[i]!;
      const exact = scenario.helper !== 'mapConcurrent';
      // mapConcurrent is fail-fast: calls in flight are cancelled, so only a prefix of the
      // results (unordered: a subset) precedes the failure.
      const prefix = scenario.ordered
        ? JSON.stringify(want.slice(0, fromSource.length)) === JSON.stringify(fromSource)
        : new Set(fromSource).size === fromSource.length &&
          fromSource.every((x) => want.includes(x));
      if (exact ? JSON.stringify(fromSource) !== JSON.stringify(want) : !prefix) {
        problems.push(
          `source ${i} failed after ${JSON.stringify(fromSource)}; it had read ${JSON.stringify(want)}`,
        );
      }
    } else if (match === null) {
      const error = loop.error;
      const expectedKind =
        weft.isCancellation(error) ||
        error instanceof weft.TimeoutError ||
        states.some((s) => s.cleanup === error);
      if (!expectedKind)
        problems.push(`the loop failed with an unexpected error: ${String(error)}`);
    }
  }
  // 5. Cleanup errors are never dropped (a throw in the loop body is the language's own
  // case: for-await discards return()'s error then).
  if (scenario.stop !== 'throw') {
    const seen = reachable(weft, outer);
    if (loop !== undefined && 'error' in loop) reachable(weft, loop.error, seen);
    states.forEach((s, i) => {
      if (s.cleanup !== undefined && !seen.has(s.cleanup)) {
        problems.push(`source ${i}'s cleanup error was dropped`);
      }
    });
  }
  if (unhandled.length > 0)
    problems.push(`unhandled rejections: ${unhandled.map(String).join('; ')}`);
  return problems;
}

/** The property for fast-check. */
export function helpersInScopesProperty(
  weft: typeof Weft,
): fc.IAsyncPropertyWithHooks<[HelperScenario]> {
  return fc.asyncProperty(helperScenarioArb, async (scenario) => {
    const problems = await checkHelperScenario(weft, scenario);
    if (problems.length > 0) throw new Error(problems.join('\n'));
  });
}
