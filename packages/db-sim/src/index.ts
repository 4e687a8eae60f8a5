/**
 * @weft/db-sim: a deterministic, seeded simulation of an async SQL database for teaching
 * and for testing application code against latency, pooling, transactions, cursors and
 * faults, on weft's clock.
 *
 * @module
 */
export { createDatabase, type Database, type DatabaseOptions, type TableSeed } from './database.ts';
export {
  DatabaseError,
  type DatabaseErrorOptions,
  type LeakReport,
  PoolLeakError,
  SqlState,
  type SqlStateCode,
} from './errors.ts';
export type { FaultOptions, LatencyOption } from './faults.ts';
export type { Pool, PoolAcquireOptions, PoolCloseOptions, PoolOptions, PoolStats } from './pool.ts';
export { createRandom, type Random } from './random.ts';
export type { Trace, TraceEvent } from './trace.ts';
export type {
  ConnectOptions,
  Connection,
  Cursor,
  CursorOptions,
  QueryOptions,
  QueryResult,
  Queryable,
  Row,
  Transaction,
  TransactionOptions,
  Value,
} from './types.ts';
