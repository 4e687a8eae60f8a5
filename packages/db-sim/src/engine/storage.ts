// Tables and multiversion storage: snapshot isolation with first-committer-wins.
//
// Every committed change of a row appends a version stamped with the commit sequence
// number (csn). A transaction reads the newest version whose csn is at or below its
// snapshot, plus its own uncommitted writes, which live only in its write set until
// commit: nobody else can see them (no dirty reads). At commit, a row that another
// transaction committed after the snapshot is a write-write conflict (40001): the first
// committer wins, so no update is ever lost.
import type { ColumnDef, Value } from '../sql/ast.ts';
import { DatabaseError, SqlState } from '../errors.ts';
import { quoteIdent } from '../sql/lexer.ts';

/** A stored row: column name → value. */
export type Row = Record<string, Value>;

interface Version {
  csn: number;
  /** `null`: the row was deleted by this version. */
  data: Row | null;
}

/** One unique constraint (the primary key is the first when there is one). */
export interface UniqueIndex {
  name: string;
  columns: string[];
  primary: boolean;
  /**
   * key → the id of the row that had it in a committed version, or the ids when several
   * rows did over time (entries are checked on use; a key leaves once no version holds it).
   */
  entries: Map<string, number | Set<number>>;
}

export class TableState {
  readonly name: string;
  readonly columns: ColumnDef[];
  readonly byName: Map<string, ColumnDef>;
  readonly indexes: UniqueIndex[];
  /** rowId → versions, oldest first. Rows inserted by an open transaction are not here. */
  readonly rows: Map<number, Version[]> = new Map();
  nextRowId = 1;
  readonly serials: Map<string, number> = new Map();
  dropped = false;

  constructor(
    name: string,
    columns: ColumnDef[],
    primaryKey: string[] | undefined,
    uniques: string[][],
  ) {
    this.name = name;
    this.columns = columns;
    this.byName = new Map(columns.map((c) => [c.name, c]));
    this.indexes = [];
    if (primaryKey !== undefined) {
      this.indexes.push({
        name: `${name}_pkey`,
        columns: primaryKey,
        primary: true,
        entries: new Map(),
      });
    }
    for (const c of columns) {
      if (c.unique && !c.primaryKey) {
        this.indexes.push({
          name: `${name}_${c.name}_key`,
          columns: [c.name],
          primary: false,
          entries: new Map(),
        });
      }
    }
    for (const u of uniques) {
      this.indexes.push({
        name: `${name}_${u.join('_')}_key`,
        columns: u,
        primary: false,
        entries: new Map(),
      });
    }
    for (const c of columns) if (c.serial) this.serials.set(c.name, 0);
  }

  /** The newest committed version of a row, or `undefined`. */
  latest(rowId: number): Version | undefined {
    const versions = this.rows.get(rowId);
    return versions === undefined ? undefined : versions[versions.length - 1];
  }
}

/** The key of `row` in `index`, or `undefined` when a key column is NULL (NULLs never clash). */
export function keyOf(index: UniqueIndex, row: Row): string | undefined {
  if (index.columns.length === 1) {
    const v = row[index.columns[0]!] ?? null;
    if (v === null) return undefined;
    return typeof v === 'string' ? `s${v}` : `${typeof v === 'number' ? 'n' : 'b'}${String(v)}`;
  }
  const parts: Value[] = [];
  for (const c of index.columns) {
    const v = row[c] ?? null;
    if (v === null) return undefined;
    parts.push(v);
  }
  return JSON.stringify(parts);
}

/** A transaction's private state: its snapshot and the writes nobody else sees yet. */
export class TxState {
  readonly snapshot: number;
  /** table → rowId → the row as this transaction wrote it (`null`: deleted). */
  writes: Map<TableState, Map<number, Row | null>> = new Map();
  /** table → ids of rows this transaction inserted, in order. */
  inserted: Map<TableState, number[]> = new Map();
  /** The error that aborted the transaction; later statements fail with 25P02. */
  aborted: DatabaseError | undefined;
  /** Whether this transaction registered its snapshot (explicit transactions do). */
  readonly registered: boolean;

  constructor(snapshot: number, registered: boolean) {
    this.snapshot = snapshot;
    this.registered = registered;
  }

  /** A copy of the write set, for a savepoint. */
  save(): {
    writes: Map<TableState, Map<number, Row | null>>;
    inserted: Map<TableState, number[]>;
    aborted: DatabaseError | undefined;
  } {
    const writes = new Map<TableState, Map<number, Row | null>>();
    for (const [t, m] of this.writes) writes.set(t, new Map(m));
    const inserted = new Map<TableState, number[]>();
    for (const [t, ids] of this.inserted) inserted.set(t, [...ids]);
    return { writes, inserted, aborted: this.aborted };
  }

  restore(saved: ReturnType<TxState['save']>): void {
    this.writes = saved.writes;
    this.inserted = saved.inserted;
    this.aborted = saved.aborted;
  }

  get dirty(): boolean {
    return this.writes.size > 0;
  }
}

/** The whole simulated server state: tables and the commit sequence. */
export class Storage {
  readonly tables: Map<string, TableState> = new Map();
  /** The sequence number of the last commit. */
  csn = 0;
  /** snapshot → how many open transactions hold it (for pruning old versions). */
  readonly #active: Map<number, number> = new Map();

  begin(register: boolean): TxState {
    const tx = new TxState(this.csn, register);
    if (register) this.#active.set(tx.snapshot, (this.#active.get(tx.snapshot) ?? 0) + 1);
    return tx;
  }

  /** Forgets a transaction without applying it (rollback, or after commit). */
  end(tx: TxState): void {
    if (!tx.registered) return;
    const n = this.#active.get(tx.snapshot) ?? 0;
    if (n <= 1) this.#active.delete(tx.snapshot);
    else this.#active.set(tx.snapshot, n - 1);
  }

  table(name: string, pos?: number): TableState {
    const t = this.tables.get(name);
    if (t === undefined) {
      throw new DatabaseError(
        SqlState.undefinedTable,
        `relation ${quoteIdent(name)} does not exist`,
        {
          position: pos,
        },
      );
    }
    return t;
  }

  /** The row as `tx` sees it: its own write, else the newest version in its snapshot. */
  visible(table: TableState, rowId: number, tx: TxState): Row | null {
    const own = tx.writes.get(table);
    if (own !== undefined) {
      const w = own.get(rowId);
      if (w !== undefined) return w;
    }
    const versions = table.rows.get(rowId);
    if (versions === undefined) return null;
    for (let i = versions.length - 1; i >= 0; i--) {
      const v = versions[i]!;
      if (v.csn <= tx.snapshot) return v.data;
    }
    return null;
  }

  /** Calls `fn` for every row `tx` sees in `table`, in row-id order. */
  scan(table: TableState, tx: TxState, fn: (rowId: number, row: Row) => void): void {
    const own = tx.writes.get(table);
    const snapshot = tx.snapshot;
    for (const [rowId, versions] of table.rows) {
      let data: Row | null = null;
      const w = own?.get(rowId);
      if (w !== undefined) data = w;
      else {
        for (let i = versions.length - 1; i >= 0; i--) {
          const v = versions[i]!;
          if (v.csn <= snapshot) {
            data = v.data;
            break;
          }
        }
      }
      if (data !== null) fn(rowId, data);
    }
    const inserted = tx.inserted.get(table);
    if (inserted !== undefined) {
      for (const rowId of inserted) {
        const data = own?.get(rowId);
        if (data) fn(rowId, data);
      }
    }
  }

  /** Row ids that may hold `key` in `index`, as `tx` sees the table (to be re-checked). */
  candidates(table: TableState, index: UniqueIndex, key: string, tx: TxState): number[] {
    const ids = idsOf(index.entries.get(key));
    const own = tx.writes.get(table);
    if (own !== undefined)
      for (const rowId of own.keys()) if (!ids.includes(rowId)) ids.push(rowId);
    return ids;
  }

  /** Records a write of `tx`; an update of a row changed since the snapshot is 40001. */
  write(table: TableState, rowId: number, row: Row | null, tx: TxState, isNew: boolean): void {
    let own = tx.writes.get(table);
    if (own === undefined) {
      own = new Map();
      tx.writes.set(table, own);
    }
    if (isNew) {
      let ids = tx.inserted.get(table);
      if (ids === undefined) {
        ids = [];
        tx.inserted.set(table, ids);
      }
      ids.push(rowId);
    } else if (!own.has(rowId)) {
      const latest = table.latest(rowId);
      if (latest !== undefined && latest.csn > tx.snapshot) {
        throw new DatabaseError(
          SqlState.serializationFailure,
          `could not serialize access due to concurrent update of a row in ${quoteIdent(table.name)}`,
        );
      }
    }
    own.set(rowId, row);
  }

  /** Checks that `row` clashes with no other row `tx` sees in any unique index (23505). */
  checkUnique(table: TableState, rowId: number, row: Row, tx: TxState): void {
    for (const index of table.indexes) {
      const key = keyOf(index, row);
      if (key === undefined) continue;
      for (const other of this.candidates(table, index, key, tx)) {
        if (other === rowId) continue;
        const data = this.visible(table, other, tx);
        if (data !== null && keyOf(index, data) === key) throw uniqueViolation(table, index, row);
      }
    }
  }

  /**
   * Applies `tx`: 40001 when a row it wrote was committed by another transaction after
   * its snapshot (first committer wins), 23505 when a key it wrote was committed by
   * another transaction meanwhile, 40001 too when a table it wrote to was dropped since.
   * Applies nothing on any failure.
   */
  commit(tx: TxState): void {
    for (const [table, own] of tx.writes) {
      if (table.dropped) {
        // DDL is immediate: the writes cannot apply, and an acknowledged COMMIT must mean
        // they did (review D14), so the whole transaction fails, retryable.
        if (own.size === 0) continue;
        throw new DatabaseError(
          SqlState.serializationFailure,
          `could not serialize access: table ${quoteIdent(table.name)} was dropped by another connection after this transaction wrote to it; nothing was applied`,
        );
      }
      for (const rowId of own.keys()) {
        const latest = table.latest(rowId);
        if (latest !== undefined && latest.csn > tx.snapshot) {
          throw new DatabaseError(
            SqlState.serializationFailure,
            `could not serialize access due to concurrent update of a row in ${quoteIdent(table.name)}`,
          );
        }
      }
      for (const [rowId, row] of own) {
        if (row === null) continue;
        for (const index of table.indexes) {
          const key = keyOf(index, row);
          if (key === undefined) continue;
          for (const other of idsOf(index.entries.get(key))) {
            if (other === rowId || own.has(other)) continue;
            const data = table.latest(other)?.data;
            if (data != null && keyOf(index, data) === key)
              throw uniqueViolation(table, index, row);
          }
        }
      }
    }
    if (!tx.dirty) return;
    const csn = ++this.csn;
    const horizon = this.#horizon();
    for (const [table, own] of tx.writes) {
      if (table.dropped) continue;
      for (const [rowId, row] of own) {
        let versions = table.rows.get(rowId);
        if (versions === undefined) {
          if (row === null) continue;
          versions = [];
          table.rows.set(rowId, versions);
        }
        versions.push({ csn, data: row });
        if (row !== null) {
          for (const index of table.indexes) {
            const key = keyOf(index, row);
            if (key === undefined) continue;
            const known = index.entries.get(key);
            if (known === undefined) index.entries.set(key, rowId);
            else if (typeof known === 'number') {
              if (known !== rowId) index.entries.set(key, new Set([known, rowId]));
            } else known.add(rowId);
          }
        }
        prune(table, rowId, versions, horizon);
      }
    }
  }

  /** The oldest snapshot an open transaction still reads. */
  #horizon(): number {
    let min = this.csn;
    for (const s of this.#active.keys()) if (s < min) min = s;
    return min;
  }
}

function idsOf(entry: number | Set<number> | undefined): number[] {
  if (entry === undefined) return [];
  return typeof entry === 'number' ? [entry] : [...entry];
}

/** Drops versions no open transaction can see any more. */
function prune(table: TableState, rowId: number, versions: Version[], horizon: number): void {
  let keep = 0;
  for (let i = versions.length - 1; i >= 0; i--) {
    if (versions[i]!.csn <= horizon) {
      keep = i;
      break;
    }
  }
  const dropped = keep > 0 ? versions.splice(0, keep) : undefined;
  if (versions.length === 1 && versions[0]!.data === null && versions[0]!.csn <= horizon) {
    table.rows.delete(rowId);
  }
  // A key no version left holds leaves the index (review D13: the entries of every key a
  // table ever held were kept, so memory grew with deleted rows).
  if (dropped !== undefined && table.indexes.length > 0) {
    for (const version of dropped) {
      if (version.data !== null) unindex(table, rowId, version.data, versions);
    }
  }
}

function unindex(table: TableState, rowId: number, data: Row, left: Version[]): void {
  for (const index of table.indexes) {
    const key = keyOf(index, data);
    if (key === undefined) continue;
    if (left.some((v) => v.data !== null && keyOf(index, v.data) === key)) continue;
    const known = index.entries.get(key);
    if (known === rowId) index.entries.delete(key);
    else if (typeof known === 'object') {
      known.delete(rowId);
      if (known.size === 0) index.entries.delete(key);
    }
  }
}

function uniqueViolation(
  table: TableState,
  index: { name: string; columns: string[] },
  row: Row,
): DatabaseError {
  const values = index.columns.map((c) => String(row[c])).join(', ');
  return new DatabaseError(
    SqlState.uniqueViolation,
    `duplicate key value violates unique constraint ${quoteIdent(index.name)}: Key (${index.columns.join(', ')})=(${values}) already exists in ${quoteIdent(table.name)}`,
  );
}
