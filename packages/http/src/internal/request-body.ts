// A one-shot request body (a caller's ReadableStream or async iterable) as weft hands it
// to fetch: through a stream of weft's own, so that weft can cancel the caller's source
// when the attempt is aborted or the request ends before the body was sent. Runtimes
// differ here: Bun and Deno cancel a request body when the fetch is aborted, Node's fetch
// (undici) does not, and would keep pulling the caller's stream after the request ended.

const encoder = new TextEncoder();

/** The caller's one-shot body and whether weft still owes it a cancel. */
export class StreamBody {
  readonly #source: ReadableStream<unknown> | AsyncIterable<unknown>;
  #reader: ReadableStreamDefaultReader<unknown> | undefined;
  #iterator: AsyncIterator<unknown> | undefined;
  /** Set once the source ended, failed or was cancelled: nothing more to cancel. */
  #settled = false;
  /** The stream handed to fetch (one per request: a one-shot body is sent once). */
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;

  constructor(source: ReadableStream<unknown> | AsyncIterable<unknown>) {
    this.#source = source;
  }

  /**
   * The body to give fetch for an attempt on `signal`: it reads the caller's source as
   * fetch pulls, and when `signal` aborts it errors (so fetch stops reading) and cancels
   * the source with the abort reason.
   */
  stream(signal: AbortSignal): ReadableStream<Uint8Array> {
    this.#detach();
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: (controller) => this.#pull(controller),
        // fetch gave up the body (Bun and Deno do on abort, Bun before any abort listener
        // runs and without a reason): the source goes with it, with the abort reason.
        cancel: (reason) => this.cancel(signal.aborted ? signal.reason : reason),
      },
      { highWaterMark: 0 },
    );
    if (signal.aborted) this.cancel(signal.reason);
    else {
      this.#signal = signal;
      this.#onAbort = () => this.cancel(signal.reason);
      signal.addEventListener('abort', this.#onAbort, { once: true });
    }
    return stream;
  }

  /**
   * Cancels the caller's source with `reason` unless it has ended already (safe to call
   * more than once): a ReadableStream's `cancel` hook runs, an async iterator's `return()`
   * is called. A source fetch never started reading is cancelled too (a ReadableStream
   * that is not locked; an async iterable not yet iterated has nothing to close).
   */
  cancel(reason: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#detach();
    try {
      this.#controller?.error(reason);
    } catch {
      // Already closed or errored.
    }
    const source = this.#source;
    if (this.#reader !== undefined) {
      this.#reader.cancel(reason).catch(() => {});
    } else if (this.#iterator !== undefined) {
      const iterator = this.#iterator;
      try {
        Promise.resolve(iterator.return?.()).catch(() => {});
      } catch {
        // A return() that throws synchronously: the source is closed as far as it can be.
      }
    } else if (source instanceof ReadableStream && !source.locked) {
      source.cancel(reason).catch(() => {});
    }
  }

  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    if (this.#settled) return;
    let result: IteratorResult<unknown>;
    try {
      result = await this.#next();
    } catch (error) {
      if (this.#settled) return;
      this.#settled = true;
      this.#detach();
      controller.error(error);
      return;
    }
    if (this.#settled) return; // cancelled while the read was pending
    if (result.done === true) {
      this.#settled = true;
      this.#detach();
      controller.close();
      return;
    }
    const chunk = result.value;
    controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : (chunk as Uint8Array));
  }

  #next(): Promise<IteratorResult<unknown>> {
    const source = this.#source;
    if (source instanceof ReadableStream) {
      this.#reader ??= source.getReader();
      return this.#reader.read() as Promise<IteratorResult<unknown>>;
    }
    this.#iterator ??= source[Symbol.asyncIterator]();
    return this.#iterator.next();
  }

  #detach(): void {
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#onAbort = undefined;
    this.#signal = undefined;
  }
}
