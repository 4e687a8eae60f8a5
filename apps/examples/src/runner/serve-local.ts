// One small adapter over each runtime's own HTTP server: Bun.serve, Deno.serve, or
// @hono/node-server on Node. Everything above it (the mock upstream, the dashboard
// service, the Effect example) is the same code on the three runtimes.

/** A fetch handler: what Hono's `app.fetch` is. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

export interface LocalServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Stops listening and closes every connection, idle or not. */
  close(): Promise<void>;
}

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
    options: { port: number; hostname: string; onListen?: () => void },
    handler: FetchHandler,
  ): { addr: { port: number }; shutdown(): Promise<void> };
};

/** Which runtime serves: for messages. */
export function runtimeName(): 'bun' | 'deno' | 'node' {
  if (typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined') return 'bun';
  if (typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined') return 'deno';
  return 'node';
}

/**
 * Serves `fetch` on 127.0.0.1 (a free port unless `port` is given) with the runtime's own
 * server. A request's `signal` aborts when its client disconnects, on all three.
 */
export async function serveLocal(
  fetch: FetchHandler,
  options: ServeOptions = {},
): Promise<LocalServer> {
  const port = options.port ?? 0;
  const hostname = options.hostname ?? '127.0.0.1';
  const make = (actualPort: number, close: () => Promise<void>): LocalServer => {
    let closing: Promise<void> | undefined;
    const once = (): Promise<void> => {
      closing ??= close();
      return closing;
    };
    return {
      url: `http://${hostname}:${actualPort}`,
      port: actualPort,
      close: once,
      [Symbol.asyncDispose]: once,
    };
  };
  const runtime = runtimeName();
  if (runtime === 'bun') {
    // idleTimeout 0: a slow request (a stalled upstream) is the service's business, not Bun's.
    const server = Bun.serve({ fetch, port, hostname, idleTimeout: 0 });
    return make(server.port, async () => {
      await server.stop(true);
    });
  }
  if (runtime === 'deno') {
    const server = Deno.serve({ port, hostname, onListen: () => {} }, fetch);
    return make(server.addr.port, () => server.shutdown());
  }
  const { serve } = await import('@hono/node-server');
  return new Promise<LocalServer>((resolve, reject) => {
    // overrideGlobalObjects: false keeps the global Request/Response untouched, so a
    // client in the same process (the examples, the tests) uses the real ones.
    const server = serve({ fetch, port, hostname, overrideGlobalObjects: false }, (info) =>
      resolve(
        make(
          info.port,
          () =>
            new Promise<void>((done) => {
              server.close(() => done());
              (server as { closeAllConnections?: () => void }).closeAllConnections?.();
            }),
        ),
      ),
    );
    server.once('error', reject);
  });
}
