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

export class TraceRecorder implements Trace {
  readonly #limit: number;
  readonly #now: () => number;
  #events: TraceEvent[] = [];
  #count = 0;
  readonly #faults: Record<string, number> = {};
  // Two FNV-1a lanes with different offsets: a 64-bit digest from 32-bit arithmetic.
  #h1 = 0x811c9dc5;
  #h2 = 0x01000193 ^ 0x5bd1e995;

  constructor(limit: number, now: () => number) {
    this.#limit = limit;
    this.#now = now;
  }

  get events(): readonly TraceEvent[] {
    return this.#events;
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

  record(connection: number | undefined, type: string, detail: string): void {
    if (type === 'fault') this.#faults[detail] = (this.#faults[detail] ?? 0) + 1;
    const event: TraceEvent = { seq: ++this.#count, time: this.#now(), connection, type, detail };
    const line = `${event.time}|${connection ?? ''}|${type}|${detail}\n`;
    let h1 = this.#h1;
    let h2 = this.#h2;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x01000193) ^ (h2 >>> 15);
    }
    this.#h1 = h1;
    this.#h2 = h2;
    if (this.#limit === 0) return;
    if (this.#events.length >= this.#limit) this.#events.shift();
    this.#events.push(event);
  }

  toString(): string {
    return this.#events
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
