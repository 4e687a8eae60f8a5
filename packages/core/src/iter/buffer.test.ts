import { describe, expect, test } from 'vitest';
import {
  collect,
  collectUnhandled,
  collectWarnings,
  settleTicks,
  ticking,
  tracked,
} from '../../test/helpers.ts';
import { CancelledError, suppressedErrors, TimeoutError } from '../errors.ts';
import { scope } from '../scope.ts';
import { sleep } from '../sleep.ts';
import { TestClock } from '../test-clock.ts';
import { timeout } from '../timeout.ts';
import { buffer } from './buffer.ts';

describe('buffer', () => {
  test('reads ahead while the consumer works, keeping order', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const { source, state } = tracked([1, 2, 3, 4, 5, 6], 10);
    const got = await scope(
      async () => {
        const out: number[] = [];
        for await (const n of buffer(source, { size: 2 })) {
          out.push(n);
          await sleep(100);
        }
        return out;
      },
      { clock },
    );
    expect(got).toEqual([1, 2, 3, 4, 5, 6]);
    expect(state.closed).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  test('never reads more than size items ahead of the consumer (defect 11)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    for (const size of [1, 2, 5]) {
      const { source, state } = tracked(
        Array.from({ length: 12 }, (_, i) => i),
        1,
      );
      let taken = 0;
      let peak = 0;
      await scope(
        async () => {
          for await (const _ of buffer(source, { size })) {
            taken++;
            await sleep(50); // slow consumer: the reader fills the buffer meanwhile
            peak = Math.max(peak, state.pulled - taken);
          }
        },
        { clock },
      );
      expect(peak).toBe(size);
    }
  });

  test('ends promptly when the source is suspended in a weft await, and closes it', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let closed = false;
    const source = (async function* () {
      try {
        yield 1;
        await sleep(3_600_000);
        yield 2;
      } finally {
        closed = true;
      }
    })();
    await scope(
      async () => {
        for await (const n of buffer(source, { size: 4 })) {
          expect(n).toBe(1);
          break;
        }
      },
      { clock },
    );
    expect(closed).toBe(true);
    expect(clock.now()).toBeLessThan(3_600_000);
  });

  test('ends promptly even when the source awaits something that ignores cancellation; closes it once past that await', async () => {
    let release!: () => void;
    const stuck = new Promise<void>((r) => {
      release = r;
    });
    let closed = false;
    const source = (async function* () {
      try {
        yield 1;
        await stuck; // not cancellable
        yield 2;
      } finally {
        closed = true;
      }
    })();
    for await (const n of buffer(source, { size: 2 })) {
      expect(n).toBe(1);
      break;
    }
    expect(closed).toBe(false); // still stuck, but the loop did not wait for it
    release();
    await settleTicks();
    expect(closed).toBe(true); // closed as soon as it got past the await
  });

  test('break returns at once on sources whose pending next() waits for new data: events.on, ReadableStream (review D8)', async () => {
    const events = await import('node:events');
    const { EventEmitter } = events;
    const on = (events as unknown as { on: (e: unknown, name: string) => AsyncIterable<unknown[]> })
      .on;
    const emitter = new EventEmitter();
    setTimeout(() => emitter.emit('msg', 'hello'), 1);
    const got: unknown[] = [];
    for await (const [message] of buffer(on(emitter, 'msg'), { size: 4 })) {
      got.push(message);
      break; // the reader is waiting for a second message that never comes
    }
    expect(got).toEqual(['hello']);
    expect(emitter.listenerCount('msg')).toBe(0);

    const stream = new ReadableStream<string>({
      start(controller) {
        controller.enqueue('a'); // and nothing after: the next read waits forever
      },
    });
    for await (const x of buffer(stream as unknown as AsyncIterable<string>, { size: 2 })) {
      expect(x).toBe('a');
      break;
    }
  });

  test('a source failure comes after the items read before it', async () => {
    const source = (async function* () {
      yield 1;
      yield 2;
      throw new Error('source broke');
    })();
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const n of buffer(source, { size: 5 })) got.push(n);
      })(),
    ).rejects.toThrow('source broke');
    expect(got).toEqual([1, 2]);
  });

  test('an aborted signal rejects the loop, even once the source has ended (defect 4)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const { source, state } = tracked([1, 2, 3, 4, 5, 6, 7, 8], 10);
    const controller = new AbortController();
    const reason = new CancelledError('stop');
    const got: number[] = [];
    const error = await (async () => {
      for await (const n of buffer(source, { size: 2, signal: controller.signal, clock })) {
        got.push(n);
        if (n === 3) controller.abort(reason);
      }
    })().catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(got).toEqual([1, 2, 3]);
    expect(state.closed).toBe(true);

    // The whole (short) source is already buffered when the signal aborts.
    const late = new AbortController();
    const error2 = await (async () => {
      for await (const n of buffer([1, 2, 3], { size: 8, signal: late.signal })) {
        if (n === 1) late.abort(reason);
      }
    })().catch((e: unknown) => e);
    expect(error2).toBe(reason);
  });

  test('cancelling the enclosing task rejects the loop, never a quiet end (defect 4)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const { source, state } = ticking(10);
    const got: number[] = [];
    let outcome: unknown = 'ended quietly';
    const error = await timeout(
      35,
      async () => {
        try {
          for await (const n of buffer(source, { size: 2 })) got.push(n);
        } catch (e) {
          outcome = e;
          throw e;
        }
      },
      { clock },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(outcome).toBeInstanceOf(TimeoutError);
    expect(got).toEqual([0, 1, 2]);
    expect(state.closed).toBe(true);
  });

  test('an explicit signal inside a task adds to the task’s: its timeout still applies (defect 2)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const user = new AbortController();
    const { source, state } = ticking(1000);
    const error = await timeout(
      50,
      async () => {
        for await (const _ of buffer(source, { size: 2, signal: user.signal })) {
          // the first item takes 1000 ms
        }
      },
      { clock },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(clock.now()).toBe(50);
    expect(state.closed).toBe(true);
  });

  test('an error from the source’s finally on break is raised, not swallowed (defect 6)', async () => {
    const cleanup = new Error('finally failed');
    const { source } = tracked([1, 2, 3, 4], 0, () => {
      throw cleanup;
    });
    const error = await (async () => {
      for await (const _ of buffer(source, { size: 2 })) break;
    })().catch((e: unknown) => e);
    expect(error).toBe(cleanup);
  });

  test('a cleanup error during a cancellation is attached to the reason (defect 6)', async () => {
    const cleanup = new Error('finally failed');
    const { source } = tracked([1, 2, 3, 4], 0, () => {
      throw cleanup;
    });
    const controller = new AbortController();
    const reason = new CancelledError('stop');
    const error = await (async () => {
      for await (const n of buffer(source, { size: 1, signal: controller.signal })) {
        if (n === 1) controller.abort(reason);
      }
    })().catch((e: unknown) => e);
    expect(error).toBe(reason);
    expect(suppressedErrors(reason)).toEqual([cleanup]);
  });

  test('a task that abandons the loop: its scope stops the reader and closes the source before it returns (defect 7)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const { source, state } = ticking(10);
    await scope(
      async (s) => {
        s.spawn(async () => {
          const it = buffer(source, { size: 3 });
          expect(await it.next()).toEqual({ done: false, value: 0 });
          // returns without finishing or closing the loop
        });
      },
      { clock },
    );
    expect(state.closed).toBe(true);
    const pulled = state.pulled;
    await clock.advance(1000);
    expect(state.pulled).toBe(pulled);
    expect(clock.pendingTimers).toBe(0);
  });

  test('a cleanup error of an abandoned loop fails the task’s scope instead of being lost (defect 6/7)', async () => {
    const cleanup = new Error('finally failed');
    const { source } = tracked([1, 2, 3, 4], 0, () => {
      throw cleanup;
    });
    const error = await scope(async (s) => {
      s.spawn(async () => {
        await buffer(source, { size: 2 }).next();
      });
    }).catch((e: unknown) => e);
    expect((error as AggregateError).errors).toEqual([cleanup]);
  });

  test('return() before the first next() closes the source (defect 8)', async () => {
    const { source, state } = tracked([1, 2, 3]);
    // Start the source so that its finally has something to run.
    await source.next();
    const it = buffer(source, { size: 2 });
    await it.return();
    expect(state.closed).toBe(true);
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  test('no unhandled rejection when the consumer stops while a pull is failing: raised by break, or a warning', async () => {
    const failure = new Error('late failure');
    let raised: unknown[] = [];
    let warnings: Error[] = [];
    const unhandled = await collectUnhandled(async () => {
      warnings = await collectWarnings(async () => {
        const source = (async function* () {
          yield 1;
          await new Promise((r) => setTimeout(r, 1));
          throw failure;
        })();
        // Raised by break if it fails within the turn the close waits; else, outside any
        // scope, nobody can receive it: a LateCleanupWarning. Never unhandled, never lost.
        raised = await (async () => {
          for await (const _ of buffer(source, { size: 2 })) break;
        })().then(
          () => [],
          (error: unknown) => [error],
        );
        await new Promise((r) => setTimeout(r, 5));
        await settleTicks();
      });
    });
    expect(unhandled).toEqual([]);
    const late = warnings.filter((w) => w.name === 'LateCleanupWarning').map((w) => w.cause);
    expect([...raised, ...late]).toEqual([failure]);
  });

  test('a source cancelled in a weft await: the error its finally throws is raised by break', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const cleanup = new Error('finally failed');
    const source = (async function* () {
      try {
        yield 1;
        await sleep(1000); // the reader is cancelled here
        yield 2;
      } finally {
        // biome-ignore lint/correctness/noUnsafeFinally: a failing cleanup
        throw cleanup;
      }
    })();
    const error = await scope(
      async () => {
        for await (const _ of buffer(source, { size: 2 })) break;
      },
      { clock },
    ).catch((e: unknown) => e);
    expect((error as AggregateError).errors ?? [error]).toContain(cleanup);
  });

  test('bad input is rejected at the call', () => {
    expect(() => buffer(5 as never, { size: 1 })).toThrow(/`source`/);
    expect(() => buffer([1], 2 as never)).toThrow(/`options` to be an object with `size`/);
    expect(() => buffer([1], { size: 0 })).toThrow(/`options.size`/);
    expect(() => buffer([1], { size: 1, sise: 2 } as never)).toThrow(/Unknown option/);
    expect(() => buffer([1], { size: 1, signal: 'x' as never })).toThrow(/`options.signal`/);
  });

  test('collects a sync iterable', async () => {
    expect(await collect(buffer(new Set([1, 2, 3]), { size: 1 }))).toEqual([1, 2, 3]);
  });
});
