// The dashboard service, wired: a seeded db-sim database and its pool, a @weft/http
// client to the upstream, the Hono app (dashboard + mock upstream API) and the runtime's
// own server behind serveLocal. `startService()` starts it; `close()` (or `await using`)
// stops it in order: the server (requests in flight are cancelled and awaited), the HTTP
// client, the pool, the database.
import { attachSuppressed, type Clock, systemClock } from '@weft/core';
import {
  assertClock,
  assertFunction,
  assertOptions,
  assertString,
  describe,
} from '@weft/core/validate';
import {
  createDatabase,
  type Database,
  type FaultOptions,
  type LatencyOption,
  type Pool,
  type PoolStats,
} from '@weft/db-sim';
import { createClient, type HttpClient } from '@weft/http';
import { type LocalServer, serveLocal } from '../runner/serve-local.ts';
import { createMockApi, type StallOptions } from '../upstream/mock-api.ts';
import { createDashboardApp, type RequestSettledEvent } from './dashboard.ts';
import { seedTables } from './data.ts';

/** Options of {@link startService}. Every field has a default. */
export interface ServiceOptions {
  /** The port to listen on; 0 picks a free one. @default 0 */
  port?: number;
  /** @default '127.0.0.1' */
  hostname?: string;
  /** The seed of the rows, the db latency and faults, and the upstream's stalls. @default 1 */
  seed?: number;
  /** Users in the database (ids 1 to `users`). @default 50 */
  users?: number;
  /** Each user has 0 to `maxOrders` orders. @default 20 */
  maxOrders?: number;
  /** db-sim latency per round trip. @default { min: 1, max: 5 } */
  dbLatency?: LatencyOption;
  /** db-sim faults (seeded). @default none */
  dbFaults?: FaultOptions;
  /** The database's clock: a `TestClock` makes its latency virtual. @default systemClock */
  dbClock?: Clock;
  /** The pool's `max`. @default 20 */
  poolSize?: number;
  /** The per-request deadline in ms. @default 500 */
  deadline?: number;
  /** The clock of the deadline. @default systemClock */
  clock?: Clock;
  /** Base URL of the todos API; by default the service's own mock upstream routes. */
  upstream?: string;
  /** Make the service's own mock upstream stall sometimes (seeded). @default no stalls */
  stall?: StallOptions;
  /** Most requests in flight to the upstream host at once. @default 32 */
  perHost?: number;
  /**
   * Timeout of one attempt to the upstream, in ms. With the defaults, a first attempt
   * that stalls leaves time for a retry, and an upstream that always stalls is cut by the
   * deadline during the retry (the document says `reason: 'deadline'`), never by a tie
   * between the retry's timeout and the deadline. @default 300
   */
  upstreamTimeout?: number;
  /** Retries of a failed or timed-out upstream call. @default 1 */
  upstreamRetries?: number;
  /** Called when a dashboard request's scope has started (tests wait for it). */
  onRequestStart?: (event: { userId: number; signal: AbortSignal }) => void;
  /** Called once per dashboard request when it has ended, with its outcome. */
  onRequestSettled?: (event: RequestSettledEvent) => void;
}

const OPTION_KEYS = [
  'port',
  'hostname',
  'seed',
  'users',
  'maxOrders',
  'dbLatency',
  'dbFaults',
  'dbClock',
  'poolSize',
  'deadline',
  'clock',
  'upstream',
  'stall',
  'perHost',
  'upstreamTimeout',
  'upstreamRetries',
  'onRequestStart',
  'onRequestSettled',
];

/** What holds resources in a running service: all zero (and no leak) when it is idle. */
export interface ServiceStats {
  /** The pool's counters (`inUse`, `waiting`, `pending` are 0 when idle). */
  pool: PoolStats;
  /** Connections lent and never returned. */
  poolLeaks: number;
  /** Upstream requests in flight (each holds its per-host slot until it ends). */
  upstreamInFlight: number;
  /** Requests (dashboard and mock upstream) whose handler is still running. */
  handling: number;
}

/** A running dashboard service. */
export interface Service extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly db: Database;
  readonly pool: Pool;
  /** The client the todos are fetched through. */
  readonly http: HttpClient;
  readonly server: LocalServer;
  stats(): ServiceStats;
  /**
   * Stops the server (requests in flight see their client go and are cancelled), waits
   * for every handler, then closes the HTTP client, the pool (connections still lent
   * after 5 s are a `PoolLeakError`) and the database. Safe to call more than once; the
   * first failure is raised, with later ones attached (`suppressedErrors`).
   */
  close(): Promise<void>;
}

function count(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new RangeError(
      `Expected \`${name}\` to be an integer from ${min} up, got ${describe(value)}`,
    );
  }
  return value;
}

/** Checks `options.upstream`: an absolute http(s) URL. */
function upstreamUrl(value: unknown): void {
  assertString('options.upstream', value);
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new TypeError(
      `Expected \`options.upstream\` to be an absolute http(s) URL, got ${describe(value)}`,
    );
  }
}

// db-sim's option names and the startService options they come from.
const DB_OPTION_NAMES: Record<string, string> = {
  clock: 'dbClock',
  latency: 'dbLatency',
  faults: 'dbFaults',
};

/** Runs `make`; a TypeError/RangeError naming a db-sim option is raised under startService's name. */
function renamingDbErrors<T>(make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (!(error instanceof TypeError || error instanceof RangeError)) throw error;
    const message = error.message.replace(
      /`options\.(clock|latency|faults)\b/g,
      (_, name: string) => `\`options.${DB_OPTION_NAMES[name]}`,
    );
    if (message === error.message) throw error;
    const Renamed = error instanceof RangeError ? RangeError : TypeError;
    throw new Renamed(message, { cause: error });
  }
}

/**
 * Starts the dashboard service on 127.0.0.1: seeds the database, opens the pool and the
 * HTTP client, and listens. Rejects (having closed what it opened) when the port cannot
 * be bound; bad options are a `TypeError`/`RangeError` naming the option.
 *
 * @example
 * ```ts
 * await using service = await startService({ port: 0 });
 * const res = await fetch(`${service.url}/dashboard/1`);
 * console.log(await res.json()); // { user, orders, todos, missing: [] }
 * ```
 */
export async function startService(options: ServiceOptions = {}): Promise<Service> {
  assertOptions('options', options, OPTION_KEYS);
  const seed = count('options.seed', options.seed ?? 1, 0);
  const users = count('options.users', options.users ?? 50, 1);
  const maxOrders = count('options.maxOrders', options.maxOrders ?? 20, 0);
  const poolSize = count('options.poolSize', options.poolSize ?? 20, 1);
  const deadline = count('options.deadline', options.deadline ?? 500, 1);
  const perHost = count('options.perHost', options.perHost ?? 32, 1);
  const upstreamTimeout = count('options.upstreamTimeout', options.upstreamTimeout ?? 300, 1);
  const upstreamRetries = count('options.upstreamRetries', options.upstreamRetries ?? 1, 0);
  const port = count('options.port', options.port ?? 0, 0);
  if (port > 65535) {
    throw new RangeError(
      `Expected \`options.port\` to be an integer from 0 to 65535, got ${describe(port)}`,
    );
  }

  assertClock('options.clock', options.clock);
  if (options.hostname !== undefined) {
    assertString('options.hostname', options.hostname);
    if (options.hostname === '' || /[\s/]/.test(options.hostname)) {
      throw new TypeError(
        `Expected \`options.hostname\` to be a host name or an IP address, got ${describe(options.hostname)}`,
      );
    }
  }
  if (options.upstream !== undefined) upstreamUrl(options.upstream);
  if (options.onRequestStart !== undefined) {
    assertFunction('options.onRequestStart', options.onRequestStart);
  }
  if (options.onRequestSettled !== undefined) {
    assertFunction('options.onRequestSettled', options.onRequestSettled);
  }

  // Built first: it checks the stall option before anything is opened.
  const mock = createMockApi(options.stall ? { stall: options.stall } : {});
  // db-sim checks the db options (opening nothing), under its own names: `dbClock` is its
  // `clock`, and so on. Its errors are raised under the names given to startService.
  const db = renamingDbErrors(() =>
    createDatabase({
      seed,
      clock: options.dbClock ?? systemClock,
      latency: options.dbLatency ?? { min: 1, max: 5 },
      ...(options.dbFaults !== undefined ? { faults: options.dbFaults } : {}),
      tables: seedTables({ users, maxOrders, seed }),
    }),
  );
  const pool = db.pool({ max: poolSize });
  // The network runs on real time whatever the database's clock is.
  const http = createClient({
    clock: systemClock,
    timeout: upstreamTimeout,
    retry: { limit: upstreamRetries, backoff: { initial: 20, max: 50 } },
    perHost,
  });
  let upstream = options.upstream;
  const app = createDashboardApp(
    {
      pool,
      http,
      upstream: () => upstream ?? '',
      deadline,
      clock: options.clock ?? systemClock,
      ...(options.onRequestStart ? { onRequestStart: options.onRequestStart } : {}),
      ...(options.onRequestSettled ? { onRequestSettled: options.onRequestSettled } : {}),
    },
    mock,
  );

  let server: LocalServer;
  try {
    server = await serveLocal(app.fetch, {
      port,
      ...(options.hostname ? { hostname: options.hostname } : {}),
    });
  } catch (error) {
    throw await closeAll(error, [() => http.close(), () => pool.close(), () => db.close()]);
  }
  upstream ??= server.url;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= closeAll(undefined, [
      () => server.close(),
      () => http.close(),
      () => pool.close({ timeout: 5000 }),
      () => db.close(),
    ]).then((error) => {
      if (error !== undefined) throw error;
    });
    return closing;
  };
  return {
    url: server.url,
    port: server.port,
    db,
    pool,
    http,
    server,
    stats: () => ({
      pool: pool.stats(),
      poolLeaks: pool.leaks().length,
      upstreamInFlight: http.active,
      handling: server.handling,
    }),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Runs every step even when one fails. Returns the first failure (`primary` when given),
 * with the later ones attached (`suppressedErrors`), or `undefined` when all went well.
 */
async function closeAll(primary: unknown, steps: (() => Promise<void>)[]): Promise<unknown> {
  let first: unknown = primary;
  let failed = primary !== undefined;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      if (failed) first = attachSuppressed(first, error);
      else {
        first = error;
        failed = true;
      }
    }
  }
  return failed ? first : undefined;
}
