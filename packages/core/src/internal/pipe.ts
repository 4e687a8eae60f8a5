import { type CallerContext, callerContext } from '../caller.ts';
import type { Clock } from '../clock.ts';
import { attachSuppressed, CancelledError, isCancellation, TaskGroupError } from '../errors.ts';
import { Scope, scopeInternals } from '../scope.ts';
import type { TaskContext } from '../task.ts';
import { abortable, isThenable } from './abortable.ts';
import { currentContext, unlimitListeners } from './context.ts';
import { type Cancel, noop, schedule } from './schedule.ts';
import { closeSource, pull, type Source } from './source.ts';
import { errorText } from './error-text.ts';

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

/** What {@link Pipe.step} returns when the consumer must wait for an event. */
export const WAIT: unique symbol = Symbol('weft.pipe.wait');

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
 * - Ownership: when the consumer runs in a task or a scope body, the pipe belongs to that
 *   one's scope (see adoptByTask): it is closed when the consumer task or body settles,
 *   even if it never finished or closed the loop, and the scope waits for the producers
 *   to stop and the sources to close; a cleanup error nobody received fails the scope
 *   instead of being dropped.
 * - One abort listener per pipe (the internal scope's on the caller's signal); producers
 *   waiting for room and the consumer waiting for an item hold no listener.
 */
export class Pipe<T> {
  readonly clock: Clock;
  readonly #caller: CallerContext;
  // The caller's effective signal, its task's and the explicit one (see abortReasons).
  readonly #signals: ReadonlyArray<AbortSignal | undefined>;
  readonly #scope: Scope;
  // Items read and not yet taken by the consumer, from `#head` on.
  #items: T[] = [];
  #head = 0;
  // Free read-ahead slots, and the producers waiting for one (FIFO, from `#slotHead` on).
  #free: number;
  #slotWaiters: Array<() => void> = [];
  #slotHead = 0;
  // The consumer waiting for an item or a state change, if any (batch's timed wait).
  #wake: (() => void) | undefined;
  // The consumer waiting in take(): an item is handed to it directly.
  #taker:
    | ((step: IteratorResult<T, undefined> | Promise<IteratorResult<T, void>>) => void)
    | undefined;
  /** Ends the consumer's loop (closes the pipe); take() hands its promise on at the end. */
  onEnd:
    | ((failure: { error: unknown } | undefined) => Promise<IteratorResult<T, void>>)
    | undefined;
  #state = RUNNING;
  // The failure or cancellation reason once FAILED or CANCELLED.
  #error: unknown;
  #producers = 0;
  // The producer tasks, so that a close after they all returned waits for them to settle.
  readonly #producerTasks: PromiseLike<void>[] = [];
  // Errors from closing sources, raised by close() (or by the keeper when nobody closed).
  readonly #cleanupErrors: unknown[] = [];
  // Sources shared by several producers, closed by close() after they stopped.
  readonly #owned: Source<unknown>[] = [];
  #closing: Promise<void> | undefined;
  // The consumer task's hold on the pipe (see adoptByTask), if it runs in a task.
  readonly #adoption: Adoption | undefined;

  constructor(capacity: number, options: PipeOptions | undefined, name: string) {
    this.#free = capacity;
    const ctx = currentContext();
    this.#caller = callerContext(
      options === undefined ? undefined : { signal: options.signal, clock: options.clock },
    );
    this.#signals = [this.#caller.signal, ctx?.signal, options?.signal];
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
    this.#adoption = adoptByTask(name, ctx, (error) => this.#abandon(error));
  }

  /** Aborts when the producers must stop: the pipe was cancelled, failed or closed. */
  get signal(): AbortSignal {
    return this.#scope.signal;
  }

  /**
   * Reserves a read-ahead slot before a producer reads an item: `undefined` when one was
   * free, else a promise that resolves once the consumer freed one — or once the pipe
   * stopped, when the producer's next pull then rejects (its signal is aborted). Throws
   * once the pipe stopped.
   */
  reserve(): Promise<void> | undefined {
    if (this.#state !== RUNNING) throw this.#scope.signal.reason;
    if (this.#free > 0) {
      this.#free--;
      return undefined;
    }
    return new Promise<void>((resolve) => {
      this.#slotWaiters.push(resolve);
    });
  }

  /** Gives back a reserved slot that was not used (the source ended). */
  unreserve(): void {
    this.#freeSlot();
  }

  /** Hands `item` to the consumer, using a slot reserved before. */
  push(item: T): void {
    if (this.#state !== RUNNING && this.#state !== FAILED) return;
    const taker = this.#taker;
    if (taker !== undefined && this.#head === this.#items.length) {
      // The consumer is waiting: hand the item over, its slot is free again.
      this.#taker = undefined;
      this.#freeSlot();
      taker({ done: false, value: item });
      return;
    }
    this.#items.push(item);
    this.#wakeConsumer();
  }

  /** Whether a take() is waiting. */
  get taking(): boolean {
    return this.#taker !== undefined;
  }

  /**
   * {@link Pipe.step}, waiting when no item is ready: the promise resolves with the next
   * item, or at the end with `onEnd`'s outcome (or `done` / the failure without one).
   */
  take(): IteratorResult<T, undefined> | Promise<IteratorResult<T, void>> {
    const step = this.step();
    if (step !== WAIT) return step;
    return new Promise((resolve) => {
      this.#taker = resolve;
    });
  }

  /** Starts a producer task; the pipe finishes when the last one ends, fails when one fails. */
  produce(name: string, fn: (ctx: TaskContext) => unknown): void {
    this.#producers++;
    const task = this.#scope.spawn(
      async (ctx) => {
        try {
          await fn(ctx);
        } catch (error) {
          // Its own cancellation is how a producer stops; any other error is kept: the
          // first failure of a running pipe, else a secondary error raised by close().
          // A producer cancelled on its own (an item's `currentTask().cancel()` reaches
          // the worker it runs in) did not stop the pipe: its cancellation is a failure.
          const signal = ctx.signal;
          const stopped = signal.aborted && this.#scope.signal.aborted;
          if (!(stopped && (error === signal.reason || isCancellation(error)))) {
            if (this.#state === RUNNING) this.fail(error);
            else if (error !== this.#error) this.#cleanupErrors.push(error);
          }
        } finally {
          if (--this.#producers === 0 && this.#state === RUNNING) {
            this.#state = FINISHED;
            this.#wakeConsumer();
          }
        }
      },
      { name },
    );
    this.#producerTasks.push(task);
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

  /** Called once every producer was started: a pipe without producers is finished. */
  seal(): void {
    if (this.#producers === 0 && this.#state === RUNNING) this.#state = FINISHED;
  }

  /** Whether the pipe was cancelled (the caller's signal aborted): not a failure. */
  get cancelled(): boolean {
    return this.#state === CANCELLED;
  }

  /**
   * Its owner (the task that opened the loop, or the scope whose body did) ended without
   * closing it: later calls reject with `error`, a `CancelledError` saying so (never a
   * quiet `done`), and the pipe closes.
   */
  #abandon(error: CancelledError): Promise<void> {
    if (this.#state === RUNNING || this.#state === FINISHED) this.#stop(CANCELLED, error);
    // Nobody's loop fails with a cancellation here: cleanup errors are raised as such.
    this.#closing ??= this.#close(undefined, true);
    return this.#closing;
  }

  // Sources that were still stuck in a pull after a turn (see closeSource): the consumer's
  // scope waits for these late closes and fails with their errors (see close()).
  readonly #lateCloses: Promise<void>[] = [];
  readonly #late = (closing: Promise<void>): void => {
    this.#lateCloses.push(closing.catch((error: unknown) => void this.#cleanupErrors.push(error)));
  };

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
   * The next item if one is ready, `done` once the producers finished and every item was
   * taken, else {@link WAIT} (then `await wait()`). Raises the failure after the items
   * read before it, and the cancellation reason at once.
   */
  step(): IteratorResult<T, undefined> | typeof WAIT {
    if (this.#state === CANCELLED) throw this.#error;
    if (this.#head < this.#items.length) return { done: false, value: this.#take() };
    if (this.#state === FAILED) throw this.#error;
    if (this.#state !== RUNNING) return DONE;
    return WAIT;
  }

  /** Resolves on the next event (an item, the end, a failure or a cancellation). */
  wait(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
  }

  /**
   * The next item, waiting for it; `done` once the producers finished and every item was
   * taken. Raises like {@link Pipe.step}. With `due` (a `clock` time), resolves
   * `undefined` when nothing came by then.
   */
  async next(
    due: number = Number.POSITIVE_INFINITY,
  ): Promise<IteratorResult<T, undefined> | undefined> {
    for (;;) {
      const step = this.step();
      if (step !== WAIT) return step;
      if (due === Number.POSITIVE_INFINITY) await this.wait();
      else {
        if (this.clock.now() >= due) return undefined;
        await this.#waitUntil(due);
      }
    }
  }

  /**
   * Stops the producers, waits for them, closes the owned sources, and releases the
   * caller's listeners. `failure` is what the consumer's loop is failing with, if anything.
   * Throws a failure read ahead that the consumer's loop did not raise, else the
   * first error from closing a source (the others attached to it); the caller attaches it
   * to its own error when it had one.
   */
  close(failure?: { error: unknown }, ended = false): Promise<void> {
    this.#closing ??= this.#close(failure, false, ended);
    return this.#closing;
  }

  /**
   * `ended`: the consumer's loop reached its normal end (every item taken). Tasks the
   * producers left in the pipe's scope (spawned into `ctx.scope` by mapConcurrent's `fn`)
   * are then waited for, as `map` does (rule 1), not cancelled (review D11).
   */
  async #close(
    failure: { error: unknown } | undefined,
    abandoned = false,
    ended = false,
  ): Promise<void> {
    // Cancelled: the consumer's loop is most likely failing with this very reason (and a
    // for-await that throws discards return()'s error), so errors are attached to it.
    const reasons = abandoned ? [] : abortReasons(this.#signals);
    // A failure read ahead that the consumer never reached is still an error: not dropped.
    if (this.#state === FAILED && failure?.error !== this.#error) {
      this.#cleanupErrors.unshift(this.#error);
    }
    // Every producer returned: let their tasks settle before cancelling the scope, so that
    // the signals finished work handed out stay unaborted (a response `mapConcurrent`'s fn
    // returned, read after the loop), while tasks they left running are still cancelled
    // (after an early end; at the loop's normal end they are waited for, see `ended`).
    // (A producer cancelled on its own settles as cancelled: only its settling counts.)
    const join = ended && this.#state === FINISHED;
    if (this.#state === FINISHED && !join) await Promise.allSettled(this.#producerTasks);
    if (this.#state === RUNNING || (this.#state === FINISHED && !join)) {
      this.#stop(CLOSED, undefined);
    }
    // Cancelled (the caller's signal) while the tasks left running were waited for.
    let cancelled: { reason: unknown } | undefined;
    try {
      await this.#scope[Symbol.asyncDispose]();
    } catch (error) {
      // Producers report their own failures through next(); a cancellation from the
      // caller ends the scope with its reason. Only a bug lands here, or, when joining,
      // the failures of the tasks the calls left running.
      if (error instanceof TaskGroupError) {
        if (join) this.#cleanupErrors.push(...error.errors);
        else this.#cleanupErrors.push(error);
      }
    }
    if (join) {
      // The caller's cancellation (not the scope's own, after a failure of those tasks).
      const after = abortReasons(this.#signals);
      if (after.length > 0) cancelled = { reason: after[0] };
      if (this.#state === FINISHED || this.#state === CANCELLED) this.#stop(CLOSED, undefined);
    }
    for (const src of this.#owned) {
      try {
        await closeSource(src, this.#late);
      } catch (error) {
        this.#cleanupErrors.push(error);
      }
    }
    this.#caller[Symbol.dispose]();
    const errors = this.#cleanupErrors.splice(0);
    // Sources still closing (stuck in an await past the close wait): the consumer's scope
    // waits for them and gets their errors (see adoptByTask); outside any, see handOver.
    const late =
      this.#lateCloses.length === 0
        ? undefined
        : async (): Promise<unknown[]> => {
            while (this.#lateCloses.length > 0) await Promise.all(this.#lateCloses.splice(0));
            return this.#cleanupErrors.splice(0);
          };
    if (this.#adoption !== undefined) this.#adoption.finish(late);
    else if (late !== undefined) handOver(undefined, raiseAll(late));
    if (cancelled !== undefined) throw combine([cancelled.reason, ...errors]);
    if (errors.length === 0) return;
    if (reasons.length === 0) throw combine(errors);
    // Two cancellations may race (the task's and the explicit signal's): whichever the
    // loop fails with carries the errors.
    for (const reason of reasons.slice(1)) combine([reason, ...errors]);
    throw combine([reasons[0], ...errors]);
  }

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
      const resolve = this.#slotWaiters[this.#slotHead]!;
      this.#slotWaiters[this.#slotHead++] = undefined as never;
      if (this.#slotHead === this.#slotWaiters.length) {
        this.#slotWaiters = [];
        this.#slotHead = 0;
      }
      resolve();
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
    // The producers' signals are aborted now: released, their next pull rejects.
    const waiters = this.#slotWaiters.slice(this.#slotHead);
    this.#slotWaiters = [];
    this.#slotHead = 0;
    for (const resolve of waiters) resolve();
    this.#wakeConsumer();
  }

  #wakeConsumer(): void {
    const taker = this.#taker;
    if (taker !== undefined) {
      let step: IteratorResult<T, undefined> | typeof WAIT;
      try {
        step = this.step();
      } catch (error) {
        this.#taker = undefined;
        taker(this.onEnd?.({ error }) ?? Promise.reject(error));
        return;
      }
      if (step !== WAIT) {
        this.#taker = undefined;
        taker(step.done ? (this.onEnd?.(undefined) ?? step) : step);
      }
      return;
    }
    const wake = this.#wake;
    if (wake !== undefined) {
      this.#wake = undefined;
      wake();
    }
  }

  #waitUntil(due: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer: Cancel = schedule(this.clock, due - this.clock.now(), () => {
        this.#wake = undefined;
        resolve();
      });
      this.#wake = () => {
        timer();
        resolve();
      };
    });
  }
}

/**
 * The distinct reasons of the aborted signals among `signals`: what a cancelled loop may
 * be failing with, so that errors raised while closing it can be attached to it.
 */
export function abortReasons(signals: ReadonlyArray<AbortSignal | undefined>): unknown[] {
  const reasons: unknown[] = [];
  for (const signal of signals) {
    if (signal?.aborted === true && !reasons.includes(signal.reason)) reasons.push(signal.reason);
  }
  return reasons;
}

/**
 * What a loop raises when used after its owner ended: the task its first `next()` ran in,
 * or (`scope` given) the scope whose body that was.
 */
export function abandonedError(name: string, scope?: Scope): CancelledError {
  return new CancelledError(
    scope === undefined
      ? `This ${name} loop was closed when the task that opened it ended (a loop belongs to the task or scope body its first next() ran in); consume it in that task, or open it in a scope body to share it with the scope's tasks`
      : `This ${name} loop was closed when scope "${scope.name}", whose body opened it, ended; use it inside that scope`,
  );
}

/** The first error, with the others attached to it. */
function combine(errors: readonly unknown[]): unknown {
  let error = errors[0];
  for (const other of errors.slice(1)) error = attachSuppressed(error, other);
  return error;
}

/** A helper's hold on the consumer's scope, from {@link adoptByTask}. */
export interface Adoption {
  /**
   * The helper has closed (normally, or through the `abandon` callback): the scope lets go
   * of it, after awaiting `late` (sources still closing) and raising the errors it returns.
   */
  finish(late?: () => Promise<unknown[]>): void;
}

/** Runs `late` and rejects with the errors it returns (the first, others attached). */
async function raiseAll(late: () => Promise<unknown[]>): Promise<void> {
  const errors = await late();
  if (errors.length > 0) throw combine(errors);
}

/**
 * Hands work that outlived its loop (a source still closing) to `owner`, the consumer's
 * scope, which waits for it and fails with its error; with a `name` (`close buffer`) it
 * shows in `tree()` and the stuck check until it settles (review D6). Outside any scope (or once that
 * scope has closed) nobody can receive the error any more: rather than drop it, or crash
 * the process with an unhandled rejection for a loop that had ended, it is emitted as a
 * process warning, a `LateCleanupWarning` whose `cause` is the error.
 */
export function handOver(owner: Scope | undefined, work: Promise<unknown>, name?: string): void {
  if (owner !== undefined && scopeInternals.hold(owner, work, name)) return;
  work.then(noop, warnLateCleanup);
}

function warnLateCleanup(error: unknown): void {
  const detail = errorText(error);
  const warning = new Error(
    `A source was closed after the loop reading it had ended, outside any scope, and closing it failed (${detail}); open the loop inside a scope or task to get such errors`,
    { cause: error },
  );
  warning.name = 'LateCleanupWarning';
  const proc = (globalThis as { process?: { emitWarning?: (warning: Error) => void } }).process;
  if (typeof proc?.emitWarning === 'function') proc.emitWarning(warning);
  else console.error(warning);
}

/** The helpers each live task holds open: one `then` per task, entries leave on close. */
const heldByTask = new WeakMap<object, Set<() => void>>();

/**
 * Makes a helper opened by a task or a scope body part of that one's scope (defect 7 of
 * issue 7), so that the scope cannot end while the helper's readers run or its sources
 * are open, and an error raised while closing it that no consumer can receive fails the
 * scope instead of being dropped:
 *
 * - In a task, a keeper task in the scope waits until the helper has closed, and when the
 *   consumer task settles without closing it, `abandon()` closes it.
 * - In a body (a `scope()` body, a `timeout`/`deadline`/`moveOnAfter` fn, `run`'s main),
 *   the helper belongs to the body's scope, whose tasks may use it too (review D8): a join
 *   hook closes it once the body and every task of the scope have settled without
 *   closing it, and the scope waits for that close, and for sources still closing late
 *   (`Adoption.finish`). No task of the scope waits for the helper (its readers run in a
 *   scope of its own), so a reader blocked on a consumer that left cannot hold the join.
 *
 * `abandon` gets the error later calls reject with (see {@link abandonedError}). Nothing
 * is retained once the helper has closed: a long-lived task or body may open any number
 * of helpers. `undefined` outside any task or body (or once its scope closed).
 */
export function adoptByTask(
  name: string,
  ctx: TaskContext | undefined,
  abandon: (error: CancelledError) => Promise<unknown>,
): Adoption | undefined {
  if (ctx === undefined || ctx.scope.closed) return undefined;
  const owner = ownerTask(ctx);
  if (owner === undefined) {
    const s = ctx.scope;
    return adoptByBody(s, name, () => abandon(abandonedError(name, s)));
  }
  let finished!: (late: (() => Promise<unknown[]>) | undefined) => void;
  const closed = new Promise<(() => Promise<unknown[]>) | undefined>((resolve) => {
    finished = resolve;
  });
  let abandoning: Promise<void> | undefined;
  const errors: unknown[] = [];
  const scope = ctx.scope;
  try {
    scope.spawn(
      async () => {
        const late = await closed;
        if (abandoning !== undefined) await abandoning;
        // Sources still closing: the scope waits for them as a named hold (shown in tree()
        // and the stuck check, review D6) rather than through this task.
        if (late !== undefined) handOver(scope, raiseAll(late), `close ${name}`);
        // Held rather than thrown: an error closing a helper is secondary to the scope's
        // own timeout, when that is what ended the task (review D5 of corefix).
        if (errors.length > 0) handOver(scope, Promise.reject(combine(errors)));
      },
      { name: `${name}-keeper` },
    );
  } catch {
    return undefined;
  }
  const onOwnerSettled = (): void => {
    abandoning = abandon(abandonedError(name)).then(
      noop,
      (error: unknown) => void errors.push(error),
    );
  };
  let held = heldByTask.get(owner);
  if (held === undefined) {
    const set = new Set<() => void>();
    held = set;
    heldByTask.set(owner, set);
    const settle = (): void => {
      heldByTask.delete(owner);
      for (const hook of [...set]) hook();
    };
    owner.then(settle, settle);
  }
  held.add(onOwnerSettled);
  const registry = held;
  let done = false;
  return {
    finish(late) {
      if (done) return;
      done = true;
      registry.delete(onOwnerSettled);
      finished(late);
    },
  };
}

/** {@link adoptByTask} for a helper opened in a scope body: see there. */
function adoptByBody(
  s: Scope,
  name: string,
  abandon: () => Promise<unknown>,
): Adoption | undefined {
  let done = false;
  const off = scopeInternals.onJoin(s, () => (done ? undefined : abandon()));
  if (off === undefined) return undefined;
  return {
    finish(late) {
      if (done) return;
      done = true;
      off();
      if (late !== undefined) handOver(s, raiseAll(late), `close ${name}`);
    },
  };
}

/** The consumer's task, as a thenable that settles with it; `undefined` in a body or outside. */
function ownerTask(ctx: TaskContext | undefined): PromiseLike<unknown> | undefined {
  if (ctx === undefined) return undefined;
  const task = (ctx as { task?: unknown }).task;
  if (isThenable(task)) return task;
  return isThenable(ctx) ? ctx : undefined;
}

/** A step kept by {@link Readers} for the next reader. */
interface Kept<T> {
  readonly step: Promise<IteratorResult<T, void>>;
  taken: boolean;
  // Unregisters the check at the scope's join (see Readers#keep).
  off: (() => void) | undefined;
}

/**
 * Lets a reader that is not the helper's owner leave a pending `next()` when that reader
 * is cancelled: a helper opened in a scope body may be read by the scope's tasks (review
 * D8), and a task cancelled on its own (`task.cancel()`) must not wait for an item that
 * may never come. Its call rejects with its cancellation reason, and the step it was
 * waiting for is kept for the next call (of any reader), so no item is lost. The owner's
 * own cancellation needs no such help: it stops the helper itself.
 */
class Readers<T> {
  // The context the helper was opened in (`null` until then; `undefined`: outside any).
  #owner: TaskContext | undefined | null = null;
  // Steps whose reader left before they settled, oldest first.
  #orphans: Kept<T>[] | undefined;

  /** Whether no step is kept for the next reader. */
  get idle(): boolean {
    return this.#orphans === undefined || this.#orphans.length === 0;
  }

  /** Records the owner: called where the helper starts (its first `next()`). */
  opened(): void {
    this.#owner = currentContext();
  }

  /** A step kept from a reader that left, if any: the next call must get it first. */
  orphan(): Promise<IteratorResult<T, void>> | undefined {
    const orphans = this.#orphans;
    if (orphans === undefined || orphans.length === 0) return undefined;
    const kept = orphans.shift()!;
    kept.taken = true;
    kept.off?.();
    return kept.step;
  }

  /**
   * Keeps `step`, left by `reader`. If no reader takes it before the owner's scope (or,
   * for a helper opened outside any, the reader's) closes, its failure fails that scope
   * (review D3 of corefix: a source that failed after its reader left must not vanish);
   * the close's own cancellation of it does not.
   */
  #keep(step: Promise<IteratorResult<T, void>>, reader: TaskContext): void {
    const kept: Kept<T> = { step, taken: false, off: undefined };
    const raise = (): Promise<void> =>
      step.then(noop, (error: unknown) => {
        if (!isCancellation(error)) throw error;
      });
    const s = (this.#owner ?? reader).scope;
    kept.off = scopeInternals.onJoin(s, () => (kept.taken ? undefined : raise()));
    if (kept.off === undefined) handOver(undefined, raise());
    (this.#orphans ??= []).push(kept);
  }

  /** The next step: a kept one, else `start()`'s, {@link Readers.race raced}. */
  next(start: () => Promise<IteratorResult<T, void>>): Promise<IteratorResult<T, void>> {
    return this.race(this.orphan() ?? start());
  }

  /**
   * `step` as the caller gets it: as is for the owner (or outside any task), else raced
   * with the caller's cancellation (a step that loses is kept for the next call).
   */
  race(step: Promise<IteratorResult<T, void>>): Promise<IteratorResult<T, void>> {
    const ctx = currentContext();
    if (ctx === undefined || this.#owner === null || ctx === this.#owner) return step;
    return abortable(step, ctx.signal, () => this.#keep(step, ctx));
  }
}

/**
 * The consumer side of buffer, merge and mapConcurrent, as a hand-written async iterator
 * (cheaper than an async generator per item): `setup()` runs at the first `next()` (so
 * the pipe belongs to the consumer's task), then items are handed out until the producers
 * end; stopping for any reason closes the pipe. An error from closing a source is attached
 * to the loop's own error, or raised when the loop had none. Closing it before the first
 * `next()` closes `sources`. Calls are served in order, as an async generator's are.
 */
export function drain<T>(
  setup: () => Pipe<T>,
  sources: readonly Source<unknown>[],
): AsyncGenerator<T, void, undefined> {
  return new DrainIterator(setup, sources);
}

class DrainIterator<T> implements AsyncGenerator<T, void, undefined> {
  #setup: (() => Pipe<T>) | undefined;
  readonly #sources: readonly Source<unknown>[];
  #pipe: Pipe<T> | undefined;
  // Ended (the producers finished, a failure was raised, or it was closed), and the
  // failure or cancellation it ended with, if any.
  #done = false;
  #failed: { error: unknown } | undefined;
  // The pending next() while it waits for an item: later calls queue behind it.
  #waiting: Promise<IteratorResult<T, void>> | undefined;
  readonly #readers = new Readers<T>();

  constructor(setup: () => Pipe<T>, sources: readonly Source<unknown>[]) {
    this.#setup = setup;
    this.#sources = sources;
  }

  next(): Promise<IteratorResult<T, void>> {
    const orphan = this.#readers.orphan();
    if (orphan !== undefined) return this.#readers.race(orphan);
    const step = this.#nextInOrder();
    // Only a step still waiting for an item is raced with a reader's cancellation (see
    // Readers): an item that was ready costs nothing more.
    return step === this.#waiting ? this.#readers.race(step) : step;
  }

  #nextInOrder(): Promise<IteratorResult<T, void>> {
    const waiting = this.#waiting;
    if (waiting !== undefined && this.#pipe?.taking === true) {
      const again = (): Promise<IteratorResult<T, void>> => this.#nextInOrder();
      this.#waiting = waiting.then(again, again);
      return this.#waiting;
    }
    return this.#next();
  }

  #next(): Promise<IteratorResult<T, void>> {
    if (this.#done) {
      // Ended by a failure or a cancellation: later calls raise it again, never a quiet
      // end (review D6 of corefix: a poll cut by its time limit, then next() again).
      return this.#failed === undefined
        ? Promise.resolve(DONE)
        : Promise.reject(this.#failed.error);
    }
    let pipe = this.#pipe;
    let step: IteratorResult<T, undefined> | Promise<IteratorResult<T, void>>;
    try {
      if (pipe === undefined) {
        this.#readers.opened();
        pipe = this.#pipe = this.#setup!();
        this.#setup = undefined;
        pipe.onEnd = (failure) => this.#end(failure, failure === undefined);
        pipe.seal();
      }
      step = pipe.take();
    } catch (error) {
      return this.#end({ error });
    }
    if (step instanceof Promise) {
      // Resolved by the pipe with the next item, or with #end's outcome at the end.
      this.#waiting = step;
      return step;
    }
    if (step.done) return this.#end(undefined, true);
    return Promise.resolve(step);
  }

  /**
   * Ends the loop: closes the pipe, then resolves `done` or rejects with the failure.
   * `ended`: every item was taken (a normal end, not a `return()`), see {@link Pipe.close}.
   */
  async #end(
    failure: { error: unknown } | undefined,
    ended = false,
  ): Promise<IteratorResult<T, void>> {
    if (this.#done) {
      if (failure !== undefined) throw failure.error;
      return DONE;
    }
    this.#done = true;
    this.#failed = failure;
    const pipe = this.#pipe;
    if (pipe === undefined) {
      this.#setup = undefined;
      await closeUnstarted(this.#sources, failure);
    } else await closePipe(pipe, failure, ended);
    if (failure !== undefined) throw failure.error;
    return DONE;
  }

  async return(value?: void | PromiseLike<void>): Promise<IteratorResult<T, void>> {
    if (!this.#done) await this.#end(undefined);
    return { done: true, value: (await value) as void };
  }

  async throw(error: unknown): Promise<IteratorResult<T, void>> {
    if (!this.#done) await this.#end({ error });
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

/** Closes `pipe`; a cleanup error is attached to `failure` when there was one. */
export async function closePipe<T>(
  pipe: Pipe<T>,
  failure: { error: unknown } | undefined,
  ended = false,
): Promise<void> {
  try {
    await pipe.close(failure, ended);
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
  start: (self: HelperHandle) => AsyncGenerator<T, void, undefined>,
  sources: readonly Source<unknown>[],
): AsyncGenerator<T, void, undefined> {
  return new HelperIterator(start, sources);
}

/** What a helper's generator may do with its own iterator. */
export interface HelperHandle {
  /**
   * Closes it because its owner (the task, or the scope whose body opened it) ended: later
   * calls reject with `error`. A call still in flight (a reader that left, review D8) is
   * waited for, and a failure of it other than `error` (a cleanup error) is raised.
   */
  abandon(error: unknown): Promise<unknown>;
  /** Whether it was closed by {@link HelperHandle.abandon}. */
  readonly abandoned: boolean;
  /**
   * Aborts with the error given to {@link HelperHandle.abandon}: what the generator's reads
   * must also answer to, or a read pending when its owner ended would hold the close.
   */
  readonly signal: AbortSignal;
}

class HelperIterator<T> implements AsyncGenerator<T, void, undefined> {
  #start: ((self: HelperHandle) => AsyncGenerator<T, void, undefined>) | undefined;
  // Set when the task that started it ended: later calls reject with it.
  #abandoned: { error: unknown } | undefined;
  #sources: readonly Source<unknown>[];
  #gen: AsyncGenerator<T, void, undefined> | undefined;
  // Closed before it started: later calls end at once.
  #done = false;
  readonly #readers = new Readers<T>();
  readonly #step = (): Promise<IteratorResult<T, void>> => {
    const gen = this.#generator();
    if (gen === undefined) return Promise.resolve(DONE);
    const step = gen.next();
    this.#inflight = step;
    step.then(undefined, (error: unknown) => {
      this.#failed ??= { error };
    });
    return step;
  };
  // The failure or cancellation the generator ended with: later calls raise it again,
  // never a quiet end (review D6 of corefix), as DrainIterator does.
  #failed: { error: unknown } | undefined;
  // The last generator step asked for (see abandon), and what aborts on abandon().
  #inflight: Promise<IteratorResult<T, void>> | undefined;
  #stop: AbortController | undefined;

  constructor(
    start: (self: HelperHandle) => AsyncGenerator<T, void, undefined>,
    sources: readonly Source<unknown>[],
  ) {
    this.#start = start;
    this.#sources = sources;
  }

  #generator(): AsyncGenerator<T, void, undefined> | undefined {
    if (this.#gen === undefined && !this.#done) {
      const start = this.#start!;
      this.#start = undefined;
      this.#readers.opened();
      this.#gen = start(this);
    }
    return this.#gen;
  }

  next(): Promise<IteratorResult<T, void>> {
    if (this.#abandoned !== undefined) return Promise.reject(this.#abandoned.error);
    if (this.#failed !== undefined && this.#readers.idle) return Promise.reject(this.#failed.error);
    return this.#readers.next(this.#step);
  }

  abandon(error: unknown): Promise<unknown> {
    this.#abandoned ??= { error };
    this.#stop?.abort(error);
    const inflight = this.#inflight;
    const closing = this.return();
    if (inflight === undefined) return closing;
    return Promise.all([
      closing,
      inflight.then(noop, (failure: unknown) => {
        if (failure !== error) throw failure;
      }),
    ]);
  }

  get abandoned(): boolean {
    return this.#abandoned !== undefined;
  }

  get signal(): AbortSignal {
    return (this.#stop ??= new AbortController()).signal;
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
    await closeUnstarted(this.#sources, failure);
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

/** Closes the sources of a helper that never started; errors as in {@link closePipe}. */
async function closeUnstarted(
  sources: readonly Source<unknown>[],
  failure: { error: unknown } | undefined,
): Promise<void> {
  const errors: unknown[] = [];
  for (const src of sources) {
    try {
      await closeSource(src);
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length === 0) return;
  throw failure === undefined ? combine(errors) : combine([failure.error, ...errors]);
}
