// Runtime-specific workers: `worker_threads` on Node, the Web `Worker` on Bun (and
// browsers), a child process on Deno. Detected on first use, never at import time.
//
// Why a child process on Deno: in Deno 2.9 neither its Web Worker's `terminate()` nor its
// `node:worker_threads` `terminate()` stops a thread busy in an endless loop: the isolate
// spins on at 100 % of a core for as long as the process lives (measured: a full core
// still used 4 s after `terminate()`, both APIs, with or without a pending message; the
// upstream fix, denoland/deno#35657, is not released). Killing a child process with
// SIGKILL always works. Without the `run` (for `Deno.execPath()`) and `env` permissions, or in a
// `deno compile` binary, Deno falls back to `node:worker_threads` (and that limit).

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
   * `exit` event, on Bun after its `close` event, on Deno once the child process has
   * exited (SIGKILL). Deno's thread fallback resolves at once but may never stop a thread
   * busy in JavaScript (see the top of this file).
   */
  terminate(): Promise<void>;
  /** Whether the worker keeps the process alive. */
  hold(busy: boolean): void;
}

type Factory = (events: WorkerEvents) => WorkerHandle;

// The worker side, shared by both runtimes: it imports the module, calls the export and
// posts back `{ id, ok, value }` or `{ id, ok: false, fault, error }`. Errors travel as
// plain objects (name, message, stack, own properties, cause, an AggregateError's
// `errors`) so that nothing about them
// depends on a runtime's structured-clone support for Error.
const BODY = `
const isError = (e) => e instanceof Error || (e !== null && typeof e === 'object' && typeof e.message === 'string' && typeof e.name === 'string');
const ser = (e, depth, props) => {
  if (!isError(e) || depth > 8) return { thrown: e };
  const out = { name: String(e.name), message: String(e.message), stack: typeof e.stack === 'string' ? e.stack : undefined, props: {} };
  if (props) for (const k of Object.keys(e)) if (k !== 'cause' && k !== 'stack' && k !== 'message' && k !== 'name') { try { out.props[k] = e[k]; } catch {} }
  if ('cause' in e) out.cause = ser(e.cause, depth + 1, props);
  if (Array.isArray(e.errors)) out.errors = e.errors.map((x) => ser(x, depth + 1, props));
  return out;
};
// The fallback when the error did not clone: each own property that clones is kept, one
// that does not (a function, a socket) is left out alone (review D3).
// A value that is not an error: kept when it clones; an object keeps the own properties
// that clone; anything else (a function, a symbol) is left out when it is a cause
// (undefined), and only the thrown value itself is described by its type.
const clones = (v) => { try { structuredClone(v); return true; } catch { return false; } };
const keep = (v) => {
  if (clones(v)) return { thrown: v };
  if (v !== null && typeof v === 'object') {
    const o = {};
    try { for (const k of Object.keys(v)) { try { const x = v[k]; if (clones(x)) o[k] = x; } catch {} } } catch {}
    return { thrown: o };
  }
  return undefined;
};
const plain = (e, depth) => {
  if (!isError(e) || depth > 8) return keep(e) ?? (depth === 0 ? { thrown: typeof e } : undefined);
  const out = { name: String(e.name), message: String(e.message), stack: typeof e.stack === 'string' ? e.stack : undefined, props: {} };
  try {
    for (const k of Object.keys(e)) {
      if (k === 'cause' || k === 'stack' || k === 'message' || k === 'name' || k === 'errors') continue;
      try { const v = e[k]; if (clones(v)) out.props[k] = v; } catch {}
    }
  } catch {}
  if ('cause' in e) { const c = plain(e.cause, depth + 1); if (c !== undefined) out.cause = c; }
  if (Array.isArray(e.errors)) out.errors = e.errors.map((x) => plain(x, depth + 1) ?? { thrown: undefined });
  return out;
};
// The call running now (0 when idle), and whether the worker crashed: an uncaught error or
// unhandled rejection is posted as { id: current, fault: 'uncaught' }, so the owner can
// tell a crash during a call from a leftover of an earlier one, and a crashed worker runs
// nothing more (its owner stops it).
let current = 0;
let crashed = false;
const crash = (e) => {
  if (crashed) return;
  crashed = true;
  const id = current;
  current = 0;
  try { post({ id, ok: false, fault: 'uncaught', error: plain(e, 0) }); } catch {}
};
const reply = (r) => {
  if (crashed) return;
  current = 0;
  try { post(r); return; } catch (e) {
    if (r.ok) { reply({ id: r.id, ok: false, fault: 'clone', error: ser(e, 0, true) }); return; }
  }
  post({ id: r.id, ok: false, fault: r.fault, error: plain(r.raw, 0) });
};
const handle = async (m) => {
  if (crashed) return;
  current = m.id;
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
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
parentPort.on('message', (m) => { void handle(m); });
`;
const WEB_BOOT = `
const post = (m) => { const raw = m.raw; delete m.raw; try { self.postMessage(m); } finally { m.raw = raw; } };
${BODY}
self.addEventListener('error', (e) => { e.preventDefault(); crash(e.error ?? new Error(e.message)); });
self.addEventListener('unhandledrejection', (e) => { e.preventDefault(); crash(e.reason); });
self.addEventListener('message', (e) => { void handle(e.data); });
`;

// Deno's child process: messages cross the extra pipe on fd 3 as a 4-byte big-endian
// length and a `node:v8` serialization (the structured-clone format: Date, Map, Set,
// typed arrays, BigInt… but no SharedArrayBuffer and no transfer of ownership).
// stdout and stderr are the parent's. The call runs in a thread of the child (the same
// NODE_BOOT as on Node), so the child's main thread is never busy: it relays messages and
// exits as soon as the parent's end of the pipe closes, whatever the thread is doing (the
// parent died, even by SIGKILL). An uncaught error in the thread is posted by BODY; one
// the thread could not catch is posted as `{ id: -1, fault: 'uncaught' }` (the call that
// was running, if any); the thread's exit code becomes the process's.
const PROCESS_BOOT = `
import net from 'node:net';
import v8 from 'node:v8';
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { Worker } from 'node:worker_threads';
const channel = new net.Socket({ fd: 3, readable: true, writable: true });
channel.on('error', () => process.exit(1));
channel.on('close', () => process.exit(0));
const frame = (m) => { const body = v8.serialize(m); const head = Buffer.alloc(4); head.writeUInt32BE(body.length, 0); return Buffer.concat([head, body]); };
const brief = (e) => { try { return e instanceof Error ? { name: String(e.name), message: String(e.message), stack: typeof e.stack === 'string' ? e.stack : undefined, props: {} } : { thrown: String(e) }; } catch { return { thrown: typeof e }; } };
const send = (m, then) => {
  let data;
  // What crossed between threads may still not serialize (a SharedArrayBuffer).
  try { data = frame(m); } catch (e) { data = frame({ id: m.id, ok: false, fault: 'clone', error: brief(e) }); }
  channel.write(data, then);
};
const exit = (code) => channel.write(Buffer.alloc(0), () => process.exit(code));
const die = (e) => send({ id: -1, ok: false, fault: 'uncaught', error: brief(e) }, () => process.exit(1));
globalThis.addEventListener('error', (e) => { e.preventDefault(); die(e.error); });
globalThis.addEventListener('unhandledrejection', (e) => { e.preventDefault(); die(e.reason); });
const thread = new Worker(${JSON.stringify(NODE_BOOT)}, { eval: true });
thread.on('message', (m) => send(m));
thread.on('error', (e) => die(e));
thread.on('exit', (code) => exit(typeof code === 'number' ? code : 1));
// Chunks are kept in a list and joined once per complete frame (linear in its size).
let chunks = [];
let total = 0;
let need = -1;
channel.on('data', (chunk) => {
  chunks.push(chunk);
  total += chunk.length;
  for (;;) {
    if (need < 0) {
      if (total < 4) return;
      if (chunks[0].length < 4) chunks = [Buffer.concat(chunks, total)];
      need = 4 + chunks[0].readUInt32BE(0);
    }
    if (total < need) return;
    const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
    const m = v8.deserialize(all.subarray(4, need));
    const rest = all.subarray(need);
    chunks = rest.length > 0 ? [rest] : [];
    total = rest.length;
    need = -1;
    thread.postMessage(m);
  }
});
`;

/**
 * Splits a byte stream into the frames of PROCESS_BOOT (a 4-byte big-endian length, then
 * that many bytes). Chunks are kept in a list and joined once per complete frame, so a
 * large message costs time linear in its size.
 */
function frameReader(onFrame: (frame: Uint8Array) => void): (chunk: Uint8Array) => void {
  let chunks: Uint8Array[] = [];
  let total = 0;
  let need = -1;
  const join = (): Uint8Array => {
    if (chunks.length === 1) return chunks[0]!;
    const all = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    chunks = [all];
    return all;
  };
  return (chunk) => {
    chunks.push(chunk);
    total += chunk.length;
    for (;;) {
      if (need < 0) {
        if (total < 4) return;
        const head = chunks[0]!.length >= 4 ? chunks[0]! : join();
        need = 4 + new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
      }
      if (total < need) return;
      const all = join();
      const rest = all.subarray(need);
      const frame = all.subarray(4, need);
      chunks = rest.length > 0 ? [rest] : [];
      total = rest.length;
      need = -1;
      onFrame(frame);
    }
  };
}

interface ChildProcess {
  readonly pid: number | undefined;
  readonly stdio: readonly (ChildChannel | null)[];
  readonly exitCode: number | null;
  readonly signalCode: string | null;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  once(event: string, listener: (...args: unknown[]) => void): unknown;
  kill(signal: string): boolean;
  ref(): void;
  unref(): void;
}

interface ChildChannel {
  on(event: string, listener: (arg: unknown) => void): unknown;
  write(data: Uint8Array): boolean;
  ref?(): void;
  unref?(): void;
}

interface DenoProcessModules {
  spawn(
    command: string,
    args: readonly string[],
    options: { stdio: readonly string[]; windowsHide: boolean },
  ): ChildProcess;
  serialize(value: unknown): Uint8Array;
  deserialize(data: Uint8Array): unknown;
}

interface DenoGlobal {
  execPath(): string;
  cwd?(): string;
  statSync?(path: string): { isFile: boolean };
  mainModule?: string;
  permissions?: {
    querySync?(descriptor: { name: string; command?: string }): { state: string };
  };
}

/** The permission flags of this Deno process that a child can be given as they are. */
function denoPermissionFlags(deno: DenoGlobal): string[] {
  const flags = ['--no-prompt'];
  for (const name of ['read', 'write', 'net', 'env', 'run', 'ffi', 'sys', 'import']) {
    try {
      if (deno.permissions?.querySync?.({ name }).state === 'granted')
        flags.push(`--allow-${name}`);
    } catch {
      // an unknown permission name on this Deno version
    }
  }
  return flags;
}

/**
 * `--config` with the `deno.json` (or `deno.jsonc`) that Deno uses for the parent: the
 * first found from the main module's directory up, else from the working directory up.
 * So the worker's modules resolve as the parent's do (import map, `nodeModulesDir`, lock
 * file); Deno applies no config to a `data:` main module unless told. None found, or no
 * permission to look: no flag.
 */
function denoConfigFlags(deno: DenoGlobal): string[] {
  const starts: string[] = [];
  try {
    const main = deno.mainModule;
    if (main?.startsWith('file:') === true) {
      starts.push(decodeURIComponent(new URL('.', main).pathname).replace(/^\/([A-Za-z]:)/, '$1'));
    }
  } catch {
    // not a file URL
  }
  try {
    const cwd = deno.cwd?.();
    if (cwd !== undefined) starts.push(cwd);
  } catch {
    // no read permission for the working directory
  }
  for (const start of starts) {
    let dir: string | undefined = start;
    while (dir !== undefined) {
      for (const name of ['deno.json', 'deno.jsonc']) {
        const path = `${dir.endsWith('/') || dir.endsWith('\\') ? dir : `${dir}/`}${name}`;
        try {
          if (deno.statSync?.(path).isFile === true) return [`--config=${path}`];
        } catch {
          // not there, or no permission to look
        }
      }
      const parent: string = dir.replace(/[\\/][^\\/]*[\\/]?$/, '');
      if (parent !== '') dir = parent === dir ? undefined : parent;
      else dir = dir.startsWith('/') && dir !== '/' ? '/' : undefined;
    }
  }
  return [];
}

function processFactory(deno: DenoGlobal, modules: DenoProcessModules): Factory {
  const url = `data:text/javascript,${encodeURIComponent(PROCESS_BOOT)}`;
  const args = ['run', '--quiet', ...denoPermissionFlags(deno), ...denoConfigFlags(deno), url];
  // The parent also kills what is left as it exits (`Deno.exit()` dispatches `unload`),
  // without waiting for the children to notice the closed pipe.
  const live = new Set<ChildProcess>();
  const killAll = (): void => {
    for (const child of live) child.kill('SIGKILL');
    live.clear();
  };
  (
    globalThis as { addEventListener?: (type: string, listener: () => void) => void }
  ).addEventListener?.('unload', killAll);
  return (events) => {
    const child = modules.spawn(deno.execPath(), args, {
      stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
      windowsHide: true,
    });
    live.add(child);
    const channel = child.stdio[3]!;
    let stopping = false;
    let failed = false;
    let stopped: Promise<void> | undefined;
    const fault = (error: unknown): void => {
      if (stopping || failed) return;
      failed = true;
      events.fault(error);
    };
    const exited = new Promise<void>((resolve) => {
      // A process that could not be started emits `error` and never `exit`.
      child.on('error', () => {
        if (child.pid === undefined) {
          live.delete(child);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        live.delete(child);
        resolve();
        fault(
          new Error(
            typeof code === 'number'
              ? `The worker exited with code ${code}`
              : `The worker exited on ${String(signal)}`,
          ),
        );
      });
    });
    child.on('error', (error) => fault(error));
    channel.on('error', (error) => fault(error));
    // Every message goes to the owner, `fault: 'uncaught'` ones included (see BODY).
    const read = frameReader((frame) => events.message(modules.deserialize(frame)));
    channel.on('data', (chunk) => read(chunk as Uint8Array));
    return {
      post: (message, transfer) => {
        // Only an ArrayBuffer can cross to a process (copied): anything else in the list
        // fails as it does on the other runtimes (review D10), not silently.
        if (transfer !== undefined) {
          for (const item of transfer) {
            if (!(item instanceof ArrayBuffer)) {
              throw new TypeError(
                'Found invalid value in transferList: only an ArrayBuffer can cross to a Deno worker process',
              );
            }
          }
        }
        // Throws (a DataCloneError-like `Error`) for what cannot be serialized.
        const body = modules.serialize(message);
        const framed = new Uint8Array(4 + body.length);
        new DataView(framed.buffer).setUint32(0, body.length);
        framed.set(body, 4);
        channel.write(framed);
      },
      terminate: () => {
        if (stopped === undefined) {
          stopping = true;
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          stopped = exited;
        }
        return stopped;
      },
      hold: (busy) => {
        if (busy) {
          child.ref();
          channel.ref?.();
        } else {
          child.unref();
          channel.unref?.();
        }
      },
    };
  };
}

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
    Deno?: DenoGlobal;
    Worker?: new (url: string, options: { type: 'module' }) => WebWorker;
    process?: { getBuiltinModule?: (id: string) => unknown };
  };
  if (g.Bun !== undefined && typeof g.Worker === 'function') return webFactory(g.Worker, true);
  const deno = g.Deno;
  if (deno !== undefined) {
    try {
      const compiled = deno.mainModule?.includes('/deno-compile-') === true;
      const query = deno.permissions?.querySync;
      // node:child_process needs `env` as well as `run` on Deno.
      const run = query?.({ name: 'run', command: deno.execPath() });
      const env = query?.({ name: 'env' });
      if (!compiled && run?.state === 'granted' && env?.state === 'granted') {
        const cp = g.process?.getBuiltinModule?.('node:child_process') as
          | Pick<DenoProcessModules, 'spawn'>
          | undefined;
        const v8 = g.process?.getBuiltinModule?.('node:v8') as
          | Pick<DenoProcessModules, 'serialize' | 'deserialize'>
          | undefined;
        if (typeof cp?.spawn === 'function' && typeof v8?.serialize === 'function') {
          return processFactory(deno, {
            spawn: cp.spawn.bind(cp),
            serialize: v8.serialize.bind(v8),
            deserialize: v8.deserialize.bind(v8),
          });
        }
      }
    } catch {
      // fall back to threads
    }
  }
  try {
    // Node, and Deno without the `run` permission (see the top of this file).
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
