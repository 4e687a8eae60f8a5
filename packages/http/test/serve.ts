// The one runtime-specific piece of the tests: serves a fetch handler on 127.0.0.1, port 0,
// with each runtime's own server (@hono/node-server on Node, Bun.serve, Deno.serve).

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

type Handler = (request: Request) => Response | Promise<Response>;

declare const Bun: {
  serve(options: { fetch: Handler; port: number; hostname: string }): {
    port: number;
    stop(closeActiveConnections?: boolean): Promise<void> | void;
  };
};
declare const Deno: {
  serve(
    options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void },
    handler: Handler,
  ): { addr: { port: number }; shutdown(): Promise<void>; finished: Promise<void> };
};

export const runtime: 'node' | 'bun' | 'deno' =
  typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined'
    ? 'bun'
    : typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined'
      ? 'deno'
      : 'node';

export async function serve(fetch: Handler): Promise<TestServer> {
  if (runtime === 'bun') {
    const server = Bun.serve({ fetch, port: 0, hostname: '127.0.0.1' });
    return {
      url: `http://127.0.0.1:${server.port}`,
      port: server.port,
      close: async () => {
        await server.stop(true);
      },
    };
  }
  if (runtime === 'deno') {
    const server = Deno.serve({ port: 0, hostname: '127.0.0.1', onListen: () => {} }, fetch);
    const port = server.addr.port;
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      close: async () => {
        await server.shutdown();
      },
    };
  }
  const { serve: nodeServe } = await import('@hono/node-server');
  const sockets = new Set<{ destroy(): void }>();
  const { server, port } = await new Promise<{
    server: ReturnType<typeof nodeServe>;
    port: number;
  }>((resolve) => {
    const s = nodeServe(
      { fetch, port: 0, hostname: '127.0.0.1', overrideGlobalObjects: false },
      (info) => resolve({ server: s, port: info.port }),
    );
    s.on('connection', (socket: { destroy(): void; on(e: string, f: () => void): void }) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server = await serve(() => new Response('x'));
  await server.close();
  return server.port;
}
