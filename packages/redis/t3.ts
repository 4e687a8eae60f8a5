import { Redis } from 'ioredis';
import { RedisQueue } from './src/index.ts';
const c = new Redis('redis://127.0.0.1:6399');
async function time(name: string, fn: () => Promise<unknown>) {
  for (let i = 0; i < 20; i++) await fn();
  const t = performance.now();
  for (let i = 0; i < 300; i++) await fn();
  console.log(name, ((performance.now() - t) / 300).toFixed(3), 'ms');
}
const sha = String(
  await c.call('SCRIPT', 'LOAD', "return redis.call('XADD', KEYS[1], '*', 'v', ARGV[1])"),
);
for (let r = 0; r < 2; r++) {
  await time('ping', () => c.call('PING'));
  await time('evalsha xadd', () => c.call('EVALSHA', sha, '1', 'tx2', '1'));
  const q = new RedisQueue<number>({ client: c, key: 'tq' + Date.now() });
  await time('put', () => q.put(1));
  await time('get+ack', async () => {
    const m = await q.get();
    await m.ack();
  });
  await q.close();
}
c.disconnect();
