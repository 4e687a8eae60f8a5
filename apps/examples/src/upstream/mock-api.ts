// A local stand-in for the public APIs the tutorials call: jsonplaceholder's /todos and
// httpbin's /json, /uuid, /headers, /delay/:seconds and /status/:code. It answers the
// same shapes, on 127.0.0.1, so nothing leaves the machine.
import { type Clock, isCancellation, sleep, systemClock } from '@weft/core';
import { assertOptions, describe } from '@weft/core/validate';
import { createRandom } from '@weft/db-sim';
import { type Context, Hono } from 'hono';
import { getOnly } from '../get-only.ts';

export interface Todo {
  userId: number;
  id: number;
  title: string;
  completed: boolean;
}

/** jsonplaceholder's first todos, as the tutorial prints the first one. */
const KNOWN_TITLES = [
  'delectus aut autem',
  'quis ut nam facilis et officia qui',
  'fugiat veniam minus',
  'et porro tempora',
  'laboriosam mollitia et enim quasi adipisci quia provident illum',
];

/** 200 todos, 20 per user (users 1–10), as jsonplaceholder has them. */
export const TODOS: readonly Todo[] = Array.from({ length: 200 }, (_, i) => {
  const id = i + 1;
  return {
    userId: Math.ceil(id / 20),
    id,
    title: KNOWN_TITLES[i] ?? `todo ${id}`,
    completed: id === 4 || id % 3 === 0,
  };
});

/** httpbin's /json document. */
export const SLIDESHOW = {
  slideshow: {
    author: 'Yours Truly',
    date: 'date of publication',
    slides: [
      { title: 'Wake up to WonderWidgets!', type: 'all' },
      {
        items: ['Why <em>WonderWidgets</em> are great', 'Who <em>buys</em> WonderWidgets'],
        title: 'Overview',
        type: 'all',
      },
    ],
    title: 'Sample Slide Show',
  },
};

/** What {@link StallOptions} hooks are told about one stalled request. */
export interface StallEvent {
  /** The request's path, e.g. `/todos`. */
  path: string;
  /** On `onStallEnd`: `'served'` (the stall ran out, the answer went out) or `'aborted'` (the client went away). */
  outcome?: 'served' | 'aborted';
}

/**
 * A seeded "sometimes the upstream is slow" option: each request to a data endpoint
 * (`/todos`, `/todos/:id`, `/json`, `/uuid`, `/headers`, `/status/:code`; not `/delay`,
 * which has its own) waits `ms` before it is answered, with probability `rate`. One seeded
 * draw per request, in the order they arrive: the same seed stalls the same places in the
 * sequence (say the 3rd and the 17th request). A client that disconnects ends the stall at
 * once.
 */
export interface StallOptions {
  /** Probability from 0 to 1 that a request stalls. */
  rate: number;
  /** How long a stalled request waits, in ms. @default 10000 */
  ms?: number;
  /** Seed of the draws. @default 1 */
  seed?: number;
  /** Called when a request starts to stall (tests wait for it). */
  onStall?: (event: StallEvent) => void;
  /** Called when a stalled request ends, served or aborted. */
  onStallEnd?: (event: StallEvent) => void;
}

/** Options of {@link createMockApi}. */
export interface MockApiOptions {
  /** The clock `/delay/:seconds` and stalls wait on. @default systemClock */
  clock?: Clock;
  /** Where `/uuid` gets its ids. @default crypto.randomUUID */
  uuid?: () => string;
  /** Make some requests slow (seeded). @default no stalls */
  stall?: StallOptions;
}

const titleCase = (name: string): string =>
  name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());

const STALL_KEYS = ['rate', 'ms', 'seed', 'onStall', 'onStallEnd'];

function checkStall(stall: StallOptions): void {
  assertOptions('options.stall', stall, STALL_KEYS);
  const { rate, ms = 10_000, seed = 1 } = stall;
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) {
    throw new RangeError(
      `Expected \`options.stall.rate\` to be a number from 0 to 1, got ${describe(rate)}`,
    );
  }
  if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms)) {
    throw new RangeError(
      `Expected \`options.stall.ms\` to be a finite number from 0 up, got ${describe(ms)}`,
    );
  }
  if (!Number.isInteger(seed)) {
    throw new TypeError(`Expected \`options.stall.seed\` to be an integer, got ${describe(seed)}`);
  }
}

/**
 * The mock upstream as a Hono app: serve it with `serveLocal(app.fetch)`. Answers
 * jsonplaceholder's `/todos` (all, `?userId=`, `/todos/:id`) and httpbin's `/json`,
 * `/uuid`, `/headers`, `/delay/:seconds` (capped at 10 s, ended by a client that goes
 * away) and `/status/:code`. With `stall`, some requests are answered late.
 *
 * @example
 * ```ts
 * await using upstream = await serveLocal(createMockApi({ stall: { rate: 0.1, ms: 2000 } }).fetch);
 * const todo = await (await fetch(`${upstream.url}/todos/1`)).json(); // late one time in ten
 * ```
 */
export function createMockApi(options: MockApiOptions = {}): Hono {
  const clock = options.clock ?? systemClock;
  const uuid = options.uuid ?? (() => crypto.randomUUID());
  const app = new Hono();

  assertOptions('options', options, ['clock', 'uuid', 'stall']);
  const stall = options.stall;
  if (stall !== undefined) checkStall(stall);
  if (stall !== undefined && stall.rate > 0) {
    const random = createRandom(stall.seed ?? 1);
    const ms = stall.ms ?? 10_000;
    app.use('*', async (c, next) => {
      if (c.req.path.startsWith('/delay/') || !random.chance(stall.rate)) return next();
      const event: StallEvent = { path: c.req.path };
      stall.onStall?.(event);
      if (!(await wait(c.req.raw, ms, clock))) {
        stall.onStallEnd?.({ ...event, outcome: 'aborted' });
        return gone(c);
      }
      stall.onStallEnd?.({ ...event, outcome: 'served' });
      return next();
    });
  }

  app.get('/todos', (c) => {
    const userId = c.req.query('userId');
    return c.json(userId === undefined ? TODOS : TODOS.filter((t) => t.userId === Number(userId)));
  });
  app.get('/todos/:id', (c) => {
    const todo = TODOS.find((t) => t.id === Number(c.req.param('id')));
    return todo ? c.json(todo) : c.json({}, 404);
  });
  app.get('/json', (c) => c.json(SLIDESHOW));
  app.get('/uuid', (c) => c.json({ uuid: uuid() }));
  app.get('/headers', (c) => {
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((value, name) => {
      headers[titleCase(name)] = value;
    });
    return c.json({ headers });
  });
  // httpbin caps its delay at 10 s; a client that goes away ends the wait.
  app.get('/delay/:seconds', async (c) => {
    const seconds = Number(c.req.param('seconds'));
    if (!Number.isFinite(seconds) || seconds < 0) return c.json({ error: 'bad delay' }, 400);
    if (!(await wait(c.req.raw, Math.min(seconds, 10) * 1000, clock))) return gone(c);
    return c.json({ delayed: Math.min(seconds, 10), url: c.req.url });
  });
  app.get('/status/:code', (c) => {
    const code = Number(c.req.param('code'));
    if (!Number.isInteger(code) || code < 200 || code > 599)
      return c.json({ error: 'bad status' }, 400);
    return c.body(null, code as 200);
  });
  getOnly(app, [
    '/todos',
    '/todos/:id',
    '/json',
    '/uuid',
    '/headers',
    '/delay/:seconds',
    '/status/:code',
  ]);
  // A handler cancelled because its client went away (or the whole server is stopping:
  // Ctrl-C cancels the task the server runs in) ends quietly; anything else is a 500.
  app.onError((error, c) => {
    if (isCancellation(error) || c.req.raw.signal.aborted) return gone(c);
    console.error(error);
    return c.json({ error: 'internal error' }, 500);
  });
  return app;
}

/**
 * Waits `ms` for `request`: `true` when the time passed, `false` when the wait was
 * cancelled (the client went away, or the task the server runs in was cancelled).
 */
async function wait(request: Request, ms: number, clock: Clock): Promise<boolean> {
  try {
    await sleep(ms, { clock, signal: request.signal });
    return true;
  } catch (error) {
    if (isCancellation(error) || request.signal.aborted) return false;
    throw error;
  }
}

/** The answer to a request nobody waits for any more: the runtime drops it. */
function gone(c: Context): Response {
  return c.body(null, 499 as 200);
}
