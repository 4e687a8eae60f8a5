// A one-shot request body (a caller's ReadableStream or async iterable) as weft hands it
// to fetch: through a stream of weft's own, so that weft can cancel the caller's source
// when the attempt is aborted or the request ends before the body was sent. Runtimes
// differ here: Bun and Deno cancel a request body when the fetch is aborted, Node's fetch
// (undici) does not, and would keep pulling the caller's stream after the request ended.
//
// The same stream makes a failing source the same on every runtime (probe P2, P2b): fetch
// would wrap the source's error in its own TypeError (Node and Deno, Deno with a copy of
// the error) or in nothing (Bun), and Node and Deno refuse chunks Bun takes (an
// ArrayBuffer, a DataView). Here every chunk is checked and turned into a Uint8Array, and a
// source that fails ends the attempt with its own error.

import { describe } from './validate.ts';

const encoder = new TextEncoder();

const toTag = Object.prototype.toString;

/**
 * A chunk of a one-shot body as the bytes fetch takes (a Uint8Array), or `undefined` when
 * it is neither a string nor a BufferSource. A view is re-viewed, not copied; only bytes
 * in shared memory are copied (they could change while fetch sends them).
 */
function toBytes(chunk: unknown): Uint8Array | undefined {
  if (typeof chunk === 'string') return encoder.encode(chunk);
  if (ArrayBuffer.isView(chunk)) {
    // A view over a detached buffer reads as empty: it would be sent as 0 bytes.
    // (`detached` is there from Node 22, Bun and Deno; older Node cannot tell.)
    if ((chunk.buffer as { detached?: boolean }).detached === true) {
      throw new TypeError('its buffer is detached');
    }
    if (
      !(chunk.buffer instanceof ArrayBuffer) &&
      toTag.call(chunk.buffer) !== '[object ArrayBuffer]'
    ) {
      return new Uint8Array(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    }
    return chunk instanceof Uint8Array
      ? chunk
      : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
  const tag = typeof chunk === 'object' && chunk !== null ? toTag.call(chunk) : '';
  if (chunk instanceof ArrayBuffer || tag === '[object ArrayBuffer]') {
    if ((chunk as { detached?: boolean }).detached === true) {
      throw new TypeError('it is a detached ArrayBuffer');
    }
    return new Uint8Array(chunk as ArrayBuffer);
  }
  if (tag === '[object SharedArrayBuffer]') {
    return new Uint8Array(new Uint8Array(chunk as SharedArrayBuffer));
  }
  return undefined;
}

/** `describe(value)`, or a plain word for a value that even describing throws on. */
function safeDescribe(value: unknown): string {
  try {
    return describe(value);
  } catch {
    return `an unreadable ${typeof value}`;
  }
}

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
  /** Ends the attempt of the current stream with the source's error when the source fails. */
  #fail: ((error: unknown) => void) | undefined;
  /** Chunks and bytes read so far, to say where a bad chunk was. */
  #chunks = 0;
  #bytes = 0;

  constructor(source: ReadableStream<unknown> | AsyncIterable<unknown>) {
    this.#source = source;
  }

  /**
   * The body to give fetch for an attempt on `signal`: it reads the caller's source as
   * fetch pulls, and when `signal` aborts it errors (so fetch stops reading) and cancels
   * the source with the abort reason. When the source fails first, `fail` is called with
   * the caller's error as thrown (any value, `undefined` too), to end the attempt with it.
   */
  stream(signal: AbortSignal, fail: (error: unknown) => void): ReadableStream<Uint8Array> {
    this.#detach();
    this.#fail = fail;
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
      // The source failed (its stream errored, its iterator threw): it is done, nothing
      // to cancel. The caller's error ends the attempt as itself (probe P2).
      if (!this.#settled) this.#failed(controller, error, false);
      return;
    }
    if (this.#settled) return; // cancelled while the read was pending
    if (typeof result !== 'object' || result === null) {
      // A hand-written iterator whose next() resolved with something else.
      const error = new TypeError(
        `Expected the \`next()\` of \`options.body\` to resolve with an iterator result, got ${describe(result)} after chunk ${this.#chunks}`,
      );
      this.#failed(controller, error, true);
      return;
    }
    if (result.done === true) {
      this.#settled = true;
      this.#detach();
      controller.close();
      return;
    }
    const chunk = result.value;
    let bytes: Uint8Array | undefined;
    let cause: unknown;
    try {
      bytes = toBytes(chunk);
    } catch (error) {
      // A chunk that cannot be read (a detached buffer, a revoked Proxy, a throwing
      // getter): the same TypeError as for a chunk that is not bytes (probe7 P5).
      cause = error;
    }
    if (bytes === undefined) {
      // Not bytes: the same TypeError on every runtime (their fetch differ), and the
      // source, still open, is cancelled with it (probe P2b).
      const error = new TypeError(
        `Expected each chunk of \`options.body\` to be a string or a BufferSource (ArrayBuffer, TypedArray, DataView), got ${safeDescribe(chunk)} as chunk ${this.#chunks} (after ${this.#bytes} bytes)`,
        cause === undefined ? undefined : { cause },
      );
      this.#failed(controller, error, true);
      return;
    }
    this.#chunks++;
    this.#bytes += bytes.byteLength;
    controller.enqueue(bytes);
  }

  /** The source failed with `error`: fetch's stream errors, the attempt ends with it. */
  #failed(
    controller: ReadableStreamDefaultController<Uint8Array>,
    error: unknown,
    cancelSource: boolean,
  ): void {
    const fail = this.#fail;
    if (cancelSource) this.cancel(error);
    else {
      this.#settled = true;
      this.#detach();
      try {
        controller.error(error);
      } catch {
        // Already errored.
      }
    }
    fail?.(error);
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
    this.#fail = undefined;
  }
}
