import { type Clock, systemClock } from '../clock.ts';
import { TaskGroupError } from '../errors.ts';
import { Queue, QueueShutDownError, queueInternals } from '../queue.ts';
import { Scope } from '../scope.ts';
import type { TaskContext } from '../task.ts';
import { currentContext } from './context.ts';
import { closeSource, pull, type Source } from './source.ts';

/** Options every async-iterable helper takes. */
export interface PipeOptions {
  /** Stops the helper (and its sources) when it aborts. Inside a task: the task's signal. */
  signal?: AbortSignal;
  /** Where time comes from. Inside a task: the task's clock. */
  clock?: Clock;
}

/**
 * The machinery behind buffer, merge, batch and mapConcurrent: producer tasks run in an
 * internal scope and feed a bounded queue; the consumer drains it. When the consumer
 * stops early (break, error, cancellation) the scope is cancelled and awaited, so the
 * producers and the sources they pull from stop before the helper returns. The first
 * producer failure stops the others; the items already queued are delivered, then the
 * failure is raised.
 */
export class Pipe<T> {
  readonly queue: Queue<T>;
  readonly scope: Scope;
  readonly clock: Clock;
  readonly #outer: AbortSignal | undefined;
  #failure: { error: unknown } | undefined;
  #producers = 0;

  constructor(capacity: number, options: PipeOptions | undefined, name: string) {
    const ctx = currentContext();
    this.#outer = options?.signal ?? ctx?.signal;
    this.clock = options?.clock ?? ctx?.clock ?? systemClock;
    this.queue = new Queue<T>({ capacity });
    this.scope = new Scope({ signal: this.#outer, clock: this.clock, name });
    // One listener for the whole pipe: when its producers are cancelled, pending puts
    // reject (queued items stay for the consumer) and `onCancel` hooks release the rest.
    this.scope.signal.addEventListener(
      'abort',
      () => {
        this.queue.close();
        for (const hook of this.#onCancel) hook(this.scope.signal.reason);
      },
      { once: true },
    );
  }

  readonly #onCancel: Array<(reason: unknown) => void> = [];

  /** Runs `hook` when the producers are cancelled. */
  onCancel(hook: (reason: unknown) => void): void {
    this.#onCancel.push(hook);
  }

  /** Queues `item` for the consumer, waiting while the queue is full. */
  put(item: T): Promise<void> {
    return queueInternals.put(this.queue, item);
  }

  /** The signal consumers wait with: the caller's, not the producers'. */
  get outer(): AbortSignal | undefined {
    return this.#outer;
  }

  /** Starts a producer; the queue closes when the last one ends or one fails. */
  produce(name: string, fn: (ctx: TaskContext) => Promise<void>): void {
    this.#producers++;
    this.scope.spawn(
      async (ctx) => {
        try {
          await fn(ctx);
        } catch (error) {
          if (!ctx.signal.aborted && this.#failure === undefined) {
            this.#failure = { error };
            this.scope.cancel();
          }
        } finally {
          if (--this.#producers === 0 || this.#failure !== undefined) this.queue.close();
        }
      },
      { name },
    );
  }

  /** Starts a producer that copies `src` into the queue, and closes `src` when it stops. */
  pump(name: string, src: Source<T>): void {
    this.produce(name, async ({ signal }) => {
      try {
        for (;;) {
          const step = await pull(src, signal);
          if (step.done) return;
          await this.put(step.value);
        }
      } finally {
        await closeSource(src);
      }
    });
  }

  /**
   * Waits for the next item; `done` when the producers finished. Raises their failure.
   * A `signal` (default: the caller's) cancels the wait without taking an item.
   */
  async next(signal: AbortSignal | undefined = this.#outer): Promise<IteratorResult<T, undefined>> {
    try {
      return { done: false, value: await this.queue.get({ signal }) };
    } catch (error) {
      if (!(error instanceof QueueShutDownError)) throw error;
      if (this.#failure !== undefined) throw this.#failure.error;
      return { done: true, value: undefined };
    }
  }

  /** Stops the producers and waits for them. */
  async close(): Promise<void> {
    this.scope.cancel();
    try {
      await this.scope[Symbol.asyncDispose]();
    } catch (error) {
      // Producers report their own failures through next(); only a bug lands here.
      if (error instanceof TaskGroupError) throw error;
    }
  }
}

/**
 * The consumer side of every helper: `setup()` runs at the first `next()` (so the pipe's
 * scope belongs to the consumer's task), then items are yielded until the producers end;
 * stopping for any reason closes the pipe, then runs `after`.
 */
export async function* drain<T>(
  setup: () => Pipe<T>,
  after?: () => Promise<void>,
): AsyncGenerator<T, void, undefined> {
  const pipe = setup();
  try {
    for (;;) {
      const ready = pipe.queue.tryGet();
      if (ready !== undefined) {
        yield ready.value;
        continue;
      }
      const step = await pipe.next();
      if (step.done) return;
      yield step.value;
    }
  } finally {
    await pipe.close();
    await after?.();
  }
}
