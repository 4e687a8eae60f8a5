import { Redis } from 'ioredis';
import { RedisQueue, RedisSemaphore } from './src/index.ts';
const c = new Redis('redis://127.0.0.1:6399');
async function time(name: string, fn: () => Promise<unknown>) {
  for (let i = 0; i < 20; i++) await fn();
  const t = performance.now();
  for (let i = 0; i < 200; i++) await fn();
  console.log(name, ((performance.now() - t) / 200).toFixed(3), 'ms');
}
await time('ping', () => c.call('PING'));
await time('xadd', () => c.call('XADD', 'tx', '*', 'v', '1'));
const s = new RedisSemaphore({ client: c, key: 'ts' + Date.now(), permits: 10 });
await time('sem', async () => {
  const p = await s.acquire();
  await p.release();
});
const q = new RedisQueue<number>({ client: c, key: 'tq' + Date.now() });
await time('put', () => q.put(1));
await time('ping', () => c.call('PING'));
await q.close();
await s.close();
c.disconnect();
