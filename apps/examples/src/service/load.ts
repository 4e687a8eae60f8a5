// `pnpm examples load`: drives the dashboard service with many requests at a fixed
// concurrency (core's `map` over a @weft/http client), measures latency and outcomes,
// then checks that everything the service held has been given back: the pool is idle,
// no upstream request (nor its per-host slot) is in flight, no handler is running, no
// weft task or scope is alive, no rejection went unhandled.
import {
  currentScope,
  currentTask,
  type Instrumentation,
  instrument,
  map,
  moveOnAfter,
  type Scope,
  sleep,
  systemClock,
  type Task,
} from '@weft/core';
import { assertOptions, describe } from '@weft/core/validate';
import { createRandom, type FaultOptions } from '@weft/db-sim';
import { createClient } from '@weft/http';
import { type LocalServer, serveLocal } from '../runner/serve-local.ts';
import { createMockApi } from '../upstream/mock-api.ts';
import type { DashboardDocument, Outcome } from './dashboard.ts';
import { type Service, startService } from './service.ts';

/** Options of {@link driveLoad}. */
export interface LoadOptions {
  /** The service's base URL. */
  url: string;
  /** How many requests in all. @default 10000 */
  requests?: number;
  /** How many in flight at once. @default 100 */
  concurrency?: number;
  /** User ids are drawn from 1 to `users` (seeded). @default 50 */
  users?: number;
  /** Seed of the user ids drawn. @default 1 */
  seed?: number;
  /** Timeout of one request, in ms (a request that takes longer counts as an error). @default 10000 */
  timeout?: number;
  /**
   * Share of requests the client abandons: it closes the connection after a seeded
   * 0 to `abandonWithin` ms unless the answer came first (a user closing the tab), so the
   * service sees clients go mid-request. @default 0
   */
  abandonRate?: number;
  /** An abandoned request is dropped after a seeded 0 to `abandonWithin` ms. @default 400 */
  abandonWithin?: number;
  /** Called after each completed request with the counts so far. */
  onProgress?: (progress: LoadProgress) => void;
  /** Stops the run (the requests in flight are cancelled and awaited). */
  signal?: AbortSignal;
}

/** The counts so far, for a progress line. */
export interface LoadProgress {
  done: number;
  total: number;
  full: number;
  partial: number;
  error: number;
  /** Requests the client gave up on before their answer came (`abandonRate`). */
  abandoned: number;
  /** Real ms since the run started. */
  elapsedMs: number;
}

/** What a load run measured. */
export interface LoadReport extends LoadProgress {
  /** Latency percentiles in ms (real time, client side; abandoned requests left out). */
  p50: number;
  p99: number;
  max: number;
  /** Requests per second over the whole run. */
  rate: number;
  /** Answers by HTTP status (0: no answer: a network error or the client's timeout). */
  statuses: Record<number, number>;
  /** Partial documents by what they missed, e.g. `{ todos: 120, orders: 3 }`. */
  missing: Record<string, number>;
  /** The load client's requests still in flight after the run (0). */
  clientInFlight: number;
}

const LOAD_KEYS = [
  'url',
  'requests',
  'concurrency',
  'users',
  'seed',
  'timeout',
  'abandonRate',
  'abandonWithin',
  'onProgress',
  'signal',
];

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`Expected \`${name}\` to be an integer from 1 up, got ${describe(value)}`);
  }
  return value;
}

/** The value at quantile `q` (0…1) of sorted numbers: nearest rank. */
function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? 0;
}

/**
 * Sends `requests` GET /dashboard/:userId requests to `url`, `concurrency` at a time, and
 * classifies each answer: `full` (200, nothing missing), `partial` (200 with `missing`),
 * `error` (anything else, or no answer). Never rejects because a request failed; rejects
 * with the signal's reason when `signal` aborts (after the requests in flight ended).
 *
 * @example
 * ```ts
 * const report = await driveLoad({ url: service.url, requests: 300, concurrency: 30 });
 * console.log(report.full, report.partial, report.error, report.p99);
 * ```
 */
export async function driveLoad(options: LoadOptions): Promise<LoadReport> {
  assertOptions('options', options, LOAD_KEYS);
  if (typeof options.url !== 'string') {
    throw new TypeError(
      `Expected \`options.url\` to be a URL string, got ${describe(options.url)}`,
    );
  }
  const total = positive('options.requests', options.requests ?? 10_000);
  const concurrency = positive('options.concurrency', options.concurrency ?? 100);
  const users = positive('options.users', options.users ?? 50);
  const timeout = positive('options.timeout', options.timeout ?? 10_000);
  const abandonRate = options.abandonRate ?? 0;
  if (typeof abandonRate !== 'number' || !(abandonRate >= 0 && abandonRate <= 1)) {
    throw new RangeError(
      `Expected \`options.abandonRate\` to be a number from 0 to 1, got ${describe(abandonRate)}`,
    );
  }
  const abandonWithin = options.abandonWithin ?? 400;
  if (typeof abandonWithin !== 'number' || !Number.isInteger(abandonWithin) || abandonWithin < 0) {
    throw new RangeError(
      `Expected \`options.abandonWithin\` to be an integer from 0 up, got ${describe(abandonWithin)}`,
    );
  }
  const random = createRandom(options.seed ?? 1);
  // Drawn up front, so the same seed sends the same requests and abandons the same ones.
  const plan = Array.from({ length: total }, () => ({
    id: random.int(1, users),
    abandonAfter: random.chance(abandonRate) ? random.int(0, abandonWithin) : undefined,
  }));

  await using client = createClient({
    baseUrl: options.url,
    clock: systemClock,
    retry: false,
    throwHttpErrors: false,
    timeout,
  });
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  const missing: Record<string, number> = {};
  const progress: LoadProgress = {
    done: 0,
    total,
    full: 0,
    partial: 0,
    error: 0,
    abandoned: 0,
    elapsedMs: 0,
  };
  const started = performance.now();

  await map(
    plan,
    async ({ id, abandonAfter }) => {
      const t0 = performance.now();
      let status = 0;
      let outcome: 'full' | 'partial' | 'error' | 'abandoned' = 'error';
      const ask = async (): Promise<void> => {
        const res = await client.get(`/dashboard/${id}`);
        status = res.status;
        const body = (await res.json()) as DashboardDocument;
        if (status === 200) {
          outcome = body.missing.length === 0 ? 'full' : 'partial';
          for (const part of body.missing) missing[part] = (missing[part] ?? 0) + 1;
        }
      };
      try {
        if (abandonAfter === undefined) await ask();
        else if ((await moveOnAfter(abandonAfter, ask)).timedOut) outcome = 'abandoned';
      } catch (error) {
        if (options.signal?.aborted) throw error;
        // No answer (network error, timeout): an error outcome, counted below.
      }
      if (outcome !== 'abandoned') {
        latencies.push(performance.now() - t0);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
      progress[outcome]++;
      progress.done++;
      progress.elapsedMs = performance.now() - started;
      options.onProgress?.(progress);
    },
    { concurrency, ...(options.signal ? { signal: options.signal } : {}) },
  );
  const wallMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return {
    ...progress,
    elapsedMs: wallMs,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    max: latencies[latencies.length - 1] ?? 0,
    rate: (total / wallMs) * 1000,
    statuses,
    missing,
    clientInFlight: client.active,
  };
}

/**
 * Counts weft tasks and scopes alive from now on, through core's instrumentation hooks:
 * the "no task is alive" check. Dispose it to unregister the hooks.
 *
 * @example
 * ```ts
 * using tracker = new TaskTracker();
 * await work();
 * console.log(tracker.liveTasks, tracker.openScopes); // 0 0
 * ```
 */
export class TaskTracker implements Disposable {
  readonly #tasks = new Set<Task<unknown>>();
  readonly #scopes = new Set<Scope>();
  readonly #hooks: Instrumentation;
  /** Tasks started since the tracker was created. */
  started = 0;

  constructor() {
    this.#hooks = instrument({
      onTaskStart: (task) => {
        this.started++;
        this.#tasks.add(task);
      },
      onTaskSettle: (task) => {
        this.#tasks.delete(task);
      },
      onScopeOpen: (scope) => {
        this.#scopes.add(scope);
      },
      onScopeClose: (scope) => {
        this.#scopes.delete(scope);
      },
    });
  }

  /** Tasks started since the tracker was created and not settled yet. */
  get liveTasks(): number {
    return this.#tasks.size;
  }

  /** Scopes opened since the tracker was created and not closed yet. */
  get openScopes(): number {
    return this.#scopes.size;
  }

  /** The names of the first few live tasks and open scopes, for a failure message. */
  sample(limit = 5): string[] {
    return [...this.#tasks, ...this.#scopes].slice(0, limit).map((x) => `${x.name}`);
  }

  /**
   * Live tasks and open scopes, leaving out the caller's own: the scopes and tasks it
   * runs inside (a check made from inside `run()` runs in `run`'s open scope).
   */
  aliveOutsideCaller(): { tasks: number; scopes: number; names: string[] } {
    const own = new Set<unknown>();
    const task = currentTask();
    if (task !== undefined) own.add(task);
    for (let s: Scope | undefined = currentScope(); s !== undefined; s = s.parent) {
      own.add(s);
      if (s.parentTask !== undefined) own.add(s.parentTask);
    }
    const tasks = [...this.#tasks].filter((t) => !own.has(t));
    const scopes = [...this.#scopes].filter((s) => !own.has(s));
    return {
      tasks: tasks.length,
      scopes: scopes.length,
      names: [...tasks, ...scopes].slice(0, 5).map((x) => `${x.name}`),
    };
  }

  [Symbol.dispose](): void {
    this.#hooks.remove();
  }
}

/** One check of {@link checkIdle}. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** Waits for `promise`, or `ms` of real time, whichever comes first. */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  const timer = new AbortController();
  try {
    await Promise.race([promise, sleep(ms, { clock: systemClock, signal: timer.signal })]);
  } finally {
    timer.abort();
  }
}

/** What {@link checkIdle} looks at. */
export interface IdleCheckOptions {
  service: Service;
  /** The upstream the service calls, when it is a separate server in this process. */
  upstream?: LocalServer;
  /**
   * The upstream's stall counts and length ({@link LoadTarget}): when a stall outlasts
   * the service's deadline, its caller always gives up first, so every stall must end
   * `aborted`; one that was `served` (or has not ended) means the upstream kept working
   * for a caller that was gone.
   */
  stalls?: { started: number; aborted: number; served: number; ms: number; deadline: number };
  tracker: TaskTracker;
  /** The load run's report, for the load client's own check. */
  report?: LoadReport;
  /** Rejections nobody handled during the run ({@link collectUnhandled}). */
  unhandled: readonly unknown[];
  /**
   * How long the upstream's handlers may take to finish once the service's have, in real
   * ms: enough for a server to see a connection its client closed, much less than a stall
   * lasts. The service's own handlers get twice the deadline. @default 500
   */
  drainMs?: number;
}

/**
 * Checks that the service holds nothing once the load is over. First it lets handlers
 * that are still running finish: the service's for at most twice the deadline (a request
 * the client abandoned may still be running), then the upstream's for at most `drainMs`
 * (a stalled upstream request whose caller gave up ends when the upstream server sees its
 * connection close). Then it reads the pool, the upstream client, both servers, the task
 * tracker and the unhandled rejections.
 *
 * @example
 * ```ts
 * const checks = await checkIdle({ service, tracker, report, unhandled: seen });
 * const ok = checks.every((check) => check.ok);
 * ```
 */
export async function checkIdle(options: IdleCheckOptions): Promise<Check[]> {
  const { service, upstream, stalls, tracker, report, unhandled, drainMs = 500 } = options;
  // First the service's own handlers: an abandoned request may still be running (up to
  // its deadline) after the load client has moved on. Then the upstream's, which end once
  // that server sees the connections the service's client closed.
  await within(service.server.idle(), Math.max(drainMs, 2 * (stalls?.deadline ?? 500)));
  if (upstream !== undefined) await within(upstream.idle(), drainMs);
  const stats = service.stats();
  const { pool } = stats;
  const alive = tracker.aliveOutsideCaller();
  const checks: Check[] = [
    {
      name: 'db pool idle',
      ok: pool.inUse === 0 && pool.waiting === 0 && pool.pending === 0 && stats.poolLeaks === 0,
      detail: `${pool.size} open, ${pool.idle} idle, ${pool.inUse} in use, ${pool.waiting} waiting, ${pool.pending} opening, ${stats.poolLeaks} leaked`,
    },
    {
      name: 'no upstream request or per-host slot held',
      ok: stats.upstreamInFlight === 0,
      detail: `${stats.upstreamInFlight} upstream request(s) in flight`,
    },
    {
      name: 'no request being handled',
      ok: stats.handling === 0 && (upstream?.handling ?? 0) === 0,
      detail: `${stats.handling} service handler(s) running${
        upstream ? `, ${upstream.handling} upstream handler(s) running` : ''
      }`,
    },
    {
      name: 'no weft task or scope alive',
      ok: alive.tasks === 0 && alive.scopes === 0,
      detail: `${tracker.started} task(s) ran; ${alive.tasks} alive, ${alive.scopes} scope(s) open${
        alive.tasks + alive.scopes > 0 ? ` (${alive.names.join(', ')})` : ''
      }`,
    },
    {
      name: 'no unhandled rejection',
      ok: unhandled.length === 0,
      detail: unhandled.length === 0 ? 'none' : `${unhandled.length}: ${String(unhandled[0])}`,
    },
  ];
  if (stalls !== undefined && stalls.ms > stalls.deadline) {
    checks.push({
      name: 'upstream stalls ended when their caller gave up',
      ok: stalls.served === 0 && stalls.aborted === stalls.started,
      detail: `${stalls.started} stalled, ${stalls.aborted} ended when the service's client closed the connection, ${stalls.served} waited their whole ${stalls.ms} ms${
        stalls.started - stalls.aborted - stalls.served > 0
          ? `, ${stalls.started - stalls.aborted - stalls.served} still stalling`
          : ''
      }`,
    });
  }
  if (report !== undefined) {
    checks.push({
      name: 'load client idle',
      ok: report.clientInFlight === 0,
      detail: `${report.clientInFlight} request(s) in flight`,
    });
  }
  return checks;
}

/** Options of {@link startLoadTarget}. */
export interface LoadTargetOptions {
  /** Seed of the rows, the db faults and the upstream's stalls. @default 1 */
  seed?: number;
  /** The service's per-request deadline in ms. @default 500 */
  deadline?: number;
  /** Share of db-sim round trips that fault: 40% fail, 40% lose their connection, 20% stall 2 s. @default 0.05 */
  dbFaultRate?: number;
  /** Share of upstream requests that stall. @default 0.05 */
  stallRate?: number;
  /** How long a stalled upstream request waits, in ms. @default 2000 */
  stallMs?: number;
}

/** A service and its upstream, started for a load run. */
export interface LoadTarget extends AsyncDisposable {
  service: Service;
  /** The mock upstream API, on its own port, that sometimes stalls. */
  upstream: LocalServer;
  /** How long a stall lasts, in ms. */
  stallMs: number;
  /**
   * The upstream's stalled requests so far: `aborted` ended because their caller gave up
   * (the service's client closed the connection), `served` waited their whole time.
   */
  stalls: { started: number; aborted: number; served: number };
  /** Dashboard requests by how they ended on the server (`cancelled`: the client had gone). */
  outcomes: Partial<Record<Outcome, number>>;
  /** Closes the service, then the upstream; raises the first failure. */
  close(): Promise<void>;
}

/**
 * The db-sim faults of a total `rate` of round trips: 40% of it failed statements
 * (`XX000`), 40% reset connections (`08006`), 20% stalls of 2 s; `undefined` for 0.
 *
 * @example
 * ```ts
 * createDatabase({ faults: dbFaults(0.05) }); // 2% fail, 2% reset, 1% stall
 * ```
 */
export function dbFaults(rate: number): FaultOptions | undefined {
  if (rate === 0) return undefined;
  return {
    queryFailureRate: rate * 0.4,
    disconnectRate: rate * 0.4,
    stallRate: rate * 0.2,
    stallMs: 2000,
  };
}

/**
 * Starts what a load run drives: the mock upstream on its own port (stalling `stallRate`
 * of its requests, seeded) and the dashboard service calling it, with db-sim faults.
 *
 * @example
 * ```ts
 * await using target = await startLoadTarget({ dbFaultRate: 0.05, stallRate: 0.05 });
 * const report = await driveLoad({ url: target.service.url, requests: 300, concurrency: 30 });
 * ```
 */
export async function startLoadTarget(options: LoadTargetOptions = {}): Promise<LoadTarget> {
  assertOptions('options', options, ['seed', 'deadline', 'dbFaultRate', 'stallRate', 'stallMs']);
  const seed = options.seed ?? 1;
  const stallRate = options.stallRate ?? 0.05;
  const stallMs = options.stallMs ?? 2000;
  const stalls = { started: 0, aborted: 0, served: 0 };
  const outcomes: Partial<Record<Outcome, number>> = {};
  const api = createMockApi(
    stallRate > 0
      ? {
          stall: {
            rate: stallRate,
            ms: stallMs,
            seed,
            onStall: () => {
              stalls.started++;
            },
            onStallEnd: (e) => {
              if (e.outcome === 'served') stalls.served++;
              else stalls.aborted++;
            },
          },
        }
      : {},
  );
  const upstream = await serveLocal(api.fetch);
  let service: Service;
  try {
    const faults = dbFaults(options.dbFaultRate ?? 0.05);
    service = await startService({
      seed,
      upstream: upstream.url,
      ...(options.deadline !== undefined ? { deadline: options.deadline } : {}),
      ...(faults ? { dbFaults: faults } : {}),
      onRequestSettled: (e) => {
        outcomes[e.outcome] = (outcomes[e.outcome] ?? 0) + 1;
      },
    });
  } catch (error) {
    await upstream.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      try {
        await service.close();
      } finally {
        await upstream.close();
      }
    })();
    return closing;
  };
  return {
    service,
    upstream,
    stallMs,
    stalls,
    outcomes,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Collects unhandled rejections (Node and Bun through `process`, Deno through the web
 * `unhandledrejection` event) until disposed: the "no unhandled rejection" check.
 *
 * @example
 * ```ts
 * using unhandled = collectUnhandled();
 * await work();
 * console.log(unhandled.seen.length); // 0
 * ```
 */
export function collectUnhandled(): { seen: unknown[] } & Disposable {
  const seen: unknown[] = [];
  const onNode = (reason: unknown): void => {
    seen.push(reason);
  };
  const onWeb = (event: Event): void => {
    event.preventDefault();
    seen.push((event as PromiseRejectionEvent).reason);
  };
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  const isDeno = typeof (globalThis as { Deno?: unknown }).Deno === 'object';
  if (isDeno) globalThis.addEventListener('unhandledrejection', onWeb);
  else proc?.on('unhandledRejection', onNode);
  return {
    seen,
    [Symbol.dispose]() {
      if (isDeno) globalThis.removeEventListener('unhandledrejection', onWeb);
      else proc?.off('unhandledRejection', onNode);
    },
  };
}
