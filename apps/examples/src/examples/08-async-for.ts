// Tutorial 1, "async for — Async Iterators": iterate over values that arrive over time.
//
//   asyncio                                weft / TypeScript
//   class with __aiter__ / __anext__    →  class with [Symbol.asyncIterator]() / async next()
//   raise StopAsyncIteration            →  return { done: true, value: undefined }
//   async for value in AsyncCounter(…)  →  for await (const value of new AsyncCounter(…))
//   async for row in cursor             →  for await (const row of conn.cursor(sql, params, { batchSize }))  (@weft/db-sim)
//
// An async generator (`async function*`) writes the same iterator in three lines; the
// class is here because it is what the tutorial shows. The database part streams a
// cursor: rows come batch by batch, each batch one round trip made only when the loop
// asks for more, and leaving the loop early closes the cursor and frees the connection.
import { sleep } from '@weft/core';
import { createDatabase } from '@weft/db-sim';
import { type Example, seconds2, TUTORIAL_1 } from '../example.ts';

/** An async iterator that counts from `start` up to (not including) `stop`, with a delay. */
class AsyncCounter implements AsyncIterator<number>, AsyncIterable<number> {
  #current: number;
  readonly #stop: number;

  constructor(start: number, stop: number) {
    this.#current = start;
    this.#stop = stop;
  }

  [Symbol.asyncIterator](): AsyncIterator<number> {
    return this;
  }

  async next(): Promise<IteratorResult<number>> {
    if (this.#current >= this.#stop) return { done: true, value: undefined };
    const value = this.#current;
    this.#current += 1;
    await sleep(10);
    return { done: false, value };
  }
}

/** The same counter as an async generator. */
async function* asyncCounter(start: number, stop: number): AsyncGenerator<number> {
  for (let value = start; value < stop; value++) {
    await sleep(10);
    yield value;
  }
}

const ORDERS = [
  { id: 1, item: 'keyboard' },
  { id: 2, item: 'mouse' },
  { id: 3, item: 'monitor' },
  { id: 4, item: 'cable' },
  { id: 5, item: 'webcam' },
  { id: 6, item: 'headset' },
  { id: 7, item: 'dock' },
];

export const asyncFor: Example = {
  number: 8,
  name: 'async-for',
  title: 'async for: the AsyncCounter iterator, then a db-sim cursor streamed batch by batch',
  section: `${TUTORIAL_1} · "async for — Async Iterators"`,
  async run({ log, clock }) {
    let total = 0;
    for await (const value of new AsyncCounter(1, 6)) {
      total += value;
      log(`Got: ${value}`);
    }
    log(`Total: ${total}`); // Total: 15

    let sum = 0;
    for await (const value of asyncCounter(1, 6)) sum += value;
    log(`Total with an async generator: ${sum}`);

    // A database cursor: 7 rows, 3 per round trip of 10 ms.
    await using db = createDatabase({
      seed: 8,
      clock,
      latency: 10,
      tables: { orders: { columns: 'id int primary key, item text not null', rows: ORDERS } },
    });
    await using conn = await db.connect();
    const start = clock.now();
    for await (const row of conn.cursor<{ id: number; item: string }>(
      'SELECT id, item FROM orders ORDER BY id',
      [],
      { batchSize: 3 },
    )) {
      log(`Row ${row.id}: ${row.item} (at ${seconds2(clock.now() - start)})`);
    }

    // Leaving the loop early closes the cursor: the connection is free again at once.
    for await (const row of conn.cursor('SELECT id FROM orders ORDER BY id', [], {
      batchSize: 3,
    })) {
      log(`First row ${row.id}, then break`);
      break;
    }
    const { rows } = await conn.query('SELECT count(*) AS n FROM orders');
    log(`The same connection answers the next query: ${rows[0]?.n} orders`);
  },
};
