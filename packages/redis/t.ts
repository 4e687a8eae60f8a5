import { Redis } from 'ioredis';
import { RedisQueue } from './src/index.ts';
const c = new Redis('redis://127.0.0.1:6399');
const q = new RedisQueue<number>({ client: c, key: 'tq' + Date.now() });
for (let round = 0; round < 3; round++) {
  let tPut = 0,
    tGet = 0,
    tAck = 0;
  for (let i = 0; i < 50; i++) {
    let t = performance.now();
    await q.put(i);
    tPut += performance.now() - t;
    t = performance.now();
    const m = await q.get();
    tGet += performance.now() - t;
    t = performance.now();
    await m.ack();
    tAck += performance.now() - t;
  }
  console.log({ tPut: tPut / 50, tGet: tGet / 50, tAck: tAck / 50 });
}
await q.close();
c.disconnect();
