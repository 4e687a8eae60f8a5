/**
 * The chaos soak, shared by the vitest suite (2,000 operations) and `pnpm soak:db-sim` (100,000):
 * concurrent clients move money between accounts through a pool while the database
 * injects faults at 5% each (query failures, resets mid-statement and mid-cursor, stalls,
 * refused connections, commits whose outcome is unknown). It takes the db-sim and weft
 * APIs as parameters so that the soak runs against the built packages and the tests
 * against the sources.
 *
 * Every transfer carries a unique id and is recorded in `transfers` in the same
 * transaction, so an unknown commit outcome (08007) is reconciled by reading it back.
 * Checked afterwards: the pool is idle with nothing lent and nothing leaked; every
 * acknowledged transfer is in the table and every failed one is not; each balance equals
 * its opening balance plus the transfers that landed; the total is conserved; no timer is
 * left; and the whole run is summarised by the trace hash, so a replay can compare it.
 */
import type * as Core from '@weft/core';
import type * as DbSim from '../src/index.ts';

export interface ChaosOptions {
  operations: number;
  seed: number;
  clients?: number;
  accounts?: number;
  faultRate?: number;
  /** Attempts per transfer before the client gives up on it. @default 6 */
  attempts?: number;
  /** Called every 10,000 operations with the count so far. */
  progress?: (done: number) => void;
}

export interface ChaosResult {
  hash: string;
  events: number;
  acknowledged: number;
  reconciled: number;
  failed: number;
  faults: Readonly<Record<string, number>>;
  virtualMs: number;
  problems: string[];
}

const OPENING = 1000;

export async function runChaos(
  core: typeof Core,
  dbSim: typeof DbSim,
  options: ChaosOptions,
): Promise<ChaosResult> {
  const { gather, retry, TestClock } = core;
  const { createDatabase, createRandom, DatabaseError, SqlState } = dbSim;
  const clients = options.clients ?? 8;
  const accountCount = options.accounts ?? 10;
  const rate = options.faultRate ?? 0.05;
  const clock = new TestClock({ autoAdvance: true });
  const db = createDatabase({
    seed: options.seed,
    clock,
    latency: { min: 1, max: 10 },
    faults: {
      queryFailureRate: rate,
      disconnectRate: rate,
      stallRate: rate,
      stallMs: 3000,
      refuseRate: rate,
      commitUnknownRate: rate,
    },
    traceLimit: 0,
    tables: {
      accounts: {
        columns: 'id int primary key, balance int not null',
        rows: Array.from({ length: accountCount }, (_, i) => ({ id: i + 1, balance: OPENING })),
      },
      transfers: {
        columns: 'id int primary key, src int not null, dst int not null, amount int not null',
      },
    },
  });
  const pool = db.pool({ max: 4, acquireTimeout: 2000, idleTimeout: 5000 });
  const random = createRandom(options.seed ^ 0x5eed);
  const problems: string[] = [];
  const acknowledged = new Map<number, { src: number; dst: number; amount: number }>();
  const failed = new Set<number>();
  let reconciled = 0;
  let next = 0;
  const isRetryable = (error: unknown): boolean =>
    error instanceof DatabaseError && (error.retryable || error.code === SqlState.queryCanceled);
  const statement = { timeout: 1000 };

  const exists = (id: number): Promise<boolean> =>
    retry(
      async () =>
        (await pool.query('SELECT count(*) AS n FROM transfers WHERE id = $1', [id], statement))
          .rows[0]!.n === 1,
      {
        attempts: 50,
        backoff: { initial: 5, factor: 2 },
        maxDelay: 200,
        random: random.next,
        retryIf: isRetryable,
      },
    );

  async function transfer(id: number): Promise<void> {
    const src = random.int(1, accountCount);
    const dst = ((src + random.int(0, accountCount - 2)) % accountCount) + 1;
    const wanted = random.int(1, 200);
    let outcome: { amount: number } | undefined;
    try {
      await retry(
        async () => {
          try {
            outcome = await pool.transaction(async (tx) => {
              const { rows } = await tx.query<{ balance: number }>(
                'SELECT balance FROM accounts WHERE id = $1',
                [src],
                statement,
              );
              const amount = Math.min(wanted, rows[0]!.balance);
              await tx.query(
                'UPDATE accounts SET balance = balance - $1 WHERE id = $2',
                [amount, src],
                statement,
              );
              // Half the transfers read the destination through a cursor (resets mid-cursor too).
              if (id % 2 === 0) {
                for await (const row of tx.cursor(
                  'SELECT id FROM accounts WHERE id = $1 OR id = $2',
                  [dst, src],
                  { batchSize: 1, timeout: 1000 },
                )) {
                  if (row.id === -1) break;
                }
              }
              await tx.query(
                'UPDATE accounts SET balance = balance + $1 WHERE id = $2',
                [amount, dst],
                statement,
              );
              await tx.query(
                'INSERT INTO transfers (id, src, dst, amount) VALUES ($1, $2, $3, $4)',
                [id, src, dst, amount],
                statement,
              );
              return { amount };
            });
          } catch (error) {
            if (
              error instanceof DatabaseError &&
              error.code === SqlState.transactionResolutionUnknown
            ) {
              if (await exists(id)) {
                reconciled++;
                const { rows } = await retry(
                  () =>
                    pool.query<{ amount: number }>(
                      'SELECT amount FROM transfers WHERE id = $1',
                      [id],
                      statement,
                    ),
                  {
                    attempts: 50,
                    backoff: { initial: 5, factor: 2 },
                    maxDelay: 200,
                    random: random.next,
                    retryIf: isRetryable,
                  },
                );
                outcome = { amount: rows[0]!.amount };
                return;
              }
            }
            throw error;
          }
        },
        {
          attempts: options.attempts ?? 6,
          backoff: { initial: 5, factor: 2 },
          maxDelay: 500,
          random: random.next,
          retryIf: isRetryable,
        },
      );
      acknowledged.set(id, { src, dst, amount: outcome!.amount });
    } catch {
      failed.add(id);
    }
  }

  await gather(
    Array.from({ length: clients }, () => async () => {
      while (next < options.operations) {
        const id = ++next;
        await transfer(id);
        if (id % 10_000 === 0) options.progress?.(id);
      }
    }),
    { clock },
  );

  // The pool drained to idle: nothing lent, nobody waiting, nothing leaked.
  const stats = pool.stats();
  if (stats.inUse !== 0 || stats.waiting !== 0 || stats.pending !== 0)
    problems.push(`pool not idle: ${JSON.stringify(stats)}`);
  if (pool.leaks().length > 0) problems.push(`leaked connections: ${JSON.stringify(pool.leaks())}`);

  // Acknowledged writes are all there; failed ones are not; balances add up.
  const recorded = new Map(db.inspect('transfers').map((r) => [r.id as number, r]));
  for (const [id, t] of acknowledged) {
    const row = recorded.get(id);
    if (row === undefined) problems.push(`acknowledged transfer ${id} is missing`);
    else if (row.amount !== t.amount)
      problems.push(`transfer ${id} landed with ${String(row.amount)}, acknowledged ${t.amount}`);
  }
  for (const id of failed)
    if (recorded.has(id)) problems.push(`transfer ${id} failed for the client but is visible`);
  if (recorded.size !== acknowledged.size)
    problems.push(`${recorded.size} transfers recorded, ${acknowledged.size} acknowledged`);
  const expected = new Map<number, number>();
  for (let i = 1; i <= accountCount; i++) expected.set(i, OPENING);
  for (const t of recorded.values()) {
    expected.set(t.src as number, expected.get(t.src as number)! - (t.amount as number));
    expected.set(t.dst as number, expected.get(t.dst as number)! + (t.amount as number));
  }
  let total = 0;
  for (const row of db.inspect('accounts')) {
    total += row.balance as number;
    if (row.balance !== expected.get(row.id as number))
      problems.push(
        `account ${String(row.id)} holds ${String(row.balance)}, expected ${expected.get(row.id as number)}`,
      );
    if ((row.balance as number) < 0) problems.push(`account ${String(row.id)} went negative`);
  }
  if (total !== OPENING * accountCount)
    problems.push(`total balance ${total}, expected ${OPENING * accountCount}`);
  const { rows } = await retry(
    () =>
      pool.query<{ total: number }>('SELECT sum(balance) AS total FROM accounts', [], statement),
    {
      attempts: 50,
      retryIf: isRetryable,
      random: random.next,
      clock,
    },
  );
  if (rows[0]!.total !== total)
    problems.push(`SELECT sum(balance) gave ${rows[0]!.total}, storage holds ${total}`);

  const faults = db.trace.faults;
  await pool.close();
  if (db.openConnections !== 0)
    problems.push(`${db.openConnections} connections still open after pool.close()`);
  await db.close();
  if (clock.pendingTimers !== 0) problems.push(`${clock.pendingTimers} timers left`);
  return {
    hash: db.trace.hash,
    events: db.trace.count,
    acknowledged: acknowledged.size,
    reconciled,
    failed: failed.size,
    faults,
    virtualMs: clock.now(),
    problems,
  };
}
