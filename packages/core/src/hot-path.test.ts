// The fan-out fast path (issue 7's benchmark): a task's handlers are attached to its
// promise in one batch per microtask checkpoint, walking the scope's task chain; its
// rarely used parts (signal, cancel reason, awaiters, start hook) are made on first need.
// These tests pin what that must never change.
import { describe, expect, test } from 'vitest';
import { collectUnhandled, tick } from '../test/helpers.ts';
import { currentTask } from './current.ts';
import { isCancellation } from './errors.ts';
import { gather, settle } from './gather.ts';
import { map } from './map.ts';
import { scope } from './scope.ts';
import { sleep } from './sleep.ts';
import type { Task } from './task.ts';

describe('handlers attached in one batch per checkpoint', () => {
  test('a task whose function spawns siblings before returning its promise settles, and so do they', async () => {
    const settled: string[] = [];
    const value = await scope(async (s) => {
      const outer = s.spawn(async ({ scope: own }) => {
        // Spawned while `outer` runs synchronously: they are newer than `outer`, but
        // their promises exist before `outer`'s does.
        own.spawn(async ({ scope: again }) => {
          again.spawn(async () => {
            settled.push('grandchild');
          });
          settled.push('child');
        });
        settled.push('outer');
        return 'outer value';
      });
      return outer;
    });
    expect(value).toBe('outer value');
    expect(settled.sort()).toEqual(['child', 'grandchild', 'outer']);
  });

  test('a rejection of such an outer task fails the scope and is never unhandled', async () => {
    const boom = new Error('outer failed');
    const unhandled = await collectUnhandled(async () => {
      const error = await scope((s) => {
        s.spawn(async ({ scope: own }) => {
          own.spawn(async () => 'sibling');
          throw boom;
        });
      }).catch((e: unknown) => e);
      expect((error as AggregateError).errors).toEqual([boom]);
    });
    expect(unhandled).toEqual([]);
  });

  test('tasks spawned across several checkpoints each settle once, in any order', async () => {
    const seen: number[] = [];
    await scope(async (s) => {
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 50; i++) {
          const n = round * 50 + i;
          s.spawn(async () => {
            if (n % 3 === 0) await tick();
            seen.push(n);
          });
        }
        if (round === 1) s.spawn(() => 'a plain value');
        await tick();
      }
    });
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 150 }, (_, i) => i));
  });

  test('an early rejection among 10,000 tasks fails the scope once, with no unhandled rejection', async () => {
    const boom = new Error('task 17 failed');
    const unhandled = await collectUnhandled(async () => {
      const error = await scope((s) => {
        for (let i = 0; i < 10_000; i++) {
          s.spawn(async () => {
            if (i === 17) throw boom;
            return i;
          });
        }
      }).catch((e: unknown) => e);
      expect((error as AggregateError).errors).toEqual([boom]);
    });
    expect(unhandled).toEqual([]);
  });

  test('gather over 10,000 functions keeps every value in its slot', async () => {
    const values = await gather(Array.from({ length: 10_000 }, (_, i) => async () => i * 2));
    expect(values).toHaveLength(10_000);
    expect(values.every((v, i) => v === i * 2)).toBe(true);
  });
});

describe("a task's signal made on first read", () => {
  test('read after its scope was cancelled, it is aborted with the scope’s reason', async () => {
    const reason = new Error('stop everything');
    await scope(async (s) => {
      const task = s.spawn(async () => {
        await tick();
        await tick();
      });
      s.cancel(reason);
      expect(task.signal.aborted).toBe(true);
      expect(task.signal.reason).toBe(reason);
    });
  });

  test('read after the task itself was cancelled, it is aborted with that reason, and its scope goes on', async () => {
    const reason = new Error('just this one');
    const other: string[] = [];
    await scope(async (s) => {
      const task = s.spawn(async () => {
        await tick();
      });
      s.spawn(async ({ signal }) => {
        await tick();
        other.push(signal.aborted ? 'aborted' : 'fine');
      });
      task.cancel(reason);
      expect(task.signal.aborted).toBe(true);
      expect(task.signal.reason).toBe(reason);
      expect(s.signal.aborted).toBe(false);
      expect(
        await task.then(
          () => 'fulfilled',
          (e: unknown) => e,
        ),
      ).toBe(reason);
      expect(task.state).toBe('cancelled');
    });
    expect(other).toEqual(['fine']);
  });

  test('read before a scope-wide cancel, it aborts with the scope; the task does not listen on the scope’s signal', async () => {
    const reason = new Error('scope cancelled');
    await scope(async (s) => {
      let added = 0;
      const add = s.signal.addEventListener.bind(s.signal);
      s.signal.addEventListener = ((...args: Parameters<AbortSignal['addEventListener']>) => {
        added++;
        add(...args);
      }) as AbortSignal['addEventListener'];
      let seen: unknown;
      const tasks = Array.from({ length: 20 }, () =>
        s.spawn(async ({ signal }) => {
          try {
            await sleep(60_000, { signal });
          } catch (error) {
            seen = error;
          }
        }),
      );
      for (const t of tasks) expect(t.signal.aborted).toBe(false);
      expect(added).toBe(0);
      s.cancel(reason);
      await Promise.allSettled(tasks);
      expect(seen).toBe(reason);
      for (const t of tasks) expect(t.signal.reason).toBe(reason);
    });
  });

  test('a named task keeps its name; an unnamed one is named after its function and id', async () => {
    await scope(async (s) => {
      const named = s.spawn(async () => {}, { name: 'loader' });
      const unnamed = s.spawn(async function fetchAll() {});
      expect(named.name).toBe('loader');
      expect(unnamed.name).toBe(`fetchAll#${unnamed.id}`);
      await Promise.all([named, unnamed]);
      expect(named.name).toBe('loader');
    });
  });

  test('awaiting a task that had not settled yet gives its value or its failure', async () => {
    const boom = new Error('late failure');
    const error = await scope(async (s) => {
      const ok = s.spawn(async () => {
        await tick();
        return 'value';
      });
      const bad = s.spawn(async () => {
        await tick();
        throw boom;
      });
      expect(await ok).toBe('value');
      expect(
        await bad.then(
          () => 'fulfilled',
          (e: unknown) => e,
        ),
      ).toBe(boom);
    }).catch((e: unknown) => e);
    expect((error as AggregateError).errors).toEqual([boom]);
  });
});

describe('perf review findings', () => {
  test('D1: errors are listed in the order the tasks failed when a task spawns siblings before it fails', async () => {
    const error = await scope((s) => {
      s.spawn(async ({ scope: own }) => {
        own.spawn(async () => {
          throw new Error('b');
        });
        own.spawn(async () => {
          throw new Error('c');
        });
        throw new Error('a');
      });
    }).catch((e: unknown) => e);
    expect((error as AggregateError).errors.map((e: Error) => e.message)).toEqual(['b', 'c', 'a']);
    const first = await gather([
      async ({ scope: own }) => {
        own.spawn(async () => {
          throw new Error('child, thrown first');
        });
        throw new Error('item, thrown second');
      },
    ]).catch((e: Error) => e.message);
    expect(first).toBe('child, thrown first');
  });

  test('D2: a Promise subclass whose then calls back at once does not cut the batch', async () => {
    class Eager<T> extends Promise<T> {
      v: T | undefined;
      override then<R1 = T, R2 = never>(
        a?: ((value: T) => R1 | PromiseLike<R1>) | null,
        b?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
      ): Promise<R1 | R2> {
        if (this.v !== undefined) {
          a?.(this.v);
          return Promise.resolve() as Promise<R1 | R2>;
        }
        return super.then(a, b);
      }
    }
    const unhandled = await collectUnhandled(async () => {
      const result = await scope((s) => {
        s.spawn(() => {
          const p = Eager.resolve(1) as Eager<number>;
          p.v = 1;
          return p;
        });
        s.spawn(async () => {
          throw new Error('second fails');
        });
      }).then(
        () => 'ok',
        (e: AggregateError) => e.errors.map((x: Error) => x.message),
      );
      expect(result).toEqual(['second fails']);
    });
    expect(unhandled).toEqual([]);
  });

  test('D3: a Promise subclass whose then throws fails its task; nothing is unhandled', async () => {
    class Bad<T> extends Promise<T> {
      static armed = false;
      override then<R1 = T, R2 = never>(
        a?: ((value: T) => R1 | PromiseLike<R1>) | null,
        b?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
      ): Promise<R1 | R2> {
        if (Bad.armed) throw new Error('then threw');
        return super.then(a, b);
      }
    }
    const unhandled = await collectUnhandled(async () => {
      const result = await scope((s) => {
        s.spawn(async () => 1);
        s.spawn(() => {
          Bad.armed = false;
          const p = new Bad<number>((r) => r(2));
          Bad.armed = true;
          return p;
        });
        s.spawn(async () => {
          throw new Error('third fails');
        });
      }).then(
        () => 'ok',
        (e: AggregateError) => e.errors.map((x: Error) => x.message).sort(),
      );
      Bad.armed = false;
      expect(result).toEqual(['then threw', 'third fails']);
    });
    expect(unhandled).toEqual([]);
  });

  test('D6: a result whose then getter throws fails the task (gather, settle, spawn)', async () => {
    const evil = () => ({
      get then(): never {
        throw new Error('then getter threw');
      },
    });
    await expect(gather([evil, async () => 2])).rejects.toThrow('then getter threw');
    const [entry] = await settle([evil]);
    expect(entry).toMatchObject({ status: 'rejected' });
    const error = await scope((s) => {
      const t = s.spawn(evil);
      expect(t.state).toBe('rejected');
    }).catch((e: unknown) => e);
    expect((error as AggregateError).errors.map((x: Error) => x.message)).toEqual([
      'then getter threw',
    ]);
  });

  test('D10: a native promise with an own throwing then or constructor getter fails its task', async () => {
    for (const key of ['then', 'constructor']) {
      const evil = () => {
        const p = Promise.resolve(1);
        void Object.defineProperty(p, key, {
          get() {
            throw new Error(`own ${key} getter`);
          },
        });
        return p;
      };
      const error = await scope((s) => {
        s.spawn(evil);
      }).catch((e: unknown) => e);
      expect((error as AggregateError).errors.map((x: Error) => x.message)).toEqual([
        `own ${key} getter`,
      ]);
      await expect(gather([evil, async () => 2])).rejects.toThrow(`own ${key} getter`);
    }
  });

  test('D7: a settled task’s signal gives the same answer whenever it is first read', async () => {
    await scope(async (s) => {
      const early = s.spawn(async () => 1);
      const late = s.spawn(async () => 1);
      await early;
      await late;
      expect(early.signal.aborted).toBe(false);
      s.cancel(new Error('later'));
      expect(early.signal.aborted).toBe(false);
      expect(late.signal.aborted).toBe(false);
    });
    // A task that ended while its scope was cancelled: aborted, even read afterwards.
    const reason = new Error('cancelled while running');
    let task: Task<unknown> | undefined;
    await scope(async (s) => {
      task = s.spawn(async () => {
        await tick();
      });
      s.cancel(reason);
    });
    expect(task!.signal.aborted).toBe(true);
    expect(task!.signal.reason).toBe(reason);
  });

  test('D5: map cancelled on request by fn (ctx.scope.cancel()) rejects with the cancellation, never a partial list', async () => {
    for (const concurrency of [undefined, 1]) {
      const outcome = await map(
        [1, 2, 3],
        async (x, ctx) => {
          if (x === 1) ctx.scope.cancel();
          await sleep(5 * x);
          return x * 10;
        },
        concurrency === undefined ? undefined : { concurrency },
      ).catch((e: unknown) => e);
      expect(isCancellation(outcome)).toBe(true);
    }
  });

  test('D5: an item task cancelled through its handle fails gather and is a rejected settle entry, never a hole', async () => {
    const cancelled = await gather([
      async () => {
        currentTask()!.cancel();
        await sleep(10);
        return 1;
      },
      async () => 2,
    ]).catch((e: unknown) => e);
    expect(isCancellation(cancelled)).toBe(true);
    const entries = await settle([
      async () => {
        currentTask()!.cancel();
        await sleep(10);
      },
      async () => 2,
    ]);
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ status: 'rejected' });
    expect(entries[1]).toEqual({ status: 'fulfilled', value: 2 });
    // ctx.scope.cancel() in an item: the items it stopped are not holes either.
    const stopped = await gather([
      async (ctx) => {
        ctx.scope.cancel();
        await sleep(10);
        return 1;
      },
      async () => {
        await sleep(20);
        return 2;
      },
    ]).catch((e: unknown) => e);
    expect(isCancellation(stopped)).toBe(true);
    const settled = await settle([
      async (ctx) => {
        ctx.scope.cancel();
        await sleep(10);
      },
      async () => 2,
    ]);
    expect(0 in settled && 1 in settled).toBe(true);
    expect(settled[0]).toMatchObject({ status: 'rejected' });
  });
});

describe('perf branch review findings (fan-out speed work)', () => {
  test('a task is named after its function as it was when spawned, even when renamed between spawns', async () => {
    const names = await scope((s) => {
      async function job(): Promise<void> {}
      const a = s.spawn(job);
      Object.defineProperty(job, 'name', { value: 'renamed' });
      const b = s.spawn(job);
      let n = 0;
      Object.defineProperty(job, 'name', { get: () => `got${n++}` });
      const c = s.spawn(job);
      const d = s.spawn(job);
      return [a, b, c, d].map((t) => t.name.replace(/#\d+$/, ''));
    });
    expect(names).toEqual(['job', 'renamed', 'got0', 'got1']);
  });

  test('a native promise whose then or constructor getter throws on a second read: then is read once (as await does), a throwing constructor fails its task; nothing hangs or is unhandled', async () => {
    for (const key of ['then', 'constructor'] as const) {
      const boom = new Error(`${key} boom`);
      const p = Promise.resolve('b');
      const original = key === 'then' ? Promise.prototype.then : Promise;
      let reads = 0;
      void Object.defineProperty(p, key, {
        get() {
          if (reads++ === 0) return original;
          throw boom;
        },
      });
      const fails = new Error('c fails');
      const unhandled = await collectUnhandled(async () => {
        let b: Task<string> | undefined;
        const error = await scope(async (s) => {
          const a = s.spawn(async () => 'a');
          b = s.spawn(() => p);
          s.spawn(async () => {
            throw fails;
          });
          return await a;
        }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(AggregateError);
        expect((error as AggregateError).errors).toEqual(key === 'then' ? [fails] : [boom, fails]);
        expect(b?.state).toBe(key === 'then' ? 'fulfilled' : 'rejected');
      });
      expect(unhandled).toEqual([]);
    }
  });

  test("a task cancelled after its scope was has the scope's reason on its signal, whenever the signal is first read", async () => {
    for (const early of [false, true]) {
      const reason = await scope(async (s) => {
        const t = s.spawn(async () => {
          await new Promise((resolve) => setTimeout(resolve, 5));
        });
        if (early) void t.signal;
        await Promise.resolve();
        s.cancel(new Error('scope-reason'));
        t.cancel(new Error('task-reason'));
        return (t.signal.reason as Error).message;
      });
      expect(reason).toBe('scope-reason');
    }
  });

  test('gather copies an Array subclass without calling its constructor or species', async () => {
    let speciesReads = 0;
    class Jobs extends Array<() => Promise<number>> {
      constructor(...fns: Array<() => Promise<number>>) {
        for (const f of fns) {
          if (typeof f !== 'function') throw new TypeError('Jobs holds functions only');
        }
        super(...fns);
      }
      static override get [Symbol.species](): ArrayConstructor {
        speciesReads++;
        return Array;
      }
    }
    const jobs = new Jobs(
      async () => 1,
      async () => 2,
    );
    expect(await gather(jobs)).toEqual([1, 2]);
    expect(await settle(jobs, { concurrency: 1 })).toHaveLength(2);
    expect(speciesReads).toBe(0);
  });

  test('a native promise with an own then gives what that then gives, whether returned directly or from an async function', async () => {
    const make = (): Promise<number> => {
      const p = Promise.resolve(1);
      p.then = function <A, B>(
        this: Promise<number>,
        onFulfilled?: ((v: number) => A | PromiseLike<A>) | null,
        onRejected?: ((e: unknown) => B | PromiseLike<B>) | null,
      ): Promise<A | B> {
        return Promise.prototype.then.call(Promise.resolve(99), onFulfilled, onRejected) as Promise<
          A | B
        >;
      };
      return p;
    };
    const values = await scope(async (s) => [
      await s.spawn(() => make()),
      await s.spawn(async () => make()),
    ]);
    expect(values).toEqual([99, 99]);
    expect(await gather([() => make(), make()])).toEqual([99, 99]);
  });

  test('gather takes its items when called: reusing the array, or an item changing it, changes nothing', async () => {
    const batch = [async () => 1, async () => 2, async () => 3];
    const limited = gather(batch, { concurrency: 1 });
    batch.length = 0;
    expect(await limited).toEqual([1, 2, 3]);
    const settled = [async () => 1, async () => 2];
    const entries = settle(settled, { concurrency: 1 });
    settled[1] = async () => 99;
    expect(await entries).toEqual([
      { status: 'fulfilled', value: 1 },
      { status: 'fulfilled', value: 2 },
    ]);
    const items: Array<() => Promise<string>> = [
      async () => {
        items.length = 1;
        return 'a';
      },
      async () => 'b',
      async () => 'c',
    ];
    expect(await gather(items)).toEqual(['a', 'b', 'c']);
  });
});
