// One request from start to end: permits, attempts with their timeouts, redirects,
// hooks, the status check, retries with backoff, reading the body, and the bookkeeping
// that makes sure nothing stays behind (timer, listener, permit, body).
import {
  type CallerContext,
  CancelledError,
  type Clock,
  Semaphore,
  systemClock,
  TimeoutError,
} from '@weft/core';
import {
  HttpClientError,
  HttpError,
  NetworkError,
  ParseError,
  RedirectError,
  ResponseTooLargeError,
  SchemaError,
} from '../errors.ts';
import type {
  FetchLike,
  RateLimitLike,
  RequestInfo,
  StandardResult,
  StandardSchemaV1,
} from '../types.ts';
import {
  CallbackFailed,
  discard,
  guardCallback,
  type ProgressCounter,
  progressCounter,
  readAll,
  readExcerpt,
  TooLarge,
} from './body.ts';
import { hasCredentials, type RequestConfig } from './config.ts';
import { StreamBody } from './request-body.ts';
import { describe } from './validate.ts';
import { systemTimeouts } from './timeouts.ts';
import { backoffDelay, serverDelay } from './retry.ts';

/** What the caller does with the response; known once a helper is called or the promise awaited. */
export type Consumer =
  | { kind: 'raw' }
  | { kind: 'json'; schema: StandardSchemaV1 | undefined }
  | { kind: 'text' }
  | { kind: 'bytes' }
  | { kind: 'stream' };

/** Handed to the streaming helpers: the response and how to end the request. */
export interface StreamHandle {
  response: Response;
  info: RequestInfo;
  maxResponseSize: number;
  /** Turns a read failure into the error to raise (timeout, abort reason, NetworkError). */
  translate(error: unknown): unknown;
  /** Ends the request: timers cleared, permits released. */
  finish(): void;
  /** The error to raise if the request was cancelled or timed out meanwhile, else `undefined`. */
  stopped(): unknown;
  /** Reports the bytes a helper reads (when `onDownloadProgress` is set). */
  progress: ProgressCounter | undefined;
  /** The reader of the body once a helper reads it (to cancel a read pending at `return()`). */
  reader?: ReadableStreamDefaultReader<Uint8Array>;
}

/** What an operation needs from its client. */
export interface Owner {
  readonly fetch: FetchLike;
  /**
   * Whether `fetch` was injected (a mock, Hono's app.request, a proxy). The runtimes' own
   * fetch rejects and errors the body when the signal aborts; an injected one may not, so
   * its calls and bodies are raced against the signal here.
   */
  readonly injected: boolean;
  readonly concurrency: Semaphore | undefined;
  readonly perHost: number;
  readonly hosts: Map<string, { semaphore: Semaphore; users: number }>;
  readonly rateLimit: RateLimitLike | undefined;
  readonly operations: OperationList;
  /** One abort listener per caller signal for all of this client's requests on it. */
  readonly callerSignals: SignalGroups;
  readonly random: () => number;
}

type Cancel = () => void;

/**
 * The requests in flight of one client, for `close()` and `active`: a doubly linked list
 * through the operations. (A `Set` here, added to and deleted from once per request, kept
 * each request's objects alive past young-generation collections: measured with
 * `--trace-gc`, the heap grew and full collections ran that raw `fetch` never needs.)
 */
export class OperationList {
  #head: Operation | undefined;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(op: Operation): void {
    op.nextInList = this.#head;
    if (this.#head !== undefined) this.#head.prevInList = op;
    this.#head = op;
    this.#size++;
  }

  /** Removes `op` (once: an operation ends once). */
  delete(op: Operation): void {
    const { prevInList: prev, nextInList: next } = op;
    if (prev !== undefined) prev.nextInList = next;
    else if (this.#head === op) this.#head = next;
    else return;
    if (next !== undefined) next.prevInList = prev;
    op.prevInList = op.nextInList = undefined;
    this.#size--;
  }

  /** The operations in flight now. */
  toArray(): Operation[] {
    const out: Operation[] = [];
    for (let op = this.#head; op !== undefined; op = op.nextInList) out.push(op);
    return out;
  }
}

function schedule(clock: Clock, ms: number, callback: () => void): Cancel {
  if (clock.schedule !== undefined) return clock.schedule(ms, callback);
  const controller = new AbortController();
  clock.sleep(ms, controller.signal).then(callback, () => {});
  return () => controller.abort();
}

/**
 * Settles like `promise`, or rejects with `signal.reason` as soon as `signal` aborts (for
 * hooks and injected transports that ignore the signal). A late value is still observed:
 * a late Response has its body cancelled, a late rejection is handled.
 */
function raceSignal<T>(promise: T | PromiseLike<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    Promise.resolve(promise).then(discardLate, () => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const onAbort = (): void => {
      settled = true;
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    Promise.resolve(promise).then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (settled) discardLate(value);
        else resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (!settled) reject(error);
      },
    );
  });
}

/** What a rejected `fetch` becomes: the abort reason when the attempt was aborted, else a NetworkError. */
function fetchFailure(error: unknown, info: RequestInfo, signal: AbortSignal): unknown {
  return signal.aborted ? signal.reason : new NetworkError(info, error);
}

/**
 * What an injected fetch resolved with, checked to be a Response (by shape: a fetch from
 * another realm or a polyfill has its own Response class). Anything else is a programming
 * error: a TypeError, not a NetworkError, and not retried.
 */
function asResponse(value: unknown): Response {
  if (!isResponse(value)) {
    throw new TypeError(
      `Expected \`options.fetch\` to resolve to a Response, got ${describe(value)}`,
    );
  }
  return value;
}

/** Whether `value` is a Response (by shape, as {@link asResponse} checks one). */
function isResponse(value: unknown): value is Response {
  const r = value as Partial<Response> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.status === 'number' &&
    typeof r.headers?.get === 'function' &&
    'body' in r
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * What beforeRequest hooks left in `info`, made usable for the hop: `request.headers` may
 * be replaced by anything `Headers` takes (a record, a list of pairs), `request.url` by a
 * URL string; anything else is a TypeError naming it (rv-http13 X2).
 */
function normalizeEdits(info: RequestInfo): void {
  const edited = info as { url: unknown; headers: unknown };
  if (!(edited.url instanceof URL)) {
    let url: URL | undefined;
    if (typeof edited.url === 'string' && URL.canParse(edited.url)) url = new URL(edited.url);
    if (url === undefined) {
      throw new TypeError(
        `Expected a beforeRequest hook to leave \`request.url\` a URL, got ${describe(edited.url)}`,
      );
    }
    edited.url = url;
  }
  if (!(edited.headers instanceof Headers)) {
    try {
      edited.headers = new Headers(edited.headers as HeadersInit);
    } catch (error) {
      throw new TypeError(
        `Expected a beforeRequest hook to leave \`request.headers\` headers (a Headers, a record or a list of pairs), got ${describe(edited.headers)}`,
        { cause: error },
      );
    }
  }
}

function discardLate(value: unknown): void {
  if (value instanceof Response) discard(value);
}

/**
 * A response whose body errors with the signal's reason (and cancels the transport's
 * body) when `signal` aborts: what the runtimes' fetch does by itself, for an injected
 * transport that does not (a stalled body would otherwise hang timeouts and close()).
 */
function guardBody(response: Response, signal: AbortSignal): Response {
  const source = response.body;
  if (source === null) return response;
  const reader = source.getReader();
  let onAbort: (() => void) | undefined;
  const detach = (): void => {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    onAbort = undefined;
  };
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        onAbort = () => {
          detach();
          controller.error(signal.reason);
          reader.cancel(signal.reason).catch(() => {});
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      },
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (signal.aborted) return;
          if (done) {
            detach();
            controller.close();
          } else controller.enqueue(value);
        } catch (error) {
          detach();
          if (!signal.aborted) controller.error(error);
        }
      },
      cancel(reason) {
        detach();
        return reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
  const guarded = new Response(stream, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  Object.defineProperty(guarded, 'url', { value: response.url });
  return guarded;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Sent by `.json()` when the request has no headers of its own (copied per request). */
const ACCEPT_JSON: Record<string, string> = { accept: 'application/json' };

const SENSITIVE = ['authorization', 'cookie', 'proxy-authorization'];

function release(permit: unknown): void {
  if (typeof permit !== 'object' || permit === null) return;
  const p = permit as {
    [Symbol.dispose]?: () => void;
    [Symbol.asyncDispose]?: () => Promise<void>;
    release?: () => void;
  };
  try {
    if (typeof p[Symbol.dispose] === 'function') p[Symbol.dispose]!();
    else if (typeof p[Symbol.asyncDispose] === 'function')
      p[Symbol.asyncDispose]!().catch(() => {});
    else if (typeof p.release === 'function') p.release();
  } catch {
    // a permit that fails to release is its owner's problem, not this request's
  }
}

/** The permits of one attempt: its host's slot, the client's slot, its rate-limit token. */
interface Permits {
  host: unknown;
  slot: unknown;
  rate: unknown;
}

/** The requests of one client on one caller signal, behind one abort listener. */
interface SignalGroup {
  readonly signal: AbortSignal;
  head: GroupMember | undefined;
  readonly onAbort: () => void;
}

/** One request's place in the group of one caller signal (see {@link SignalGroups}). */
export interface GroupMember {
  readonly op: Operation;
  prev: GroupMember | undefined;
  next: GroupMember | undefined;
  /** The group it is in; `undefined` once it left (or the signal aborted). */
  group: SignalGroup | undefined;
}

/**
 * The caller signals of one client's requests in flight. Every request on a signal (a
 * user's long-lived signal, an enclosing task's) shares one abort listener: 50
 * concurrent requests add one listener, not 50 (Node 20 warns past 10 on a signal it did
 * not raise the limit of, and weft never raises the limit of a signal it does not own).
 * A request inside a task that is also given a signal joins both groups. A group's
 * listener goes once the last of its requests ends.
 */
export class SignalGroups {
  readonly #groups = new WeakMap<AbortSignal, SignalGroup>();

  join(signal: AbortSignal, op: Operation): GroupMember {
    let group = this.#groups.get(signal);
    if (group === undefined) {
      const created: SignalGroup = {
        signal,
        head: undefined,
        onAbort: () => {
          signal.removeEventListener('abort', created.onAbort);
          this.#groups.delete(signal);
          const members: GroupMember[] = [];
          for (let m = created.head; m !== undefined; m = m.next) members.push(m);
          created.head = undefined;
          for (const m of members) {
            m.prev = m.next = m.group = undefined;
            m.op.abort(signal.reason);
          }
        },
      };
      group = created;
      this.#groups.set(signal, group);
      signal.addEventListener('abort', group.onAbort, { once: true });
    }
    const member: GroupMember = { op, prev: undefined, next: group.head, group };
    if (group.head !== undefined) group.head.prev = member;
    group.head = member;
    return member;
  }

  /** Takes `member` out of its group (once; a no-op after the signal aborted). */
  leave(member: GroupMember): void {
    const group = member.group;
    if (group === undefined) return;
    const { prev, next } = member;
    if (prev !== undefined) prev.next = next;
    else group.head = next;
    if (next !== undefined) next.prev = prev;
    member.prev = member.next = member.group = undefined;
    if (group.head === undefined) {
      group.signal.removeEventListener('abort', group.onAbort);
      this.#groups.delete(group.signal);
    }
  }
}

export class Operation {
  /** Links of the client's {@link OperationList}. */
  prevInList: Operation | undefined;
  nextInList: Operation | undefined;
  readonly #owner: Owner;
  readonly #config: RequestConfig;
  readonly #clock: Clock;
  readonly #caller: CallerContext;
  /** Aborts the whole request: caller's signal, total timeout, client closed. */
  // Made on first need (waiting for a permit or a retry): most requests never need it.
  #controllerMade: AbortController | undefined;
  /** Set when the whole request is aborted: the reason. */
  #stopped = false;
  #reason: unknown;
  /** The deadline of the whole request on `#clock` (total timeout, enclosing scope). */
  readonly #deadline: number;
  #deadlineTimer: Cancel | undefined;
  /**
   * Its places in the client's SignalGroups: the enclosing task's signal, and the
   * `signal` option (both, inside a task given one).
   */
  #taskMember: GroupMember | undefined;
  #ownMember: GroupMember | undefined;
  /** The attempt in flight: its controller (fetch's signal) and timer. */
  #attempt: AbortController | undefined;
  /** The signal of the latest attempt, kept after it ends to explain late read failures. */
  #attemptSignal: AbortSignal | undefined;
  /**
   * The attempt's timer; `at` is when it fires, on `performance.now()` for the system
   * clock (a {@link TimeoutEntry}), else on the injected clock's `now()`.
   */
  #attemptTimer: { cancel(): void; readonly at: number } | undefined;
  /** The TimeoutError of the current attempt's timer, to tell it from other aborts. */
  #attemptTimeout: TimeoutError | undefined;
  /**
   * The permits the current attempt holds, released when it ends (made when the client
   * has limits): its host's slot (`perHost`; `#hostKey` is that host), the client's
   * (`concurrency`), its rate-limit token.
   */
  #permits: Permits | undefined;
  #hostKey: string | undefined;
  #consumer: Consumer | undefined;
  #waitConsumer: ((consumer: Consumer) => void) | undefined;
  #ended = false;
  /** Made only when someone (closing the client) waits for the end. */
  #done: { promise: Promise<void>; resolve: () => void } | undefined;
  readonly result: Promise<unknown>;

  constructor(owner: Owner, config: RequestConfig, caller: CallerContext, closed: unknown) {
    this.#owner = owner;
    this.#config = config;
    this.#caller = caller;
    this.#clock = caller.clock;
    owner.operations.add(this);
    // The clock is read only when there is a deadline to place (most requests have none).
    const now =
      config.totalTimeout === Number.POSITIVE_INFINITY &&
      caller.deadline === Number.POSITIVE_INFINITY
        ? 0
        : this.#clock.now();
    this.#deadline = Math.min(now + config.totalTimeout, caller.deadline);
    const signal = caller.signal;
    const own = config.signal;
    if (closed !== undefined) this.#stop(closed);
    else if (signal?.aborted) this.#stop(signal.reason);
    else if (own?.aborted) this.#stop(own.reason);
    else {
      if (signal !== undefined) this.#taskMember = owner.callerSignals.join(signal, this);
      if (own !== undefined && own !== signal) {
        this.#ownMember = owner.callerSignals.join(own, this);
      }
      if (this.#deadline !== Number.POSITIVE_INFINITY) {
        const total = this.#deadline === now + config.totalTimeout;
        this.#deadlineTimer = schedule(this.#clock, Math.max(0, this.#deadline - now), () =>
          this.abort(
            new TimeoutError(
              total
                ? `${config.method} ${this.#sentUrl()} timed out after ${config.totalTimeout} ms (totalTimeout)`
                : `${config.method} ${this.#sentUrl()} ran past the enclosing scope's deadline`,
              { timeout: total ? config.totalTimeout : undefined },
            ),
          ),
        );
      }
    }
    // #run starts with an await: the request goes out in a microtask, so that a helper
    // called at once (`.json()`) is known first.
    this.result = this.#run();
  }

  /** Settles once the request has fully ended (body read or cancelled, permits released). */
  get done(): Promise<void> {
    if (this.#ended) return Promise.resolve();
    if (this.#done === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.#done = { promise, resolve };
    }
    return this.#done.promise;
  }

  /** Registers how the response will be used; the first caller wins. */
  consume(consumer: Consumer): Promise<unknown> {
    if (this.#consumer !== undefined) {
      return Promise.reject(
        new TypeError(
          `The response of ${this.#config.method} ${this.#config.url.href} was already consumed (${this.#consumer.kind}); call one body helper per request`,
        ),
      );
    }
    this.#consumer = consumer;
    this.#waitConsumer?.(consumer);
    return this.result;
  }

  /** Cancels the request with `reason` (client closed, caller aborted, timeout). */
  abort(reason: unknown): void {
    this.#stop(reason);
    if (this.#attempt !== undefined && !this.#attempt.signal.aborted) this.#attempt.abort(reason);
    if (this.#handedOff) this.#end();
  }

  #stop(reason: unknown): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#reason = reason;
    this.#controllerMade?.abort(reason);
  }

  /** A signal that aborts with the whole request. */
  #signal(): AbortSignal {
    if (this.#controllerMade === undefined) {
      this.#controllerMade = new AbortController();
      if (this.#stopped) this.#controllerMade.abort(this.#reason);
    }
    return this.#controllerMade.signal;
  }

  /** The one-shot request body once handed to fetch (see {@link StreamBody}). */
  #requestBody: StreamBody | undefined;
  /**
   * Set when the caller's body source failed (it errored, threw, or gave a chunk that is
   * not bytes) before the attempt on `signal` was aborted: its error, as thrown.
   */
  #sourceFailure: { signal: AbortSignal; error: unknown } | undefined;

  /**
   * The caller's body source failed during the attempt on `signal`: the attempt ends with
   * the caller's error itself, the same on every runtime (their fetch would wrap it, or
   * copy it), and it is not retried: it is not a network fault, and the body is gone
   * (probe P2). An abort that came first (a timeout, the caller's signal) keeps its reason.
   */
  #sourceFailed(signal: AbortSignal, error: unknown): void {
    const attempt = this.#attempt;
    if (attempt === undefined || attempt.signal !== signal || signal.aborted) return;
    this.#sourceFailure = { signal, error };
    attempt.abort(error);
    if (this.#handedOff) this.#end();
  }

  /** Set once the response went to the caller (raw or streaming): ending is theirs. */
  #handedOff = false;
  /** Set while a response waits for the caller to ask for it (then a timeout is final). */
  #awaitingCaller = false;

  /** The request as hooks and errors see it (the latest hop of the latest attempt). */
  #current: RequestInfo | undefined;
  /** The number of the latest attempt (0 for the first), for {@link Operation.#info}. */
  #attemptNumber = 0;

  /** Set once the latest attempt followed a redirect (for a raw response's `redirected`). */
  #redirected = false;

  /** The URL of the latest attempt or hop, as sent (after beforeRequest edits): for messages. */
  #sentUrl(): string {
    return (this.#current?.url ?? this.#config.url).href;
  }

  /** The request as hooks and errors see it, made on first need. */
  #info(): RequestInfo {
    if (this.#current === undefined) {
      const config = this.#config;
      this.#current = {
        url: config.url,
        method: config.method,
        headers: config.headers as Headers,
        attempt: this.#attemptNumber,
      };
    }
    return this.#current;
  }

  // The first attempt runs in a small frame; the retry loop, its waits and hooks live in
  // #retry, entered only after a failure (an async function's frame holds all its locals).
  async #run(): Promise<unknown> {
    // One microtask, without allocating a promise for it.
    // eslint-disable-next-line @typescript-eslint/await-thenable
    await undefined;
    if (this.#stopped) return this.#fail(this.#reason, undefined);
    try {
      return await this.#attemptOnce(0);
    } catch (raw) {
      return this.#retry(raw);
    }
  }

  /** After attempt 0 failed with `raw`: retries while the policy allows, else fails. */
  async #retry(raw: unknown): Promise<unknown> {
    const config = this.#config;
    const policy = config.retry;
    let info: RequestInfo | undefined;
    try {
      for (let attempt = 0; ; attempt++) {
        if (attempt > 0) {
          if (this.#stopped) throw this.#reason;
          try {
            return await this.#attemptOnce(attempt);
          } catch (error) {
            raw = error;
          }
        }
        info = this.#info();
        const error = this.#translate(raw, info);
        this.#endAttempt();
        // A body source that failed first ended the request with its own error: an abort or
        // close() that came after it (even in the same macrotask) does not replace it
        // (probe7 P6). (An abort that came first kept the source's failure out.)
        if (this.#stopped && this.#sourceFailure === undefined) throw this.#reason;
        const retryable =
          !this.#awaitingCaller &&
          attempt < policy.limit &&
          policy.methods.has(config.method) &&
          (config.replayable || config.body == null) &&
          ((error instanceof HttpError && policy.statusCodes.has(error.status)) ||
            (policy.networkErrors &&
              (error instanceof NetworkError || error === this.#attemptTimeout)));
        if (!retryable) throw error;
        let delay: number;
        if (error instanceof HttpError && error.response !== undefined) {
          const asked = serverDelay(error.response.headers, Date.now());
          if (asked !== undefined && asked > policy.maxRetryAfter) {
            throw new HttpError(
              { method: error.method, url: error.url },
              error.status,
              error.statusText,
              error.bodyExcerpt,
              error.response,
              {
                detail: `not retried: the server asked to wait ${Math.ceil(asked / 1000)} s, more than maxRetryAfter (${policy.maxRetryAfter} ms)`,
                retryAfter: asked,
              },
            );
          }
          delay = asked ?? backoffDelay(policy, attempt + 1, this.#owner.random);
        } else delay = backoffDelay(policy, attempt + 1, this.#owner.random);
        if (this.#clock.now() + delay >= this.#deadline) throw error;
        for (const hook of config.hooks.beforeRetry) {
          await raceSignal(
            hook({ request: info, error: error as Error, retry: attempt + 1, delay }),
            this.#signal(),
          );
        }
        if (delay > 0) await this.#clock.sleep(delay, this.#signal());
      }
    } catch (error) {
      return this.#fail(error, info);
    }
  }

  /** Ends the request with `error` (after the `onError` hooks), as a rejection. */
  async #fail(error: unknown, info: RequestInfo | undefined): Promise<never> {
    // A request whose response nobody has asked for yet (and maybe never will: the
    // client was closed first) must not become an unhandled rejection; a caller who
    // uses it later still gets the error.
    if (this.#consumer === undefined) this.result.catch(() => {});
    const hooks = this.#config.hooks.onError;
    if (hooks.length === 0) {
      this.#end();
      throw error;
    }
    // The slots and the request body go now; the request itself stays in flight while
    // its onError hooks run (`active` counts it, close() waits for it, its deadline and
    // the caller's signal still apply). The hooks run as a last attempt of their own, so
    // any cancellation meanwhile (abort() aborts the attempt in flight; even of a request
    // already cancelled: close() after the caller's abort) ends the wait, and the request
    // rejects with that reason, as when another hook is cut off. A request already
    // stopped (the failure is the cancellation, or it came first: close(), the caller's
    // signal, a deadline, a closed client) starts its hooks cut off: the cancellation
    // will not come again, so a hook's promise is not waited for at all (rv-http11 X1).
    // Cut off before or during the hooks, every remaining hook is still called once, and
    // one that answers synchronously may still replace the error (rv-http12 X1).
    this.#endAttempt();
    this.#cancelRequestBody();
    const cut = new AbortController();
    if (this.#stopped) {
      // A body source that failed first keeps its own error (probe7 P6).
      const failure = this.#sourceFailure;
      cut.abort(failure !== undefined && failure.error === error ? error : this.#reason);
    }
    this.#attempt = cut;
    try {
      let final: unknown = error;
      for (const hook of hooks) {
        info = this.#info();
        const wasCut = cut.signal.aborted;
        const returned = hook(final, info);
        let replaced: unknown = returned;
        if (isThenable(returned)) {
          if (cut.signal.aborted) {
            // Cut off: the promise is not waited for (nor left unhandled), and the hooks
            // after it are still called (rv-http12 X1). Cut off by this very call (the hook
            // cancelled its own request): the canceller's reason, as had the cancellation
            // come a moment later (rv-http13 X1).
            Promise.resolve(returned).then(discardLate, () => {});
            replaced = wasCut ? undefined : cut.signal.reason;
          } else {
            try {
              replaced = await raceSignal(returned, cut.signal);
            } catch (failure) {
              // The hook itself failed: that ends the request. Cut off while it ran: the
              // request fails with the canceller's reason, which the later hooks see.
              if (!cut.signal.aborted || failure !== cut.signal.reason) throw failure;
              replaced = failure;
            }
          }
        }
        if (replaced !== undefined) final = replaced;
      }
      throw final;
    } finally {
      this.#end();
    }
  }

  /** Failures of one attempt, as the caller should see them. */
  #translate(error: unknown, info: RequestInfo): unknown {
    const attempt = this.#attemptSignal;
    if (attempt?.aborted) {
      const failure = this.#sourceFailure;
      return failure !== undefined && failure.signal === attempt ? failure.error : attempt.reason;
    }
    if (this.#stopped) return this.#reason;
    if (error instanceof TooLarge)
      return new ResponseTooLargeError(info, this.#config.maxResponseSize);
    if (error instanceof CallbackFailed) return error.error;
    return error;
  }

  async #acquire(url: URL): Promise<void> {
    const owner = this.#owner;
    const signal = this.#signal();
    const permits: Permits = { host: undefined, slot: undefined, rate: undefined };
    this.#permits = permits;
    await this.#acquireSlots(url.host, signal, permits);
    if (owner.rateLimit !== undefined) {
      permits.rate = await owner.rateLimit.acquire({ signal });
    }
  }

  /** Takes a slot of `host` (under `perHost`), then one of the client (`concurrency`). */
  async #acquireSlots(host: string, signal: AbortSignal, permits: Permits): Promise<void> {
    const owner = this.#owner;
    if (owner.perHost !== Number.POSITIVE_INFINITY) {
      let entry = owner.hosts.get(host);
      if (entry === undefined) {
        entry = { semaphore: new Semaphore(owner.perHost), users: 0 };
        owner.hosts.set(host, entry);
      }
      entry.users++;
      this.#hostKey = host;
      permits.host = await entry.semaphore.acquire({ signal });
    }
    if (owner.concurrency !== undefined) {
      permits.slot = await owner.concurrency.acquire({ signal });
    }
  }

  /** Gives back the slots {@link Operation.#acquireSlots} took (not the rate-limit token). */
  #releaseSlots(permits: Permits): void {
    const { host, slot } = permits;
    permits.host = permits.slot = undefined;
    release(host);
    release(slot);
    this.#leaveHost();
  }

  /** Stops counting this request as a user of `#hostKey`'s entry (dropped when unused). */
  #leaveHost(): void {
    const key = this.#hostKey;
    if (key !== undefined) {
      this.#hostKey = undefined;
      const entry = this.#owner.hosts.get(key);
      if (entry !== undefined && --entry.users === 0) this.#owner.hosts.delete(key);
    }
  }

  /**
   * A redirect hop to another host under `perHost`: the slot follows the host the request
   * talks to. Every permit the attempt holds is given back (the host's slot, the client's,
   * the rate-limit permit) and taken again in the usual order (that host's, the client's,
   * then `rateLimit`): a request holding any of them while it waits for the new host could
   * deadlock with one holding that host's slot while it waits for the same permit — a
   * `concurrency` slot, or a `rateLimit` whose permits are given back (a `Semaphore`, a
   * `RedisSemaphore`; rv-http11 X2). So the hop asks `rateLimit` again, as a new request
   * would (a token bucket's token is spent for it). As for the first slot, the wait is not
   * timed by `timeout` (rv-http12 X7, X3): the attempt's timer stops while the hop waits
   * and is armed again, once the permits are back, for the time the attempt had left. The
   * caller's signal, `totalTimeout`, a deadline and `close()` still end the wait (they
   * abort the attempt).
   */
  async #moveToHost(host: string, signal: AbortSignal): Promise<void> {
    const permits = this.#permits!;
    const rate = permits.rate;
    permits.rate = undefined;
    const timer = this.#attemptTimer;
    let left = 0;
    if (timer !== undefined) {
      timer.cancel();
      this.#attemptTimer = undefined;
      left = timer.at - (this.#clock === systemClock ? performance.now() : this.#clock.now());
    }
    this.#releaseSlots(permits);
    release(rate);
    await this.#acquireSlots(host, signal, permits);
    const rateLimit = this.#owner.rateLimit;
    if (rateLimit !== undefined && !signal.aborted) {
      permits.rate = await rateLimit.acquire({ signal });
    }
    if (signal.aborted) throw signal.reason;
    const attempt = this.#attempt;
    if (timer !== undefined && attempt !== undefined && attempt.signal === signal) {
      this.#armAttemptTimer(attempt, Math.max(0, left));
    }
  }

  async #attemptOnce(attempt: number): Promise<unknown> {
    const config = this.#config;
    const owner = this.#owner;
    if (owner.perHost !== Number.POSITIVE_INFINITY || owner.concurrency || owner.rateLimit) {
      await this.#acquire(config.url);
    }
    const signal = this.#startAttempt();
    // The request info is made only if something asks for it (an error, a hook, a stream).
    this.#current = undefined;
    this.#redirected = false;
    this.#attemptNumber = attempt;
    const hooks = config.hooks;
    let response: Response;
    if (
      hooks.beforeRequest.length === 0 &&
      hooks.afterResponse.length === 0 &&
      hooks.beforeRetry.length === 0 &&
      hooks.onError.length === 0
    ) {
      // The common case, inline: one fetch, no hooks; #exchange takes over at a redirect.
      const headers = config.headers;
      if (this.#consumer?.kind === 'json' && attempt === 0 && headers?.has('accept') === false) {
        headers.set('accept', 'application/json');
      }
      const init = this.#init(config.method, headers, config.body, signal);
      try {
        response = owner.injected
          ? await raceSignal(owner.fetch(config.url.href, init), signal)
          : await owner.fetch(config.url.href, init);
      } catch (error) {
        throw fetchFailure(error, this.#info(), signal);
      }
      if (owner.injected) response = guardBody(asResponse(response), signal);
      if (signal.aborted) {
        discard(response);
        throw signal.reason;
      }
      if (REDIRECTS.has(response.status) && config.maxRedirects > 0) {
        response = await this.#exchange(attempt, signal, response);
      }
    } else {
      response = await this.#exchange(attempt, signal, undefined);
    }
    if (
      !response.ok &&
      config.throwHttpErrors &&
      // maxRedirects: 0 hands a redirect back as it is, for the caller to read Location.
      !(config.maxRedirects === 0 && REDIRECTS.has(response.status))
    ) {
      const text = await readExcerpt(response);
      throw new HttpError(this.#info(), response.status, response.statusText, text, response);
    }

    let consumer = this.#consumer;
    if (consumer === undefined) {
      // The exchange is done; only the caller is awaited. Should the attempt's timer fire
      // meanwhile, the request ends: a response that arrived is never asked for again.
      this.#awaitingCaller = true;
      consumer = await this.#nextConsumer(response, signal);
      this.#awaitingCaller = false;
    }
    switch (consumer.kind) {
      case 'raw':
        this.#handedOff = true;
        return this.#wrapRaw(response, this.#info(), signal);
      case 'stream':
        this.#handedOff = true;
        return this.#streamHandle(response, this.#info(), signal);
      default: {
        let content: string | Uint8Array;
        try {
          content = await readAll(
            response,
            consumer.kind === 'bytes' ? 'bytes' : 'text',
            config.maxResponseSize,
            guardCallback(config.onDownloadProgress),
          );
        } catch (error) {
          if (error instanceof CallbackFailed) throw error.error;
          if (signal.aborted || error instanceof TooLarge) throw error;
          throw new NetworkError(this.#info(), error);
        }
        this.#end();
        if (consumer.kind !== 'json') return content;
        return this.#parseJson(content as string, consumer.schema);
      }
    }
  }

  /** Starts an attempt: its controller (fetch's signal) and its timer. */
  #startAttempt(): AbortSignal {
    const controller = new AbortController();
    this.#attempt = controller;
    const signal = controller.signal;
    this.#attemptSignal = signal;
    if (this.#stopped) controller.abort(this.#reason);
    else if (this.#config.timeout !== Number.POSITIVE_INFINITY) {
      this.#armAttemptTimer(controller, this.#config.timeout);
    }
    return signal;
  }

  /** Arms the attempt's timer to abort `controller` after `ms` ms (of `timeout`'s budget). */
  #armAttemptTimer(controller: AbortController, ms: number): void {
    const config = this.#config;
    const onTimeout = (): void => {
      this.#attemptTimeout = new TimeoutError(
        `${config.method} ${this.#sentUrl()} timed out after ${config.timeout} ms (timeout per attempt)`,
        { timeout: config.timeout },
      );
      controller.abort(this.#attemptTimeout);
      if (this.#handedOff) this.#end();
    };
    const clock = this.#clock;
    this.#attemptTimer =
      clock === systemClock
        ? systemTimeouts.add(ms, onTimeout)
        : { cancel: schedule(clock, ms, onTimeout), at: clock.now() + ms };
  }

  /**
   * What `fetch` is called with for one hop: a new object each time, headers included
   * (whatever `fetch` is at call time, a wrapper or instrumentation may change them). For
   * the runtime's own fetch, a GET leaves `method` out (the default: Node's fetch
   * validates and normalises any method it is given); an injected fetch always gets it.
   */
  #init(
    method: string,
    headers: Headers | undefined,
    body: BodyInit | null | undefined,
    signal: AbortSignal,
  ): RequestInit {
    const own = !this.#owner.injected;
    const init: RequestInit & { duplex?: 'half' } = {
      headers: headers ?? (this.#consumer?.kind === 'json' ? { ...ACCEPT_JSON } : undefined),
      signal,
      redirect: 'manual',
    };
    if (!own || method !== 'GET') init.method = method;
    if (body != null) {
      if (this.#config.replayable) init.body = body;
      else {
        // A one-shot body goes through a stream of weft's own, so that an aborted
        // attempt cancels the caller's source on every runtime (Node's fetch does not).
        this.#requestBody ??= new StreamBody(body as ReadableStream | AsyncIterable<unknown>);
        init.body = this.#requestBody.stream(signal, (error) => this.#sourceFailed(signal, error));
        init.duplex = 'half';
      }
    }
    return init;
  }

  /** One exchange with the transport (for #exchange): the response, or the error to raise. */
  async #fetch(
    info: RequestInfo,
    body: BodyInit | null | undefined,
    signal: AbortSignal,
  ): Promise<Response> {
    const owner = this.#owner;
    const init = this.#init(info.method, info.headers, body, signal);
    let response: Response;
    try {
      response = owner.injected
        ? await raceSignal(owner.fetch(info.url.href, init), signal)
        : await owner.fetch(info.url.href, init);
    } catch (error) {
      throw fetchFailure(error, info, signal);
    }
    if (owner.injected) response = guardBody(asResponse(response), signal);
    if (signal.aborted) {
      discard(response);
      throw signal.reason;
    }
    return response;
  }

  /**
   * The general exchange: hooks around every hop, and redirects followed by hand so that
   * credentials never cross origins. `first` is a response already fetched for the
   * request as configured (by the inline path), to continue from.
   */
  async #exchange(
    attempt: number,
    signal: AbortSignal,
    first: Response | undefined,
  ): Promise<Response> {
    const config = this.#config;
    let url = config.url;
    let method = config.method;
    let body = config.body;
    const hooks = config.hooks;
    let info = this.#info();
    let sent = info.url.href;
    const hooked =
      hooks.beforeRequest.length > 0 ||
      hooks.afterResponse.length > 0 ||
      hooks.beforeRetry.length > 0 ||
      hooks.onError.length > 0;
    if (config.headers === undefined && hooked) config.headers = new Headers();
    let headers = config.headers;
    if (
      first === undefined &&
      this.#consumer?.kind === 'json' &&
      attempt === 0 &&
      headers?.has('accept') === false
    ) {
      headers.set('accept', 'application/json');
    }
    // The redirects followed so far (made on the first one).
    let followed: string[] | undefined;
    // Set once a hop left the first URL's origin: credentials are never sent again.
    let crossed = false;
    let response: Response;
    for (;;) {
      if (first !== undefined) {
        response = first;
        first = undefined;
      } else {
        // With hooks, each attempt and hop gets a fresh URL and Headers made from the
        // request as configured for it: beforeRequest may edit them, and what it changes
        // applies to this attempt or hop only (a retry or the next hop starts again from
        // the request as configured). Every other hook and error of the attempt sees this
        // same copy, so an edit made elsewhere (afterResponse, beforeRetry, onError) is
        // never applied, whether or not a beforeRequest hook exists (rv-http11 X5).
        info = hooked
          ? { url: new URL(url), method, headers: new Headers(headers), attempt }
          : { url, method, headers: headers as Headers, attempt };
        this.#current = info;
        for (const hook of hooks.beforeRequest) await raceSignal(hook(info), signal);
        if (hooks.beforeRequest.length > 0) normalizeEdits(info);
        // beforeRequest runs on every hop: credentials it sets reach the first origin
        // only (rv-http12 X2).
        if (crossed && hooked) for (const h of SENSITIVE) info.headers.delete(h);
        // Where the redirect is resolved from: the URL sent, not a later hook's edit.
        sent = info.url.href;
        response = await this.#fetch(info, body, signal);
        const afterResponse = hooks.afterResponse;
        for (let i = 0; i < afterResponse.length; i++) {
          let replaced: unknown;
          try {
            replaced = await raceSignal(afterResponse[i]!(response, info), signal);
          } catch (error) {
            discard(response);
            throw error;
          }
          if (replaced === undefined || replaced === response) continue;
          discard(response);
          if (!isResponse(replaced)) {
            throw new TypeError(
              `Expected \`hooks.afterResponse[${i}]\` to return a Response or undefined, got ${describe(replaced)}`,
            );
          }
          response = replaced;
        }
      }
      const location = response.headers.get('location');
      if (!REDIRECTS.has(response.status) || location === null || config.maxRedirects === 0) {
        return response;
      }
      discard(response);
      followed ??= [];
      let next: URL;
      try {
        next = new URL(location, sent);
      } catch {
        throw new RedirectError(
          info,
          `invalid Location header ${JSON.stringify(location)}`,
          followed,
        );
      }
      if (hasCredentials(next)) {
        // Not followed, and not repeated in the error (fetch would refuse it on Node).
        throw new RedirectError(
          info,
          'the Location carries credentials (user:password@)',
          followed,
        );
      }
      // `followed` lists the hops actually followed: a refused Location is named in the
      // message, not listed.
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new RedirectError(info, `Location ${next.href} is not http(s)`, followed);
      }
      if (followed.length >= config.maxRedirects) {
        throw new RedirectError(
          info,
          `more than ${config.maxRedirects} redirects (maxRedirects); the next Location was ${next.href}`,
          followed,
        );
      }
      if (
        response.status === 303 ||
        ((response.status === 301 || response.status === 302) && method === 'POST')
      ) {
        if (method !== 'HEAD') method = 'GET';
        if (body != null) {
          body = undefined;
          headers = new Headers(headers);
          for (const h of ['content-type', 'content-length', 'content-encoding']) headers.delete(h);
        }
      } else if (body != null && !config.replayable) {
        throw new RedirectError(
          info,
          `a ${response.status} to ${next.href} would resend a stream body`,
          followed,
        );
      }
      if (next.origin !== new URL(sent).origin) {
        crossed = true;
        if (headers !== undefined) {
          headers = new Headers(headers);
          for (const h of SENSITIVE) headers.delete(h);
        }
      }
      followed.push(next.href);
      this.#redirected = true;
      if (this.#owner.perHost !== Number.POSITIVE_INFINITY && next.host !== this.#hostKey) {
        await this.#moveToHost(next.host, signal);
      }
      url = next;
    }
  }

  /** The handle the streaming helpers read a handed-off body through. */
  #streamHandle(response: Response, info: RequestInfo, signal: AbortSignal): StreamHandle {
    return {
      response,
      info,
      maxResponseSize: this.#config.maxResponseSize,
      translate: (error: unknown) => this.#translateRead(error, info),
      finish: () => this.#end(),
      progress: progressCounter(response, guardCallback(this.#config.onDownloadProgress)),
      stopped: () =>
        signal.aborted || this.#stopped ? this.#translate(undefined, info) : undefined,
    };
  }

  /** Waits for a helper or `then` to be called; an abort meanwhile cancels the body. */
  #nextConsumer(response: Response, signal: AbortSignal): Promise<Consumer> {
    return new Promise<Consumer>((resolve, reject) => {
      const onAbort = (): void => {
        this.#waitConsumer = undefined;
        discard(response);
        reject(signal.reason);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waitConsumer = (consumer) => {
        this.#waitConsumer = undefined;
        signal.removeEventListener('abort', onAbort);
        resolve(consumer);
      };
    });
  }

  /** Parses (and validates) a JSON body; synchronous without a schema. */
  #parseJson(text: string, schema: StandardSchemaV1 | undefined): unknown {
    let value: unknown;
    try {
      value = text === '' ? undefined : JSON.parse(text);
    } catch (error) {
      throw new ParseError(this.#info(), text, error);
    }
    if (schema === undefined) return value;
    const info = this.#info();
    const checked = (result: StandardResult<unknown>): unknown => {
      if (result.issues !== undefined) throw new SchemaError(info, result.issues);
      return result.value;
    };
    const result = schema['~standard'].validate(value);
    return result instanceof Promise ? result.then(checked) : checked(result);
  }

  #translateRead(error: unknown, info: RequestInfo): unknown {
    if (error instanceof CallbackFailed) return error.error;
    if (this.#attemptSignal?.aborted || this.#stopped) {
      return this.#translate(error, info);
    }
    if (error instanceof HttpClientError) return error;
    if (error instanceof TooLarge)
      return new ResponseTooLargeError(info, this.#config.maxResponseSize);
    return new NetworkError(info, error);
  }

  /** The response as the caller gets it: its body ends the request when read or cancelled. */
  #wrapRaw(response: Response, info: RequestInfo, signal: AbortSignal): Response {
    const source = response.body;
    if (source === null) {
      this.#end();
      return response;
    }
    const reader = source.getReader();
    const end = (): void => this.#end();
    const translate = (error: unknown): unknown => this.#translateRead(error, info);
    // The attempt's abort (timeout, caller, close) errors the body here too: a runtime's
    // own body does not always follow fetch's signal (Deno, once its dependent signal has
    // been garbage collected; a fetch wrapper that drops the signal).
    let settled = false;
    let onAbort: (() => void) | undefined;
    const detach = (): void => {
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
      onAbort = undefined;
    };
    const stream = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          onAbort = () => {
            detach();
            if (settled) return;
            settled = true;
            controller.error(translate(signal.reason));
            reader.cancel(signal.reason).catch(() => {});
            end();
          };
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort, { once: true });
        },
        async pull(controller) {
          try {
            const { done, value } = await reader.read();
            if (settled) return;
            if (done) {
              settled = true;
              detach();
              controller.close();
              end();
            } else controller.enqueue(value);
          } catch (error) {
            if (settled) return;
            settled = true;
            detach();
            controller.error(translate(error));
            end();
          }
        },
        cancel(reason) {
          settled = true;
          detach();
          end();
          return reader.cancel(reason).catch(() => {});
        },
      },
      { highWaterMark: 0 },
    );
    const wrapped = new Response(stream, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
    Object.defineProperty(wrapped, 'url', { value: response.url || info.url.href });
    Object.defineProperty(wrapped, 'redirected', {
      value: this.#redirected,
    });
    return wrapped;
  }

  #endAttempt(): void {
    this.#attemptTimer?.cancel();
    this.#attemptTimer = undefined;
    this.#attempt = undefined;
    const permits = this.#permits;
    if (permits !== undefined) {
      this.#permits = undefined;
      release(permits.host);
      release(permits.slot);
      release(permits.rate);
    }
    if (this.#hostKey !== undefined) this.#leaveHost();
  }

  /**
   * A one-shot request body not sent to its end when the request ends (aborted, failed
   * before it was sent, answered early, redirected without it) is cancelled: the caller's
   * stream is weft's to close once given, and must not be read after the request.
   */
  #cancelRequestBody(): void {
    const config = this.#config;
    if (config.replayable || config.body == null) return;
    const reason = this.#stopped
      ? this.#reason
      : new CancelledError(
          `The request ${config.method} ${config.url.href} ended before its body was sent`,
        );
    (this.#requestBody ??= new StreamBody(
      config.body as ReadableStream | AsyncIterable<unknown>,
    )).cancel(reason);
  }

  /** Ends the request for good; safe to call more than once. */
  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#endAttempt();
    this.#cancelRequestBody();
    this.#deadlineTimer?.();
    this.#deadlineTimer = undefined;
    if (this.#taskMember !== undefined) {
      this.#owner.callerSignals.leave(this.#taskMember);
      this.#taskMember = undefined;
    }
    if (this.#ownMember !== undefined) {
      this.#owner.callerSignals.leave(this.#ownMember);
      this.#ownMember = undefined;
    }
    this.#caller[Symbol.dispose]();
    this.#owner.operations.delete(this);
    this.#done?.resolve();
  }

  /** Whether the operation could never be consumed now: used when closing the client. */
  static closedError(): CancelledError {
    return new CancelledError('The HTTP client was closed');
  }
}
