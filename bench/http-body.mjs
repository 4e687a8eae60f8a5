// The benchmark's 1 KiB JSON body (15 small records), shared by the server process
// (http-server.mjs) and the in-memory transport of http-instructions.mjs.
import { Buffer } from 'node:buffer';

export const json1k = Buffer.from(
  JSON.stringify({
    items: Array.from({ length: 15 }, (_, i) => ({
      id: i,
      name: `item ${i}`,
      tags: ['a', 'b'],
      score: i * 1.5,
      active: i % 2 === 0,
    })),
  }),
);
