// Runtime-agnostic checks of the packed packages' public API. Loaded by esm.mjs (import)
// and cjs.cjs (require); prints one `SMOKE {json}` line with the counts.
'use strict';

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

async function rejects(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const { httpChecks } = require('./http.cjs');

function checks({ core, http, dbSim, redis }) {
  const {
    gather,
    scope,
    sleep,
    timeout,
    TestClock,
    TaskGroupError,
    TimeoutError,
    run,
    settle,
    map,
    race,
    moveOnAfter,
    shield,
    isCancellation,
    unwrapError,
  } = core;
  return {
    'core: tutorial gather takes 2 s of virtual time, not 6 s': async () => {
      const clock = new TestClock({ autoAdvance: true });
      const fetchData = async (name) => {
        await sleep(2000);
        return `Data from ${name}`;
      };
      const started = clock.now();
      const results = await gather(
        [() => fetchData('API-1'), () => fetchData('API-2'), () => fetchData('API-3')],
        { clock },
      );
      assert(clock.now() - started === 2000, `took ${clock.now() - started}`);
      assert(results.join() === 'Data from API-1,Data from API-2,Data from API-3', results.join());
    },
    'core: a failing task cancels its siblings and the scope rejects with TaskGroupError':
      async () => {
        const clock = new TestClock({ autoAdvance: true });
        let cancelled = false;
        const error = await rejects(
          scope(
            async (s) => {
              s.spawn(async ({ signal }) => {
                await sleep(10_000, { signal }).catch((e) => {
                  cancelled = isCancellation(e);
                  throw e;
                });
              });
              s.spawn(async () => {
                throw new Error('boom');
              });
            },
            { clock },
          ),
        );
        assert(error instanceof TaskGroupError, String(error));
        assert(unwrapError(error).message === 'boom', 'unwrap');
        assert(cancelled, 'sibling not cancelled');
        assert(clock.pendingTimers === 0, 'timer left');
      },
    'core: timeout rejects with TimeoutError; moveOnAfter resolves { timedOut: true }':
      async () => {
        const clock = new TestClock({ autoAdvance: true });
        const error = await rejects(timeout(50, () => sleep(1000), { clock }));
        assert(error instanceof TimeoutError && error.name === 'TimeoutError', String(error));
        const moved = await moveOnAfter(50, () => sleep(1000), { clock });
        assert(moved.timedOut === true && moved.value === undefined, 'moveOnAfter');
      },
    'core: no MaxListenersExceededWarning from gather of 20 or map above 10 (issue 7, defect 10)':
      async () => {
        const clock = new TestClock({ autoAdvance: true });
        const warnings = [];
        const onWarning = (w) => warnings.push(w.name);
        const proc = globalThis.process;
        proc?.on?.('warning', onWarning);
        try {
          const user = new globalThis.AbortController();
          const wait = ({ signal }) => sleep(10, { signal });
          await gather(
            Array.from({ length: 20 }, () => wait),
            { signal: user.signal, clock },
          );
          await map(
            Array.from({ length: 40 }, (_, i) => i),
            (_, ctx) => wait(ctx),
            {
              concurrency: 16,
              signal: user.signal,
              clock,
            },
          );
          await scope(
            (s) => void s.spawn(() => Promise.all(Array.from({ length: 20 }, () => sleep(5)))),
            { clock },
          );
          await new Promise((resolve) => setTimeout(resolve, 10));
        } finally {
          proc?.off?.('warning', onWarning);
        }
        assert(!warnings.includes('MaxListenersExceededWarning'), warnings.join());
      },
    'core: settle, map, race, shield and run': async () => {
      const outcomes = await settle([() => 1, () => Promise.reject(new Error('x'))]);
      assert(outcomes[0].status === 'fulfilled' && outcomes[1].status === 'rejected', 'settle');
      const doubled = await map([1, 2, 3], async (n) => n * 2, { concurrency: 2 });
      assert(doubled.join() === '2,4,6', 'map');
      assert((await race([() => sleep(1000).then(() => 'slow'), () => 'fast'])) === 'fast', 'race');
      assert((await shield(() => 'kept')) === 'kept', 'shield');
      assert((await run(async () => 42, { handleSignals: false })) === 42, 'run');
    },
    'core: real timers (systemClock) and bad input errors': async () => {
      await sleep(5);
      const error = await rejects(sleep(-1));
      assert(error instanceof RangeError && /`ms`/.test(error.message), String(error));
    },
    'core: Semaphore caps concurrency; Queue, retry and mapConcurrent work': async () => {
      const {
        Semaphore,
        Queue,
        QueueShutDownError,
        retry,
        RetryError,
        mapConcurrent,
        merge,
        take,
      } = core;
      const clock = new TestClock({ autoAdvance: true });
      const sem = new Semaphore(3);
      let inFlight = 0;
      let peak = 0;
      await gather(
        Array.from({ length: 10 }, () => async () => {
          const permit = await sem.acquire();
          try {
            inFlight++;
            peak = Math.max(peak, inFlight);
            await sleep(100);
            inFlight--;
          } finally {
            permit.release();
          }
        }),
        { clock },
      );
      assert(peak === 3, `peak ${peak}`);
      const q = new Queue({ capacity: 2 });
      await q.put(1);
      await q.put(2);
      q.close();
      const drained = [];
      for await (const x of q) drained.push(x);
      assert(drained.join() === '1,2', 'queue drain');
      assert((await rejects(q.put(3))) instanceof QueueShutDownError, 'closed queue');
      const error = await rejects(
        retry(() => Promise.reject(new Error('nope')), { attempts: 2, clock }),
      );
      assert(error instanceof RetryError && error.errors.length === 2, String(error));
      const out = [];
      for await (const x of mapConcurrent([3, 1, 2], async (n) => n * 10, { concurrency: 2 }))
        out.push(x);
      assert(out.join() === '30,10,20', `mapConcurrent ${out}`);
      const merged = [];
      for await (const x of take(merge([[1, 2], [3]]), { count: 3 })) merged.push(x);
      assert(merged.length === 3, 'merge/take');
    },
    'core: no MaxListenersExceededWarning from mapConcurrent/buffer above 10 (issue 7, defect 10)':
      async () => {
        const { mapConcurrent, buffer } = core;
        const warnings = [];
        const onWarning = (w) => warnings.push(w);
        const proc = globalThis.process;
        proc?.on?.('warning', onWarning);
        try {
          const clock = new TestClock({ autoAdvance: true });
          await scope(
            async () => {
              let n = 0;
              const items = Array.from({ length: 40 }, (_, i) => i);
              const work = async (i, { signal }) => (await sleep(5, { signal }), i);
              for await (const x of mapConcurrent(items, work, { concurrency: 20 }))
                n += x >= 0 ? 1 : 0;
              for await (const x of buffer(items, { size: 20 })) n += x >= 0 ? 1 : 0;
              assert(n === 80, `items ${n}`);
            },
            { clock },
          );
          await new Promise((resolve) => setTimeout(resolve, 0));
        } finally {
          proc?.off?.('warning', onWarning);
        }
        const leaks = warnings.filter((w) => w.name === 'MaxListenersExceededWarning');
        assert(leaks.length === 0, leaks.map(String).join('; '));
      },
    'core, http: the root entries work without effect installed, and import none of it':
      async () => {
        // The fresh project has no `effect` (an optional peer): the checks above used the
        // root entry without it. Walk the root entry's module graph in the packed dist.
        const fs = require('node:fs');
        const path = require('node:path');
        // (Not require.resolve: pnpm's bin shims set NODE_PATH to the workspace store.)
        const effectDir = path.join(process.cwd(), 'node_modules', 'effect');
        assert(!fs.existsSync(effectDir), `effect is installed in ${effectDir}; expected absent`);
        for (const name of ['@weft/core', '@weft/http']) {
          const dist = path.dirname(require.resolve(name));
          const seen = new Set();
          const pending = [path.join(dist, 'index.js')];
          while (pending.length > 0) {
            const file = pending.pop();
            if (seen.has(file)) continue;
            seen.add(file);
            const text = fs.readFileSync(file, 'utf8');
            for (const [, spec] of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
              if (spec.startsWith('.')) pending.push(path.resolve(path.dirname(file), spec));
              else assert(!/^(effect|@effect\/)/.test(spec), `${file} imports ${spec}`);
            }
          }
          assert(seen.size >= 1, `no file of ${name} walked`);
        }
        // The subpath needs effect, and says so. (Skipped where NODE_PATH reaches a store
        // that holds effect: pnpm's bin shims add one, and Bun honours it for imports.)
        const reachable = (process.env.NODE_PATH || '')
          .split(path.delimiter)
          .some((dir) => dir && fs.existsSync(path.join(dir, 'effect')));
        if (!reachable) {
          const error = await rejects(import('@weft/core/effect'));
          assert(/effect/.test(String(error && error.message)), String(error));
        }
      },
    'http: error family': async () => {
      const err = new http.HttpError(
        { method: 'get', url: 'http://127.0.0.1/x' },
        404,
        'Not Found',
        'nope',
      );
      assert(err instanceof http.HttpClientError && err.status === 404, 'HttpError');
      assert(http.TimeoutError === TimeoutError, 'TimeoutError is shared with core');
    },
    ...httpChecks({ core, http }),
    'db-sim: seeded random replays; DatabaseError codes': async () => {
      const a = dbSim.createRandom(5);
      const b = dbSim.createRandom(5);
      assert(a.next() === b.next(), 'random');
      assert(
        new dbSim.DatabaseError(dbSim.SqlState.uniqueViolation, 'dup').code === '23505',
        'code',
      );
    },
    ...require('./db-sim.cjs').dbSimChecks({ core, dbSim, assert }),
    'redis: validation, and a limiter deciding through an adapter (no server needed)': async () => {
      let threw = false;
      try {
        redis.toRedisAdapter({});
      } catch (error) {
        threw = error instanceof TypeError;
      }
      assert(threw, 'toRedisAdapter({}) throws a TypeError');
      const sent = [];
      const adapter = {
        send: async (args, key) => {
          sent.push(`${args[0]}@${key}`);
          // The grant's server time in µs (a refusal would be minus the wait).
          return 1_700_000_000_000_000;
        },
        duplicate: async () => adapter,
        subscribe: async () => {},
        close: async () => {},
      };
      const limiter = new redis.RedisRateLimiter({
        client: adapter,
        key: 'k',
        limit: 1,
        interval: 1000,
      });
      const permit = await limiter.acquire();
      assert(permit.released === false, 'a permit');
      assert(permit.grantedAt === 1_700_000_000_000, 'granted at the server time, in ms');
      assert(sent.join() === 'EVALSHA@{k}:rl:times', `one EVALSHA, routed by its key, got ${sent}`);
      assert(new redis.LeaseLostError('x') instanceof redis.WeftRedisError, 'error family');
    },
  };
}

async function runChecks(api, label) {
  let passed = 0;
  const failures = [];
  for (const [name, fn] of Object.entries(checks(api))) {
    try {
      await fn();
      passed++;
    } catch (error) {
      failures.push(`${name}: ${error && error.stack ? error.stack : error}`);
    }
  }
  console.log(`SMOKE ${JSON.stringify({ label, passed, failed: failures.length, failures })}`);
}

module.exports = { runChecks };
