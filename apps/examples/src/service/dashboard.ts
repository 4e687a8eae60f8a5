// GET /dashboard/:userId: one weft scope per request, with a deadline. Three tasks run in
// it at once: the user (one query through the pool), their orders (a cursor on a pooled
// connection) and their todos (an HTTP call through @weft/http to the upstream API). The
// client going away aborts the request's signal, which cancels the scope and everything
// in it; the deadline cuts what is still running and the answer says what is missing.
import {
  CancelledError,
  type Clock,
  isCancellation,
  retry,
  scope,
  TaskGroupError,
  TimeoutError,
  unwrapError,
} from '@weft/core';
import { DatabaseError, type Pool } from '@weft/db-sim';
import type { HttpClient } from '@weft/http';
import { Hono } from 'hono';
import { getOnly } from '../get-only.ts';
import type { Todo } from '../upstream/mock-api.ts';
import type { Order, User } from './data.ts';

/** The parts of a dashboard that may be missing from a partial answer. */
export type Part = 'orders' | 'todos';

/**
 * The JSON document `GET /dashboard/:userId` answers with (status 200). Complete when
 * `missing` is empty; otherwise each missing part is `null`, named in `missing`, and
 * `reason` says why: `'deadline'` when the deadline cut at least one of them, `'error'`
 * when they failed (the message is in `errors`).
 */
export interface DashboardDocument {
  user: User;
  orders: Order[] | null;
  todos: Todo[] | null;
  missing: Part[];
  reason?: 'deadline' | 'error';
  errors?: Partial<Record<Part, string>>;
}

/**
 * How a dashboard request ended, as {@link RequestSettledEvent} reports it: `deadline` is
 * a 504 (the user was not read in time), `cancelled` a client that went away or a
 * service being stopped, `error` a 503 (reading the user failed).
 */
export type Outcome =
  | 'full'
  | 'partial'
  | 'bad-request'
  | 'not-found'
  | 'error'
  | 'deadline'
  | 'cancelled';

/** What the service reports when a dashboard request has ended (its scope has settled). */
export interface RequestSettledEvent {
  /** The path parameter as sent. */
  userId: string;
  outcome: Outcome;
  /**
   * The HTTP status sent: 499 when the client had gone (nothing was sent), 503 when the
   * request was cancelled because the code running the service was stopping.
   */
  status: number;
  /** The parts left out of a partial document. */
  missing: Part[];
  /** Whether the request's scope was aborted (deadline, client gone, or a failure in it). */
  scopeAborted: boolean;
  /** Why the scope was aborted, when it was. */
  abortReason?: unknown;
  /** Real ms from the request's arrival to its end. */
  ms: number;
}

/** What {@link createDashboardApp} needs. */
export interface DashboardDeps {
  pool: Pool;
  /** The client the todos are fetched through (its retries, timeout and per-host limit). */
  http: HttpClient;
  /** The base URL of the upstream API that serves `todos?userId=` (a path in it is kept). */
  upstream: () => string;
  /** The per-request deadline in ms. */
  deadline: number;
  /** The clock of the deadline (the network runs on real time). */
  clock: Clock;
  /** Called when a dashboard request's scope has started. */
  onRequestStart?: (event: { userId: number; signal: AbortSignal }) => void;
  /** Called once per dashboard request, when it has ended. */
  onRequestSettled?: (event: RequestSettledEvent) => void;
}

class UserNotFoundError extends Error {
  override name = 'UserNotFoundError';
}

const ID = /^[1-9][0-9]{0,8}$/;

/** A retryable database failure (a fault, a reset connection) gets one more try. */
const dbRetry = {
  attempts: 2,
  backoff: { initial: 5, factor: 2 },
  retryIf: (error: unknown) => error instanceof DatabaseError && error.retryable,
};

function message(error: unknown): string {
  const inner = unwrapError(error);
  if (inner instanceof AggregateError && inner.errors.length > 0) {
    return message(inner.errors[inner.errors.length - 1]);
  }
  if (inner instanceof Error) {
    const code = (inner as { code?: unknown }).code;
    return `${inner.name}${typeof code === 'string' ? ` ${code}` : ''}: ${inner.message}`;
  }
  return String(inner);
}

/**
 * The dashboard routes as a Hono app: `GET /dashboard/:userId` and `GET /` (the list of
 * endpoints). Everything else falls through to `fallback` (the mock upstream API).
 * `onRequestSettled` is called once per dashboard request, also for a 400 and for a
 * client that went away (`outcome: 'cancelled'`).
 *
 * @example
 * ```ts
 * const app = createDashboardApp({ pool, http, upstream: () => upstreamUrl, deadline: 500, clock: systemClock });
 * await using server = await serveLocal(app.fetch);
 * ```
 */
export function createDashboardApp(deps: DashboardDeps, fallback?: Hono): Hono {
  const app = new Hono();

  app.get('/', (c) =>
    c.json({
      service: 'weft dashboard',
      endpoints: {
        'GET /dashboard/:userId': `the user, their orders and their todos in one document, within ${deps.deadline} ms`,
        'GET /todos?userId=': 'the mock upstream (jsonplaceholder): todos',
        'GET /todos/:id': 'one todo',
        'GET /json, /uuid, /headers, /delay/:seconds, /status/:code': 'the mock upstream (httpbin)',
      },
    }),
  );

  app.get('/dashboard/:userId', async (c) => {
    const started = performance.now();
    const raw = c.req.param('userId');
    const event: RequestSettledEvent = {
      userId: raw,
      outcome: 'error',
      status: 500,
      missing: [],
      scopeAborted: false,
      ms: 0,
    };
    const settle = (response: Response, outcome: Outcome): Response => {
      event.status = response.status;
      event.outcome = outcome;
      return response;
    };
    try {
      if (!ID.test(raw)) {
        return settle(
          c.json(
            {
              error: `Expected \`userId\` to be a positive integer (1 to 999999999), got ${JSON.stringify(raw)}`,
            },
            400,
          ),
          'bad-request',
        );
      }
      const userId = Number(raw);
      const result = await dashboard(deps, userId, c.req.raw.signal);
      event.scopeAborted = result.scopeSignal?.aborted ?? false;
      if (event.scopeAborted) event.abortReason = result.scopeSignal?.reason;
      switch (result.kind) {
        case 'document':
          event.missing = result.document.missing;
          return settle(
            c.json(result.document),
            result.document.missing.length === 0 ? 'full' : 'partial',
          );
        case 'not-found':
          return settle(c.json({ error: `No user with id ${userId}` }, 404), 'not-found');
        case 'deadline':
          return settle(
            c.json(
              {
                error: `The ${deps.deadline} ms deadline passed before user ${userId} was read`,
                reason: 'deadline',
              },
              504,
            ),
            'deadline',
          );
        case 'cancelled':
          // The client has gone: nobody reads this.
          return settle(c.body(null, 499 as 200), 'cancelled');
        case 'shutdown':
          return settle(
            c.json({ error: 'The service is shutting down: the request was cancelled' }, 503),
            'cancelled',
          );
        case 'error':
          return settle(
            c.json({ error: `Could not read user ${userId}: ${message(result.error)}` }, 503),
            'error',
          );
      }
    } finally {
      event.ms = performance.now() - started;
      try {
        deps.onRequestSettled?.(event);
      } catch (error) {
        // An observer's failure must not change the answer.
        console.error('onRequestSettled threw:', error);
      }
    }
  });

  // Another method on these routes: 405 with `Allow`, not the fallback's 404.
  getOnly(app, ['/', '/dashboard/:userId']);
  if (fallback !== undefined) app.all('*', (c) => fallback.fetch(c.req.raw));
  // A handler cancelled because its client went away (or the server is stopping) ends
  // quietly; anything else is logged and answered with a 500.
  app.onError((error, c) => {
    if (isCancellation(error) || c.req.raw.signal.aborted) return c.body(null, 499 as 200);
    console.error(error);
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}

type Result = { scopeSignal: AbortSignal | undefined } & (
  | { kind: 'document'; document: DashboardDocument }
  | { kind: 'not-found' }
  | { kind: 'deadline' }
  | { kind: 'cancelled' }
  | { kind: 'shutdown' }
  | { kind: 'error'; error: unknown }
);

/** One dashboard: its scope, its three tasks, and what became of them. */
async function dashboard(
  deps: DashboardDeps,
  userId: number,
  request: AbortSignal,
): Promise<Result> {
  // The runtimes abort a request's signal with reasons of their own (a string on Node);
  // the scope gets a proper cancellation.
  const disconnected = new AbortController();
  const onAbort = (): void =>
    disconnected.abort(
      new CancelledError('The client closed the connection', { cause: request.reason }),
    );
  if (request.aborted) onAbort();
  else request.addEventListener('abort', onAbort, { once: true });

  let user: User | undefined;
  let orders: Order[] | undefined;
  let todos: Todo[] | undefined;
  const errors: Partial<Record<Part, string>> = {};
  /** Parts cut by the deadline (see `optional`). */
  const cut = new Set<Part>();
  let scopeSignal: AbortSignal | undefined;
  let deadlineAt = Number.POSITIVE_INFINITY;
  /** A TimeoutError raised at the request's deadline, by whichever timer saw it first. */
  const atDeadline = (error: unknown): boolean =>
    error instanceof TimeoutError && deps.clock.now() >= deadlineAt - DEADLINE_SLACK;
  try {
    await scope(
      async (s) => {
        scopeSignal = s.signal;
        deadlineAt = s.deadline;
        deps.onRequestStart?.({ userId, signal: s.signal });
        // An optional part that fails is left out of the document (and named in it); its
        // failure must not cancel the others. A cancellation is let through.
        const optional = async (part: Part, read: () => Promise<void>): Promise<void> => {
          try {
            await read();
          } catch (error) {
            // The deadline, however it shows: the scope's own timer (its signal aborted with
            // a TimeoutError), or @weft/http's and db-sim's view of the same deadline (their
            // own TimeoutError, a moment before or after the scope's timer).
            if (
              (s.signal.aborted && s.signal.reason instanceof TimeoutError) ||
              atDeadline(error)
            ) {
              cut.add(part);
              return;
            }
            if (s.signal.aborted || isCancellation(error)) throw error;
            errors[part] = message(error);
          }
        };
        s.spawn(
          async () => {
            const { rows } = await retry(
              () =>
                deps.pool.query<User>('SELECT id, name, email FROM users WHERE id = $1', [userId]),
              dbRetry,
            );
            if (rows[0] === undefined) throw new UserNotFoundError(`No user with id ${userId}`);
            user = rows[0];
          },
          { name: 'user' },
        );
        s.spawn(
          () =>
            optional('orders', async () => {
              orders = await retry(async () => {
                const rows: Order[] = [];
                await using conn = await deps.pool.acquire();
                for await (const row of conn.cursor<Order>(
                  'SELECT id, total, status FROM orders WHERE user_id = $1 ORDER BY id',
                  [userId],
                  { batchSize: 10 },
                )) {
                  rows.push(row);
                }
                return rows;
              }, dbRetry);
            }),
          { name: 'orders' },
        );
        s.spawn(
          () =>
            optional('todos', async () => {
              todos = await deps.http
                .get(todosUrl(deps.upstream()), { query: { userId } })
                .json<Todo[]>();
            }),
          { name: 'todos' },
        );
      },
      {
        name: `dashboard ${userId}`,
        timeout: deps.deadline,
        clock: deps.clock,
        signal: disconnected.signal,
      },
    );
  } catch (error) {
    if (disconnected.signal.aborted) return { kind: 'cancelled', scopeSignal };
    const inner = unwrapError(error);
    if (inner instanceof UserNotFoundError) return { kind: 'not-found', scopeSignal };
    // Every failure is the deadline: the scope's own TimeoutError, or a task's (the user
    // query's db-sim or a part's HTTP client) raised for the same deadline.
    const failures = inner instanceof TaskGroupError ? inner.errors.map(unwrapError) : [inner];
    if (
      failures.every(
        (f) => f instanceof TimeoutError && (f === scopeSignal?.reason || atDeadline(f)),
      )
    ) {
      // The deadline: what has arrived goes out, the rest is named.
      if (user === undefined) return { kind: 'deadline', scopeSignal };
      const document = assemble(user, orders, todos, errors, true);
      return { kind: 'document', document, scopeSignal };
    }
    // Cancelled from outside the request: the code that runs the service is stopping
    // (its task was cancelled, e.g. by Ctrl-C when the server was started inside run()).
    if (isCancellation(inner)) return { kind: 'shutdown', scopeSignal };
    return { kind: 'error', error, scopeSignal };
  } finally {
    request.removeEventListener('abort', onAbort);
  }
  if (disconnected.signal.aborted) return { kind: 'cancelled', scopeSignal };
  if (user === undefined)
    return { kind: 'error', error: new Error('the user was not read'), scopeSignal };
  const document = assemble(user, orders, todos, errors, cut.size > 0);
  return { kind: 'document', document, scopeSignal };
}

/**
 * How close to the deadline (ms of its clock) a part's own TimeoutError counts as the
 * deadline: timers may fire a millisecond early, and the two timers race.
 */
const DEADLINE_SLACK = 5;

/** `<base>/todos`, keeping a path the base URL may have (`http://host/api` → `/api/todos`). */
function todosUrl(base: string): URL {
  return new URL('todos', base.endsWith('/') ? base : `${base}/`);
}

function assemble(
  user: User,
  orders: Order[] | undefined,
  todos: Todo[] | undefined,
  errors: Partial<Record<Part, string>>,
  deadline: boolean,
): DashboardDocument {
  const missing: Part[] = [];
  if (orders === undefined) missing.push('orders');
  if (todos === undefined) missing.push('todos');
  const document: DashboardDocument = {
    user,
    orders: orders ?? null,
    todos: todos ?? null,
    missing,
  };
  if (missing.length > 0) {
    // 'deadline' when the deadline cut a part that had not failed by itself.
    document.reason =
      deadline && missing.some((part) => errors[part] === undefined) ? 'deadline' : 'error';
    const failed = Object.fromEntries(missing.flatMap((p) => (errors[p] ? [[p, errors[p]]] : [])));
    if (Object.keys(failed).length > 0) document.errors = failed;
  }
  return document;
}
