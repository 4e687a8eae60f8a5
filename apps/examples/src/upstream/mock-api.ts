// A local stand-in for the public APIs the tutorials call: jsonplaceholder's /todos and
// httpbin's /json, /uuid, /headers, /delay/:seconds and /status/:code. It answers the
// same shapes, on 127.0.0.1, so nothing leaves the machine.
import { type Clock, sleep, systemClock } from '@weft/core';
import { Hono } from 'hono';

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

export interface MockApiOptions {
  /** The clock `/delay/:seconds` waits on. @default systemClock */
  clock?: Clock;
  /** Where `/uuid` gets its ids. @default crypto.randomUUID */
  uuid?: () => string;
}

const titleCase = (name: string): string =>
  name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());

/** The mock upstream as a Hono app: serve it with `serveLocal(app.fetch)`. */
export function createMockApi(options: MockApiOptions = {}): Hono {
  const clock = options.clock ?? systemClock;
  const uuid = options.uuid ?? (() => crypto.randomUUID());
  const app = new Hono();

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
    await sleep(Math.min(seconds, 10) * 1000, { clock, signal: c.req.raw.signal });
    return c.json({ delayed: Math.min(seconds, 10), url: c.req.url });
  });
  app.get('/status/:code', (c) => {
    const code = Number(c.req.param('code'));
    if (!Number.isInteger(code) || code < 200 || code > 599)
      return c.json({ error: 'bad status' }, 400);
    return c.body(null, code as 200);
  });
  return app;
}
