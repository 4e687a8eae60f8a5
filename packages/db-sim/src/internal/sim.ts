// The simulated server: storage, clock, seeded faults, trace and the open connections.
import type { Clock } from '@weft/core';
import { Storage } from '../engine/storage.ts';
import { DatabaseError, SqlState } from '../errors.ts';
import type { FaultModel } from '../faults.ts';
import type { Parsed } from '../sql/ast.ts';
import { parse } from '../sql/parser.ts';
import { shortSql, type TraceRecorder } from '../trace.ts';
import { Session } from '../session.ts';
import { wait } from './wait.ts';

export class Sim {
  readonly storage: Storage = new Storage();
  readonly clock: Clock;
  readonly faults: FaultModel;
  readonly trace: TraceRecorder;
  /** Connections opened and not closed yet (broken ones included until their owner closes them). */
  readonly sessions: Set<Session> = new Set();
  #nextId = 0;
  readonly #parsed: Map<string, Parsed> = new Map();
  readonly #short: Map<string, string> = new Map();

  constructor(clock: Clock, faults: FaultModel, trace: TraceRecorder) {
    this.clock = clock;
    this.faults = faults;
    this.trace = trace;
  }

  /** Parses `sql`, through a cache of recent statements. */
  parse(sql: string): Parsed {
    let parsed = this.#parsed.get(sql);
    if (parsed === undefined) {
      parsed = parse(sql);
      if (this.#parsed.size >= 500) this.#parsed.clear();
      this.#parsed.set(sql, parsed);
    }
    return parsed;
  }

  /** `sql` shortened for the trace, through a cache. */
  short(sql: string): string {
    let text = this.#short.get(sql);
    if (text === undefined) {
      text = shortSql(sql);
      if (this.#short.size >= 500) this.#short.clear();
      this.#short.set(sql, text);
    }
    return text;
  }

  /** The connection handshake: latency, then a refusal (08001) or a new session. */
  async open(signals: readonly (AbortSignal | undefined)[]): Promise<Session> {
    const id = ++this.#nextId;
    this.trace.record(id, 'connect', '');
    const plan = this.faults.plan('connect');
    try {
      const pending = wait(this.clock, plan.latency, signals);
      if (pending !== undefined) await pending;
    } catch (error) {
      this.trace.record(id, 'cancelled', 'connect');
      throw error;
    }
    if (plan.refuse) {
      this.trace.record(id, 'fault', 'refused');
      throw new DatabaseError(
        SqlState.connectionRefused,
        `connection #${id} was refused by the server (simulated fault)`,
        {
          connection: id,
        },
      );
    }
    const session = new Session(id, this);
    this.sessions.add(session);
    this.trace.record(id, 'connected', '');
    return session;
  }
}
