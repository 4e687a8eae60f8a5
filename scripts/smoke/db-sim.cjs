// Smoke checks of the packed @weft/db-sim (with @weft/core): the tutorial's connect /
// query / dispose story. Plain CommonJS so that every runtime, the machine's Node 20
// included, can load it; there the connection is disposed by hand, elsewhere the same
// story also runs with `await using` (db-sim-using.mjs, loaded only where the syntax is).
'use strict';

function supportsAwaitUsing() {
  try {
    new Function('return async () => { await using x = null; }');
    return true;
  } catch {
    return false;
  }
}

function dbSimChecks({ core, dbSim, assert }) {
  const { TestClock } = core;
  const { createDatabase, DatabaseError, SqlState } = dbSim;
  const tables = {
    users: {
      columns: 'id serial primary key, email text unique not null',
      rows: [{ email: 'ada@example.com' }],
    },
  };
  return {
    'db-sim: connect / query / dispose by hand, on a TestClock': async () => {
      const clock = new TestClock({ autoAdvance: true });
      const db = createDatabase({ seed: 1, clock, latency: { min: 5, max: 20 }, tables });
      const conn = await db.connect();
      try {
        await conn.query('INSERT INTO users (email) VALUES ($1)', ['bob@example.com']);
        const { rows } = await conn.query('SELECT id, email FROM users ORDER BY id');
        assert(rows.length === 2 && rows[1].email === 'bob@example.com', JSON.stringify(rows));
        const err = await conn.query('SELEC 1').catch((e) => e);
        assert(
          err instanceof DatabaseError && err.code === SqlState.syntaxError && err.position === 1,
          String(err),
        );
      } finally {
        await conn[Symbol.asyncDispose]();
      }
      assert(conn.closed && db.openConnections === 0, 'connection not closed');
      assert(clock.pendingTimers === 0, 'timer left');
      assert(clock.now() >= 15, `latency not on the clock: ${clock.now()}`);
      await db.close();
    },
    'db-sim: pool, transaction, cursor and a replayable trace': async () => {
      const run = async () => {
        const clock = new TestClock({ autoAdvance: true });
        const db = createDatabase({ seed: 9, clock, latency: { min: 1, max: 9 }, tables });
        const pool = db.pool({ max: 2 });
        await pool.transaction(async (tx) => {
          await tx.query('INSERT INTO users (email) VALUES ($1), ($2)', ['c@x', 'd@x']);
        });
        const conn = await pool.acquire();
        const seen = [];
        try {
          for await (const row of conn.cursor('SELECT email FROM users ORDER BY id', [], {
            batchSize: 2,
          })) {
            seen.push(row.email);
          }
        } finally {
          await conn.close();
        }
        assert(seen.join() === 'ada@example.com,c@x,d@x', seen.join());
        assert(pool.stats().inUse === 0 && pool.stats().idle === 1, JSON.stringify(pool.stats()));
        await pool.close();
        assert(db.openConnections === 0 && clock.pendingTimers === 0, 'leak');
        return db.trace.hash;
      };
      const a = await run();
      const b = await run();
      assert(a === b, `trace differs: ${a} vs ${b}`);
    },
    "db-sim: bad arguments get @weft/core/validate's messages, bigints written as 1n": async () => {
      const db = createDatabase({ seed: 1, tables });
      let err;
      try {
        db.pool({ acquireTimeout: 5n });
      } catch (e) {
        err = e;
      }
      assert(
        err instanceof TypeError &&
          err.message ===
            'Expected `options.acquireTimeout` to be a number of milliseconds, got `5n` (bigint)',
        String(err),
      );
      const bad = await db.connect({ signal: 'stop' }).catch((e) => e);
      assert(
        bad instanceof TypeError &&
          bad.message === 'Expected `options.signal` to be an AbortSignal, got `stop` (string)',
        String(bad),
      );
      await db.close();
    },
    'db-sim: the tutorial with await using (where the runtime has it)': async () => {
      if (!supportsAwaitUsing()) return; // the machine's Node 20: covered by hand above
      const { usingStory } = await import('./db-sim-using.mjs');
      const result = await usingStory(core, dbSim);
      assert(result.closed && result.open === 0 && result.rows === 1, JSON.stringify(result));
    },
  };
}

module.exports = { dbSimChecks };
