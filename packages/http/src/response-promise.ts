import { ParseError } from './errors.ts';
import { readLines } from './internal/body.ts';
import type { Operation, StreamHandle } from './internal/operation.ts';
import type { SchemaOutput, ServerSentEvent, StandardSchemaV1 } from './types.ts';

let create: (operation: Operation) => ResponsePromise;

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
    this.#raw ??= this.#operation.consume({ kind: 'raw' }) as Promise<Response>;
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
      return Promise.reject(
        new TypeError(
          'Expected `schema` to be a Standard Schema (an object with `~standard.validate`)',
        ),
      );
    }
    return this.#operation.consume({ kind: 'json', schema });
  }

  /** The body as text (UTF-8). */
  text(): Promise<string> {
    return this.#operation.consume({ kind: 'text' }) as Promise<string>;
  }

  /** The body as bytes. */
  bytes(): Promise<Uint8Array> {
    return this.#operation.consume({ kind: 'bytes' }) as Promise<Uint8Array>;
  }

  /**
   * The body's lines (`\n`, `\r\n` or `\r` endings, without them), as they arrive.
   * A line longer than `maxResponseSize` rejects with `ResponseTooLargeError`.
   */
  lines(): AsyncIterable<string> {
    const handle = this.#operation.consume({ kind: 'stream' }) as Promise<StreamHandle>;
    return { [Symbol.asyncIterator]: () => streamLines(handle) };
  }

  /** Newline-delimited JSON: one parsed value per non-empty line. An invalid line rejects with `ParseError`. */
  ndjson<T = unknown>(): AsyncIterable<T> {
    const handle = this.#operation.consume({ kind: 'stream' }) as Promise<StreamHandle>;
    return {
      [Symbol.asyncIterator]: async function* () {
        const h = await handle;
        for await (const line of iterate(h)) {
          if (line.trim() === '') continue;
          try {
            yield JSON.parse(line) as T;
          } catch (error) {
            throw new ParseError(h.info, line, error);
          }
        }
      },
    };
  }

  /**
   * Server-Sent Events (`text/event-stream`), parsed as the HTML standard says: `event`,
   * `data` (multi-line joined with `\n`), `id` (carried over) and `retry`; comments
   * skipped. Reconnecting is left to the caller (`lastEventId` is the last `id`).
   */
  sse(): AsyncIterable<ServerSentEvent> {
    const handle = this.#operation.consume({ kind: 'stream' }) as Promise<StreamHandle>;
    return {
      [Symbol.asyncIterator]: async function* () {
        const h = await handle;
        let data: string[] = [];
        let event = '';
        let id: string | undefined;
        let retry: number | undefined;
        for await (const line of iterate(h)) {
          if (line === '') {
            if (data.length > 0) {
              yield { event: event || 'message', data: data.join('\n'), id, retry };
            }
            data = [];
            event = '';
            retry = undefined;
            continue;
          }
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          let value = colon === -1 ? '' : line.slice(colon + 1);
          if (value.startsWith(' ')) value = value.slice(1);
          if (field === 'data') data.push(value);
          else if (field === 'event') event = value;
          else if (field === 'id') {
            if (!value.includes('\0')) id = value;
          } else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
        }
      },
    };
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
  try {
    for await (const line of readLines(reader, h.maxResponseSize, h.onChunk)) {
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
