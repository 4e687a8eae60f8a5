// Issue 7, defect 7 in scope *bodies*: a helper opened in a `scope()` body, a
// `timeout`/`deadline`/`moveOnAfter` fn or `run`'s main belongs to that body's scope, as
// one opened in a task belongs to the task's scope. And the cleanup-error gaps that the
// same ownership closes: a source still closing late, and `map`'s late close (review A-D4).
import { describe, expect, test } from 'vitest';
import { asCompleted } from '../src/as-completed.ts';
import { systemClock } from '../src/clock.ts';
import {
  CancelledError,
  isCancellation,
  suppressedErrors,
  TaskGroupError,
  TimeoutError,
} from '../src/errors.ts';
import { batch } from '../src/iter/batch.ts';
import { buffer } from '../src/iter/buffer.ts';
import { mapConcurrent } from '../src/iter/map-concurrent.ts';
import { merge } from '../src/iter/merge.ts';
import { take } from '../src/iter/take.ts';
import { map } from '../src/map.ts';
import { run } from '../src/run.ts';
import { scope } from '../src/scope.ts';
import { sleep } from '../src/sleep.ts';
import { deadline, moveOnAfter, timeout } from '../src/timeout.ts';
import { collectUnhandled, collectWarnings, deferred, settleTicks } from './helpers.ts';

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Log {
  pulled: number;
  closed: boolean;
  /** Resolves when the source's `finally` has run. */
  done: Promise<void>;
}

/**
 * The source: an async generator that waits on a plain timer (an await that
 * ignores cancellation) before each item and records its use; `cleanup`, if given, is
 * thrown from its `finally`.
 */
function source(
  cleanup?: Error,
  gap = 2,
  count = 1000,
): { src: AsyncGenerator<number, void, undefined>; log: Log } {
  const finished = deferred();
  const log: Log = { pulled: 0, closed: false, done: finished.promise };
  const src = (async function* () {
    try {
      for (let i = 0; i < count; i++) {
        await pause(gap);
        log.pulled++;
        yield i;
      }
    } finally {
      log.closed = true;
      finished.resolve();
      // biome-ignore lint/correctness/noUnsafeFinally: a failing cleanup
      if (cleanup !== undefined) throw cleanup;
    }
  })();
  return { src, log };
}

const helpers: Record<string, (src: AsyncIterable<number>) => AsyncGenerator<unknown>> = {
  buffer: (src) => buffer(src, { size: 3 }),
  merge: (src) => merge([src]),
  mapConcurrent: (src) => mapConcurrent(src, (x) => x, { concurrency: 2 }),
  batch: (src) => batch(src, { size: 2 }),
  take: (src) => take(src, { count: 100 }),
};

/** Every kind of body, each running `fn` as its body and settling with it. */
const bodies: Record<string, (fn: () => Promise<void>) => Promise<unknown>> = {
  scope: (fn) => scope(fn),
  timeout: (fn) => timeout(60_000, fn),
  deadline: (fn) => deadline(systemClock.now() + 60_000, fn),
  moveOnAfter: (fn) => moveOnAfter(60_000, fn),
  run: (fn) => run(fn, { handleSignals: false }),
};

/** Whether `target` is `error`, or reachable from it through `errors` and `suppressedErrors`. */
function reaches(error: unknown, target: unknown): boolean {
  if (error === target) return true;
  const nested = [
    ...((error as { errors?: unknown[] } | null)?.errors ?? []),
    ...suppressedErrors(error),
  ];
  return nested.some((e) => reaches(e, target));
}

describe('a helper abandoned in a body is closed before the body’s scope settles', () => {
  for (const [body, within] of Object.entries(bodies)) {
    for (const [name, open] of Object.entries(helpers)) {
      test(`${name} in a ${body} body: the source is closed and no longer pulled once it returns`, async () => {
        const { src, log } = source();
        await within(async () => {
          await open(src).next();
        });
        expect(log.closed).toBe(true);
        const pulled = log.pulled;
        await pause(10);
        expect(log.pulled).toBe(pulled);
      });
    }
  }

  test("the issue's repro: scope(() => buffer(src(), 3).next()) leaves nothing running", async () => {
    const log: Array<number | string> = [];
    async function* src(): AsyncGenerator<number, void, undefined> {
      try {
        for (let i = 0; i < 50; i++) {
          log.push(i);
          await pause(5);
          yield i;
        }
      } finally {
        log.push('closed');
      }
    }
    await scope(async () => {
      await buffer(src(), { size: 3 }).next();
    });
    expect(log).toContain('closed');
    const n = log.length;
    await pause(30);
    expect(log.length).toBe(n);
  });

  test('merge of ticking sources in a timeout fn: every source is closed when it returns', async () => {
    const a = source();
    const b = source();
    await timeout(60_000, async () => {
      await merge([a.src, b.src]).next();
    });
    expect(a.log.closed).toBe(true);
    expect(b.log.closed).toBe(true);
  });

  test('a helper abandoned in a body is closed once the scope’s tasks have settled, not when the body returns (review D8)', async () => {
    const { src, log } = source();
    const order: string[] = [];
    await scope(async (s) => {
      s.spawn(async () => {
        await pause(20);
        order.push(`task ends, source closed: ${log.closed}`);
      });
      await buffer(src, { size: 2 }).next();
      order.push(`body ends, source closed: ${log.closed}`);
    });
    order.push(`scope ends, source closed: ${log.closed}`);
    expect(order).toEqual([
      'body ends, source closed: false',
      'task ends, source closed: false',
      'scope ends, source closed: true',
    ]);
  });

  test('used after its body ended, the helper rejects with a cancellation that says why, never a quiet end', async () => {
    const { src } = source();
    const it = await scope(async () => {
      const it = buffer(src, { size: 2 });
      await it.next();
      return it;
    });
    const error = await it.next().catch((e: unknown) => e);
    expect(isCancellation(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /closed when scope "scope", whose body opened it, ended; use it inside that scope/,
    );
  });

  test('a loop the body closed itself leaves nothing registered on the scope', async () => {
    // A long-lived body opening many helpers: each one lets go when it closes.
    await scope(async () => {
      for (let k = 0; k < 2000; k++) {
        for await (const _ of mapConcurrent([1, 2, 3], (x) => x, { concurrency: 2 })) {
          // consume
        }
        for await (const _ of take([1, 2, 3], { count: 2 })) {
          // consume
        }
      }
    });
  });

  test('asCompleted abandoned in a body: its items are cancelled before the scope settles', async () => {
    let cancelled = 0;
    const item = async ({ signal }: { signal: AbortSignal }): Promise<number> => {
      try {
        await sleep(60_000, { signal });
      } finally {
        cancelled++;
      }
      return 1;
    };
    await scope(async () => {
      const it = asCompleted([() => 0, item, item]);
      await it.next();
    });
    expect(cancelled).toBe(2);
  });
});

describe('cleanup errors of a helper in a body reach the caller', () => {
  for (const [body, within] of Object.entries(bodies)) {
    for (const [name, open] of Object.entries(helpers)) {
      test(`${name} abandoned in a ${body} body: the source's cleanup error fails the body's scope`, async () => {
        const cleanup = new Error('cleanup fail');
        const { src } = source(cleanup);
        const unhandled = await collectUnhandled(async () => {
          const error = await within(async () => {
            await open(src).next();
          }).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(reaches(error, cleanup)).toBe(true);
        });
        expect(unhandled).toEqual([]);
      });
    }
  }

  for (const [name, open] of Object.entries(helpers)) {
    test(`${name}: a loop broken in a scope body over a source that closes late raises its cleanup error (review B-D3)`, async () => {
      const cleanup = new Error('cleanup fail');
      const { src, log } = source(cleanup);
      const unhandled = await collectUnhandled(async () => {
        const error = await scope(async () => {
          for await (const _ of open(src)) break;
        }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(log.closed).toBe(true);
        expect(reaches(error, cleanup)).toBe(true);
      });
      expect(unhandled).toEqual([]);
    });

    test(`${name}: a timeout cutting a loop over a source that closes late keeps both errors (review B-D3/B-D9)`, async () => {
      const cleanup = new Error('cleanup fail');
      const { src, log } = source(cleanup);
      const unhandled = await collectUnhandled(async () => {
        const error = await timeout(15, async () => {
          for await (const _ of open(src)) {
            // consume until the time is up
          }
        }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(log.closed).toBe(true);
        expect(reaches(error, cleanup)).toBe(true);
        expect([error, ...suppressedErrors(error)].some((e) => e instanceof TimeoutError)).toBe(
          true,
        );
      });
      expect(unhandled).toEqual([]);
    });
  }

  test('merge: a second source failing in its finally while a first one failed is attached (review B-D6)', async () => {
    const first = new Error('a');
    const second = new Error('b finally');
    // eslint-disable-next-line require-yield -- a source that fails before its first item
    async function* failing(): AsyncGenerator<number, void, undefined> {
      await pause(10);
      throw first;
    }
    async function* failsInFinally(): AsyncGenerator<number, void, undefined> {
      try {
        for (;;) {
          await pause(3);
          yield 1;
        }
      } finally {
        // biome-ignore lint/correctness/noUnsafeFinally: a failing cleanup
        throw second;
      }
    }
    const error = await scope(async () => {
      for await (const _ of merge([failing(), failsInFinally()])) {
        // consume
      }
    }).catch((e: unknown) => e);
    expect(reaches(error, first)).toBe(true);
    expect(reaches(error, second)).toBe(true);
  });
});

describe('map: a source that closes late (review A-D4)', () => {
  const within: Record<string, (fn: () => Promise<unknown>) => Promise<unknown>> = {
    'a scope body': (fn) => scope(fn),
    'a task': (fn) => scope((s) => s.spawn(fn)),
    'a timeout fn': (fn) => timeout(60_000, fn),
  };
  for (const [where, run] of Object.entries(within)) {
    test(`in ${where}: its cleanup error is attached to map's error or fails the caller's scope, never an unhandled rejection`, async () => {
      const cleanup = new Error('cleanup fail');
      // Stuck for 30 ms in a plain timer: closed late, after map has settled.
      const { src, log } = source(cleanup, 30);
      let attached: readonly unknown[] = [];
      const unhandled = await collectUnhandled(async () => {
        const error = await run(() =>
          map(
            src,
            async (x) => {
              await sleep(100);
              return x;
            },
            { concurrency: 2, timeout: 5 },
          ).catch((e: unknown) => {
            expect(e).toBeInstanceOf(TimeoutError);
            attached = suppressedErrors(e);
          }),
        ).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(log.closed).toBe(true);
        // Exactly once: attached when the source closed in time, else the scope's failure.
        expect(attached.includes(cleanup)).toBe(!reaches(error, cleanup));
      });
      expect(unhandled).toEqual([]);
    });
  }
});

describe('outside any scope, a late cleanup error is reported, never dropped', () => {
  // Closed in time, the error comes out of the loop; closed late, nobody can receive it
  // any more: it is emitted as a process warning (never an unhandled rejection, which
  // would crash the process for a loop that had ended). Either way: exactly once.
  const warned = (warnings: Error[]): unknown[] =>
    warnings.filter((w) => w.name === 'LateCleanupWarning').map((w) => w.cause);

  for (const [name, open] of Object.entries(helpers)) {
    test(`${name}: raised by the loop, or emitted as a LateCleanupWarning`, async () => {
      const cleanup = new Error('cleanup fail');
      const { src, log } = source(cleanup, 30);
      let thrown: unknown[] = [];
      let warnings: Error[] = [];
      const unhandled = await collectUnhandled(async () => {
        warnings = await collectWarnings(async () => {
          thrown = await (async () => {
            for await (const _ of open(src)) break;
          })().then(
            () => [],
            (e: unknown) => [e],
          );
          await log.done;
          await settleTicks();
        });
      });
      expect(unhandled).toEqual([]);
      expect([...thrown, ...warned(warnings)]).toEqual([cleanup]);
    });
  }

  test('map: attached to its error, or emitted as a LateCleanupWarning (review A-D4)', async () => {
    const cleanup = new Error('cleanup fail');
    const { src, log } = source(cleanup, 30);
    let attached: readonly unknown[] = [];
    let warnings: Error[] = [];
    const unhandled = await collectUnhandled(async () => {
      warnings = await collectWarnings(async () => {
        const error = await map(src, (x) => sleep(100).then(() => x), {
          concurrency: 2,
          timeout: 5,
        }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TimeoutError);
        attached = suppressedErrors(error);
        await log.done;
        await settleTicks();
      });
    });
    expect(unhandled).toEqual([]);
    expect([...attached, ...warned(warnings)]).toEqual([cleanup]);
  });
});

describe('the scope waits for a late close, but never hangs on a source waiting for data (review B-D8)', () => {
  /** A stream that yields `a` and then waits for data that never comes. */
  const idleStream = (): ReadableStream<string> =>
    new ReadableStream<string>({
      start(controller) {
        controller.enqueue('a');
      },
    });
  /** `work`'s outcome, or 'hung' if it has not settled after 2 s. */
  const settled = (work: Promise<unknown>): Promise<unknown> =>
    Promise.race([
      work.then(
        () => 'resolved',
        (e: unknown) => e,
      ),
      pause(2000).then(() => 'hung'),
    ]);

  // batch of 1: a batch of 2 would wait for a second item before the loop ever breaks.
  const overStreams = {
    ...helpers,
    batch: (src: AsyncIterable<number>) => batch(src, { size: 1 }),
  };
  for (const [name, open] of Object.entries(overStreams)) {
    test(`${name}: break over an idle ReadableStream in a scope body; the stream is cancelled`, async () => {
      let cancelled = false;
      const stream = new ReadableStream<string>({
        start(controller) {
          controller.enqueue('a');
        },
        cancel() {
          cancelled = true;
        },
      });
      const outcome = await settled(
        scope(async () => {
          for await (const _ of open(stream as unknown as AsyncIterable<number>)) break;
        }),
      );
      expect(outcome).toBe('resolved');
      expect(cancelled).toBe(true);
    });

    test(`${name}: a timeout around a loop over an idle ReadableStream rejects with its TimeoutError`, async () => {
      const outcome = await settled(
        timeout(20, async () => {
          for await (const _ of open(idleStream() as unknown as AsyncIterable<number>)) {
            // wait for more
          }
        }),
      );
      expect(outcome).toBeInstanceOf(TimeoutError);
    });
  }

  test('map with a timeout over an idle ReadableStream, in a scope body, rejects with its TimeoutError', async () => {
    let error: unknown;
    const outcome = await settled(
      scope(async () => {
        error = await map(idleStream(), (x) => x, { concurrency: 2, timeout: 20 }).catch(
          (e: unknown) => e,
        );
      }),
    );
    expect(outcome).toBe('resolved');
    expect(error).toBeInstanceOf(TimeoutError);
  });

  test('break over events.on() in a scope body and a timeout fn returns at once', async () => {
    const events = await import('node:events');
    const { EventEmitter } = events;
    const on = (events as unknown as { on: (e: unknown, name: string) => AsyncIterable<unknown[]> })
      .on;
    const emitter = new EventEmitter();
    const outcome = await settled(
      scope(async () => {
        setTimeout(() => emitter.emit('msg', 'hello'), 1);
        for await (const _ of buffer(on(emitter, 'msg'), { size: 4 })) break;
      }),
    );
    expect(outcome).toBe('resolved');
    const timedOut = await settled(
      timeout(20, async () => {
        for await (const _ of merge([on(emitter, 'msg')])) {
          // wait for more
        }
      }),
    );
    expect(timedOut).toBeInstanceOf(TimeoutError);
    expect(emitter.listenerCount('msg')).toBe(0);
  });
});

describe('a source whose return() rejects while its next() is pending (review D1 of the integration)', () => {
  const rejecting = (error: Error): AsyncIterable<number> => {
    let i = 0;
    const it: AsyncIterator<number> & AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => it,
      next: () =>
        i++ === 0
          ? Promise.resolve({ value: 1, done: false })
          : new Promise((resolve) => setTimeout(() => resolve({ value: 2, done: false }), 100)),
      return: () => Promise.reject(error),
    };
    return it;
  };
  for (const [name, open] of Object.entries(helpers)) {
    test(`${name}: the scope rejects with return()'s error, no unhandled rejection`, async () => {
      const error = new Error('return-err');
      const unhandled = await collectUnhandled(async () => {
        const outcome = await scope(async () => {
          for await (const _ of open(rejecting(error))) break;
        }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(reaches(outcome, error)).toBe(true);
        await pause(120);
      });
      expect(unhandled).toEqual([]);
    });
  }
});

/** Every kind of body, each given a way to spawn a task into its own scope. */
type Spawn = (fn: () => Promise<void>) => void;
const spawningBodies: Record<string, (fn: (spawn: Spawn) => Promise<void>) => Promise<unknown>> = {
  scope: (fn) => scope((s) => fn((f) => void s.spawn(f))),
  timeout: (fn) => timeout(60_000, (ctx) => fn((f) => void ctx.scope.spawn(f))),
  deadline: (fn) =>
    deadline(systemClock.now() + 60_000, (ctx) => fn((f) => void ctx.scope.spawn(f))),
  moveOnAfter: (fn) => moveOnAfter(60_000, (ctx) => fn((f) => void ctx.scope.spawn(f))),
  run: (fn) => run((ctx) => fn((f) => void ctx.scope.spawn(f)), { handleSignals: false }),
};

/** The items a helper yielded, batches flattened. */
const flat = (items: unknown[]): unknown[] => items.flat();

describe('a helper opened in a body lives until the body’s scope ends: the scope’s tasks may use it (review D8)', () => {
  test("the review's repro: merge peeked in the body and read on by a task of the same scope", async () => {
    const gen = async function* (): AsyncGenerator<number, void, undefined> {
      for (let i = 0; i < 5; i++) {
        yield i;
        await sleep(2);
      }
    };
    const got: number[] = [];
    await scope(async (s) => {
      const it = merge([gen(), gen()])[Symbol.asyncIterator]();
      const first = await it.next();
      if (!first.done) got.push(first.value);
      s.spawn(async () => {
        for (let x = await it.next(); !x.done; x = await it.next()) got.push(x.value);
      });
    });
    expect(got.sort()).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
  });

  for (const [body, within] of Object.entries(spawningBodies)) {
    for (const [name, open] of Object.entries(helpers)) {
      test(`${name} opened in a ${body} body and handed to a task: the task reads every item`, async () => {
        const { src, log } = source(undefined, 2, 6);
        const got: unknown[] = [];
        await within(async (spawn) => {
          const it = open(src);
          const first = await it.next();
          got.push(first.value);
          spawn(async () => {
            for (let x = await it.next(); !x.done; x = await it.next()) got.push(x.value);
          });
        });
        expect(flat(got)).toEqual([0, 1, 2, 3, 4, 5]);
        expect(log.closed).toBe(true);
      });

      test(`${name} opened in a ${body} body, partly read by a task: the source is closed when the scope ends, after the task`, async () => {
        const { src, log } = source();
        let closedWhenTaskEnded: boolean | undefined;
        await within(async (spawn) => {
          const it = open(src);
          await it.next();
          spawn(async () => {
            await it.next();
            await it.next();
            closedWhenTaskEnded = log.closed;
          });
        });
        expect(closedWhenTaskEnded).toBe(false);
        expect(log.closed).toBe(true);
        const pulled = log.pulled;
        await pause(10);
        expect(log.pulled).toBe(pulled);
      });

      test(`${name} opened in a ${body} body, its source failing in cleanup while a task fails: the task's error comes first, the cleanup error is attached`, async () => {
        const cleanup = new Error('cleanup fail');
        const boom = new Error('boom');
        const { src, log } = source(cleanup);
        const unhandled = await collectUnhandled(async () => {
          const error = await within(async (spawn) => {
            const it = open(src);
            await it.next();
            spawn(async () => {
              await it.next();
              throw boom;
            });
          }).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(TaskGroupError);
          expect((error as TaskGroupError).errors[0]).toBe(boom);
          expect(reaches(error, cleanup)).toBe(true);
          expect(log.closed).toBe(true);
        });
        expect(unhandled).toEqual([]);
      });
    }
  }

  test('a helper abandoned in the body with its reader blocked on a full buffer: the scope still ends and the source is closed', async () => {
    // A fast source, a buffer of 1 that nobody reads from after the first item: the
    // reader task waits for room that never comes. It must not hold the scope's join.
    const { src, log } = source(undefined, 0);
    let taskEnded = false;
    await scope(async (s) => {
      const it = buffer(src, { size: 1 });
      await it.next();
      s.spawn(async () => {
        await pause(20);
        taskEnded = true;
      });
    });
    expect(taskEnded).toBe(true);
    expect(log.closed).toBe(true);
    // At most the item taken, the one in the buffer and one being read.
    expect(log.pulled).toBeLessThanOrEqual(3);
  });

  for (const [name, open] of Object.entries(helpers)) {
    test(`${name} handed to a task that never reads it: closed when the scope ends`, async () => {
      const { src, log } = source();
      let closedWhenTaskEnded: boolean | undefined;
      await scope(async (s) => {
        const it = open(src);
        await it.next();
        s.spawn(async () => {
          void it; // holds it, never reads
          await pause(10);
          closedWhenTaskEnded = log.closed;
        });
      });
      expect(closedWhenTaskEnded).toBe(false);
      expect(log.closed).toBe(true);
    });

    test(`${name} shared by two tasks of the body's scope: every item goes to exactly one of them`, async () => {
      const { src, log } = source(undefined, 1, 12);
      const a: unknown[] = [];
      const b: unknown[] = [];
      const first: unknown[] = [];
      await scope(async (s) => {
        const it = open(src);
        first.push((await it.next()).value);
        const reader = (into: unknown[]) => async (): Promise<void> => {
          for (let x = await it.next(); !x.done; x = await it.next()) {
            into.push(x.value);
            await pause(1);
          }
        };
        s.spawn(reader(a));
        s.spawn(reader(b));
      });
      const all = flat([...first, ...a, ...b]) as number[];
      expect(all.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      expect(log.closed).toBe(true);
    });

    test(`${name} read by a task when its scope fails: the reader is cancelled, the source closed, the scope rejects with the failure`, async () => {
      const { src, log } = source();
      const boom = new Error('boom');
      let readerError: unknown;
      const error = await scope(async (s) => {
        const it = open(src);
        await it.next();
        s.spawn(async () => {
          try {
            for (;;) await it.next();
          } catch (e) {
            readerError = e;
            throw e;
          }
        });
        s.spawn(async () => {
          await pause(10);
          throw boom;
        });
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TaskGroupError);
      expect((error as TaskGroupError).errors).toEqual([boom]);
      expect(isCancellation(readerError)).toBe(true);
      expect(log.closed).toBe(true);
    });

    test(`${name} read by a task when its scope is cancelled (cancel() and the parent signal): the source is closed`, async () => {
      for (const how of ['cancel', 'signal'] as const) {
        const { src, log } = source();
        const controller = new AbortController();
        const reason = new CancelledError('stop');
        const outcome = await scope(
          async (s) => {
            const it = open(src);
            await it.next();
            s.spawn(async () => {
              for (;;) await it.next();
            });
            await pause(10);
            if (how === 'cancel') s.cancel();
            else controller.abort(reason);
          },
          { signal: controller.signal },
        ).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        );
        expect(outcome).toEqual(how === 'cancel' ? { value: undefined } : { error: reason });
        expect(log.closed).toBe(true);
      }
    });

    test(`${name} opened in an inner scope's body: closed when the inner scope ends, while the outer one runs on`, async () => {
      const { src, log } = source();
      let closedAfterInner: boolean | undefined;
      await scope(async () => {
        await scope(async (inner) => {
          const it = open(src);
          await it.next();
          inner.spawn(async () => {
            await it.next();
          });
        });
        closedAfterInner = log.closed;
        const pulled = log.pulled;
        await pause(10);
        expect(log.pulled).toBe(pulled);
      });
      expect(closedAfterInner).toBe(true);
    });
  }

  test('a timeout passing while a task reads a helper opened in the fn: TimeoutError, the source closed', async () => {
    const { src, log } = source();
    const error = await timeout(20, async (ctx) => {
      const it = buffer(src, { size: 2 });
      await it.next();
      ctx.scope.spawn(async () => {
        for (;;) await it.next();
      });
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(log.closed).toBe(true);
  });

  test('asCompleted opened in a body and finished by a task: every value, nothing cancelled', async () => {
    let cancelled = 0;
    const item =
      (ms: number) =>
      async ({ signal }: { signal: AbortSignal }): Promise<number> => {
        try {
          await sleep(ms, { signal });
        } catch (e) {
          cancelled++;
          throw e;
        }
        return ms;
      };
    const got: number[] = [];
    await scope(async (s) => {
      const it = asCompleted([item(1), item(10), item(20)]);
      const first = await it.next();
      if (!first.done) got.push(first.value);
      s.spawn(async () => {
        for (let x = await it.next(); !x.done; x = await it.next()) got.push(x.value);
      });
    });
    expect(got).toEqual([1, 10, 20]);
    expect(cancelled).toBe(0);
  });

  test('asCompleted abandoned in a body: its items are cancelled only once the scope’s tasks have settled', async () => {
    const order: string[] = [];
    await scope(async (s) => {
      const it = asCompleted([
        () => 0,
        async ({ signal }: { signal: AbortSignal }) => {
          await sleep(60_000, { signal }).catch((e: unknown) => {
            order.push('item cancelled');
            throw e;
          });
        },
      ]);
      await it.next();
      s.spawn(async () => {
        await pause(10);
        order.push('task ends');
      });
    });
    expect(order).toEqual(['task ends', 'item cancelled']);
  });
});

describe('a task reading a helper its scope’s body opened answers to its own cancellation (review D8)', () => {
  for (const [name, open] of Object.entries({
    ...helpers,
    batch: (src: AsyncIterable<number>) => batch(src, { size: 1 }),
  })) {
    test(`${name}: a reader cancelled while it waits rejects with its cancellation; the item it waited for goes to the next reader`, async () => {
      let controller!: ReadableStreamDefaultController<number>;
      const stream = new ReadableStream<number>({
        start(c) {
          controller = c;
          c.enqueue(0);
        },
      });
      const got: unknown[] = [];
      let waiterError: unknown;
      const outcome = await scope(async (s) => {
        const it = open(stream as unknown as AsyncIterable<number>);
        got.push((await it.next()).value);
        const waiter = s.spawn(async () => {
          try {
            await it.next();
          } catch (e) {
            waiterError = e;
            throw e;
          }
        });
        await pause(5);
        waiter.cancel();
        await waiter.then(
          () => undefined,
          () => undefined,
        );
        controller.enqueue(1);
        controller.enqueue(2);
        controller.close();
        s.spawn(async () => {
          for (let x = await it.next(); !x.done; x = await it.next()) got.push(x.value);
        });
        return 'done';
      });
      expect(outcome).toBe('done');
      expect(isCancellation(waiterError)).toBe(true);
      expect(flat(got)).toEqual([0, 1, 2]);
    });

    test(`${name}: a reader cancelled while it waits on a source that never yields again; the scope still ends and closes the source`, async () => {
      let cancelled = false;
      const stream = new ReadableStream<number>({
        start(c) {
          c.enqueue(0);
        },
        cancel() {
          cancelled = true;
        },
      });
      await scope(async (s) => {
        const it = open(stream as unknown as AsyncIterable<number>);
        await it.next();
        const waiter = s.spawn(async () => {
          await it.next();
        });
        await pause(5);
        waiter.cancel();
      });
      expect(cancelled).toBe(true);
    });
  }
});

describe('a source failure kept for a reader that left is never lost (review D3 of corefix)', () => {
  const failingSource = async function* (): AsyncGenerator<number, void, undefined> {
    yield 0;
    await pause(30);
    throw new Error('source-failed');
  };
  for (const [name, open] of Object.entries({
    ...helpers,
    batch: (src: AsyncIterable<number>) => batch(src, { size: 1 }),
  })) {
    test(`${name}: nobody reads again: the scope fails with the source's error`, async () => {
      const unhandled = await collectUnhandled(async () => {
        const error = await scope(async (s) => {
          const it = open(failingSource());
          await it.next();
          const reader = s.spawn(async () => {
            await it.next();
          });
          await pause(5);
          reader.cancel();
          await pause(60);
          return 'scope ok';
        }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TaskGroupError);
        expect((error as TaskGroupError).errors.map((e) => (e as Error).message)).toEqual([
          'source-failed',
        ]);
      });
      expect(unhandled).toEqual([]);
    });

    test(`${name}: the next reader takes it and handles it: the scope ends normally`, async () => {
      const outcome = await scope(async (s) => {
        const it = open(failingSource());
        await it.next();
        const reader = s.spawn(async () => {
          await it.next();
        });
        await pause(5);
        reader.cancel();
        await pause(60);
        return it.next().then(
          () => 'no error',
          (e: unknown) => (e as Error).message,
        );
      });
      expect(outcome).toBe('source-failed');
    });
  }
});

describe('a time limit cutting a body whose helper fails to close: the TimeoutError is the primary error (review D5 of corefix)', () => {
  /** A source that yields at once and whose return() throws `cleanup`. */
  const throwingReturn = (cleanup: Error): AsyncIterable<number> => {
    const it: AsyncIterator<number> & AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => it,
      next: async () => ({ value: 1, done: false }),
      return: async () => {
        throw cleanup;
      },
    };
    return it;
  };
  type Shape = (open: () => AsyncGenerator<unknown>, spawn: Spawn) => Promise<void>;
  const shapes: Record<string, Shape> = {
    'peeked in the body': async (open) => {
      const it = open();
      await it.next();
      await sleep(60_000);
    },
    'looped over in the body': async (open) => {
      for await (const _ of open()) await sleep(60_000);
    },
    'handed to a task': async (open, spawn) => {
      const it = open();
      await it.next();
      spawn(async () => {
        await it.next();
        await sleep(60_000);
      });
    },
    'opened by a task': async (open, spawn) => {
      spawn(async () => {
        const it = open();
        await it.next();
        await sleep(60_000);
      });
    },
  };
  const limits: Record<string, (fn: (spawn: Spawn) => Promise<void>) => Promise<unknown>> = {
    timeout: (fn) => timeout(20, (ctx) => fn((f) => void ctx.scope.spawn(f))),
    deadline: (fn) => deadline(systemClock.now() + 20, (ctx) => fn((f) => void ctx.scope.spawn(f))),
    'scope({ timeout })': (fn) => scope((s) => fn((f) => void s.spawn(f)), { timeout: 20 }),
  };
  for (const [limit, within] of Object.entries(limits)) {
    for (const [shape, body] of Object.entries(shapes)) {
      test(`${limit}, a buffer ${shape}: rejects with its TimeoutError, the cleanup error attached`, async () => {
        const cleanup = new Error('ret-err');
        const error = await within((spawn) =>
          body(() => buffer(throwingReturn(cleanup), { size: 2 }), spawn),
        ).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TimeoutError);
        expect(suppressedErrors(error)).toContain(cleanup);
      });
    }
  }
  for (const [shape, body] of Object.entries(shapes)) {
    test(`moveOnAfter, a buffer ${shape}: giving up is no failure, but the cleanup error is raised, not dropped`, async () => {
      const cleanup = new Error('ret-err');
      const error = await moveOnAfter(20, (ctx) =>
        body(
          () => buffer(throwingReturn(cleanup), { size: 2 }),
          (f) => void ctx.scope.spawn(f),
        ),
      ).then(
        (r) => r,
        (e: unknown) => e,
      );
      expect(error).toBe(cleanup);
    });
  }
  test('a scope that fails for real keeps the failure first, the cleanup error after it', async () => {
    const cleanup = new Error('ret-err');
    const boom = new Error('boom');
    const error = await scope(
      async (s) => {
        const it = buffer(throwingReturn(cleanup), { size: 2 });
        await it.next();
        s.spawn(async () => {
          try {
            await sleep(60_000);
          } finally {
            // biome-ignore lint/correctness/noUnsafeFinally: a cleanup that fails for real
            throw boom;
          }
        });
      },
      { timeout: 20 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskGroupError);
    expect((error as TaskGroupError).errors).toEqual([boom, cleanup]);
  });
});

describe('a loop cut by a time limit in the body that started it never looks ended (review D6 of corefix)', () => {
  for (const [name, open] of Object.entries(helpers)) {
    test(`${name}: started in the body, then polled with moveOnAfter: every item arrives, in order`, async () => {
      const { src } = source(undefined, 25, 6);
      const got = await scope(async () => {
        const it = open(src);
        const items: unknown[] = [(await it.next()).value];
        for (;;) {
          const polled = await moveOnAfter(10, () => it.next());
          if (polled.timedOut) continue;
          if (polled.value.done) break;
          items.push(polled.value.value);
        }
        return items;
      });
      expect(flat(got)).toEqual([0, 1, 2, 3, 4, 5]);
    });
  }

  for (const [name, open] of Object.entries({
    ...helpers,
    batch: (src: AsyncIterable<number>) => batch(src, { size: 1 }),
  })) {
    test(`${name}: first next() inside moveOnAfter times out; later calls reject with its TimeoutError, never a quiet done`, async () => {
      const { src } = source(undefined, 25, 10);
      const later = await scope(async () => {
        const it = open(src);
        const first = await moveOnAfter(10, () => it.next());
        expect(first.timedOut).toBe(true);
        return Promise.all([
          it.next().then(
            (step) => ({ step }),
            (error: unknown) => ({ error }),
          ),
          it.next().then(
            (step) => ({ step }),
            (error: unknown) => ({ error }),
          ),
        ]);
      });
      // The reason the loop was cut with: the moveOnAfter's TimeoutError.
      for (const outcome of later) {
        expect('error' in outcome).toBe(true);
        expect((outcome as { error: unknown }).error).toBeInstanceOf(TimeoutError);
      }
    });
  }
});

describe('a cleanup error raised while a cancelled scope closes a helper is never dropped (review D7 of corefix)', () => {
  /** A source that yields every 3 ms and whose return() throws `cleanup`. */
  const throwingReturn = (cleanup: Error): AsyncIterable<number> => {
    const it: AsyncIterator<number> & AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => it,
      next: async () => {
        await pause(3);
        return { value: 1, done: false };
      },
      return: async () => {
        throw cleanup;
      },
    };
    return it;
  };
  const readers: Record<string, (it: AsyncGenerator<unknown>, spawn: Spawn) => Promise<void>> = {
    'a task of the scope reads it': async (it, spawn) => {
      await it.next();
      spawn(async () => {
        for (;;) await it.next();
      });
    },
    'the body loops over it': async (it) => {
      for await (const _ of it) {
        // until cancelled
      }
    },
  };
  for (const [name, open] of Object.entries(helpers)) {
    for (const [how, read] of Object.entries(readers)) {
      test(`${name}, ${how}, the scope cancel()s itself: it fails with the cleanup error`, async () => {
        const cleanup = new Error('RET-THROW');
        const error = await scope(async (s) => {
          setTimeout(() => s.cancel(), 10);
          await read(open(throwingReturn(cleanup)), (f) => void s.spawn(f));
        }).then(
          () => 'resolved normally',
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(TaskGroupError);
        expect((error as TaskGroupError).errors).toEqual([cleanup]);
      });

      test(`${name}, ${how}, a task fails: the failure first, then the cleanup error`, async () => {
        const cleanup = new Error('RET-THROW');
        const boom = new Error('TASK-FAIL');
        const error = await scope(async (s) => {
          s.spawn(async () => {
            await pause(10);
            throw boom;
          });
          await read(open(throwingReturn(cleanup)), (f) => void s.spawn(f));
        }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TaskGroupError);
        expect((error as TaskGroupError).errors).toEqual([boom, cleanup]);
      });
    }
  }
});
