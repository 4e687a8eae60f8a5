import { type CallerContext, callerContext } from '../caller.ts';
import type { Clock } from '../clock.ts';
import { attachSuppressed, TaskGroupError } from '../errors.ts';
import { Scope } from '../scope.ts';
import type { TaskContext } from '../task.ts';
import { isThenable } from './abortable.ts';
import { currentContext } from './context.ts';
import { type Cancel, noop, schedule } from './schedule.ts';
import { closeSource, pull, type Source } from './source.ts';

/** Options every async-iterable helper takes. */
export interface PipeOptions {
  /**
   * Stops the helper (and closes its sources) when it aborts: the loop rejects with its
   * reason. Inside a task the task's cancellation applies too; this signal adds to it.
   * @default undefined (inside a task: the task's signal)
   */
  signal?: AbortSignal | undefined;
  /**
   * Where time comes from (`batch`'s `maxWait`).
   * @default the calling task's clock, else `systemClock`
   */
  clock?: Clock | undefined;
}

/** The option keys of {@link PipeOptions}, for `assertOptions`. */
export const PIPE_KEYS: readonly string[] = ['signal', 'clock'];

const RUNNING = 0;
const FINISHED = 1;
const FAILED = 2;
const CANCELLED = 3;
const CLOSED = 4;

/** What `next()` returns when the producers have finished and every item was taken. */
const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

interface SlotWaiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
}

/**
 * The machinery behind buffer, merge, batch and mapConcurrent: producer tasks run in an
 * internal scope and hand items to the consumer through a bounded buffer.
 *
 * - Bounded: a producer reserves a slot (`reserve()`) before it reads an item, and the
 *   slot is freed when the consumer takes the item, so at most `capacity` items are read
 *   ahead (being produced or waiting for the consumer), never more.
 * - Cancellation: the internal scope's parent is the caller's effective signal (the
 *   consumer task's, joined with the helper's `signal` option). When it aborts, the
 *   producers stop, and `next()` rejects with its reason: a cancelled loop never ends as
 *   if the source had ended.
 * - Failure: the first producer failure stops the others; the items already read are
 *   delivered first, then the failure is raised.
 * - Ownership: when the consumer runs in a task, the pipe belongs to that task's scope: a
 *   keeper task holds the scope open until the pipe is closed, and the pipe is closed when
 *   the consumer task settles, even if it never finished or closed the loop. The scope thus
 *   waits for the producers to stop and the sources to close, and a cleanup error nobody
 *   received fails the scope instead of being dropped.
 * - One abort listener per pipe (the internal scope's on the caller's signal); producers
 *   waiting for room and the consumer waiting for an item hold no listener.
 */
export class Pipe<T> {
  readonly clock: Clock;
  readonly #caller: CallerContext;
  readonly #scope: Scope;
  readonly #name: string;
  // Items read and not yet taken by the consumer, from `#head` on.
  #items: T[] = [];
  #head = 0;
  // Free read-ahead slots, and the producers waiting for one (FIFO, from `#slotHead` on).
  #free: number;
  #slotWaiters: SlotWaiter[] = [];
  #slotHead = 0;
  // The consumer waiting for an item or a state change, if any.
  #wake: (() => void) | undefined;
  #state = RUNNING;
  // The failure or cancellation reason once FAILED or CANCELLED.
  #error: unknown;
  #producers = 0;
  // Errors from closing sources, raised by close() (or by the keeper when nobody closed).
  readonly #cleanupErrors: unknown[] = [];
  // Sources shared by several producers, closed by close() after they stopped.
  readonly #owned: Source<unknown>[] = [];
  #closing: Promise<void> | undefined;
  // Resolves when close() is done: what the keeper task waits for.
  #closedResolve: (() => void) | undefined;

  constructor(capacity: number, options: PipeOptions | undefined, name: string) {
    this.#name = name;
    this.#free = capacity;
    const ctx = currentContext();
    this.#caller = callerContext(
      options === undefined ? undefined : { signal: options.signal, clock: options.clock },
    );
    this.clock = this.#caller.clock;
    this.#scope = new Scope({ signal: this.#caller.signal, clock: this.clock, name });
    const signal = this.#scope.signal;
    unlimitListeners(signal);
    if (signal.aborted) this.#stop(CANCELLED, signal.reason);
    else {
      signal.addEventListener(
        'abort',
        () => {
          if (this.#state === RUNNING || this.#state === FINISHED)
            this.#stop(CANCELLED, signal.reason);
        },
        { once: true },
      );
    }
    this.#adopt(ctx);
  }

  /** Aborts when the producers must stop: the pipe was cancelled, failed or closed. */
  get signal(): AbortSignal {
    return this.#scope.signal;
  }

  /**
   * Reserves a read-ahead slot before a producer reads an item: `undefined` when one was
   * free, else a promise that resolves once the consumer freed one. Rejects (or throws)
   * once the pipe stopped.
   */
  reserve(): Promise<void> | undefined {
    if (this.#state !== RUNNING) throw this.#scope.signal.reason;
    if (this.#free > 0) {
      this.#free--;
      return undefined;
    }
    return new Promise<void>((resolve, reject) => {
      this.#slotWaiters.push({ resolve, reject });
    });
  }

  /** Gives back a reserved slot that was not used (the source ended). */
  unreserve(): void {
    this.#freeSlot();
  }

  /** Hands `item` to the consumer, using a slot reserved before. */
  push(item: T): void {
    if (this.#state !== RUNNING && this.#state !== FAILED) return;
    this.#items.push(item);
    this.#wakeConsumer();
  }

  /** Starts a producer task; the pipe finishes when the last one ends, fails when one fails. */
  produce(name: string, fn: (ctx: TaskContext) => unknown): void {
    this.#producers++;
    this.#scope.spawn(
      async (ctx) => {
        try {
          await fn(ctx);
        } catch (error) {
          if (!ctx.signal.aborted) this.fail(error);
        } finally {
          if (--this.#producers === 0 && this.#state === RUNNING) {
            this.#state = FINISHED;
            this.#wakeConsumer();
          }
        }
      },
      { name },
    );
  }

  /** Starts a producer that copies `src` into the pipe, and closes `src` when it stops. */
  pump(name: string, src: Source<T>): void {
    this.produce(name, async ({ signal }) => {
      try {
        for (;;) {
          const room = this.reserve();
          if (room !== undefined) await room;
          let step: IteratorResult<T>;
          try {
            const pulled = pull(src, signal);
            step = isThenable(pulled) ? await pulled : pulled;
          } catch (error) {
            this.unreserve();
            throw error;
          }
          if (step.done) {
            this.unreserve();
            return;
          }
          this.push(step.value);
        }
      } finally {
        try {
          await closeSource(src, this.#late);
        } catch (error) {
          this.#cleanupErrors.push(error);
        }
      }
    });
  }

  // A source stuck in a pull is closed once that pull settles (see closeSource): its
  // errors are kept for the keeper, which waits for these late closes.
  readonly #lateCloses: Promise<void>[] = [];
  readonly #late = (closing: Promise<void>): void => {
    this.#lateCloses.push(closing.catch((error: unknown) => void this.#cleanupErrors.push(error)));
  };

  /** Called once every producer was started: a pipe without producers is finished. */
  seal(): void {
    if (this.#producers === 0 && this.#state === RUNNING) this.#state = FINISHED;
  }

  /** Whether the pipe was cancelled (the caller's signal aborted): not a failure. */
  get cancelled(): boolean {
    return this.#state === CANCELLED;
  }

  /** Closes `src` in `close()`, after the producers that share it have stopped. */
  own(src: Source<unknown>): void {
    this.#owned.push(src);
  }

  /** Fails the pipe with `error` (the first failure wins); the producers stop. */
  fail(error: unknown): void {
    if (this.#state === RUNNING) this.#stop(FAILED, error);
  }

  /** Takes an item that is ready, without waiting. */
  tryNext(): { value: T } | undefined {
    if (this.#state === CANCELLED || this.#head === this.#items.length) return undefined;
    return { value: this.#take() };
  }

  /**
   * The next item; `done` once the producers finished and every item was taken. Raises
   * the failure after the items read before it, and the cancellation reason at once.
   * With `due` (a `clock` time), resolves `undefined` when nothing came by then.
   */
  async next(
    due: number = Number.POSITIVE_INFINITY,
  ): Promise<IteratorResult<T, undefined> | undefined> {
    for (;;) {
      if (this.#state === CANCELLED) throw this.#error;
      if (this.#head < this.#items.length) return { done: false, value: this.#take() };
      if (this.#state === FAILED) throw this.#error;
      if (this.#state !== RUNNING) return DONE;
      if (due !== Number.POSITIVE_INFINITY && this.clock.now() >= due) return undefined;
      await this.#event(due);
    }
  }

  /**
   * Stops the producers, waits for them, closes the owned sources, and releases the
   * caller's listeners. Throws the first error from closing a source (the others
   * attached); the caller attaches it to its own error when it had one.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#state === RUNNING || this.#state === FINISHED) this.#stop(CLOSED, undefined);
    try {
      await this.#scope[Symbol.asyncDispose]();
    } catch (error) {
      // Producers report their own failures through next(); a cancellation from the
      // caller ends the scope with its reason. Only a bug lands here.
      if (error instanceof TaskGroupError) this.#cleanupErrors.push(error);
    }
    for (const src of this.#owned) {
      try {
        await closeSource(src, this.#late);
      } catch (error) {
        this.#cleanupErrors.push(error);
      }
    }
    this.#caller[Symbol.dispose]();
    // Abandoned by its task: the keeper raises the cleanup errors into the task's scope.
    const errors = this.#abandoned ? [] : this.#cleanupErrors.splice(0);
    this.#closedResolve?.();
    if (errors.length > 0) {
      let error = errors[0];
      for (const other of errors.slice(1)) error = attachSuppressed(error, other);
      throw error;
    }
  }

  /**
   * Ties the pipe to the consumer task's scope (see the class comment). A consumer outside
   * any task, or in a scope body, has no task whose end can be observed: there the pipe
   * stops with the caller's signal, or when the loop ends.
   */
  #adopt(ctx: TaskContext | undefined): void {
    const owner = ownerTask(ctx);
    if (owner === undefined || ctx === undefined || ctx.scope.closed) return;
    const closed = new Promise<void>((resolve) => {
      this.#closedResolve = resolve;
    });
    try {
      ctx.scope.spawn(
        async () => {
          await closed;
          // Sources stuck in a pull at close: the scope waits until they are closed too.
          while (this.#lateCloses.length > 0) await Promise.all(this.#lateCloses.splice(0));
          // Cleanup errors that no consumer received (the task abandoned the loop, or a
          // source was closed late).
          const errors = this.#cleanupErrors.splice(0);
          if (errors.length > 0) {
            let error = errors[0];
            for (const other of errors.slice(1)) error = attachSuppressed(error, other);
            throw error;
          }
        },
        { name: `${this.#name}-keeper` },
      );
    } catch {
      this.#closedResolve = undefined;
      return;
    }
    const abandon = (): void => {
      if (this.#closing === undefined) this.#abandoned = true;
      this.close().then(noop, noop);
    };
    owner.then(abandon, abandon);
  }

  // The consumer task settled without closing the pipe: close() errors go to the keeper.
  #abandoned = false;

  #take(): T {
    const item = this.#items[this.#head]!;
    this.#items[this.#head] = undefined as T;
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    this.#freeSlot();
    return item;
  }

  #freeSlot(): void {
    if (this.#slotHead < this.#slotWaiters.length) {
      const waiter = this.#slotWaiters[this.#slotHead]!;
      this.#slotWaiters[this.#slotHead++] = undefined as never;
      if (this.#slotHead === this.#slotWaiters.length) {
        this.#slotWaiters = [];
        this.#slotHead = 0;
      }
      waiter.resolve();
    } else this.#free++;
  }

  #stop(state: number, error: unknown): void {
    this.#state = state;
    this.#error = error;
    if (state === CANCELLED) {
      this.#items = [];
      this.#head = 0;
    }
    if (!this.#scope.signal.aborted) this.#scope.cancel();
    const reason = this.#scope.signal.reason;
    const waiters = this.#slotWaiters.slice(this.#slotHead);
    this.#slotWaiters = [];
    this.#slotHead = 0;
    for (const waiter of waiters) waiter.reject(reason);
    this.#wakeConsumer();
  }

  #wakeConsumer(): void {
    const wake = this.#wake;
    if (wake !== undefined) {
      this.#wake = undefined;
      wake();
    }
  }

  #event(due: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: Cancel | undefined;
      this.#wake = () => {
        timer?.();
        resolve();
      };
      if (due !== Number.POSITIVE_INFINITY) {
        timer = schedule(this.clock, due - this.clock.now(), () => {
          this.#wake = undefined;
          resolve();
        });
      }
    });
  }
}

/** The consumer's task, as a thenable that settles with it; `undefined` in a body or outside. */
function ownerTask(ctx: TaskContext | undefined): PromiseLike<unknown> | undefined {
  if (ctx === undefined) return undefined;
  const task = (ctx as { task?: unknown }).task;
  if (isThenable(task)) return task;
  return isThenable(ctx) ? ctx : undefined;
}

type SetMaxListeners = (n: number, ...targets: EventTarget[]) => void;
let setMaxListeners: SetMaxListeners | null | undefined;

/**
 * Lifts Node's listener-count warning on a signal weft created itself (never on a user's
 * signal): each producer task, and each wait in it, may listen to it, and more than ten
 * is normal for a wide helper, not a leak. A no-op where the runtime has no such limit.
 */
export function unlimitListeners(signal: AbortSignal): void {
  if (setMaxListeners === undefined) {
    try {
      const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } })
        .process;
      const events = proc?.getBuiltinModule?.('node:events') as
        | { setMaxListeners?: SetMaxListeners }
        | undefined;
      setMaxListeners = events?.setMaxListeners ?? null;
    } catch {
      setMaxListeners = null;
    }
  }
  setMaxListeners?.(0, signal);
}

/**
 * The consumer side of buffer, merge and mapConcurrent: `setup()` runs at the first
 * `next()` (so the pipe belongs to the consumer's task), then items are yielded until the
 * producers end; stopping for any reason closes the pipe. An error from closing a source
 * is attached to the loop's own error, or raised when the loop had none.
 */
export async function* drain<T>(setup: () => Pipe<T>): AsyncGenerator<T, void, undefined> {
  const pipe = setup();
  pipe.seal();
  let failure: { error: unknown } | undefined;
  try {
    for (;;) {
      const ready = pipe.tryNext();
      if (ready !== undefined) {
        yield ready.value;
        continue;
      }
      const step = (await pipe.next())!;
      if (step.done) return;
      yield step.value;
    }
  } catch (error) {
    failure = { error };
    throw error;
  } finally {
    await closePipe(pipe, failure);
  }
}

/** Closes `pipe`; a cleanup error is attached to `failure` when there was one. */
export async function closePipe<T>(
  pipe: Pipe<T>,
  failure: { error: unknown } | undefined,
): Promise<void> {
  try {
    await pipe.close();
  } catch (cleanup) {
    if (failure === undefined) throw cleanup;
    throw attachSuppressed(failure.error, cleanup);
  }
}

/**
 * Wraps a helper's generator so that closing it before its first `next()` still closes
 * its sources (a plain async generator that never started skips its `finally`), and so
 * that it is `await using`-disposable. `start` creates the generator at the first call.
 */
export function helperIterator<T>(
  start: () => AsyncGenerator<T, void, undefined>,
  sources: readonly Source<unknown>[],
): AsyncGenerator<T, void, undefined> {
  return new HelperIterator(start, sources);
}

class HelperIterator<T> implements AsyncGenerator<T, void, undefined> {
  #start: (() => AsyncGenerator<T, void, undefined>) | undefined;
  #sources: readonly Source<unknown>[];
  #gen: AsyncGenerator<T, void, undefined> | undefined;
  // Closed before it started: later calls end at once.
  #done = false;

  constructor(
    start: () => AsyncGenerator<T, void, undefined>,
    sources: readonly Source<unknown>[],
  ) {
    this.#start = start;
    this.#sources = sources;
  }

  #generator(): AsyncGenerator<T, void, undefined> | undefined {
    if (this.#gen === undefined && !this.#done) {
      const start = this.#start!;
      this.#start = undefined;
      this.#gen = start();
    }
    return this.#gen;
  }

  next(): Promise<IteratorResult<T, void>> {
    const gen = this.#generator();
    return gen === undefined ? Promise.resolve(DONE) : gen.next();
  }

  async return(value?: void | PromiseLike<void>): Promise<IteratorResult<T, void>> {
    if (this.#gen !== undefined) return this.#gen.return(value as void);
    await this.#closeUnstarted(undefined);
    return { done: true, value: (await value) as void };
  }

  async throw(error: unknown): Promise<IteratorResult<T, void>> {
    if (this.#gen !== undefined) return this.#gen.throw(error);
    await this.#closeUnstarted({ error });
    throw error;
  }

  async #closeUnstarted(failure: { error: unknown } | undefined): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.#start = undefined;
    const errors: unknown[] = [];
    for (const src of this.#sources) {
      try {
        await closeSource(src);
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 0) return;
    let error = failure === undefined ? errors.shift() : failure.error;
    for (const other of errors) error = attachSuppressed(error, other);
    throw error;
  }

  [Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }

  get [Symbol.toStringTag](): string {
    return 'AsyncGenerator';
  }
}
