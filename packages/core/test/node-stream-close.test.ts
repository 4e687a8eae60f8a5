// Review D9 of rv-core4: a timeout (or cancellation) around a helper over a Node.js
// `Readable` waiting for data must settle at its deadline, and the stream must be destroyed
// so that a socket is not leaked. Node's stream async iterator queues `return()` behind the
// pending read, so a close by `return()` alone waited forever. Runs on Node, Bun and Deno
// (all three have node:net and node:stream).
import net from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TimeoutError } from '../src/errors.ts';
import { batch } from '../src/iter/batch.ts';
import { buffer } from '../src/iter/buffer.ts';
import { mapConcurrent } from '../src/iter/map-concurrent.ts';
import { merge } from '../src/iter/merge.ts';
import { take } from '../src/iter/take.ts';
import { map } from '../src/map.ts';
import { run } from '../src/run.ts';
import { timeout } from '../src/timeout.ts';

type Stream = AsyncIterable<unknown> & { destroyed: boolean; destroy(): unknown };

let server: net.Server;
const accepted: net.Socket[] = [];

beforeAll(async () => {
  // Accepts connections and never writes to them.
  server = net.createServer((socket) => {
    accepted.push(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  for (const socket of accepted) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function connectedSocket(): Promise<Stream> {
  const { port } = server.address() as net.AddressInfo;
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket as unknown as Stream;
}

const sources: Record<string, () => Promise<Stream>> = {
  'a node:net socket with no data': connectedSocket,
  'an objectMode Readable that never pushes': async () =>
    new Readable({ objectMode: true, read() {} }) as unknown as Stream,
};

const loops: Record<string, (src: Stream) => Promise<unknown>> = {
  buffer: async (src) => {
    for await (const _ of buffer(src, { size: 4 }));
  },
  take: async (src) => {
    for await (const _ of take(src, { count: 4 }));
  },
  merge: async (src) => {
    for await (const _ of merge([src]));
  },
  batch: async (src) => {
    for await (const _ of batch(src, { size: 2 }));
  },
  mapConcurrent: async (src) => {
    for await (const _ of mapConcurrent(src, (x) => x, { concurrency: 2 }));
  },
  map: (src) => map(src, (x) => x),
};

/** `promise`'s outcome, or 'still pending' if it has not settled after `ms` (real time). */
function within<T>(promise: Promise<T>, ms = 3000): Promise<T | 'still pending'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<'still pending'>((resolve) => {
    timer = setTimeout(() => resolve('still pending'), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

describe('a timeout around a helper over a Node.js Readable waiting for data (review D9)', () => {
  for (const [kind, open] of Object.entries(sources)) {
    for (const [name, loop] of Object.entries(loops)) {
      test(`${name} over ${kind}: timeout() rejects with TimeoutError at its deadline and the stream is destroyed`, async () => {
        const stream = await open();
        const outcome = await within(
          run(() => timeout(20, () => loop(stream))).then(
            () => 'resolved',
            (error: unknown) => error,
          ),
        );
        try {
          expect(outcome).toBeInstanceOf(TimeoutError);
          expect(stream.destroyed).toBe(true);
        } finally {
          stream.destroy();
        }
      });
    }
  }

  test('outside any task: buffer with an aborting signal rejects and destroys the socket', async () => {
    const stream = await connectedSocket();
    const signal = AbortSignal.timeout(20);
    const outcome = await within(
      (async () => {
        for await (const _ of buffer(stream, { size: 2, signal }));
      })().then(
        () => 'resolved',
        (error: unknown) => error,
      ),
    );
    try {
      expect(outcome).toBe(signal.reason);
      expect(stream.destroyed).toBe(true);
    } finally {
      stream.destroy();
    }
  });

  test('outside any task: map with a timeout rejects with TimeoutError and destroys the socket', async () => {
    const stream = await connectedSocket();
    const outcome = await within(
      map(stream, (x) => x, { timeout: 20 }).then(
        () => 'resolved',
        (error: unknown) => error,
      ),
    );
    try {
      expect(outcome).toBeInstanceOf(TimeoutError);
      expect(stream.destroyed).toBe(true);
    } finally {
      stream.destroy();
    }
  });

  test('a Readable that ends by itself is read to the end, items intact, and not reported as failed', async () => {
    const stream = Readable.from([1, 2, 3]);
    const seen: unknown[] = [];
    for await (const x of buffer(stream, { size: 2 })) seen.push(x);
    expect(seen).toEqual([1, 2, 3]);
    expect(await map(Readable.from(['a', 'b']), (x) => x)).toEqual(['a', 'b']);
  });

  test('a stream error while a read is pending still rejects the loop with that error', async () => {
    const stream = new Readable({ objectMode: true, read() {} });
    const boom = new Error('boom');
    setTimeout(() => stream.destroy(boom), 5);
    const outcome = await within(
      (async () => {
        for await (const _ of buffer(stream, { size: 2 }));
      })().then(
        () => 'resolved',
        (error: unknown) => error,
      ),
    );
    expect(outcome).toBe(boom);
  });
});
