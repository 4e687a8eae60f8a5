import { CancelledError } from '@weft/core';
import { ParseError } from './errors.ts';
import { describe } from './internal/validate.ts';
import { readLines, TooLarge, utf8Length } from './internal/body.ts';
import type { Consumer, Operation, StreamHandle } from './internal/operation.ts';
import type { SchemaOutput, ServerSentEvent, StandardSchemaV1 } from './types.ts';

let create: (operation: Operation) => ResponsePromise;

// The consumers without parameters, made once (a request only reads them).
const RAW: Consumer = { kind: 'raw' };
const JSON_BODY: Consumer = { kind: 'json', schema: undefined };
const TEXT: Consumer = { kind: 'text' };
const BYTES: Consumer = { kind: 'bytes' };
const STREAM: Consumer = { kind: 'stream' };

/** Wraps an operation (for the client). */
export function makeResponsePromise(operation: Operation): ResponsePromise {
  return create(operation);
}

/**
 * What every request method returns: a promise of the `Response` (await it) that also
 * has body helpers. Call one helper, or await it once: a second use rejects with a
 * `TypeError`.
 *
 * - `.json()`, `.json(schema)`, `.text()`, `.bytes()` read the whole body inside the
 *   attempt: the per-attempt timeout covers the read, a connection reset mid-body is
 *   retried like any network error, and `maxResponseSize` caps it.
 * - `.lines()`, `.ndjson()`, `.sse()` are async iterables that read the body only as
 *   fast as you consume it (backpressure); leaving the loop early (`break`, `return`,
 *   an error) cancels the body. The per-attempt timeout covers the whole stream: pass
 *   `timeout: Infinity` for long-lived streams.
 * - Awaiting it gives the `Response`; read or cancel its body (the request, its
 *   concurrency slot and its timeout last until you do).
 *
 * The request starts at once (in a microtask), whether or not it is awaited.
 *
 * @example
 * ```ts
 * import { createClient } from '@weft/http';
 *
 * await using http = createClient({ baseUrl: 'http://127.0.0.1:8080' });
 * const post = await http.get('/posts/1').json<{ id: number; title: string }>();
 * for await (const event of http.get('/events', { timeout: Infinity }).sse()) {
 *   if (event.event === 'done') break; // cancels the stream
 * }
 * ```
 */
export class ResponsePromise implements PromiseLike<Response> {
  #operation!: Operation;
  #raw: Promise<Response> | undefined;

  /** Made by the client's request methods only. */
  private constructor() {}

  static {
    create = (operation) => {
      const promise = new ResponsePromise();
      promise.#operation = operation;
      return promise;
    };
  }

  // biome-ignore lint/suspicious/noThenProperty: a response promise is a thenable by design
  then<A = Response, B = never>(
    onfulfilled?: ((value: Response) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.#raw ??= this.#operation.consume(RAW) as Promise<Response>;
    return this.#raw.then(onfulfilled, onrejected);
  }

  /** Like `Promise.prototype.catch`, on the `Response`. */
  catch<B = never>(
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<Response | B> {
    return this.then(undefined, onrejected);
  }

  /** Like `Promise.prototype.finally`, on the `Response`. */
  finally(onfinally?: (() => void) | null): Promise<Response> {
    return this.then().finally(onfinally);
  }

  /**
   * The body parsed as JSON (`undefined` for an empty body); sends `accept:
   * application/json` unless set. With a Standard Schema (zod, valibot, Effect
   * Schema…), the validated output. Rejects with `ParseError` for invalid JSON and
   * `SchemaError` when validation fails; neither is retried.
   */
  json<T = unknown>(): Promise<T>;
  json<S extends StandardSchemaV1>(schema: S): Promise<SchemaOutput<S>>;
  json(schema?: StandardSchemaV1): Promise<unknown> {
    if (
      schema !== undefined &&
      // Effect's schemas are functions (classes) that carry `~standard`.
      ((typeof schema !== 'object' && typeof schema !== 'function') ||
        schema === null ||
        typeof schema['~standard']?.validate !== 'function')
    ) {
      const error = new TypeError(
        `Expected \`schema\` to be a Standard Schema (an object with \`~standard.validate\`), got ${describe(schema)}`,
      );
      // The request already started: end it now rather than leave it holding its
      // response, its concurrency slot and its timer until the attempt times out.
      this.#operation.abort(error);
      this.#operation.consume(RAW).catch(() => {});
      return Promise.reject(error);
    }
    return this.#operation.consume(schema === undefined ? JSON_BODY : { kind: 'json', schema });
  }

  /** The body as text (UTF-8). */
  text(): Promise<string> {
    return this.#operation.consume(TEXT) as Promise<string>;
  }

  /** The body as bytes. */
  bytes(): Promise<Uint8Array> {
    return this.#operation.consume(BYTES) as Promise<Uint8Array>;
  }

  /**
   * The body's lines (`\n`, `\r\n` or `\r` endings, without them), as they arrive.
   * A line larger than `maxResponseSize` bytes (UTF-8) rejects with `ResponseTooLargeError`.
   */
  lines(): AsyncIterable<string> {
    const handle = this.#operation.consume(STREAM) as Promise<StreamHandle>;
    return this.#iterable(handle, () => streamLines(handle));
  }

  /**
   * An async iterable over `make()`'s generator. A generator closed before its first
   * `next()` never runs its `finally`, so closing it then (or never iterating after
   * `[Symbol.asyncIterator]()`'s `return()`) cancels the request here instead. A
   * generator waiting in a read ignores `return()` until the read settles, which on a
   * quiet stream may be never: `return()` while a `next()` is pending cancels the
   * request at once, and that pending `next()` resolves as done.
   */
  #iterable<T>(
    handle: Promise<StreamHandle>,
    make: () => AsyncGenerator<T, void, undefined>,
  ): AsyncIterable<T> {
    const operation = this.#operation;
    // The caller holds an iterable, not this promise: a failure before the first next()
    // must not be an unhandled rejection (it is raised again by that next()).
    handle.catch(() => {});
    return {
      [Symbol.asyncIterator]: (): AsyncIterator<T> => {
        const generator = make();
        let started = false;
        let pending = 0;
        let closing: CancelledError | undefined;
        const settled = (result: IteratorResult<T, void>): IteratorResult<T, void> => {
          pending--;
          return result;
        };
        const failed = (error: unknown): IteratorResult<T, void> => {
          pending--;
          if (closing !== undefined && error === closing) return { done: true, value: undefined };
          throw error;
        };
        return {
          next: () => {
            started = true;
            pending++;
            return generator.next().then(settled, failed);
          },
          return: async (value?: unknown) => {
            if (!started || pending > 0) {
              started = true;
              handle.catch(() => {});
              closing = new CancelledError(
                pending > 0
                  ? 'The response stream was closed while a read was pending'
                  : 'The response stream was closed before it was read',
              );
              operation.abort(closing);
              // The runtime's body follows fetch's signal; should it not (Deno, once the
              // signal it follows was collected), the read pending is cancelled here.
              const reason = closing;
              handle.then(
                (h) => h.reader?.cancel(reason).catch(() => {}),
                () => {},
              );
            }
            return generator.return(value as undefined);
          },
          throw: (error?: unknown) => {
            started = true;
            return generator.throw(error);
          },
        };
      },
    };
  }

  /**
   * Newline-delimited JSON: one parsed value per non-empty line. An invalid line rejects
   * with `ParseError`, a line larger than `maxResponseSize` bytes with
   * `ResponseTooLargeError`.
   */
  ndjson<T = unknown>(): AsyncIterable<T> {
    const handle = this.#operation.consume(STREAM) as Promise<StreamHandle>;
    return this.#iterable(handle, async function* () {
      const h = await handle;
      for await (const line of iterate(h)) {
        if (line.trim() === '') continue;
        try {
          yield JSON.parse(line) as T;
        } catch (error) {
          throw new ParseError(h.info, line, error);
        }
      }
    });
  }

  /**
   * Server-Sent Events (`text/event-stream`), parsed as the HTML standard says: `event`,
   * `data` (multi-line joined with `\n`), `id` (carried over) and `retry`; comments
   * skipped. Reconnecting is left to the caller (`lastEventId` is the last `id`). A line,
   * or an event's data, larger than `maxResponseSize` bytes rejects with
   * `ResponseTooLargeError`.
   */
  sse(): AsyncIterable<ServerSentEvent> {
    const handle = this.#operation.consume(STREAM) as Promise<StreamHandle>;
    return this.#iterable(handle, async function* () {
      const h = await handle;
      let data: string[] = [];
      // The bytes of the event's data so far: an event, like a line, is capped at
      // maxResponseSize (many short data lines must not grow one without bound).
      let size = 0;
      let event = '';
      let id: string | undefined;
      let retry: number | undefined;
      for await (const line of iterate(h)) {
        if (line === '') {
          if (data.length > 0) {
            yield { event: event || 'message', data: data.join('\n'), id, retry };
          }
          data = [];
          size = 0;
          event = '';
          retry = undefined;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') {
          if (h.maxResponseSize !== Number.POSITIVE_INFINITY) {
            size += utf8Length(value) + (data.length > 0 ? 1 : 0);
            if (size > h.maxResponseSize) throw h.translate(new TooLarge());
          }
          data.push(value);
        } else if (field === 'event') event = value;
        else if (field === 'id') {
          if (!value.includes('\0')) id = value;
        } else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
      }
    });
  }
}

async function* streamLines(
  handle: Promise<StreamHandle>,
): AsyncGenerator<string, void, undefined> {
  yield* iterate(await handle);
}

/** The lines of a handed-off body; ends the request however the loop ends. */
async function* iterate(h: StreamHandle): AsyncGenerator<string, void, undefined> {
  const body = h.response.body;
  if (body === null) {
    h.finish();
    return;
  }
  const reader = body.getReader();
  h.reader = reader;
  try {
    for await (const line of readLines(reader, h.maxResponseSize, h.progress)) {
      // Lines already received are not handed out once the request was cancelled.
      const stopped = h.stopped();
      if (stopped !== undefined) throw stopped;
      yield line;
    }
  } catch (error) {
    throw h.translate(error);
  } finally {
    h.finish();
  }
}
