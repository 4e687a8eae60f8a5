// Reading response bodies: whole (with a size cap and progress), a bounded excerpt for
// error messages, and line by line (for lines, NDJSON and SSE) with backpressure. Every
// function here either consumes the body to its end or cancels it.
import type { Progress } from '../types.ts';

/** How much of an error response's body is read for the excerpt; the rest is cancelled. */
export const ERROR_BODY_LIMIT: number = 64 * 1024;

/** Thrown (internally) when a body passes its cap; the caller turns it into ResponseTooLargeError. */
export class TooLarge extends Error {}

/**
 * Carries an error thrown by the user's own callback (`onDownloadProgress`) through the
 * read, so that it reaches the caller as itself: not a NetworkError, never retried.
 */
export class CallbackFailed {
  readonly error: unknown;
  constructor(error: unknown) {
    this.error = error;
  }
}

/** Wraps a user callback so that what it throws is recognised as the caller's own error. */
export function guardCallback<A>(
  callback: ((arg: A) => void) | undefined,
): ((arg: A) => void) | undefined {
  if (callback === undefined) return undefined;
  return (arg) => {
    try {
      callback(arg);
    } catch (error) {
      throw new CallbackFailed(error);
    }
  };
}

/** Cancels a response body that will not be read; never throws. */
export function discard(response: Response): void {
  const body = response.body;
  if (body === null || body.locked) return;
  body.cancel().catch(() => {});
}

/**
 * The decoded body's size when the headers tell it: `content-length`, unless the body is
 * compressed (`content-encoding`), where the header counts encoded bytes while readers
 * see decoded ones.
 */
export function contentLength(response: Response): number | undefined {
  if (response.headers.has('content-encoding')) return undefined;
  const value = response.headers.get('content-length');
  if (value === null) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The whole body as text or bytes. Uses the runtime's own reader when there is no cap to
 * enforce and no progress to report (the fast path); otherwise streams it, counting.
 * An abort of the fetch's signal rejects the read with the signal's reason.
 */
export function readAll(
  response: Response,
  as: 'text' | 'bytes',
  limit: number,
  onProgress: ((progress: Progress) => void) | undefined,
): Promise<string | Uint8Array> {
  if (onProgress === undefined && limit === Number.POSITIVE_INFINITY) {
    // The fast path: the runtime's own reader.
    if (as === 'text') return response.text();
    // Response.bytes() where the runtime has it (Node 22+, Bun, Deno): one step fewer.
    return typeof response.bytes === 'function'
      ? response.bytes()
      : response.arrayBuffer().then((buffer) => new Uint8Array(buffer));
  }
  const length = contentLength(response);
  // A HEAD (or 204/304) response has no body, whatever its content-length says.
  if (length !== undefined && length > limit && response.body !== null) {
    discard(response);
    return Promise.reject(new TooLarge());
  }
  // With a cap, count every byte: an injected fetch (a mock, app.request, a proxy) need
  // not enforce content-length framing, so the header alone cannot be trusted.
  return readStreamed(response, as, limit, progressCounter(response, onProgress));
}

async function readStreamed(
  response: Response,
  as: 'text' | 'bytes',
  limit: number,
  progress: ProgressCounter | undefined,
): Promise<string | Uint8Array> {
  const body = response.body;
  if (body === null) return as === 'text' ? '' : new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) throw new TooLarge();
      chunks.push(value);
      progress?.chunk(value.byteLength);
    }
  } catch (error) {
    reader.cancel().catch(() => {});
    throw error;
  }
  progress?.end();
  const bytes = concat(chunks, size);
  return as === 'text' ? new TextDecoder().decode(bytes) : bytes;
}

/** Turns the bytes a helper reads into `onDownloadProgress` events. */
export interface ProgressCounter {
  /** `size` more bytes arrived. */
  chunk(size: number): void;
  /** The body was read to its end. */
  end(): void;
}

/**
 * The one sequence of `onDownloadProgress` events every helper reports, whole-body or
 * streaming: a first event at 0 bytes, one per chunk, and, once the body has been read to
 * its end, a last event with `total === transferred` and `percent: 1` (unless the chunk
 * event before it already said exactly that). `total` is `content-length` until then, or
 * `undefined` when the server did not say (or the body is encoded); a response with no
 * body counts as 0 bytes. `undefined` when there is no callback.
 */
export function progressCounter(
  response: Response,
  onProgress: ((progress: Progress) => void) | undefined,
): ProgressCounter | undefined {
  if (onProgress === undefined) return undefined;
  const total = response.body === null ? 0 : contentLength(response);
  let transferred = 0;
  let complete = false;
  const report = (total: number | undefined): void => {
    let percent: number | undefined;
    if (total !== undefined) percent = total === 0 ? 1 : Math.min(1, transferred / total);
    complete = total === transferred;
    onProgress({ transferred, total, percent });
  };
  report(total);
  return {
    chunk(size) {
      transferred += size;
      report(total);
    },
    end() {
      if (!complete) report(transferred);
    },
  };
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * At most `max` bytes of the body, decoded as text (for an error's excerpt); the rest is
 * cancelled. Failures while reading give what was read so far: the status is the news.
 */
export async function readExcerpt(
  response: Response,
  max: number = ERROR_BODY_LIMIT,
): Promise<string> {
  const body = response.body;
  if (body === null || body.locked) return '';
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let size = 0;
  let complete = false;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) {
        complete = true;
        break;
      }
      const part = value.byteLength > max - size ? value.subarray(0, max - size) : value;
      size += part.byteLength;
      text += decoder.decode(part, { stream: true });
    }
    text += decoder.decode();
  } catch {
    // keep what arrived
  }
  if (!complete) reader.cancel().catch(() => {});
  return text;
}

/** The size of `text` encoded as UTF-8, in bytes (text decoded from bytes has no lone surrogates). */
export function utf8Length(text: string): number {
  let size = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // 2 bytes below U+0800, 4 for a surrogate pair (2 per unit), 3 for the rest.
    if (c >= 0x80) size += c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 1 : 2;
  }
  return size;
}

/**
 * Whether `text` takes more than `limit` bytes as UTF-8. A UTF-16 unit takes 1 to 3
 * bytes, so the exact count is needed only between `limit / 3` and `limit` units.
 */
export function longerThan(text: string, limit: number): boolean {
  return text.length > limit || (text.length * 3 > limit && utf8Length(text) > limit);
}

/**
 * The body's lines (split on `\n`, `\r\n` or `\r`), read chunk by chunk only as the
 * consumer asks for more (backpressure). A line longer than `limit` bytes throws
 * `TooLarge`. The reader is released or cancelled however iteration ends.
 *
 * Linear in the body's length, however long a line: each chunk's text is scanned once
 * (a line arriving over many chunks is kept as its parts, joined once it ends), and the
 * UTF-8 size of the line still arriving is counted chunk by chunk, not again from its
 * start.
 */
export async function* readLines(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  limit: number,
  progress: ProgressCounter | undefined,
): AsyncGenerator<string, void, undefined> {
  // BOM handling is done here, not by the decoder: the streaming decoders of Deno and
  // Node 24 drop a U+FEFF inside the body depending on where the chunks split (Deno at
  // the start of every decode call's output, Node 24 after a sequence held back from the
  // previous call; rv-http11 X3). With `ignoreBOM` every U+FEFF is kept on every
  // runtime, and the one BOM at the very start of the body is dropped by hand.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let atStart = true;
  const capped = limit !== Number.POSITIVE_INFINITY;
  // The start of the line still arriving, as the parts of earlier chunks, and its size in
  // bytes (counted only under a cap).
  const parts: string[] = [];
  let pendingBytes = 0;
  // The last chunk ended in `\r`: a `\n` at the start of the next ends the same line.
  let pendingCR = false;
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        // What the decoder held back (an incomplete sequence: U+FFFD, never a line break).
        const rest = decoder.decode();
        finished = true;
        progress?.end();
        if (capped && pendingBytes + utf8Length(rest) > limit) throw new TooLarge();
        if (parts.length > 0 || rest.length > 0) yield parts.join('') + rest;
        return;
      }
      progress?.chunk(value.byteLength);
      let text = decoder.decode(value, { stream: true });
      if (atStart && text.length > 0) {
        atStart = false;
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      const length = text.length;
      if (length === 0) continue;
      let start = 0;
      if (pendingCR) {
        pendingCR = false;
        // the \n of a \r\n split across chunks
        if (text.charCodeAt(0) === 10) start = 1;
      }
      for (let i = start; i < length; i++) {
        const ch = text.charCodeAt(i);
        if (ch !== 10 && ch !== 13) continue;
        let line = text.slice(start, i);
        if (capped && longerThan(line, limit - pendingBytes)) throw new TooLarge();
        if (parts.length > 0) {
          parts.push(line);
          line = parts.join('');
          parts.length = 0;
          pendingBytes = 0;
        }
        if (ch === 13) {
          if (i + 1 === length) pendingCR = true;
          else if (text.charCodeAt(i + 1) === 10) i++;
        }
        start = i + 1;
        yield line;
      }
      if (start < length) {
        const rest = start === 0 ? text : text.slice(start);
        parts.push(rest);
        // The line still arriving counts too: a server cannot grow one without bound.
        if (capped) {
          pendingBytes += utf8Length(rest);
          if (pendingBytes > limit) throw new TooLarge();
        }
      }
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
  }
}
