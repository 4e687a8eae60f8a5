// A scope (or a helper built on one: gather, map, timeout…) opened inside a task or a
// body and not awaited must not outlive the scope it was opened in: that scope waits for
// its work before it closes, `run()` waits for it before it returns, and cancelling the
// enclosing scope cancels it. Before, such a scope ran on, orphaned, after `run()` had
// returned.
import { describe, expect, test } from 'vitest';
import { CancelledError, isCancellation, suppressedErrors, TimeoutError } from '../src/errors.ts';
import { instrument } from '../src/diagnostics/instrument.ts';
import { gather } from '../src/gather.ts';
import { map } from '../src/map.ts';
import { run } from '../src/run.ts';
import { Scope, scope } from '../src/scope.ts';
import { shield } from '../src/shield.ts';
import { sleep } from '../src/sleep.ts';
import { TestClock } from '../src/test-clock.ts';
import { timeout } from '../src/timeout.ts';
import { collectUnhandled } from './helpers.ts';

const isBun = typeof (globalThis as { Bun?: unknown }).Bun === 'object';

describe('a scope left floating does not outlive the scope it was opened in', () => {
  test('run() returns only after a floating scope opened in its body has ended', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const events: string[] = [];
    const result = await run(
      async () => {
        void scope(async (s) => {
          s.spawn(async () => {
            await sleep(50);
            events.push('inner task done');
          });
        });
        events.push('body returns');
        return 'body';
      },
      { clock },
    );
    events.push(`run returned ${result}`);
    expect(events).toEqual(['body returns', 'inner task done', 'run returned body']);
  });

  test('a scope waits for a gather left floating by one of its tasks, after that task ended', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const events: string[] = [];
    let taskState = '';
    await scope(
      async (s) => {
        const t = s.spawn(async () => {
          void gather([
            async () => {
              await sleep(30);
              events.push('gather item done');
            },
          ]);
          return 1;
        });
        await t;
        taskState = t.state;
        events.push('task awaited');
      },
      { clock },
    );
    events.push('scope closed');
    // The task itself ends when its function does; its scope is what waits.
    expect(taskState).toBe('fulfilled');
    expect(events).toEqual(['task awaited', 'gather item done', 'scope closed']);
  });

  test("the enclosing scope's time limit cancels a floating scope, which rejects with the cause", async () => {
    const clock = new TestClock({ autoAdvance: true });
    let floating: Promise<unknown> | undefined;
    let finished = false;
    const started = clock.now();
    const outcome = await timeout(
      100,
      async () => {
        floating = scope(async (s) => {
          s.spawn(async () => {
            await sleep(5000);
            finished = true;
          });
        });
        floating.catch(() => {});
      },
      { clock },
    ).then(
      () => 'fulfilled',
      (error: unknown) => (error as Error).name,
    );
    expect(outcome).toBe('TimeoutError');
    expect(clock.now() - started).toBe(100);
    await expect(floating).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(finished).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  test('a failure, or cancel(), of the enclosing scope cancels a scope left floating by a task that has ended', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const started = clock.now();
    let floating: Promise<unknown> | undefined;
    const leave = (): number => {
      floating = scope(async (x) => {
        x.spawn(() => sleep(5000));
      });
      floating.catch(() => {});
      return 1;
    };
    const failed = await scope(
      async (s) => {
        s.spawn(async () => leave());
        s.spawn(async () => {
          await sleep(10);
          throw new Error('boom');
        });
      },
      { clock },
    ).catch((error: unknown) => error);
    expect(failed).toMatchObject({ name: 'TaskGroupError' });
    expect(clock.now() - started).toBe(10);
    await expect(floating).rejects.toBeInstanceOf(CancelledError);

    await scope(
      async (s) => {
        await s.spawn(async () => leave());
        s.cancel();
      },
      { clock },
    );
    expect(clock.now() - started).toBe(10);
    await expect(floating).rejects.toBeDefined();
    expect(clock.pendingTimers).toBe(0);
  });

  test('the hold goes up through floating scopes: run() waits for a scope floating in a floating scope (probe7 P1)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const events: string[] = [];
    await run(
      async (ctx) => {
        ctx.scope.spawn(async () => {
          void scope(async (c) => {
            c.spawn(async () => {
              void gather([
                async () => {
                  await sleep(200);
                  events.push('grandchild done');
                },
              ]);
            });
          });
        });
      },
      { clock },
    );
    events.push('run returned');
    expect(events).toEqual(['grandchild done', 'run returned']);
  });

  test("and the enclosing scope's failure cancels the grandchild, with no unhandled rejection (probe7 P1, P4)", async () => {
    const clock = new TestClock({ autoAdvance: true });
    const started = clock.now();
    let grandchild = '';
    const unhandled = await collectUnhandled(async () => {
      const outcome = await scope(
        async (p) => {
          p.spawn(async () => {
            void scope(async (c) => {
              c.spawn(async () => {
                void gather([
                  async ({ signal }) => {
                    await sleep(400, { signal }).then(
                      () => (grandchild = 'finished'),
                      () => (grandchild = 'cancelled'),
                    );
                  },
                ]);
              });
            });
          });
          await sleep(100);
          throw new Error('body failed');
        },
        { clock },
      ).catch((error: unknown) => error);
      expect(outcome).toMatchObject({ name: 'TaskGroupError' });
    });
    expect(grandchild).toBe('cancelled');
    expect(clock.now() - started).toBe(100);
    expect(unhandled).toEqual([]);
  });

  // Not on Bun: its test runner fails the running test on any unhandled rejection, even
  // with a listener for them, so this cannot observe one there (checked with bun 1.4.5).
  test.skipIf(isBun)(
    'a floating scope that fails for real while its holder is cancelled is still reported, not swallowed (probe7 P4)',
    async () => {
      const clock = new TestClock({ autoAdvance: true });
      const failure = new Error('cleanup failed');
      const unhandled = await collectUnhandled(async () => {
        await scope(
          async (p) => {
            await p.spawn(async () => {
              void scope(async (c) => {
                c.spawn(async ({ signal }) => {
                  await sleep(1000, { signal }).catch(() => {
                    throw failure;
                  });
                });
              });
            });
            p.cancel();
          },
          { clock },
        );
      });
      expect(unhandled).toHaveLength(1);
      expect((unhandled[0] as { errors?: unknown[] }).errors).toEqual([failure]);
    },
  );

  test('a floating scope whose opener was still running when the holder was cancelled: no unhandled rejection either (probe8 Q1)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const unhandled = await collectUnhandled(async () => {
      await scope(
        async (p) => {
          p.spawn(async ({ signal }) => {
            void scope(async (s) => {
              s.spawn(async ({ signal: inner }) => {
                await sleep(3000, { signal: inner }).catch(async (error: unknown) => {
                  await sleep(20, { signal: undefined }).catch(() => {});
                  throw error; // ends after its opener did
                });
              });
            });
            await sleep(5000, { signal }); // the opener keeps running until cancelled
          });
          void scope(async (s) => {
            s.spawn(({ signal }) => sleep(3000, { signal }));
          });
          await sleep(100);
          p.cancel();
          await sleep(5000, { signal: p.signal }).catch(() => {}); // the body runs on too
        },
        { clock },
      );
    });
    expect(unhandled).toEqual([]);
  });

  test("an awaited scope's failure while its holder is cancelled is reported once, to the awaiter (probe8 Q2)", async () => {
    const clock = new TestClock({ autoAdvance: true });
    const failure = new Error('cleanup failed');
    let got: unknown;
    const unhandled = await collectUnhandled(async () => {
      let kept: Promise<unknown> | undefined;
      await scope(
        async (p) => {
          await p.spawn(async () => {
            kept = scope(async (c) => {
              c.spawn(async ({ signal }) => {
                await sleep(1000, { signal }).catch(() => {
                  throw failure;
                });
              });
            });
          });
          clock.schedule(50, () => p.cancel());
          got = await kept!.catch((error: unknown) => error);
        },
        { clock },
      );
    });
    expect((got as { errors?: unknown[] }).errors).toEqual([failure]);
    expect(unhandled).toEqual([]);
  });

  test('a scope floating in a holder already cancelled is cancelled once it gets work (probe7 P8)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let kept: Scope | undefined;
    let task = '';
    const outcome = await scope(
      async (p) => {
        await p.spawn(async () => {
          kept = new Scope({ name: 'kept' });
        });
        p.spawn(async ({ signal }) => {
          await sleep(10_000, { signal }).catch(() => {});
          await shield(() => sleep(100)); // the holder winds down for 100 ms after its timeout
        });
        clock.schedule(50, () => {
          kept!.spawn(async ({ signal }) => {
            await sleep(1000, { signal }).then(
              () => (task = 'ran its full time'),
              () => (task = 'cancelled'),
            );
          });
        });
      },
      { clock, timeout: 20 },
    ).catch((error: unknown) => (error as Error).name);
    expect(outcome).toBe('TimeoutError');
    expect(task).toBe('cancelled');
    expect(clock.now()).toBeLessThan(1000);
  });

  test("a task's .then callback after the scope's last task finds the scope closed (probe7 P3)", async () => {
    const clock = new TestClock({ autoAdvance: true });
    let spawnError: unknown;
    let scopeRef: Scope | undefined;
    await scope(
      async (p) => {
        scopeRef = p;
        const t = p.spawn(() => sleep(20));
        void t.then(() => {
          try {
            p.spawn(() => sleep(200));
          } catch (error) {
            spawnError = error;
          }
        });
      },
      { clock },
    );
    expect(scopeRef!.state).toBe('closed');
    expect(spawnError).toBeInstanceOf(TypeError);
    expect((spawnError as Error).message).toMatch(/the scope has closed/);
    expect(clock.pendingTimers).toBe(0);
  });

  test('a chain of 20,000 floating scopes, each opened by the one before, ends and is cancelled without overflowing the stack (probe8 Q4)', async () => {
    const links = 20_000;
    let last = 0;
    const step = (i: number): void => {
      void scope(async () => {
        await Promise.resolve();
        last = i;
        if (i < links) step(i + 1);
      });
    };
    await scope(async () => step(0));
    expect(last).toBe(links);

    // The same chain cut by its holder's timeout halfway: every link is cancelled.
    let reached = 0;
    const endless = (i: number): void => {
      void scope(async ({ signal }) => {
        await new Promise((resolve) => setTimeout(resolve, 0));
        reached = i;
        if (!signal.aborted) endless(i + 1);
      });
    };
    const outcome = await scope(
      async () => {
        endless(0);
      },
      { timeout: 50 },
    ).catch((error: unknown) => (error as Error).name);
    expect(outcome).toBe('TimeoutError');
    expect(reached).toBeGreaterThan(0);
  });

  test('a floating scope of a task cancelled on its own (task.cancel()) is not an unhandled rejection (probe8 Q6)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let floating = '';
    const unhandled = await collectUnhandled(async () => {
      await scope(
        async (p) => {
          const t = p.spawn(async ({ signal }) => {
            void scope(async (s) => {
              s.spawn(async ({ signal: inner }) => {
                await sleep(3000, { signal: inner }).catch((error: unknown) => {
                  floating = 'cancelled';
                  throw error;
                });
              });
            });
            await sleep(10_000, { signal });
          });
          await sleep(50);
          t.cancel();
        },
        { clock },
      );
    });
    expect(floating).toBe('cancelled');
    expect(unhandled).toEqual([]);
  });

  test('a new Scope() of a holder that was cancelled and has closed cancels work it gets later (probe8 Q7)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    let kept: Scope | undefined;
    await scope(
      async (p) => {
        await p.spawn(async () => {
          kept = new Scope({ name: 'kept' });
        });
        p.cancel();
      },
      { clock },
    );
    let work = '';
    kept!.spawn(async ({ signal }) => {
      await sleep(500, { signal, clock }).then(
        () => (work = 'ran its full time'),
        () => (work = 'cancelled'),
      );
    });
    await kept![Symbol.asyncDispose]().catch(() => {});
    expect(work).toBe('cancelled');
  });

  test('a scope cancelled from its holder aborts the scopes opened in it before its own later listeners run, as when cancelled directly (probe9 R1)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    for (const how of ['direct', 'holder'] as const) {
      const log: string[] = [];
      await scope(
        async (r) => {
          await scope(async (a) => {
            let b: AbortSignal | undefined;
            const inner = scope(async (s) => {
              b = s.signal;
              s.signal.addEventListener('abort', () => log.push('B aborted'));
              await sleep(1000, { signal: s.signal });
            });
            a.signal.addEventListener('abort', () =>
              log.push(`A listener sees B aborted: ${b!.aborted}`),
            );
            await sleep(10);
            if (how === 'direct') a.cancel();
            else r.cancel();
            await inner.catch(() => {});
          }).catch(() => {});
        },
        { clock },
      );
      expect(log).toEqual(['B aborted', 'A listener sees B aborted: true']);
    }
  });

  test('a floating scope closes before the scope it was opened in (probe9 R4)', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const closed: string[] = [];
    using _hooks = instrument({ onScopeClose: (s) => closed.push(s.name) });
    await scope(
      async (p) => {
        p.spawn(async () => {
          void scope(
            async (c) => {
              c.spawn(() => sleep(20));
            },
            { name: 'C' },
          );
        });
      },
      { clock, name: 'P' },
    );
    expect(closed).toEqual(['C', 'P']);
  });

  test("a map left floating whose source fails to close after its holder's cancellation reports that failure once, and leaves other floating scopes alone (probe9 R2)", async () => {
    const clock = new TestClock({ autoAdvance: true });
    const closeFailure = new Error('source close failed');
    async function* source(): AsyncGenerator<number> {
      try {
        for (let i = 0; ; i++) {
          yield i;
          await sleep(5);
        }
      } finally {
        // biome-ignore lint/correctness/noUnsafeFinally: the close failure under test
        throw closeFailure;
      }
    }
    let floating: Promise<unknown> | undefined;
    let awaitedGot: unknown;
    const unhandled = await collectUnhandled(async () => {
      await scope(
        async (p) => {
          floating = scope(async (s) => {
            s.spawn(({ signal }) => sleep(1000, { signal }));
          });
          p.spawn(async () => {
            awaitedGot = await map(source(), (_i, { signal }) => sleep(1000, { signal }), {
              concurrency: 1,
            }).catch((error: unknown) => error);
          });
        },
        { clock, timeout: 30 },
      ).catch(() => {});
    });
    expect(unhandled).toEqual([]);
    // The awaited map's close failure is the outcome its caller gets, the cancellation
    // attached; the innocent floating scope only rejects with the cancellation.
    expect(awaitedGot).toBe(closeFailure);
    const cancelled = (e: unknown): boolean => isCancellation(e) || e instanceof TimeoutError;
    expect(suppressedErrors(closeFailure).some(cancelled)).toBe(true);
    expect(
      cancelled(
        await floating!.then(
          () => 'fulfilled',
          (error: unknown) => error,
        ),
      ),
    ).toBe(true);
  });

  test('a new Scope() never disposed holds its enclosing scope only while a task of it runs', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const events: string[] = [];
    await scope(
      async () => {
        new Scope(); // no work: nothing to wait for, the enclosing scope is not held
        const busy = new Scope();
        busy.spawn(async () => {
          await sleep(20);
          events.push('task of the undisposed scope done');
        });
      },
      { clock },
    );
    events.push('enclosing scope closed');
    expect(events).toEqual(['task of the undisposed scope done', 'enclosing scope closed']);
  });

  test('awaited scopes and shields are unchanged: each ends with its own outcome, in order', async () => {
    const clock = new TestClock({ autoAdvance: true });
    const value = await scope(
      async (s) => {
        const t = s.spawn(() =>
          scope(async (inner) => {
            inner.spawn(() => sleep(10));
            return shield(async () => {
              await sleep(5);
              return 2;
            });
          }),
        );
        return (await t) + 1;
      },
      { clock },
    );
    expect(value).toBe(3);
    expect(clock.pendingTimers).toBe(0);
  });
});
