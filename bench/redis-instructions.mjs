// Instruction counts behind @weft/redis's costs (issue 13), with valgrind (callgrind):
// unlike CPU time, they do not move with the machine's load. Run from the repository
// root after `pnpm run build`: `pnpm exec node bench/redis-instructions.mjs [filter]`
// (Node 24; needs valgrind and redis-server; several minutes).
//
// For each subject (weft's semaphore and rate limiter, redis-semaphore,
// rate-limiter-flexible), two counts, each the difference between two runs of different
// lengths (so start-up, script loading and warm-up cancel out), divided by the extra
// operations:
// - server: a redis-server run under valgrind, the subject's operations sent by a plain
//   Node client; the user-space instructions Redis executes per operation (parsing,
//   scripts, replies; the kernel's share of a round trip is not counted, and it is the
//   same for every subject with the same round trips);
// - client: the Node process running the subject under valgrind, against a plain
//   redis-server: the library's JavaScript, ioredis and V8 per operation.
// `WEFT_REDIS_BASELINE=<dir of another build's dist/index.js>` adds that build as the
// subject `weft (baseline)`, to compare two versions of @weft/redis.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exited, findRedisServer, freePort, launch } from '../packages/redis/test/redis-server.ts';
import { CALLGRIND, countNode, irefs } from './callgrind.mjs';

const self = fileURLToPath(import.meta.url);
const mode = process.env.WEFT_INSTR_MODE;

async function subjectFn(name, client) {
  const BIG = 1_000_000_000;
  const weft = async () =>
    name.includes('baseline')
      ? await import(`${process.env.WEFT_REDIS_BASELINE}/index.js`)
      : await import('@weft/redis');
  if (name.startsWith('semaphore: weft')) {
    const { RedisSemaphore } = await weft();
    const sem = new RedisSemaphore({ client, key: `i:${name}`, permits: 100, lease: 10_000 });
    return async () => {
      const permit = await sem.acquire();
      await permit.release();
    };
  }
  if (name === 'semaphore: redis-semaphore') {
    const { Semaphore } = await import('redis-semaphore');
    return async () => {
      const s = new Semaphore(client, 'i:rsem', 100, { lockTimeout: 10_000 });
      await s.acquire();
      await s.release();
    };
  }
  if (name.startsWith('limiter: weft')) {
    const { RedisRateLimiter } = await weft();
    const rl = new RedisRateLimiter({ client, key: `i:${name}`, limit: BIG, interval: 1000 });
    return () => rl.acquire();
  }
  if (name === 'limiter: rate-limiter-flexible') {
    const { RateLimiterRedis } = await import('rate-limiter-flexible');
    const f = new RateLimiterRedis({
      storeClient: client,
      points: BIG,
      duration: 1,
      keyPrefix: 'i:rlf',
    });
    return () => f.consume('k');
  }
  throw new Error(`unknown subject ${name}`);
}

if (mode === 'run') {
  // One run: N operations of one subject (after 200 to warm up), then exit.
  const { Redis } = await import('ioredis');
  const client = new Redis({ host: '127.0.0.1', port: Number(process.env.WEFT_INSTR_PORT) });
  const fn = await subjectFn(process.env.WEFT_INSTR_SUBJECT, client);
  for (let i = 0; i < 200; i++) await fn();
  for (let i = Number(process.env.WEFT_INSTR_N); i > 0; i--) await fn();
  client.disconnect();
  process.exit(0);
} else {
  const startRedis = async (port, underValgrind) => {
    const binary = findRedisServer();
    if (binary === undefined) throw new Error('redis-server is not installed');
    // The Redis tests' own launch (127.0.0.1, no persistence), under callgrind if asked.
    const child = await launch(binary, port, [], underValgrind ? ['valgrind', ...CALLGRIND] : []);
    let err = '';
    child.stderr?.on('data', (c) => {
      err += c;
    });
    return { child, stderr: () => err };
  };
  const runClient = (subject, port, n, underValgrind) => {
    const env = {
      ...process.env,
      WEFT_INSTR_MODE: 'run',
      WEFT_INSTR_SUBJECT: subject,
      WEFT_INSTR_PORT: String(port),
      WEFT_INSTR_N: String(n),
    };
    if (underValgrind) return countNode(['--single-threaded', self], { env });
    const run = spawnSync(process.execPath, [self], { env, encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`client run failed: ${run.stderr.slice(-500)}`);
    return 0;
  };
  const serverCount = async (subject, n) => {
    const port = await freePort();
    const server = await startRedis(port, true);
    runClient(subject, port, n, false);
    const gone = exited(server.child);
    server.child.kill('SIGTERM');
    await gone;
    return irefs(server.stderr());
  };
  const clientCount = async (subject, n, port) => runClient(subject, port, n, true);

  const filter = process.argv[2] ?? '';
  const subjects = [
    'semaphore: weft',
    ...(process.env.WEFT_REDIS_BASELINE ? ['semaphore: weft (baseline)'] : []),
    'semaphore: redis-semaphore',
    'limiter: weft',
    ...(process.env.WEFT_REDIS_BASELINE ? ['limiter: weft (baseline)'] : []),
    'limiter: rate-limiter-flexible',
  ].filter((s) => s.includes(filter));
  const short = Number(process.env.WEFT_INSTR_SHORT ?? 1000);
  const long = Number(process.env.WEFT_INSTR_LONG ?? 4000);
  const plain = await freePort();
  const redis = await startRedis(plain, false);
  console.log(
    `Node ${process.version}: instructions per operation (valgrind, difference of ${long} and ${short} operations)`,
  );
  console.log(`  ${'subject'.padEnd(32)} ${'server'.padStart(9)} ${'client'.padStart(9)}`);
  for (const subject of subjects) {
    const server =
      ((await serverCount(subject, long)) - (await serverCount(subject, short))) / (long - short);
    const client =
      ((await clientCount(subject, long, plain)) - (await clientCount(subject, short, plain))) /
      (long - short);
    console.log(
      `  ${subject.padEnd(32)} ${Math.round(server).toLocaleString('en').padStart(9)} ${Math.round(client).toLocaleString('en').padStart(9)}`,
    );
  }
  redis.child.kill('SIGKILL');
}
