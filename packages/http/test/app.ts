// A misbehaving Hono app to test the client against: delays, slow headers, dripping and
// broken bodies, any status, Retry-After, invalid JSON, oversized bodies, redirect loops,
// cross-origin redirects, an echo of the request, NDJSON and SSE streams. It counts the
// streams it has open so a test can check that the client cancelled every body.
import { Hono } from 'hono';

export interface TestApp {
  app: Hono;
  /** Streamed responses not yet finished or cancelled by the client. */
  readonly openStreams: number;
  /** The most `/delay` requests in flight at once since the last reset. */
  readonly peakDelays: number;
  /** Requests seen per key (path, or `key` query parameter). */
  hits(key: string): number;
  /** Resolves when the next request for `path` arrives. */
  arrived(path: string): Promise<void>;
  reset(): void;
}

const enc = new TextEncoder();

function abortable(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function createTestApp(): TestApp {
  const app = new Hono();
  let open = 0;
  let delays = 0;
  let peakDelays = 0;
  const counts = new Map<string, number>();
  const waiters = new Map<string, Array<() => void>>();

  app.use(async (c, next) => {
    const key = c.req.query('key') ?? c.req.path;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const list = waiters.get(c.req.path);
    if (list) {
      waiters.delete(c.req.path);
      for (const w of list) w();
    }
    await next();
  });

  /** A streamed body: `chunks` pieces from `piece(i)`, `interval` ms apart; `fail` errors the stream after that many. */
  const stream = (
    signal: AbortSignal,
    chunks: number,
    interval: number,
    piece: (i: number) => string,
    fail?: number,
  ): ReadableStream<Uint8Array> => {
    let i = 0;
    let done = false;
    open++;
    const finish = (): void => {
      if (!done) {
        done = true;
        open--;
      }
    };
    signal.addEventListener('abort', finish, { once: true });
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (i > 0 && interval > 0 && !(await abortable(interval, signal))) {
          finish();
          return;
        }
        if (fail !== undefined && i === fail) {
          finish();
          controller.error(new Error('connection broken on purpose'));
          return;
        }
        if (i >= chunks) {
          finish();
          controller.close();
          return;
        }
        controller.enqueue(enc.encode(piece(i++)));
      },
      cancel() {
        finish();
      },
    });
  };

  app.get('/json', (c) => c.json({ id: 1, title: 'hello', tags: ['a', 'b'] }));
  app.get('/text/:size', (c) => c.text('x'.repeat(Number(c.req.param('size')))));
  app.get('/delay/:ms', async (c) => {
    delays++;
    peakDelays = Math.max(peakDelays, delays);
    try {
      await abortable(Number(c.req.param('ms')), c.req.raw.signal);
    } finally {
      delays--;
    }
    return c.text(`late ${c.req.query('i') ?? ''}`);
  });
  // Headers only after `ms`; meanwhile nothing.
  app.get('/slow-headers', async (c) => {
    await abortable(Number(c.req.query('ms') ?? 60_000), c.req.raw.signal);
    return c.text('finally');
  });
  app.get('/drip', (c) => {
    const chunks = Number(c.req.query('chunks') ?? 5);
    const interval = Number(c.req.query('interval') ?? 10);
    const size = Number(c.req.query('size') ?? 0);
    const headers: Record<string, string> = { 'content-type': 'text/plain' };
    return new Response(
      stream(c.req.raw.signal, chunks, interval, () => (size > 0 ? 'x'.repeat(size) : 'drip\n')),
      { headers },
    );
  });
  app.get('/broken', (c) => {
    const after = Number(c.req.query('after') ?? 2);
    return new Response(
      stream(c.req.raw.signal, after + 10, 5, () => 'y'.repeat(1024), after),
      { headers: { 'content-type': 'text/plain' } },
    );
  });
  app.all('/status/:code', (c) => {
    const code = Number(c.req.param('code'));
    return new Response(code === 204 || code === 304 ? null : `status ${code}`, { status: code });
  });
  // Fails the first `fail` requests of `key` with `status` (and the headers asked for).
  app.all('/flaky', (c) => {
    const key = c.req.query('key') ?? 'flaky';
    const fail = Number(c.req.query('fail') ?? 1);
    const status = Number(c.req.query('status') ?? 503);
    if ((counts.get(key) ?? 0) <= fail) {
      const headers: Record<string, string> = {};
      const retryAfter = c.req.query('retryAfter');
      if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
      const reset = c.req.query('reset');
      if (reset !== undefined) headers['ratelimit-reset'] = reset;
      return new Response(`try again (${counts.get(key)})`, { status, headers });
    }
    return c.json({ ok: true, attempts: counts.get(key) });
  });
  app.get(
    '/invalid-json',
    () => new Response('{"id": 1, oops', { headers: { 'content-type': 'application/json' } }),
  );
  app.get('/big', (c) => {
    const size = Number(c.req.query('size') ?? 1_000_000);
    const chunked = c.req.query('chunked') === '1';
    const chunk = 'z'.repeat(16 * 1024);
    const count = Math.ceil(size / chunk.length);
    if (chunked) return new Response(stream(c.req.raw.signal, count, 0, () => chunk));
    return c.text('z'.repeat(size));
  });
  app.get('/error-page', (c) => c.text('E'.repeat(Number(c.req.query('size') ?? 200_000)), 500));
  app.get('/redirect-loop', (c) => c.redirect('/redirect-loop', 302));
  app.get('/redirect/:n', (c) => {
    const n = Number(c.req.param('n'));
    return n <= 0 ? c.redirect('/headers', 302) : c.redirect(`/redirect/${n - 1}`, 302);
  });
  app.all('/redirect-to', (c) =>
    c.redirect(c.req.query('url') ?? '/headers', Number(c.req.query('status') ?? 302) as 302),
  );
  app.all('/headers', (c) => {
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((value, key) => {
      headers[key] = value;
    });
    return c.json({ method: c.req.method, headers, url: c.req.url });
  });
  app.all('/echo', async (c) =>
    c.json({
      method: c.req.method,
      query: c.req.queries(),
      contentType: c.req.header('content-type') ?? null,
      body: await c.req.text(),
    }),
  );
  app.get('/ndjson', (c) => {
    const n = Number(c.req.query('n') ?? 3);
    return new Response(
      stream(c.req.raw.signal, n, 0, (i) => `${JSON.stringify({ i })}\n`),
      {
        headers: { 'content-type': 'application/x-ndjson' },
      },
    );
  });
  app.get('/sse', (c) => {
    const n = Number(c.req.query('n') ?? 3);
    const interval = Number(c.req.query('interval') ?? 0);
    return new Response(
      stream(c.req.raw.signal, n, interval, (i) =>
        i === 0
          ? `: comment\nretry: 1000\nid: ${i}\ndata: first\ndata: line\n\n`
          : `event: tick\nid: ${i}\ndata: ${i}\n\n`,
      ),
      { headers: { 'content-type': 'text/event-stream' } },
    );
  });

  // One event made of `n` short data lines, one per chunk (then a blank line ends it).
  app.get('/sse-long', (c) => {
    const n = Number(c.req.query('n') ?? 50);
    return new Response(
      stream(c.req.raw.signal, n + 1, 0, (i) => (i < n ? 'data: 0123456789\n' : '\n')),
      { headers: { 'content-type': 'text/event-stream' } },
    );
  });

  return {
    app,
    get openStreams() {
      return open;
    },
    get peakDelays() {
      return peakDelays;
    },
    hits: (key) => counts.get(key) ?? 0,
    arrived: (path) =>
      new Promise<void>((resolve) => {
        const list = waiters.get(path) ?? [];
        list.push(resolve);
        waiters.set(path, list);
      }),
    reset: () => {
      counts.clear();
      peakDelays = 0;
    },
  };
}
