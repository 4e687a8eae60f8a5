// Tutorial 1, "async with — Async Context Managers": async setup, and cleanup that runs
// however the block is left.
//
//   asyncio                                 weft / TypeScript
//   async def __aenter__(self)           →  an async factory: await AsyncConnection.connect(name)
//   async def __aexit__(self, …)         →  async [Symbol.asyncDispose]()
//   async with X(...) as conn:           →  await using conn = await X.connect(...)
//   async with db_connection as conn:    →  await using conn = await db.connect()   (@weft/db-sim)
//
// `await using` disposes when the block ends: normally, on a throw, or when the task is
// cancelled (the block unwinds with the cancellation). One weft rule to know: a
// cancelled task's weft calls keep failing (cancellation is level-triggered, as in Trio),
// so cleanup that must wait wraps the wait in `shield`, and a disposer does not throw that
// cancellation again. `[Symbol.asyncDispose]` below does both; the last part shows it
// finishing after a timeout.
import { isCancellation, shield, sleep, TimeoutError, timeout } from '@weft/core';
import { createDatabase, DatabaseError } from '@weft/db-sim';
import { type Example, TUTORIAL_1 } from '../example.ts';

/** Simulate an async database connection; `log` stands for Python's print. */
class AsyncConnection implements AsyncDisposable {
  readonly name: string;
  connected = false;
  readonly #log: (line: string) => void;

  private constructor(name: string, log: (line: string) => void) {
    this.name = name;
    this.#log = log;
  }

  /** Opens a connection (`__aenter__`). */
  static async connect(name: string, log: (line: string) => void): Promise<AsyncConnection> {
    const conn = new AsyncConnection(name, log);
    await sleep(10); // Simulate connection time
    conn.connected = true;
    log(`Connected to ${name}`);
    return conn;
  }

  async execute(query: string): Promise<string> {
    if (!this.connected) throw new Error('Not connected');
    await sleep(10);
    return `Result of: ${query}`;
  }

  /** Closes it when the `await using` block ends (`__aexit__`), however it ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      // Shielded: the cleanup runs to its end even while the block is being cancelled.
      await shield(async () => {
        await sleep(10); // Simulate cleanup
        this.connected = false;
        this.#log(`Disconnected from ${this.name}`);
      });
    } catch (error) {
      // Once done, shield raises the cancellation again. The block is already leaving
      // with it; thrown a second time from here, it would come out wrapped in a
      // SuppressedError instead of as the TimeoutError it is.
      if (!isCancellation(error) && !(error instanceof TimeoutError)) throw error;
    }
  }
}

const USERS = [
  { id: 1, name: 'Ada' },
  { id: 2, name: 'Bob' },
];

export const asyncWith: Example = {
  number: 9,
  name: 'async-with',
  title: 'async with: AsyncConnection and a db-sim connection with await using, also on errors',
  section: `${TUTORIAL_1} · "async with — Async Context Managers"`,
  async run({ log, clock }) {
    {
      await using conn = await AsyncConnection.connect('my_database', log);
      const result = await conn.execute('SELECT * FROM users');
      log(result);
    } // Connection is automatically closed here

    // The cleanup runs when the block throws, too, before the error reaches the caller.
    try {
      await using conn = await AsyncConnection.connect('my_database', log);
      await conn.execute('SELECT * FROM users');
      throw new Error('something went wrong in the block');
    } catch (error) {
      log(`Caught after the cleanup: ${(error as Error).message}`);
    }

    // The same with a real (simulated) database connection.
    await using db = createDatabase({
      seed: 9,
      clock,
      latency: 10,
      tables: { users: { columns: 'id int primary key, name text not null', rows: USERS } },
    });
    {
      await using conn = await db.connect();
      log(`db-sim: connected (connection #${conn.id}, ${db.openConnections} open)`);
      const { rows } = await conn.query('SELECT name FROM users ORDER BY id');
      log(`db-sim: ${rows.map((r) => r.name).join(', ')}`);
    }
    log(`db-sim: after the block, ${db.openConnections} open`);

    // A failing query inside the block: the connection is closed all the same.
    try {
      await using conn = await db.connect();
      log(`db-sim: connected (connection #${conn.id}, ${db.openConnections} open)`);
      await conn.query('SELECT * FROM missing_table');
    } catch (error) {
      if (!(error instanceof DatabaseError)) throw error;
      log(`db-sim: ${error.message} (${error.code}); ${db.openConnections} open`);
    }

    // Cancelled in the middle of the block: a 15 ms timeout cuts execute() short, and
    // the shielded cleanup still completes before timeout() rejects.
    const start = clock.now();
    try {
      await timeout(15, async () => {
        await using conn = await AsyncConnection.connect('my_database', log);
        await conn.execute('SELECT * FROM big_table');
        log('never printed');
      });
    } catch (error) {
      if (!(error instanceof TimeoutError)) throw error;
      log(
        `${error.name}: timeout() rejected at ${Math.round(clock.now() - start)} ms (the 15 ms limit, then 10 ms of cleanup)`,
      );
    }
  },
};
