/** One thing that happened in the simulated database. */
export interface TraceEvent {
  /** 1-based position in the whole run. */
  readonly seq: number;
  /** Clock time since the database was created, in ms. */
  readonly time: number;
  /** The connection it happened on, when there is one. */
  readonly connection: number | undefined;
  /** What happened: `connect`, `query`, `ok`, `error`, `fault`, `begin`, `commit`, `rollback`, `fetch`, … */
  readonly type: string;
  /** The statement (shortened), the outcome or the error code. */
  readonly detail: string;
}

/**
 * The event trace of a database: what happened, when (on its clock) and on which
 * connection. `hash` covers every event of the run, even those that no longer fit in
 * `events` (the newest `traceLimit` are kept), so two runs can be compared cheaply: the
 * same seed and the same program on a `TestClock` give the same hash.
 *
 * @example
 * ```ts
 * import { TestClock } from '@weft/core';
 * import { createDatabase } from '@weft/db-sim';
 *
 * const db = createDatabase({ seed: 7, clock: new TestClock({ autoAdvance: true }) });
 * await using conn = await db.connect();
 * await conn.query('SELECT 1 AS one');
 * console.log(db.trace.count, db.trace.hash, db.trace.events.at(-1)?.type);
 * ```
 */
export interface Trace {
  /** The newest events, oldest first (at most `traceLimit`). */
  readonly events: readonly TraceEvent[];
  /** How many events happened in all. */
  readonly count: number;
  /** A 64-bit hex digest of every event so far, in order. */
  readonly hash: string;
  /** How many faults of each kind were injected so far: `reset`, `failure`, `stall`, `refused`, `commit-unknown`. */
  readonly faults: Readonly<Record<string, number>>;
  /** The kept events, one per line, as `seq time #connection type detail`. */
  toString(): string;
}

// Scratch space to read a double's bits (little or big endian: the same on one machine,
// and every runtime weft supports is little endian).
const FLOAT = new Float64Array(1);
const WORDS = new Int32Array(FLOAT.buffer);

export class TraceRecorder implements Trace {
  readonly #limit: number;
  readonly #clock: { now(): number };
  readonly #start: number;
  // The newest events, as columns of a ring (no object per event: the trace is recorded
  // on every operation, and objects kept alive for a while are what the GC pays for).
  // `#size` slots are used; once full, `#next` is both the slot to write and the oldest.
  // Grown on demand up to `#limit` (review D17: a large limit allocated it all up front).
  #times: Float64Array;
  #connections: Float64Array;
  readonly #types: string[] = [];
  readonly #details: string[] = [];
  #size = 0;
  #next = 0;
  #count = 0;
  readonly #faults: Record<string, number> = {};
  // Two FNV-1a lanes with different offsets: a 64-bit digest from 32-bit arithmetic.
  #h1 = 0x811c9dc5;
  #h2 = 0x01000193 ^ 0x5bd1e995;

  constructor(limit: number, clock: { now(): number }) {
    this.#limit = limit;
    const initial = Math.min(limit, 1024);
    this.#times = new Float64Array(initial);
    this.#connections = new Float64Array(initial);
    this.#clock = clock;
    this.#start = clock.now();
  }

  get events(): readonly TraceEvent[] {
    const out: TraceEvent[] = [];
    const first = this.#size < this.#limit ? 0 : this.#next;
    const firstSeq = this.#count - this.#size + 1;
    for (let k = 0; k < this.#size; k++) {
      const slot = (first + k) % this.#limit;
      const c = this.#connections[slot]!;
      out.push({
        seq: firstSeq + k,
        time: this.#times[slot]!,
        connection: Number.isNaN(c) ? undefined : c,
        type: this.#types[slot]!,
        detail: this.#details[slot]!,
      });
    }
    return out;
  }

  get faults(): Readonly<Record<string, number>> {
    return { ...this.#faults };
  }

  get count(): number {
    return this.#count;
  }

  get hash(): string {
    return (
      (this.#h1 >>> 0).toString(16).padStart(8, '0') +
      (this.#h2 >>> 0).toString(16).padStart(8, '0')
    );
  }

  /** Records an event; `at` is the clock's time when the caller already read it. */
  record(connection: number | undefined, type: string, detail: string, at?: number): void {
    if (type === 'fault') this.#faults[detail] = (this.#faults[detail] ?? 0) + 1;
    const time = (at ?? this.#clock.now()) - this.#start;
    // The digest covers the exact time (its 64 bits), the connection, the type and the detail.
    FLOAT[0] = time;
    let h1 = this.#h1;
    let h2 = this.#h2;
    for (let k = 0; k < 3; k++) {
      const word = k < 2 ? WORDS[k]! : (connection ?? -1);
      h1 = Math.imul(h1 ^ word, 0x01000193);
      h2 = Math.imul(h2 ^ word, 0x01000193) ^ (h2 >>> 15);
    }
    for (let k = 0; k < 2; k++) {
      const text = k === 0 ? type : detail;
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        h1 = Math.imul(h1 ^ c, 0x01000193);
        h2 = Math.imul(h2 ^ c, 0x01000193) ^ (h2 >>> 15);
      }
      h1 = Math.imul(h1 ^ 0x7c, 0x01000193);
      h2 = Math.imul(h2 ^ 0x7c, 0x01000193) ^ (h2 >>> 15);
    }
    this.#h1 = h1;
    this.#h2 = h2;
    this.#count++;
    if (this.#limit === 0) return;
    const slot = this.#next;
    if (slot === this.#times.length) this.#grow();
    this.#times[slot] = time;
    this.#connections[slot] = connection ?? Number.NaN;
    this.#types[slot] = type;
    this.#details[slot] = detail;
    this.#next = slot + 1 === this.#limit ? 0 : slot + 1;
    if (this.#size < this.#limit) this.#size++;
  }

  /** Doubles the ring's columns (up to the limit); only before it first wraps. */
  #grow(): void {
    const size = Math.min(this.#limit, this.#times.length * 2);
    const times = new Float64Array(size);
    times.set(this.#times);
    this.#times = times;
    const connections = new Float64Array(size);
    connections.set(this.#connections);
    this.#connections = connections;
  }

  toString(): string {
    return this.events
      .map(
        (e) =>
          `${e.seq} ${e.time.toFixed(3)} ${e.connection === undefined ? '-' : `#${e.connection}`} ${e.type} ${e.detail}`,
      )
      .join('\n');
  }
}

/** A statement shortened for the trace and for messages. */
export function shortSql(sql: string): string {
  const one = sql.replace(/\s+/g, ' ').trim();
  return one.length > 60 ? `${one.slice(0, 57)}...` : one;
}
