// `pnpm examples serve` and `pnpm examples load`.
import { parseArgs } from 'node:util';
import { isCancellation, run } from '@weft/core';
import { createTerminal, type Terminal } from '../runner/terminal.ts';
import { runtimeName } from '../runner/serve-local.ts';
import type { StallOptions } from '../upstream/mock-api.ts';
import {
  type Check,
  checkIdle,
  collectUnhandled,
  dbFaults,
  driveLoad,
  type LoadProgress,
  type LoadTarget,
  startLoadTarget,
  TaskTracker,
} from './load.ts';
import type { RequestSettledEvent } from './dashboard.ts';
import { startService } from './service.ts';

const SERVE_USAGE = `usage: pnpm examples serve [--port <n>] [--deadline <ms>] [--stall-rate <0..1>] [--stall-ms <ms>] [--db-faults <0..1>] [--quiet]
  PORT sets the port too (default 3000).`;

const LOAD_USAGE = `usage: pnpm examples load [--requests <n>] [--concurrency <n>] [--url <service url>]
                          [--db-faults <0..1>] [--stall-rate <0..1>] [--stall-ms <ms>] [--deadline <ms>] [--seed <n>]
                          [--warmup <n>] [--abandon <0..1>]
  Defaults: 10000 requests, 100 at once, db faults 0.05, upstream stalls 0.05 of 2000 ms,
  a 500 ms deadline, against a service started in this process (--url: an external one;
  then only the client side is checked). --warmup sends that many requests first, not counted;
  --abandon (default 0.01) is the share of requests the client walks away from after 0-400 ms, unless answered by then.`;

const term: Terminal = createTerminal();

/** Visible ASCII but `"` and `\`: a value made only of these is logged as it is. */
const PLAIN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** DEL, C1 controls (U+009B is CSI to some terminals), line and paragraph separators, bidi controls. */
const UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * `value` as a log line shows it: as it is when it is plain visible ASCII (`7`), else
 * JSON-quoted with every control character escaped (`"1\nGET …"`, `"\u001b[2J"`), so a
 * client cannot forge a log line or send escapes to the terminal that shows the log
 * (review dbx10 X3: the raw `:userId` was written as is).
 */
export function logValue(value: string): string {
  if (PLAIN.test(value)) return value;
  return JSON.stringify(value).replace(
    UNSAFE,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The request log's line for one dashboard request (without the newline). */
export function requestLogLine(e: RequestSettledEvent): string {
  const missing = e.missing.length > 0 ? ` (missing ${e.missing.join(', ')})` : '';
  return `GET /dashboard/${logValue(e.userId)} ${e.status} ${e.outcome}${missing} ${e.ms.toFixed(1)} ms`;
}

function fail(usage: string, message: string): never {
  throw new UsageError(`${message}\n${usage}`);
}

class UsageError extends Error {
  override name = 'UsageError';
}

function number(
  usage: string,
  name: string,
  raw: string | undefined,
  fallback: number,
  { min = 0, max = Number.MAX_SAFE_INTEGER, integer = true } = {},
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (
    raw.trim() === '' ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  ) {
    fail(
      usage,
      `Expected --${name} to be ${integer ? 'an integer' : 'a number'} from ${min} ${max === Number.MAX_SAFE_INTEGER ? 'up' : `to ${max}`}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

function stall(rate: number, ms: number, seed: number): StallOptions | undefined {
  return rate === 0 ? undefined : { rate, ms, seed };
}

const COMMON: FlagSpec = {
  deadline: { type: 'string' },
  'db-faults': { type: 'string' },
  'stall-rate': { type: 'string' },
  'stall-ms': { type: 'string' },
  seed: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

type Flags = Record<string, string | boolean | undefined>;
type FlagSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** Parses `--name value` / `--name=value` flags; an unknown flag is a usage error. */
function parse(usage: string, args: string[], options: FlagSpec): Flags {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as Flags;
  } catch (error) {
    fail(usage, (error as Error).message);
  }
}

function text(flags: Flags, name: string): string | undefined {
  const value = flags[name];
  return typeof value === 'string' ? value : undefined;
}

function printEndpoints(url: string, deadline: number): void {
  term.write(`${term.bold('weft dashboard')} on ${term.green(url)} (${runtimeName()})\n`);
  term.write(
    `  GET ${url}/dashboard/:userId   user + orders (db-sim) + todos (upstream), within ${deadline} ms\n`,
  );
  term.write(
    `  GET ${url}/todos?userId=1      the mock upstream: /todos, /todos/:id, /json, /uuid, /headers, /delay/:s, /status/:code\n`,
  );
  term.write(`  GET ${url}/                    this list\n`);
}

/**
 * `pnpm examples serve`: the service until Ctrl-C, which closes the server (requests in
 * flight are cancelled), the HTTP client, the pool and the database. Resolves with the
 * exit code: 0 after a clean stop, 2 for bad flags, 1 when it cannot start.
 *
 * @example
 * ```ts
 * process.exitCode = await serveCommand(['--port', '8080']);
 * ```
 */
export async function serveCommand(args: string[]): Promise<number> {
  try {
    const values = parse(SERVE_USAGE, args, {
      ...COMMON,
      port: { type: 'string' },
      quiet: { type: 'boolean' },
    });
    if (values.help === true) {
      term.write(`${SERVE_USAGE}\n`);
      return 0;
    }
    const port = number(
      SERVE_USAGE,
      'port (or PORT)',
      text(values, 'port') ?? process.env.PORT,
      3000,
      {
        max: 65535,
      },
    );
    const deadline = number(SERVE_USAGE, 'deadline', text(values, 'deadline'), 500, { min: 1 });
    const seed = number(SERVE_USAGE, 'seed', text(values, 'seed'), 1);
    const faults = dbFaults(
      number(SERVE_USAGE, 'db-faults', text(values, 'db-faults'), 0, { max: 1, integer: false }),
    );
    const stalls = stall(
      number(SERVE_USAGE, 'stall-rate', text(values, 'stall-rate'), 0, { max: 1, integer: false }),
      number(SERVE_USAGE, 'stall-ms', text(values, 'stall-ms'), 2000),
      seed,
    );
    // The server starts outside `run()`: its request handlers then belong to no task, the
    // same on the three runtimes, and Ctrl-C reaches each request through the server's
    // close (its client connection drops), never half-way through the ambient context.
    const service = await startService({
      port,
      deadline,
      seed,
      ...(faults ? { dbFaults: faults } : {}),
      ...(stalls ? { stall: stalls } : {}),
      ...(values.quiet === true
        ? {}
        : {
            onRequestSettled: (e) => term.write(term.dim(`${requestLogLine(e)}\n`)),
          }),
    });
    try {
      printEndpoints(service.url, deadline);
      // Waits for Ctrl-C (or SIGTERM): `run` cancels this task and rejects. The hint is
      // printed once `run` handles the signals (a Ctrl-C right after it then closes all).
      await run(
        ({ signal }) => {
          term.write(term.dim('Ctrl-C stops it.\n'));
          return new Promise<void>((resolve) =>
            signal.addEventListener('abort', () => resolve(), { once: true }),
          );
        },
        { name: 'serve', handleSignals: true },
      ).catch((error: unknown) => {
        if (!isCancellation(error)) throw error;
      });
    } finally {
      await service.close();
      term.write(
        '\nstopped: server closed (requests in flight cancelled), http client, pool and database closed\n',
      );
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(error.message);
      return 2;
    }
    console.error(
      error instanceof Error && /EADDRINUSE|AddrInUse|in use/i.test(String(error))
        ? `Port in use: ${String(error)}`
        : error,
    );
    return 1;
  }
}

function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

function progressLine(p: LoadProgress): string {
  const rate = p.elapsedMs > 0 ? (p.done / p.elapsedMs) * 1000 : 0;
  return `${formatCount(p.done)}/${formatCount(p.total)} requests · ${formatCount(Math.round(rate))} req/s · full ${formatCount(p.full)} · partial ${formatCount(p.partial)} · error ${formatCount(p.error)} · abandoned ${formatCount(p.abandoned)}`;
}

/**
 * `pnpm examples load`: 10,000 requests at 100 (flags change it), then the leak checks.
 * Resolves with the exit code: 0 when every check passed, 1 when one failed, 2 for bad
 * flags, 130 when interrupted.
 *
 * @example
 * ```ts
 * process.exitCode = await loadCommand(['--requests', '300', '--concurrency', '30']);
 * ```
 */
export async function loadCommand(args: string[]): Promise<number> {
  try {
    const values = parse(LOAD_USAGE, args, {
      ...COMMON,
      requests: { type: 'string' },
      concurrency: { type: 'string' },
      url: { type: 'string' },
      warmup: { type: 'string' },
      abandon: { type: 'string' },
    });
    if (values.help === true) {
      term.write(`${LOAD_USAGE}\n`);
      return 0;
    }
    const requests = number(LOAD_USAGE, 'requests', text(values, 'requests'), 10_000, { min: 1 });
    const concurrency = number(LOAD_USAGE, 'concurrency', text(values, 'concurrency'), 100, {
      min: 1,
    });
    const deadline = number(LOAD_USAGE, 'deadline', text(values, 'deadline'), 500, { min: 1 });
    const seed = number(LOAD_USAGE, 'seed', text(values, 'seed'), 1);
    const faultRate = number(LOAD_USAGE, 'db-faults', text(values, 'db-faults'), 0.05, {
      max: 1,
      integer: false,
    });
    const stallRate = number(LOAD_USAGE, 'stall-rate', text(values, 'stall-rate'), 0.05, {
      max: 1,
      integer: false,
    });
    const stallMs = number(LOAD_USAGE, 'stall-ms', text(values, 'stall-ms'), 2000);
    const warmup = number(LOAD_USAGE, 'warmup', text(values, 'warmup'), 0);
    const abandonRate = number(LOAD_USAGE, 'abandon', text(values, 'abandon'), 0.01, {
      max: 1,
      integer: false,
    });
    const external = text(values, 'url');
    if (external !== undefined && !/^https?:\/\//.test(external)) {
      fail(LOAD_USAGE, `Expected --url to be an http(s) URL, got ${JSON.stringify(external)}`);
    }
    // Counting starts before anything is started. The service starts outside `run()`, so
    // its request handlers belong to no task (the same on the three runtimes): Ctrl-C
    // cancels the load, whose requests then go away, and the service sees its clients go.
    using unhandled = collectUnhandled();
    using tracker = new TaskTracker();
    let target: LoadTarget | undefined;
    if (external === undefined) {
      target = await startLoadTarget({
        seed,
        deadline,
        dbFaultRate: faultRate,
        stallRate,
        stallMs,
      });
    }
    const url = external ?? target?.service.url ?? '';
    try {
      return await run(
        async () => {
          term.write(
            `${term.bold('load')}: ${formatCount(requests)} requests, ${concurrency} at once, against ${url} (${runtimeName()})\n`,
          );
          if (target !== undefined) {
            term.write(
              term.dim(
                `  service in this process: deadline ${deadline} ms; db-sim faults on ${faultRate * 100}% of round trips; its upstream (${target.upstream.url}) stalls ${stallRate * 100}% of requests for ${stallMs} ms; seed ${seed}\n`,
              ),
            );
          }
          if (warmup > 0) {
            term.write(term.dim(`  warming up: ${formatCount(warmup)} requests, not counted\n`));
            await driveLoad({ url, requests: warmup, concurrency, seed: seed + 1 });
          }
          let lastDraw = 0;
          let nextTenth = 1;
          const report = await driveLoad({
            url,
            requests,
            concurrency,
            seed,
            abandonRate,
            onProgress(p) {
              if (term.rich) {
                const now = performance.now();
                if (now - lastDraw < 100 && p.done < p.total) return;
                lastDraw = now;
                term.write(`\r\x1b[K  ${progressLine(p)}`);
                if (p.done === p.total) term.write('\n');
              } else if (p.done * 10 >= nextTenth * p.total) {
                while (p.done * 10 >= nextTenth * p.total) nextTenth++;
                term.write(`  ${progressLine(p)}\n`);
              }
            },
          });
          const ms = (n: number): string => `${n.toFixed(1)} ms`;
          term.write(
            `\n${term.bold('latency')}  p50 ${ms(report.p50)} · p99 ${ms(report.p99)} · max ${ms(report.max)}\n`,
          );
          term.write(
            `${term.bold('outcomes')} full ${formatCount(report.full)} · partial ${formatCount(report.partial)} · error ${formatCount(report.error)} · abandoned by the client ${formatCount(report.abandoned)}\n`,
          );
          if (target !== undefined && report.abandoned > 0) {
            term.write(
              term.dim(
                `  the server saw ${formatCount(target.outcomes.cancelled ?? 0)} client(s) go mid-request and cancelled their scopes (the other abandoned requests had been answered already)\n`,
              ),
            );
          }
          const statuses = Object.entries(report.statuses)
            .map(([status, n]) => `${status === '0' ? 'no answer' : status} ×${formatCount(n)}`)
            .join(', ');
          const missing = Object.entries(report.missing)
            .map(([part, n]) => `${part} ×${formatCount(n)}`)
            .join(', ');
          term.write(
            term.dim(
              `  statuses: ${statuses}${missing ? `; partial documents missed ${missing}` : ''}\n`,
            ),
          );
          term.write(
            `${term.bold('wall')}     ${(report.elapsedMs / 1000).toFixed(2)} s · ${formatCount(Math.round(report.rate))} req/s\n\n`,
          );

          const unanswered = report.statuses[0] ?? 0;
          const answered: Check = {
            name: 'every request answered',
            ok: unanswered === 0,
            detail:
              unanswered === 0
                ? `${formatCount(report.done - report.abandoned)} HTTP answers, ${formatCount(report.abandoned)} abandoned by the client (a partial document or an error status is an answer; a hang is not)`
                : `${formatCount(unanswered)} request(s) got no answer within the client's 10 s timeout, or a network error`,
          };
          const checks: Check[] =
            target === undefined
              ? [
                  {
                    name: 'load client idle',
                    ok: report.clientInFlight === 0,
                    detail: `${report.clientInFlight} request(s) in flight (the service runs elsewhere: its pool and tasks are not checked)`,
                  },
                ]
              : await checkIdle({
                  service: target.service,
                  upstream: target.upstream,
                  stalls: { ...target.stalls, ms: target.stallMs, deadline },
                  tracker,
                  report,
                  unhandled: unhandled.seen,
                });
          checks.unshift(answered);
          if (target !== undefined) {
            const closing = target;
            target = undefined;
            let closeError: unknown;
            await closing.close().catch((error: unknown) => {
              closeError = error;
            });
            const open = closing.service.db.openConnections;
            checks.push({
              name: 'closed cleanly',
              ok: closeError === undefined && open === 0,
              detail:
                closeError === undefined
                  ? `servers, http client, pool and database closed; ${open} db connection(s) open`
                  : String(closeError),
            });
          }
          term.write(`${term.bold('checks')}\n`);
          for (const check of checks) {
            term.write(
              `  ${check.ok ? term.green('ok  ') : term.red('FAIL')} ${check.name}: ${check.detail}\n`,
            );
          }
          const failed = checks.filter((c) => !c.ok).length;
          term.write(
            failed === 0
              ? `\nall ${checks.length} checks passed\n`
              : `\n${failed} check(s) failed\n`,
          );
          return failed === 0 ? 0 : 1;
        },
        { name: 'load', handleSignals: true },
      );
    } finally {
      const left = target;
      if (left !== undefined) await left.close();
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(error.message);
      return 2;
    }
    if (isCancellation(error)) return 130;
    console.error(error);
    return 1;
  }
}
