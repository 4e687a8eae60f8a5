import { type Clock, callerContext } from '@weft/core';
import { ConnectionImpl } from './connection.ts';
import { execute } from './engine/executor.ts';
import { DatabaseError, SqlState } from './errors.ts';
import { type FaultOptions, FaultModel, type LatencyOption } from './faults.ts';
import { Sim } from './internal/sim.ts';
import { Handshakes } from './internal/wait.ts';
import {
  assertParams,
  assertClock,
  assertInteger,
  assertOptions,
  assertSignal,
  assertString,
  describe,
} from './internal/validate.ts';
import { type Pool, PoolImpl, type PoolOptions } from './pool.ts';
import type { Session } from './session.ts';
import { assertSeed, createRandom } from './random.ts';
import type { Value } from './sql/ast.ts';
import { parse } from './sql/parser.ts';
import { quoteIdent } from './sql/lexer.ts';
import { type Trace, TraceRecorder } from './trace.ts';
import type { ConnectOptions, Connection, Row } from './types.ts';

/** A table to create with the database: its column definitions as in CREATE TABLE, and its first rows. */
export interface TableSeed {
  /** The column list of a CREATE TABLE, e.g. `'id serial primary key, email text unique not null'`. */
  columns: string;
  /** Rows inserted when the database is created (no latency, no faults). @default [] */
  rows?: readonly Row[];
}

/** The largest `traceLimit`: a ring of events held in typed arrays. */
const MAX_TRACE = 2 ** 30;

/** Options of {@link createDatabase}. */
export interface DatabaseOptions {
  /** The seed of every random draw (latency, faults): same seed and program, same run. @default 0 */
  seed?: number;
  /**
   * The latency of each round trip, in ms: a fixed number, a seeded uniform `{ min, max }`
   * (the jitter), or a function of the seeded source. @default { min: 1, max: 5 }
   */
  latency?: LatencyOption;
  /** Seeded fault rates; see {@link FaultOptions}. @default no faults */
  faults?: FaultOptions;
  /** Where every wait takes its time from. @default the enclosing weft task's clock, else `systemClock` */
  clock?: Clock;
  /** Tables to create, with their first rows. @default {} */
  tables?: Record<string, TableSeed>;
  /**
   * How many of the newest trace events to keep (the hash covers all), from 0 to 2^30;
   * memory grows with the events recorded, not with the limit. @default 1000
   */
  traceLimit?: number;
}

/**
 * A simulated database. Connect to it directly (`connect`) or through a pool (`pool`);
 * read its trace (`trace.hash` identifies a run); read what is committed without a round
 * trip (`inspect`). Disposing it closes its pools and connections.
 *
 * @example
 * ```ts
 * import { createDatabase } from '@weft/db-sim';
 *
 * await using db = createDatabase({ seed: 1, latency: { min: 2, max: 8 } });
 * await using conn = await db.connect();
 * await conn.query('CREATE TABLE users (id serial primary key, email text unique)');
 * await conn.query('INSERT INTO users (email) VALUES ($1)', ['ada@example.com']);
 * console.log(db.inspect('users')); // [{ id: 1, email: 'ada@example.com' }]
 * ```
 */
export interface Database extends AsyncDisposable {
  /** The seed this database draws from. */
  readonly seed: number;
  /** The clock every wait uses. */
  readonly clock: Clock;
  /** What happened, in order; see {@link Trace}. */
  readonly trace: Trace;
  /** How many connections are open (direct and pooled, idle included; not yet closed). */
  readonly openConnections: number;
  /**
   * Opens a connection after the handshake's latency. Rejects with `08001` when the
   * seeded `refuseRate` refuses it, with the signal's reason when cancelled, with `08003`
   * once the database is closed.
   */
  connect(options?: ConnectOptions): Promise<Connection>;
  /** Creates a pool of connections; see {@link Pool}. */
  pool(options?: PoolOptions): Pool;
  /**
   * The committed rows of `table` now, in storage order: no latency, no faults, no trace.
   * For assertions and teaching; application code should `query`. `table` is resolved as
   * in SQL: a plain name (`Users`) folds to lower case, a double-quoted one (`'"Users"'`,
   * `'"a""b"'`) is the name inside (`""` for `"`), any other is taken exactly. Throws
   * `42P01` for an unknown table.
   */
  inspect(table: string): Row[];
  /**
   * Closes every pool (destroying lent connections) and every connection; a `connect()`
   * still in its handshake rejects with `08003` at once.
   */
  close(): Promise<void>;
  /** Whether `close()` was called. */
  readonly closed: boolean;
}

class DatabaseImpl implements Database {
  readonly seed: number;
  readonly #sim: Sim;
  readonly #pools: Set<PoolImpl> = new Set();
  #closed = false;
  /** Aborts the handshakes of `connect()` calls in flight when the database closes (X1). */
  readonly #handshakes: Handshakes = new Handshakes();

  constructor(options: DatabaseOptions | undefined) {
    assertOptions('options', options, [
      'seed',
      'latency',
      'faults',
      'clock',
      'tables',
      'traceLimit',
    ]);
    const seed = options?.seed ?? 0;
    assertSeed('options.seed', seed);
    assertClock('options.clock', options?.clock);
    const traceLimit = options?.traceLimit ?? 1000;
    assertInteger('options.traceLimit', traceLimit, 0);
    if (traceLimit > MAX_TRACE) {
      throw new RangeError(
        `Expected \`options.traceLimit\` to be an integer from 0 to ${MAX_TRACE}, got ${describe(traceLimit)}`,
      );
    }
    let clock: Clock;
    {
      const ctx = callerContext({ clock: options?.clock });
      clock = ctx.clock;
      ctx[Symbol.dispose]();
    }
    const random = createRandom(seed);
    const faults = new FaultModel(random, options?.latency, options?.faults);
    this.seed = seed;
    this.#sim = new Sim(clock, faults, new TraceRecorder(traceLimit, clock));
    const tables = options?.tables;
    if (tables !== undefined) {
      if (typeof tables !== 'object' || tables === null) {
        throw new TypeError(
          `Expected \`options.tables\` to be an object of table seeds, got ${describe(tables)}`,
        );
      }
      for (const [name, seedTable] of Object.entries(tables)) this.#seed(name, seedTable);
    }
  }

  #seed(name: string, table: TableSeed): void {
    assertOptions(`options.tables.${name}`, table, ['columns', 'rows']);
    assertString(`options.tables.${name}.columns`, table?.columns);
    const storage = this.#sim.storage;
    const quoted = quoteName(name);
    const create = parse(`CREATE TABLE ${quoted} (${table.columns})`);
    const tx = storage.begin(false);
    execute(storage, create.stmt, [], tx);
    const names = new Set(storage.table(plainName(name)).columns.map((c) => c.name));
    const rows = table.rows ?? [];
    if (!Array.isArray(rows)) {
      throw new TypeError(
        `Expected \`options.tables.${name}.rows\` to be an array of rows, got ${describe(rows)}`,
      );
    }
    for (let i = 0; i < rows.length; i++) {
      const row: unknown = rows[i];
      const at = `options.tables.${name}.rows[${i}]`;
      // A row and its values are checked as params are (review D11): a clear TypeError
      // naming the field, not an unnamed TypeError or a misleading 42804.
      if (typeof row !== 'object' || row === null || Array.isArray(row)) {
        throw new TypeError(
          `Expected \`${at}\` to be an object of column values, got ${describe(row)}`,
        );
      }
      const columns = Object.keys(row);
      const values = columns.map((c) => (row as Record<string, unknown>)[c] ?? null);
      for (let j = 0; j < columns.length; j++) {
        try {
          assertParams(at, [values[j]]);
        } catch {
          throw new TypeError(
            `Expected \`${at}.${columns[j]}\` to be null, a finite number, a string or a boolean, got ${describe(values[j])}`,
          );
        }
      }
      const sql = `INSERT INTO ${quoted} (${columns.map((c) => quoteColumn(c, names)).join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`;
      execute(storage, parse(sql).stmt, values as Value[], tx);
    }
    storage.commit(tx);
  }

  get clock(): Clock {
    return this.#sim.clock;
  }

  get trace(): Trace {
    return this.#sim.trace;
  }

  get openConnections(): number {
    return this.#sim.sessions.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async connect(options?: ConnectOptions): Promise<Connection> {
    assertOptions('options', options, ['signal']);
    assertSignal('options.signal', options?.signal);
    if (this.#closed)
      throw new DatabaseError(SqlState.connectionDoesNotExist, 'the database is closed');
    const ctx = callerContext({ signal: options?.signal, clock: this.#sim.clock });
    try {
      const handshake = this.#handshakes.take();
      let session: Session;
      try {
        session = await this.#sim.open([ctx.signal, handshake.signal]);
      } finally {
        handshake.done();
      }
      if (this.#closed) {
        session.close(
          () => new DatabaseError(SqlState.connectionDoesNotExist, 'the database is closed'),
        );
        throw new DatabaseError(SqlState.connectionDoesNotExist, 'the database is closed');
      }
      // Cancelled as the handshake ended (0 ms, or at the same instant): nobody takes it.
      if (ctx.signal?.aborted) {
        const reason: unknown = ctx.signal.reason;
        session.close(
          () =>
            new DatabaseError(
              SqlState.connectionDoesNotExist,
              `connection #${session.id} was closed: its connect() was cancelled`,
            ),
        );
        throw reason;
      }
      return new ConnectionImpl(session);
    } finally {
      ctx[Symbol.dispose]();
    }
  }

  pool(options?: PoolOptions): Pool {
    if (this.#closed)
      throw new DatabaseError(SqlState.connectionDoesNotExist, 'the database is closed');
    const pool = new PoolImpl(this.#sim, options, (p) => this.#pools.delete(p));
    this.#pools.add(pool);
    return pool;
  }

  inspect(table: string): Row[] {
    assertString('table', table);
    const storage = this.#sim.storage;
    const name = plainName(table);
    // `inspect('Users')` folds as SQL does; a table created quoted is named (probe P9).
    if (name !== table && !storage.tables.has(name) && storage.tables.has(table)) {
      throw new DatabaseError(
        SqlState.undefinedTable,
        `relation ${quoteIdent(name)} does not exist (a table ${quoteIdent(table)} does: pass the name double-quoted, as in SQL, to reach it)`,
      );
    }
    const t = storage.table(name);
    const rows: Row[] = [];
    storage.scan(t, storage.begin(false), (_, row) => rows.push({ ...row }));
    return rows;
  }

  close(): Promise<void> {
    this.#closed = true;
    const reason = new DatabaseError(SqlState.connectionDoesNotExist, 'the database is closed');
    // A `connect()` still in its handshake rejects now, and its timer goes (review dbx10
    // X1: it held the process for the whole latency), as a pool's own handshakes do.
    this.#handshakes.abort(reason);
    for (const pool of [...this.#pools]) pool.destroyAll();
    for (const session of [...this.#sim.sessions]) session.close(() => reason);
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  get [Symbol.toStringTag](): string {
    return 'Database';
  }
}

/**
 * Creates a simulated database: in memory, deterministic from its `seed`, waiting on its
 * `clock` (a `TestClock` makes latency cost no real time). Throws a `TypeError` or
 * `RangeError` for a bad option, and a `DatabaseError` for a bad table seed.
 *
 * @example
 * ```ts
 * import { TestClock } from '@weft/core';
 * import { createDatabase } from '@weft/db-sim';
 *
 * const db = createDatabase({
 *   seed: 42,
 *   clock: new TestClock({ autoAdvance: true }),
 *   latency: { min: 5, max: 20 },
 *   faults: { disconnectRate: 0.01 },
 *   tables: { accounts: { columns: 'id int primary key, balance int not null', rows: [{ id: 1, balance: 100 }] } },
 * });
 * ```
 */
export function createDatabase(options?: DatabaseOptions): Database {
  return new DatabaseImpl(options);
}

/** A name SQL would accept unquoted: it folds to lower case there, and here too. */
const PLAIN = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/** A name written as a quoted identifier: `"Users"`, `"a""b"` (each `"` inside doubled). */
const QUOTED = /^"((?:[^"]|"")+)"$/;

/**
 * A table or column name given in options or to `inspect`, resolved the way SQL resolves
 * it: a plain identifier (`Users`) folds to lower case, as it would unquoted in a query;
 * a quoted one (`"Users"`, `"a""b"`) is the name inside, `""` standing for `"`, as in a
 * query (probe P9: a table created as `"Users"` could not be inspected); any other name
 * (`my table`) is taken exactly, as it would be double-quoted.
 */
function plainName(name: string): string {
  if (PLAIN.test(name)) return name.toLowerCase();
  const quoted = QUOTED.exec(name);
  return quoted === null ? name : quoted[1]!.replaceAll('""', '"');
}

/** A row key of a seeded table: the column of exactly that name, else as {@link plainName}. */
function quoteColumn(key: string, columns: ReadonlySet<string>): string {
  return columns.has(key) ? quoteIdent(key) : quoteName(key);
}

/** `name` resolved by {@link plainName}, double-quoted for a statement. */
function quoteName(name: string): string {
  return quoteIdent(plainName(name));
}
