// Benchmarks of issue 9: the db-sim pool against tarn and generic-pool (acquire/release
// throughput), and cursor iteration at zero latency against a plain async generator over
// the same rows (the floor).
import { createDatabase, type Row } from '@weft/db-sim';
import { createPool } from 'generic-pool';
import { Pool as TarnPool } from 'tarn';
import type { Case } from '../harness.ts';

const N = 10_000;
const MAX = 10;

// One pool per subject, created once and warmed up by the harness's first call.
const db = createDatabase({ latency: 0 });
const weftPool = db.pool({ max: MAX, idleTimeout: Number.POSITIVE_INFINITY });
const weftPoolStacks = db.pool({
  max: MAX,
  idleTimeout: Number.POSITIVE_INFINITY,
  captureStacks: true,
});
const tarn = new TarnPool<object>({
  create: async () => ({}),
  destroy: () => {},
  min: 0,
  max: MAX,
});
const generic = createPool<object>(
  { create: async () => ({}), destroy: async () => {} },
  { max: MAX },
);

const ROWS = 10_000;
const cursorDb = createDatabase({
  latency: 0,
  tables: {
    items: {
      columns: 'id int primary key, name text, price int',
      rows: Array.from({ length: ROWS }, (_, i) => ({
        id: i + 1,
        name: `item ${i + 1}`,
        price: i % 100,
      })),
    },
  },
});
const cursorConn = await cursorDb.connect();
const sameRows: Row[] = cursorDb.inspect('items');

async function* plain(rows: Row[]): AsyncGenerator<Row> {
  for (const row of rows) yield row;
}

let sink = 0;

export const cases: Case[] = [
  {
    suite: 'db-sim',
    case: `pool, sequential: ${N.toLocaleString('en')} acquire/release, max ${MAX}`,
    unit: `${N.toLocaleString('en')} acquisitions`,
    subjects: [
      {
        subject: 'weft',
        fn: async () => {
          for (let i = 0; i < N; i++) await (await weftPool.acquire()).close();
        },
      },
      {
        subject: 'weft captureStacks: true',
        fn: async () => {
          for (let i = 0; i < N; i++) await (await weftPoolStacks.acquire()).close();
        },
      },
      {
        subject: 'tarn',
        fn: async () => {
          for (let i = 0; i < N; i++) tarn.release(await tarn.acquire().promise);
        },
      },
      {
        subject: 'generic-pool',
        fn: async () => {
          for (let i = 0; i < N; i++) await generic.release(await generic.acquire());
        },
      },
    ],
  },
  {
    suite: 'db-sim',
    case: `pool, contended: ${N.toLocaleString('en')} concurrent acquire/release, max ${MAX}`,
    unit: `${N.toLocaleString('en')} acquisitions`,
    subjects: [
      {
        subject: 'weft',
        fn: () =>
          Promise.all(Array.from({ length: N }, () => weftPool.acquire().then((c) => c.close()))),
      },
      {
        subject: 'weft captureStacks: true',
        fn: () =>
          Promise.all(
            Array.from({ length: N }, () => weftPoolStacks.acquire().then((c) => c.close())),
          ),
      },
      {
        subject: 'tarn',
        fn: () =>
          Promise.all(
            Array.from({ length: N }, () => tarn.acquire().promise.then((r) => tarn.release(r))),
          ),
      },
      {
        subject: 'generic-pool',
        fn: () =>
          Promise.all(
            Array.from({ length: N }, () => generic.acquire().then((r) => generic.release(r))),
          ),
      },
    ],
  },
  {
    suite: 'db-sim',
    case: `cursor: iterate ${ROWS.toLocaleString('en')} rows at zero latency (batchSize 100)`,
    unit: `${ROWS.toLocaleString('en')} rows`,
    subjects: [
      {
        subject: 'weft',
        fn: async () => {
          for await (const row of cursorConn.cursor('SELECT * FROM items', [], { batchSize: 100 }))
            sink += row.price as number;
        },
      },
      {
        subject: 'weft batchSize 1000',
        fn: async () => {
          for await (const row of cursorConn.cursor('SELECT * FROM items', [], { batchSize: 1000 }))
            sink += row.price as number;
        },
      },
      {
        subject: 'floor: async generator over the rows',
        fn: async () => {
          for await (const row of plain(sameRows)) sink += row.price as number;
        },
      },
    ],
  },
];

/** Keeps the work observable so it is not optimised away. */
export function checksum(): number {
  return sink;
}
