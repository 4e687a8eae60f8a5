// Benchmarks of issue 3: fan-out, limited map, recursion, timeout overhead, and the
// memory of 100,000 live tasks.
import { AsyncLocalStorage } from 'node:async_hooks';
import { gather, map, run, scope, timeout } from '@weft/core';
import { Effect } from 'effect';
import * as effection from 'effection';
import pLimit from 'p-limit';
import pMap from 'p-map';
import pTimeout from 'p-timeout';
import { type Case, collect } from '../harness.ts';

const N = 100_000;
const trivial = async (): Promise<number> => 1;
const items = Array.from({ length: N }, (_, i) => i);
const identity = async (x: number): Promise<number> => x;
// The per-task async context alone (what lets a bare `sleep()` find its task), on top of
// the Promise.all floor: the share of weft's fan-out cost that AsyncLocalStorage takes.
const als = new AsyncLocalStorage<number>();

export const cases: Case[] = [
  {
    suite: 'core',
    case: 'fan-out: spawn and join 100,000 trivial tasks',
    unit: '100,000 tasks',
    subjects: [
      {
        subject: 'weft',
        fn: () =>
          scope((s) => {
            for (let i = 0; i < N; i++) s.spawn(trivial);
          }),
      },
      { subject: 'weft gather', fn: () => gather(Array.from({ length: N }, () => trivial)) },
      {
        subject: 'Promise.all (floor)',
        fn: () => {
          const ps = new Array<Promise<number>>(N);
          for (let i = 0; i < N; i++) ps[i] = trivial();
          return Promise.all(ps);
        },
      },
      {
        subject: 'Promise.all + ALS.run per task',
        fn: () => {
          const ps = new Array<Promise<number>>(N);
          for (let i = 0; i < N; i++) ps[i] = als.run(i, trivial);
          return Promise.all(ps);
        },
      },
      {
        subject: 'Effect 3 forEach unbounded',
        fn: () =>
          Effect.runPromise(
            Effect.forEach(items, () => Effect.promise(trivial), {
              concurrency: 'unbounded',
              discard: true,
            }),
          ),
      },
      {
        subject: 'Effection 4 all',
        fn: () => effection.run(() => effection.all(items.map(() => effection.call(trivial)))),
      },
    ],
  },
  {
    suite: 'core',
    case: 'limited map: 100,000 items at concurrency 16',
    unit: '100,000 items',
    subjects: [
      { subject: 'weft', fn: () => map(items, identity, { concurrency: 16 }) },
      {
        subject: 'p-limit',
        fn: () => {
          const limit = pLimit(16);
          return Promise.all(items.map((x) => limit(() => identity(x))));
        },
      },
      { subject: 'p-map', fn: () => pMap(items, identity, { concurrency: 16 }) },
      {
        subject: 'Effect 3 forEach(16)',
        fn: () =>
          Effect.runPromise(
            Effect.forEach(items, (x) => Effect.promise(() => identity(x)), { concurrency: 16 }),
          ),
      },
    ],
  },
  (() => {
    const depth = 100;
    const leaf = 100;
    async function plain(d: number): Promise<void> {
      if (d > 1) await plain(d - 1);
      else for (let i = 0; i < leaf; i++) await Promise.resolve();
    }
    async function scoped(d: number): Promise<void> {
      if (d > 1) await scope((s) => void s.spawn(() => scoped(d - 1)));
      else for (let i = 0; i < leaf; i++) await Promise.resolve();
    }
    function* effectionRec(d: number): effection.Operation<void> {
      if (d > 1) yield* effectionRec(d - 1);
      else for (let i = 0; i < leaf; i++) yield* effection.call(() => Promise.resolve());
    }
    function effectRec(d: number): Effect.Effect<void> {
      return Effect.gen(function* () {
        if (d > 1) yield* effectRec(d - 1);
        else for (let i = 0; i < leaf; i++) yield* Effect.promise(() => Promise.resolve());
      });
    }
    return {
      suite: 'core',
      case: 'recursion: 100 levels deep × 100 awaits at the leaf (effection#1112)',
      unit: 'one recursion',
      subjects: [
        { subject: 'weft', fn: () => run(() => plain(depth), { handleSignals: false }) },
        {
          subject: 'weft scope per level',
          fn: () => run(() => scoped(depth), { handleSignals: false }),
        },
        { subject: 'async/await', fn: () => plain(depth) },
        { subject: 'Effection 4', fn: () => effection.run(() => effectionRec(depth)) },
        { subject: 'Effect 3', fn: () => Effect.runPromise(effectRec(depth)) },
      ],
    } satisfies Case;
  })(),
  (() => {
    const resolved = (): Promise<number> => Promise.resolve(1);
    const batch = 1000;
    return {
      suite: 'core',
      case: 'timeout overhead: timeout(1e9, fn) around an already-resolved fn',
      unit: '1,000 calls',
      subjects: [
        {
          subject: 'weft',
          fn: async () => {
            for (let i = 0; i < batch; i++) await timeout(1e9, resolved);
          },
        },
        {
          subject: 'AbortSignal.timeout + race',
          fn: async () => {
            for (let i = 0; i < batch; i++) {
              const signal = AbortSignal.timeout(1e9);
              let onAbort!: () => void;
              const aborted = new Promise<never>((_, reject) => {
                onAbort = () => reject(signal.reason);
                signal.addEventListener('abort', onAbort, { once: true });
              });
              try {
                await Promise.race([resolved(), aborted]);
              } finally {
                signal.removeEventListener('abort', onAbort);
              }
            }
          },
        },
        {
          subject: 'p-timeout',
          fn: async () => {
            for (let i = 0; i < batch; i++) await pTimeout(resolved(), { milliseconds: 1e9 });
          },
        },
      ],
    } satisfies Case;
  })(),
];

export interface MemoryRow {
  suite: string;
  case: string;
  subject: string;
  bytesPerTask: number;
  ratioToWeft: number;
}

/** Heap held per live (pending) task, 100,000 at once. Needs node --expose-gc. */
export async function memory(): Promise<MemoryRow[]> {
  const heap = (): number => {
    collect();
    collect();
    return process.memoryUsage().heapUsed;
  };
  const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));
  const measureLive = async (start: (gate: Promise<void>) => Promise<unknown>): Promise<number> => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const before = heap();
    const done = start(gate);
    await settle();
    const during = heap();
    open();
    await done;
    return (during - before) / N;
  };
  const subjects: Array<[string, (gate: Promise<void>) => Promise<unknown>]> = [
    [
      'weft',
      (gate) =>
        scope((s) => {
          for (let i = 0; i < N; i++) s.spawn(() => gate);
        }),
    ],
    ['Promise.all (floor)', (gate) => Promise.all(items.map(async () => gate))],
    [
      'Effect 3 forEach unbounded',
      (gate) =>
        Effect.runPromise(
          Effect.forEach(items, () => Effect.promise(() => gate), {
            concurrency: 'unbounded',
            discard: true,
          }),
        ),
    ],
    [
      'Effection 4 all',
      (gate) => effection.run(() => effection.all(items.map(() => effection.call(() => gate)))),
    ],
  ];
  const rows: MemoryRow[] = [];
  for (let i = 0; i < 3; i++) heap(); // let earlier suites' garbage go first
  for (const [subject, start] of subjects) {
    await measureLive(start); // warm up
    const runs = [await measureLive(start), await measureLive(start), await measureLive(start)];
    const bytes = runs.sort((x, y) => x - y)[1]!; // the median of three
    rows.push({
      suite: 'core',
      case: 'memory: 100,000 live tasks',
      subject,
      bytesPerTask: Math.round(bytes),
      ratioToWeft: 0,
    });
  }
  const base = rows[0]!.bytesPerTask;
  console.log('\ncore / memory: heap per live task, 100,000 tasks pending at once');
  for (const r of rows) {
    r.ratioToWeft = r.bytesPerTask / base;
    console.log(
      `  ${r.subject.padEnd(28)} ${String(r.bytesPerTask).padStart(6)} bytes/task  (${r.ratioToWeft.toFixed(2)}× weft)`,
    );
  }
  return rows;
}
