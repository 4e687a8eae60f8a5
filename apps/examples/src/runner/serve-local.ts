// One small adapter over each runtime's own HTTP server: Bun.serve, Deno.serve, or
// @hono/node-server on Node. Everything above it (the mock upstream, the dashboard
// service, the Effect example) is the same code on the three runtimes.
//
// What the adapter guarantees on all three, because the service relies on it:
// - a request's `signal` aborts when its client disconnects;
// - `close()` stops listening, drops every connection (so the requests still being
//   handled see their `signal` abort), and resolves only once every handler has returned;
// - `handling` counts the requests whose handler has not returned yet, and `idle()`
//   waits for it to reach 0 (the load run's "no socket held" check).
//
// Deno note: Deno.serve (2.x) aborts `request.signal` after every *successful* response
// too ("legacy abort") and prints a one-time warning once a handler has looked at the
// signal. Handlers here remove their listeners before they return, so it is harmless;
// `deno run --unstable-no-legacy-abort` turns the old behaviour (and the warning) off.

/** A fetch handler: what Hono's `app.fetch` is. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** A server started by {@link serveLocal}. */
export interface LocalServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Requests whose handler has not returned yet. */
  readonly handling: number;
  /** Resolves once no handler is running (at once when none is). */
  idle(): Promise<void>;
  /**
   * Stops listening, closes every connection, idle or not (a request still being handled
   * sees its `signal` abort), and resolves once every handler has returned. Safe to call
   * more than once.
   */
  close(): Promise<void>;
}

/** Options of {@link serveLocal}. */
export interface ServeOptions {
  /** @default 0 (a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  hostname?: string;
}

declare const Bun: {
  serve(options: { fetch: FetchHandler; port: number; hostname: string; idleTimeout?: number }): {
    port: number;
    stop(closeActiveConnections?: boolean): Promise<void> | void;
  };
};
declare const Deno: {
  serve(
    options: { port: number; hostname: string; signal?: AbortSignal; onListen?: () => void },
    handler: FetchHandler,
  ): { addr: { port: number }; finished: Promise<void>; shutdown(): Promise<void> };
};

/** Which runtime serves: for messages. */
export function runtimeName(): 'bun' | 'deno' | 'node' {
  if (typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined') return 'bun';
  if (typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined') return 'deno';
  return 'node';
}

/** Counts running handlers and lets `idle()` wait for none. */
class InFlight {
  count = 0;
  #waiters: (() => void)[] = [];

  wrap(fetch: FetchHandler): FetchHandler {
    return async (request) => {
      this.count++;
      try {
        return await fetch(request);
      } finally {
        if (--this.count === 0) {
          const waiters = this.#waiters;
          this.#waiters = [];
          for (const wake of waiters) wake();
        }
      }
    };
  }

  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/**
 * Serves `fetch` on 127.0.0.1 (a free port unless `port` is given) with the runtime's own
 * server: `Bun.serve`, `Deno.serve`, or `@hono/node-server` on Node (with
 * `overrideGlobalObjects: false`, so the process's own `Request`/`Response` stay the
 * runtime's). A request's `signal` aborts when its client disconnects, on all three.
 * Rejects when the port cannot be bound.
 *
 * @example
 * ```ts
 * import { Hono } from 'hono';
 *
 * const app = new Hono().get('/', (c) => c.text('hi'));
 * await using server = await serveLocal(app.fetch);
 * console.log(await (await fetch(server.url)).text()); // hi
 * ```
 */
export async function serveLocal(
  fetch: FetchHandler,
  options: ServeOptions = {},
): Promise<LocalServer> {
  const port = options.port ?? 0;
  const hostname = options.hostname ?? '127.0.0.1';
  const inFlight = new InFlight();
  const handler = inFlight.wrap(fetch);
  const make = (actualPort: number, stop: () => Promise<void>): LocalServer => {
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= stop().then(() => inFlight.idle());
      return closing;
    };
    return {
      url: `http://${hostname}:${actualPort}`,
      port: actualPort,
      get handling() {
        return inFlight.count;
      },
      idle: () => inFlight.idle(),
      close,
      [Symbol.asyncDispose]: close,
    };
  };
  const runtime = runtimeName();
  if (runtime === 'bun') {
    // idleTimeout 0: a slow request (a stalled upstream) is the service's business, not Bun's.
    const server = Bun.serve({ fetch: handler, port, hostname, idleTimeout: 0 });
    return make(server.port, async () => {
      await server.stop(true);
    });
  }
  if (runtime === 'deno') {
    // `shutdown()` would wait for every request in flight, however long it hangs; the
    // abort signal closes the connections at once and aborts the requests' signals.
    const abort = new AbortController();
    const server = Deno.serve(
      { port, hostname, signal: abort.signal, onListen: () => {} },
      handler,
    );
    return make(server.addr.port, async () => {
      abort.abort();
      await server.finished;
    });
  }
  const { serve } = await import('@hono/node-server');
  return new Promise<LocalServer>((resolve, reject) => {
    // overrideGlobalObjects: false keeps the global Request/Response untouched, so a
    // client in the same process (the examples, the tests) uses the real ones.
    const server = serve(
      { fetch: handler, port, hostname, overrideGlobalObjects: false },
      (info) => {
        server.off('error', reject);
        // Once listening, a server error (say, out of file descriptors) is reported, not
        // thrown as an uncaught 'error' event.
        server.on('error', (error) => console.error('serveLocal:', error));
        resolve(
          make(
            info.port,
            () =>
              new Promise<void>((done) => {
                server.close(() => done());
                (server as { closeAllConnections?: () => void }).closeAllConnections?.();
              }),
          ),
        );
      },
    );
    server.once('error', reject);
  });
}
