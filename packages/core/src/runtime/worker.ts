// Runtime-specific worker threads: `worker_threads` on Node and Deno, the Web `Worker` on
// Bun (and browsers). Detected on first use, never at import time.
//
// Why not the Web Worker on Deno: its `terminate()` does not stop a thread busy in an
// endless loop (the isolate spins on and the process never exits), while Deno's
// `node:worker_threads` does (Deno kills the busy isolate about 2 s later, its own grace
// period, and lets the process exit). Bun's Web Worker stops such a thread at once.

/** What a worker reports to its owner. */
export interface WorkerEvents {
  /** A message posted by the worker. */
  message(data: unknown): void;
  /** The worker failed outside a call (uncaught error, undeliverable message) or exited. */
  fault(error: unknown): void;
}

/** One worker thread, whatever the runtime. */
export interface WorkerHandle {
  /** Posts a message to the worker; throws a `DataCloneError` if it cannot be cloned. */
  post(message: unknown, transfer?: readonly Transferable[]): void;
  /**
   * Stops the worker. Resolves once the runtime says it has stopped: on Node after its
   * `exit` event, on Bun after its `close` event. On Deno `terminate()` resolves at once
   * and a thread busy in JavaScript is killed about 2 s later (Deno's grace period).
   */
  terminate(): Promise<void>;
  /** Whether the worker keeps the process alive. */
  hold(busy: boolean): void;
}

type Factory = (events: WorkerEvents) => WorkerHandle;

// The worker side, shared by both runtimes: it imports the module, calls the export and
// posts back `{ id, ok, value }` or `{ id, ok: false, fault, error }`. Errors travel as
// plain objects (name, message, stack, own properties, cause) so that nothing about them
// depends on a runtime's structured-clone support for Error.
const BODY = `
const isError = (e) => e instanceof Error || (e !== null && typeof e === 'object' && typeof e.message === 'string' && typeof e.name === 'string');
const ser = (e, depth, props) => {
  if (!isError(e) || depth > 8) return { thrown: e };
  const out = { name: String(e.name), message: String(e.message), stack: typeof e.stack === 'string' ? e.stack : undefined, props: {} };
  if (props) for (const k of Object.keys(e)) if (k !== 'cause' && k !== 'stack' && k !== 'message' && k !== 'name') out.props[k] = e[k];
  if ('cause' in e) out.cause = ser(e.cause, depth + 1, props);
  return out;
};
const plain = (e, depth) => {
  if (!isError(e) || depth > 8) { let text; try { text = String(e); } catch { text = typeof e; } return { thrown: text }; }
  const out = { name: String(e.name), message: String(e.message), stack: typeof e.stack === 'string' ? e.stack : undefined, props: {} };
  if ('cause' in e) out.cause = plain(e.cause, depth + 1);
  return out;
};
const reply = (r) => {
  try { post(r); return; } catch (e) {
    if (r.ok) { reply({ id: r.id, ok: false, fault: 'clone', error: ser(e, 0, true) }); return; }
  }
  post({ id: r.id, ok: false, fault: r.fault, error: plain(r.raw, 0) });
};
const handle = async (m) => {
  let mod;
  try { mod = await import(m.url); } catch (e) { reply({ id: m.id, ok: false, fault: 'load', error: ser(e, 0, true), raw: e }); return; }
  const fn = mod[m.name];
  if (typeof fn !== 'function') { reply({ id: m.id, ok: false, fault: 'export', error: { thrown: typeof fn } }); return; }
  let value;
  try { value = await fn(...m.args); } catch (e) { reply({ id: m.id, ok: false, fault: 'throw', error: ser(e, 0, true), raw: e }); return; }
  reply({ id: m.id, ok: true, value });
};
`;
// `raw` never crosses: it is deleted before the first post attempt.
const NODE_BOOT = `'use strict';
const { parentPort } = require('node:worker_threads');
const post = (m) => { const raw = m.raw; delete m.raw; try { parentPort.postMessage(m); } finally { m.raw = raw; } };
${BODY}
parentPort.on('message', (m) => { void handle(m); });
`;
const WEB_BOOT = `
const post = (m) => { const raw = m.raw; delete m.raw; try { self.postMessage(m); } finally { m.raw = raw; } };
${BODY}
self.addEventListener('message', (e) => { void handle(e.data); });
`;

interface NodeWorker {
  on(event: string, listener: (arg: unknown) => void): unknown;
  postMessage(value: unknown, transfer?: readonly Transferable[]): void;
  terminate(): Promise<unknown>;
  ref(): void;
  unref(): void;
}

interface NodeWorkerThreads {
  Worker: new (code: string, options: { eval: boolean }) => NodeWorker;
}

interface WebWorker {
  addEventListener(type: string, listener: (event: Event) => void): void;
  postMessage(value: unknown, transfer?: Transferable[]): void;
  terminate(): void;
  ref?(): void;
  unref?(): void;
}

function nodeFactory(threads: NodeWorkerThreads): Factory {
  return (events) => {
    const worker = new threads.Worker(NODE_BOOT, { eval: true });
    let stopping = false;
    let exited: Promise<void> | undefined;
    worker.on('message', (data) => events.message(data));
    worker.on('error', (error) => {
      if (!stopping) events.fault(error);
    });
    worker.on('messageerror', (error) => {
      if (!stopping) events.fault(error);
    });
    worker.on('exit', (code) => {
      if (!stopping) events.fault(new Error(`The worker exited with code ${String(code)}`));
    });
    return {
      post: (message, transfer) => worker.postMessage(message, transfer),
      terminate: () => {
        stopping = true;
        exited ??= worker.terminate().then(
          () => {},
          () => {},
        );
        return exited;
      },
      hold: (busy) => (busy ? worker.ref() : worker.unref()),
    };
  };
}

function webFactory(
  WorkerCtor: new (url: string, options: { type: 'module' }) => WebWorker,
  reportsClose: boolean,
): Factory {
  const url = `data:text/javascript,${encodeURIComponent(WEB_BOOT)}`;
  return (events) => {
    const worker = new WorkerCtor(url, { type: 'module' });
    let stopping = false;
    let closed: Promise<void> | undefined;
    // Bun reports the thread's end with a `close` event; a browser reports nothing.
    const onClose = reportsClose
      ? new Promise<void>((resolve) => worker.addEventListener('close', () => resolve()))
      : undefined;
    worker.addEventListener('message', (event) => events.message((event as MessageEvent).data));
    worker.addEventListener('error', (event) => {
      // Unhandled, a worker's error would be re-thrown in the parent (Deno ends the process).
      event.preventDefault();
      if (stopping) return;
      const e = event as ErrorEvent;
      events.fault(e.error ?? new Error(e.message || 'The worker failed'));
    });
    worker.addEventListener('messageerror', () => {
      if (!stopping) events.fault(new Error('A message from the worker could not be deserialized'));
    });
    // The thread ended on its own (`process.exit`, `self.close()`, a crash): whatever it
    // was running will never answer.
    worker.addEventListener('close', (event) => {
      if (stopping) return;
      const code = (event as Event & { code?: unknown }).code;
      events.fault(
        new Error(
          typeof code === 'number' ? `The worker exited with code ${code}` : 'The worker exited',
        ),
      );
    });
    return {
      post: (message, transfer) => worker.postMessage(message, transfer ? [...transfer] : []),
      terminate: () => {
        if (closed === undefined) {
          stopping = true;
          worker.terminate();
          closed = onClose ?? Promise.resolve();
        }
        return closed;
      },
      hold: (busy) => (busy ? worker.ref?.() : worker.unref?.()),
    };
  };
}

// The one piece of module state this concern needs: the factory, found on first use.
let factory: Factory | null | undefined;

function detect(): Factory | null {
  const g = globalThis as {
    Bun?: unknown;
    Worker?: new (url: string, options: { type: 'module' }) => WebWorker;
    process?: { getBuiltinModule?: (id: string) => unknown };
  };
  if (g.Bun !== undefined && typeof g.Worker === 'function') return webFactory(g.Worker, true);
  try {
    // Node, and Deno (see the top of this file for why not its Web Worker).
    const threads = g.process?.getBuiltinModule?.('node:worker_threads') as
      | NodeWorkerThreads
      | undefined;
    if (typeof threads?.Worker === 'function') return nodeFactory(threads);
  } catch {
    // fall through to the Web Worker, if any
  }
  return typeof g.Worker === 'function' ? webFactory(g.Worker, false) : null;
}

/**
 * Starts a worker thread running weft's call loop. Throws an `Error` when the runtime has
 * no worker threads, or whatever the runtime throws when it cannot start one.
 */
export function startWorker(events: WorkerEvents): WorkerHandle {
  if (factory === undefined) factory = detect();
  if (factory === null) {
    throw new Error('This runtime has neither node:worker_threads nor a Web Worker');
  }
  return factory(events);
}

/** How many threads the machine can run at once (at least 1). */
export function hardwareConcurrency(): number {
  const g = globalThis as {
    navigator?: { hardwareConcurrency?: number };
    process?: { getBuiltinModule?: (id: string) => unknown };
  };
  let n = g.navigator?.hardwareConcurrency;
  if (typeof n !== 'number') {
    try {
      const os = g.process?.getBuiltinModule?.('node:os') as
        | { availableParallelism?: () => number }
        | undefined;
      n = os?.availableParallelism?.();
    } catch {
      n = undefined;
    }
  }
  return typeof n === 'number' && n >= 1 ? Math.floor(n) : 1;
}
