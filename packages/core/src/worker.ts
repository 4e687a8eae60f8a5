import { type CallerContext, callerContext } from './caller.ts';
import { CancelledError, TaskGroupError } from './errors.ts';
import { assertCount, assertOptions, assertSignal, describe } from './internal/validate.ts';
import { hardwareConcurrency, startWorker, type WorkerHandle } from './runtime/worker.ts';
import { errorText } from './internal/error-text.ts';

/**
 * A worker could not run the call: the module did not load, the result could not be sent
 * back, or the worker died (an uncaught error or `process.exit` in it). An error *thrown
 * by the function itself* is not wrapped: it is re-created in the caller with its name,
 * message, stack, own properties and `cause`.
 *
 * @example
 * ```ts
 * import { runInWorker, WorkerError } from '@weft/core';
 *
 * try {
 *   await runInWorker(new URL('./missing.mjs', import.meta.url), 'work', []);
 * } catch (err) {
 *   if (err instanceof WorkerError) console.error(err.message, err.cause);
 * }
 * ```
 */
export class WorkerError extends Error {
  override readonly name: 'WorkerError' = 'WorkerError';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Options of {@link runInWorker} and {@link WorkerPool.run}. */
export interface WorkerRunOptions {
  /**
   * Cancels the call: a queued call is dropped, a running one has its worker terminated.
   * The call then rejects with the signal's reason. Inside a weft task the task's signal
   * applies too.
   */
  signal?: AbortSignal;
  /**
   * Objects whose ownership moves to the worker (`ArrayBuffer`, `MessagePort`, …). On
   * Deno, where a worker is a child process, an `ArrayBuffer` is copied instead (the
   * caller keeps it) and anything else (a `MessagePort`) cannot cross: the call rejects
   * with a `TypeError`, as it does on every runtime for a value that is not a
   * transferable object.
   */
  transfer?: readonly Transferable[];
}

/** Options of {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /**
   * The most workers alive at once; calls beyond it wait in FIFO order.
   * @default the machine's hardware concurrency minus one, at least 1
   */
  size?: number;
}

const RUN_KEYS = ['signal', 'transfer'] as const;
const POOL_KEYS = ['size'] as const;

interface Job {
  readonly id: number;
  readonly url: string;
  readonly name: string;
  readonly args: readonly unknown[];
  readonly transfer: readonly Transferable[] | undefined;
  readonly caller: CallerContext;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  onAbort: (() => void) | undefined;
  slot: Slot | undefined;
}

interface Slot {
  handle: WorkerHandle;
  job: Job | undefined;
}

interface Serialized {
  thrown?: unknown;
  name?: string;
  message?: string;
  stack?: string;
  props?: Record<string, unknown>;
  cause?: Serialized;
  /** An AggregateError's (such as a TaskGroupError's) `errors`. */
  errors?: Serialized[];
}

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  /**
   * `uncaught`: the worker crashed (an uncaught error or unhandled rejection); `id` is the
   * call it was running, 0 when idle, -1 when it cannot tell.
   */
  fault?: 'load' | 'export' | 'throw' | 'clone' | 'uncaught';
  error?: Serialized;
}

const BUILTIN_ERRORS: Record<string, new (message?: string, options?: ErrorOptions) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/** Re-creates an error that crossed from a worker as a plain object. */
function revive(s: Serialized | undefined): unknown {
  if (s === undefined) return undefined;
  if (!('name' in s)) return s.thrown;
  const options = 'cause' in s ? { cause: revive(s.cause) } : undefined;
  let error: Error;
  if (Array.isArray(s.errors)) {
    // An AggregateError keeps its class and its `errors`; weft's own TaskGroupError too.
    const errors = s.errors.map(revive);
    if (s.name === 'TaskGroupError') {
      error = new TaskGroupError(errors);
      Object.defineProperty(error, 'message', {
        value: s.message,
        writable: true,
        configurable: true,
        enumerable: false,
      });
      if (options !== undefined) {
        Object.defineProperty(error, 'cause', {
          value: options.cause,
          writable: true,
          configurable: true,
          enumerable: false,
        });
      }
    } else error = new AggregateError(errors, s.message, options);
  } else {
    const Ctor = BUILTIN_ERRORS[s.name!] ?? Error;
    error = new Ctor(s.message, options);
  }
  if (error.name !== s.name) {
    Object.defineProperty(error, 'name', {
      value: s.name,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  if (s.props !== undefined) Object.assign(error, s.props);
  if (s.stack !== undefined) {
    Object.defineProperty(error, 'stack', {
      value: s.stack,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  return error;
}

function toModuleUrl(value: unknown): string {
  if (value instanceof URL) return value.href;
  if (typeof value === 'string') {
    try {
      return new URL(value).href;
    } catch {
      // reported below
    }
  }
  throw new TypeError(
    `Expected \`moduleUrl\` to be an absolute module URL (such as \`new URL('./work.mjs', import.meta.url)\`), got ${describe(value)}`,
  );
}

let lastJobId = 0;

/**
 * A worker failed while running no call (what an earlier call left behind: a rejection
 * nobody handled, a timer that threw, `process.exit` from a timer). No call can carry
 * the error, so rather than drop it, it is emitted as a process warning, a
 * `WorkerCrashWarning` whose `cause` is the error (`console.error` where the runtime has
 * no `process.emitWarning`).
 */
function warnIdleCrash(error: unknown): void {
  const detail = errorText(error);
  const warning = new Error(
    `A worker failed between calls (${detail}); the calls that returned keep their values and the pool replaces the worker`,
    { cause: error },
  );
  warning.name = 'WorkerCrashWarning';
  const proc = (globalThis as { process?: { emitWarning?: (warning: Error) => void } }).process;
  if (typeof proc?.emitWarning === 'function') proc.emitWarning(warning);
  else console.error(warning);
}

/**
 * A fixed-size pool of worker threads for CPU-bound work (the TypeScript answer to "use
 * multiprocessing for CPU-bound tasks"): `worker_threads` on Node, Web Workers on Bun,
 * child processes on Deno (its threads cannot be stopped in an endless loop; see the README's
 * "Workers on Deno" for the differences: start-up cost, no `SharedArrayBuffer`,
 * permissions). Workers start on demand, up to `size`, and are reused; calls beyond that wait in
 * FIFO order.
 *
 * - A call runs `module[exportName](...args)` in a worker; the module is imported once
 *   per worker. Arguments and the result are copied with the structured-clone algorithm
 *   (no functions, no class instances beyond plain data). An error thrown by the
 *   function is re-created in the caller with its name, message, stack, own properties,
 *   `cause` and an AggregateError's `errors`; other failures reject with a {@link WorkerError}.
 * - Cancelling a call (its `signal`, or the enclosing weft task) drops it from the queue
 *   or terminates its worker, then rejects with the signal's reason. The pool replaces
 *   the worker on the next call. A worker busy in an endless loop stops at once on every
 *   runtime (on Deno its child process is killed with SIGKILL; in Deno's thread fallback,
 *   without `--allow-run`/`--allow-env`, it spins on until the process exits).
 * - A worker that ends while running a call (`process.exit`, `self.close()`, an uncaught
 *   error) rejects that call with a {@link WorkerError} whose `cause` says how (such as
 *   `The worker exited with code 3`); the pool replaces it for the calls that follow.
 * - `close()` (also `await using`) lets queued and running calls finish, then terminates
 *   every worker; `terminate()` cancels them all at once. A pool never leaks a worker
 *   once closed. Idle workers do not keep the process alive.
 *
 * @example
 * ```ts
 * import { gather, WorkerPool } from '@weft/core';
 *
 * await using pool = new WorkerPool({ size: 4 });
 * const fib = new URL('./fib.mjs', import.meta.url); // export function fib(n) { … }
 * const results = await gather([30, 31, 32, 33].map((n) => () => pool.run<number>(fib, 'fib', [n])));
 * ```
 */
export class WorkerPool implements AsyncDisposable {
  readonly #size: number;
  readonly #slots = new Set<Slot>();
  #idle: Slot[] = [];
  #queue: Job[] = [];
  #closing: Promise<void> | undefined;
  // Workers being terminated: close() resolves only after they have stopped too.
  readonly #stopping = new Set<Promise<void>>();
  #drained: (() => void) | undefined;

  constructor(options: WorkerPoolOptions = {}) {
    assertOptions('options', options, POOL_KEYS);
    if (options.size !== undefined) assertCount('options.size', options.size);
    if (options.size === Number.POSITIVE_INFINITY) {
      throw new RangeError(
        'Expected `options.size` to be a finite integer from 1 up, got `Infinity` (number)',
      );
    }
    this.#size = options.size ?? Math.max(1, hardwareConcurrency() - 1);
  }

  /** The most workers alive at once. */
  get size(): number {
    return this.#size;
  }

  /** How many workers are alive now (idle or busy). */
  get workers(): number {
    return this.#slots.size;
  }

  /** How many calls are running in a worker now. */
  get running(): number {
    return this.#slots.size - this.#idle.length;
  }

  /** How many calls wait for a free worker. */
  get waiting(): number {
    return this.#queue.length;
  }

  /** `true` once `close()` or `terminate()` was called; `run` then rejects. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Runs `module[exportName](...args)` in a worker of the pool and resolves with its
   * (structured-cloned) result. See {@link WorkerPool} for failures and cancellation.
   * Rejects with a `TypeError` for invalid arguments or when the pool is closed.
   */
  run<T = unknown>(
    moduleUrl: string | URL,
    exportName: string,
    args: readonly unknown[] = [],
    options?: WorkerRunOptions,
  ): Promise<T> {
    let caller: CallerContext;
    let url: string;
    try {
      url = toModuleUrl(moduleUrl);
      if (typeof exportName !== 'string' || exportName === '') {
        throw new TypeError(
          `Expected \`exportName\` to be a non-empty string, got ${describe(exportName)}`,
        );
      }
      if (!Array.isArray(args)) {
        throw new TypeError(`Expected \`args\` to be an array, got ${describe(args)}`);
      }
      assertOptions('options', options, RUN_KEYS);
      assertSignal('options.signal', options?.signal);
      if (options?.transfer !== undefined) {
        if (!Array.isArray(options.transfer)) {
          throw new TypeError(
            `Expected \`options.transfer\` to be an array, got ${describe(options.transfer)}`,
          );
        }
        // The same check on every runtime (review D10: Deno's process path copied the
        // list's ArrayBuffers and ignored the rest).
        options.transfer.forEach((item: unknown, i) => {
          if (typeof item !== 'object' || item === null) {
            throw new TypeError(
              `Expected \`options.transfer[${i}]\` to be a transferable object (an ArrayBuffer, a MessagePort, …), got ${describe(item)}`,
            );
          }
        });
      }
      if (this.#closing !== undefined) {
        throw new TypeError(`Cannot run \`${exportName}\`: the worker pool is closed`);
      }
      caller = callerContext({ signal: options?.signal });
    } catch (error) {
      return Promise.reject(error);
    }
    const signal = caller.signal;
    if (signal?.aborted) {
      caller[Symbol.dispose]();
      return Promise.reject(signal.reason);
    }
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        id: ++lastJobId,
        url,
        name: exportName,
        args,
        transfer: options?.transfer,
        caller,
        resolve: resolve as (value: unknown) => void,
        reject,
        onAbort: undefined,
        slot: undefined,
      };
      if (signal !== undefined) {
        job.onAbort = () => void this.#abort(job, signal.reason);
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.#queue.push(job);
      this.#pump();
    });
  }

  /**
   * Stops accepting calls, waits for the queued and running ones to settle, then
   * terminates every worker. Resolves once they have all stopped. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#drained = resolve;
      this.#checkDrained();
    }).then(() => this.#stopAll());
    return this.#closing;
  }

  /**
   * Cancels every call now (queued ones are dropped, running ones have their worker
   * terminated; all reject with `reason`, by default a `CancelledError`), then resolves
   * once every worker has stopped.
   */
  async terminate(reason?: unknown): Promise<void> {
    const why =
      reason === undefined ? new CancelledError('The worker pool was terminated') : reason;
    const closing = this.close();
    const jobs = [...this.#queue];
    for (const slot of this.#slots) if (slot.job !== undefined) jobs.push(slot.job);
    await Promise.all(jobs.map((job) => this.#abort(job, why)));
    await closing;
  }

  /** `close()`: lets running calls finish, then stops every worker. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  get [Symbol.toStringTag](): string {
    return 'WorkerPool';
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      let slot = this.#idle.pop();
      if (slot === undefined) {
        if (this.#slots.size >= this.#size) return;
        try {
          slot = this.#startSlot();
        } catch (error) {
          const job = this.#queue.shift()!;
          this.#settle(job, false, new WorkerError('Could not start a worker', { cause: error }));
          continue;
        }
      }
      const job = this.#queue.shift()!;
      this.#dispatch(slot, job);
    }
  }

  #startSlot(): Slot {
    const slot: Slot = { handle: undefined as unknown as WorkerHandle, job: undefined };
    slot.handle = startWorker({
      message: (data) => this.#onReply(slot, data as Reply),
      fault: (error) => this.#onFault(slot, error),
    });
    this.#slots.add(slot);
    return slot;
  }

  #dispatch(slot: Slot, job: Job): void {
    slot.job = job;
    job.slot = slot;
    slot.handle.hold(true);
    try {
      slot.handle.post({ id: job.id, url: job.url, name: job.name, args: job.args }, job.transfer);
    } catch (error) {
      slot.job = undefined;
      job.slot = undefined;
      this.#release(slot);
      this.#settle(
        job,
        false,
        new TypeError(
          `Expected \`args\` of \`${job.name}\` to be structured-cloneable values (no functions or class instances): ${(error as Error)?.message ?? String(error)}`,
          { cause: error },
        ),
      );
    }
  }

  #onReply(slot: Slot, reply: Reply): void {
    if (reply?.fault === 'uncaught') {
      this.#onCrash(slot, reply);
      return;
    }
    const job = slot.job;
    if (job === undefined || reply?.id !== job.id) return;
    slot.job = undefined;
    job.slot = undefined;
    this.#release(slot);
    if (reply.ok) {
      this.#settle(job, true, reply.value);
      return;
    }
    const cause = revive(reply.error);
    let error: unknown;
    if (reply.fault === 'throw') error = cause;
    else if (reply.fault === 'export') {
      error = new TypeError(
        `Expected module ${job.url} to export a function \`${job.name}\`, got ${String(reply.error?.thrown)}`,
      );
    } else if (reply.fault === 'load') {
      error = new WorkerError(`Could not load ${job.url} in a worker`, { cause });
    } else {
      error = new WorkerError(
        `The result of \`${job.name}\` could not be sent back from the worker (it must be structured-cloneable)`,
        { cause },
      );
    }
    this.#settle(job, false, error);
  }

  /**
   * The worker crashed. A call it was running fails; a call handed to it after an earlier
   * call's leftover crashed it (a floating rejection, a timer that throws) never started
   * there, so it goes back to the front of the queue for a fresh worker.
   */
  #onCrash(slot: Slot, reply: Reply): void {
    const job = slot.job;
    if (job !== undefined && reply.id >= 0 && reply.id !== job.id) {
      slot.job = undefined;
      job.slot = undefined;
      this.#queue.unshift(job);
    }
    this.#onFault(slot, revive(reply.error));
  }

  #onFault(slot: Slot, error: unknown): void {
    if (!this.#slots.has(slot)) return;
    this.#slots.delete(slot);
    this.#idle = this.#idle.filter((s) => s !== slot);
    void this.#stop(slot);
    const job = slot.job;
    slot.job = undefined;
    if (job !== undefined) {
      job.slot = undefined;
      this.#settle(
        job,
        false,
        new WorkerError(`The worker running \`${job.name}\` failed`, { cause: error }),
      );
    } else warnIdleCrash(error);
    this.#pump();
  }

  #release(slot: Slot): void {
    if (this.#closing !== undefined && this.#queue.length === 0) {
      // Nothing will reuse it.
      this.#slots.delete(slot);
      void this.#stop(slot);
    } else {
      slot.handle.hold(false);
      this.#idle.push(slot);
    }
    this.#pump();
  }

  /** Cancels one job; resolves once it has settled (its worker stopped, if it had one). */
  async #abort(job: Job, reason: unknown): Promise<void> {
    const queued = this.#queue.indexOf(job);
    if (queued !== -1) {
      this.#queue.splice(queued, 1);
      this.#settle(job, false, reason);
      return;
    }
    const slot = job.slot;
    if (slot === undefined) return;
    slot.job = undefined;
    job.slot = undefined;
    this.#slots.delete(slot);
    await this.#stop(slot);
    this.#settle(job, false, reason);
    this.#pump();
  }

  #settle(job: Job, ok: boolean, value: unknown): void {
    const signal = job.caller.signal;
    if (job.onAbort !== undefined && signal !== undefined) {
      signal.removeEventListener('abort', job.onAbort);
      job.onAbort = undefined;
    }
    job.caller[Symbol.dispose]();
    if (ok) job.resolve(value);
    else job.reject(value);
    this.#checkDrained();
  }

  #checkDrained(): void {
    if (this.#drained === undefined || this.#queue.length > 0) return;
    for (const slot of this.#slots) if (slot.job !== undefined) return;
    const drained = this.#drained;
    this.#drained = undefined;
    drained();
  }

  #stop(slot: Slot): Promise<void> {
    const stopped = slot.handle.terminate();
    this.#stopping.add(stopped);
    void stopped.then(() => this.#stopping.delete(stopped));
    return stopped;
  }

  async #stopAll(): Promise<void> {
    const slots = [...this.#slots];
    this.#slots.clear();
    this.#idle = [];
    for (const slot of slots) void this.#stop(slot);
    await Promise.all(this.#stopping);
  }
}

/**
 * Runs `module[exportName](...args)` in a new worker thread and resolves with its
 * result; the worker is terminated when the call settles. CPU-bound work then no longer
 * blocks the event loop. `worker_threads` on Node, a Web Worker on Bun, a child process on
 * Deno.
 *
 * `moduleUrl` is an absolute URL (`new URL('./work.mjs', import.meta.url)`) of an ES
 * module the runtime can load on its own (JavaScript, or TypeScript where the runtime
 * runs it). Arguments and the result are structured-cloned. An error thrown by the
 * function is re-created in the caller with name, message, stack, own properties and
 * `cause`; a module that does not load, a result that cannot be cloned, or a worker that
 * dies rejects with a {@link WorkerError}; a missing export with a `TypeError`.
 *
 * Cancellation (the `signal`, or the enclosing weft task's) terminates the worker, even
 * in an endless loop, and rejects with the signal's reason once it has stopped. Each call
 * starts a worker (tens of ms; on Deno a process, 100 ms or more); for many calls use a
 * {@link WorkerPool}.
 *
 * @example
 * ```ts
 * import { runInWorker, timeout } from '@weft/core';
 *
 * // hash.mjs: export function hash(text) { … CPU-heavy … }
 * const digest = await timeout(5000, ({ signal }) =>
 *   runInWorker<string>(new URL('./hash.mjs', import.meta.url), 'hash', ['text'], { signal }),
 * );
 * ```
 */
export async function runInWorker<T = unknown>(
  moduleUrl: string | URL,
  exportName: string,
  args: readonly unknown[] = [],
  options?: WorkerRunOptions,
): Promise<T> {
  const pool = new WorkerPool({ size: 1 });
  try {
    return await pool.run<T>(moduleUrl, exportName, args, options);
  } finally {
    await pool.close();
  }
}
