// Where a request's cost goes (issue 8), per request and independent of the machine's
// load: raw fetch, "fetch as weft calls it" and weft, against the benchmark's server in
// its own process (a real socket), 50 requests in flight as in `pnpm bench http`.
//
//   pnpm exec node bench/http-profile.mjs [json|64k] [variant,...] [--valgrind]
//   pnpm exec node --expose-gc bench/http-profile.mjs --cpu [json|64k] [variant,...]
//
// For each variant (client code in VARIANTS below):
// - with --valgrind, instructions: valgrind (callgrind) instruction count of the client
//   process, as the difference between two run lengths divided by the extra requests
//   (the server is not under valgrind). Against a real socket this is NOT stable: how
//   many responses one event-loop turn handles depends on timing, and the per-request
//   count moved by ±300k (of ~780k) between runs of the same variant. Use
//   bench/http-instructions.mjs (in memory) for instruction counts;
// - GC: scavenges and mark-compacts per 10,000 requests, bytes allocated and promoted per
//   request (--trace-gc-nvp's `allocated`/`promoted`, summed over the measured window);
// - promises: promises created and promise reaction jobs run (microtask hops) per
//   request (v8.promiseHooks), undici's own included.
// With --cpu: this process's CPU time per request (all threads), the variants taking
// turns over rounds of 500 requests (order rotating, a full GC before each turn), as the
// median of same-round ratios to the first variant: load-sensitive, but paired.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { countNode } from './callgrind.mjs';

const self = fileURLToPath(import.meta.url);
const child = process.env.WEFT_PROFILE_CHILD;

const { AbortController, Headers, fetch } = globalThis;
const ACCEPT = new Headers({ accept: 'application/json' });

/** Each variant's one request (`u` the URL, `json` whether the body is read as JSON). */
const VARIANTS = {
  fetch: (u, json) => fetch(u).then((r) => (json ? r.json() : r.arrayBuffer())),
  'fetch+signal': (u, json) =>
    fetch(u, { signal: new AbortController().signal }).then((r) =>
      json ? r.json() : r.arrayBuffer(),
    ),
  // The benchmark's "fetch as weft calls it" row (a shared accept Headers).
  'as-weft': (u, json) =>
    fetch(u, {
      signal: new AbortController().signal,
      redirect: 'manual',
      headers: json ? ACCEPT : undefined,
    }).then((r) => (json ? r.json() : r.arrayBuffer())),
  // The same with a fresh accept object per request, as weft passes it.
  'as-weft-obj': (u, json) =>
    fetch(u, {
      signal: new AbortController().signal,
      redirect: 'manual',
      headers: json ? { accept: 'application/json' } : undefined,
    }).then((r) => (json ? r.json() : r.arrayBuffer())),
  // The same, reading the body as weft does (text() then JSON.parse, bytes()).
  'as-weft-text': (u, json) =>
    fetch(u, {
      signal: new AbortController().signal,
      redirect: 'manual',
      headers: json ? { accept: 'application/json' } : undefined,
    }).then((r) => (json ? r.text().then(JSON.parse) : r.bytes())),
  // as-weft-text in weft's shape: two async frames, the first starting a microtask later.
  'as-weft-async': (u, json) => asyncShape(u, json, false),
  // ... and the URL parsed first, as weft checks it.
  'as-weft-async-url': (u, json) => asyncShape(u, json, true),
  weft: (u, json, http) => (json ? http.get(u).json() : http.get(u).bytes()),
  // weft with no per-attempt timeout (what the timer costs).
  'weft-notimeout': (u, json, http) =>
    json
      ? http.get(u, { timeout: Number.POSITIVE_INFINITY }).json()
      : http.get(u, { timeout: Number.POSITIVE_INFINITY }).bytes(),
};

async function attemptShape(u, json) {
  const r = await fetch(u, {
    signal: new AbortController().signal,
    redirect: 'manual',
    headers: json ? { accept: 'application/json' } : undefined,
  });
  if (!json) return await r.bytes();
  const text = await r.text();
  return JSON.parse(text);
}

async function asyncShape(u, json, parse) {
  await undefined;
  const href = parse ? new URL(u).href : u;
  // `return await` inside try, as weft's first-attempt frame (its catch retries).
  try {
    return await attemptShape(href, json);
  } catch (error) {
    return Promise.reject(error);
  }
}

async function runChild() {
  const { createClient } = await import('@weft/http');
  const http = createClient();
  const u = process.env.WEFT_PROFILE_URL;
  const json = process.env.WEFT_PROFILE_SIZE === 'json';
  const one = VARIANTS[process.env.WEFT_PROFILE_VARIANT];
  const run = async (n) => {
    let left = n;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (left-- > 0) await one(u, json, http);
      }),
    );
  };
  await run(Number(process.env.WEFT_PROFILE_WARMUP ?? 2000));
  const n = Number(process.env.WEFT_PROFILE_N);
  if (child === 'promises') {
    const { promiseHooks } = await import('node:v8');
    let created = 0;
    let jobs = 0;
    const stop = promiseHooks.createHook({
      init: () => {
        created++;
      },
      before: () => {
        jobs++;
      },
    });
    await run(n);
    stop();
    process.stdout.write(`${JSON.stringify({ created: created / n, jobs: jobs / n })}\n`);
  } else {
    process.stdout.write('@@start\n');
    await run(n);
    process.stdout.write('@@end\n');
  }
  await http.close();
}

function startServer() {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [new URL('./http-server.mjs', import.meta.url).pathname], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    c.once('error', reject);
    c.stdout.setEncoding('utf8');
    c.stdout.once('data', (line) => resolve({ port: line.trim(), stop: () => c.stdin.end() }));
  });
}

function env(mode, variant, size, url, n) {
  return {
    ...process.env,
    WEFT_PROFILE_CHILD: mode,
    WEFT_PROFILE_VARIANT: variant,
    WEFT_PROFILE_SIZE: size,
    WEFT_PROFILE_URL: url,
    WEFT_PROFILE_N: String(n),
  };
}

function instructions(variant, size, url, n) {
  return countNode([self], { env: env('run', variant, size, url, n) });
}

function gc(variant, size, url, n) {
  const run = spawnSync(process.execPath, ['--trace-gc-nvp', self], {
    env: env('run', variant, size, url, n),
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const out = run.stdout;
  const window = out.slice(out.indexOf('@@start'), out.indexOf('@@end'));
  let scavenges = 0;
  let full = 0;
  let allocated = 0;
  let promoted = 0;
  for (const line of window.split('\n')) {
    const kind = / gc=(\w+)/.exec(line)?.[1];
    if (kind === undefined) continue;
    if (kind === 's') scavenges++;
    else full++;
    allocated += Number(/ allocated=(\d+)/.exec(line)?.[1] ?? 0);
    promoted += Number(/ promoted=(\d+)/.exec(line)?.[1] ?? 0);
  }
  return {
    scavengesPer10k: (scavenges * 10_000) / n,
    fullPer10k: (full * 10_000) / n,
    allocatedPerRequest: allocated / n,
    promotedPerRequest: promoted / n,
  };
}

function promises(variant, size, url, n) {
  const run = spawnSync(process.execPath, [self], {
    env: env('promises', variant, size, url, n),
    encoding: 'utf8',
  });
  return JSON.parse(run.stdout.trim().split('\n').pop());
}

/**
 * CPU time per request of the variants in one process, taking turns in rotating order
 * over `rounds` rounds of 500 requests, a full GC before each turn: the median of the
 * same-round ratios to the first variant, with the 25th-75th percentiles.
 */
async function cpuAB(variants, size, url, rounds) {
  const { createClient } = await import('@weft/http');
  const http = createClient();
  const json = size === 'json';
  const batch = async (one) => {
    let left = 500;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (left-- > 0) await one(url, json, http);
      }),
    );
  };
  for (const v of variants) await batch(VARIANTS[v]);
  const samples = variants.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < variants.length; i++) {
      const k = (i + r) % variants.length;
      globalThis.gc?.();
      const start = process.cpuUsage();
      await batch(VARIANTS[variants[k]]);
      const used = process.cpuUsage(start);
      samples[k].push((used.user + used.system) / 500);
    }
  }
  await http.close();
  const q = (values, p) => {
    const s = [...values].sort((a, b) => a - b);
    const at = (s.length - 1) * p;
    return s[Math.floor(at)] + (s[Math.ceil(at)] - s[Math.floor(at)]) * (at - Math.floor(at));
  };
  console.log(
    `CPU µs per request (median), and the first variant's ÷ each, same round: median [p25-p75]`,
  );
  for (let k = 0; k < variants.length; k++) {
    const ratios = samples[k].map((v, r) => samples[0][r] / v);
    console.log(
      `  ${variants[k].padEnd(15)} ${q(samples[k], 0.5).toFixed(1).padStart(7)}  ${q(ratios, 0.5).toFixed(3)} [${q(ratios, 0.25).toFixed(3)}-${q(ratios, 0.75).toFixed(3)}]`,
    );
  }
}

if (child !== undefined) {
  await runChild();
} else if (process.argv.includes('--cpu')) {
  const args = process.argv.slice(2);
  const size = args.includes('64k') ? '64k' : 'json';
  const list = args.find((a) => a.includes(',') || a in VARIANTS);
  const variants = list ? list.split(',') : ['fetch', 'as-weft-obj', 'weft'];
  const server = await startServer();
  try {
    await cpuAB(
      variants,
      size,
      `http://127.0.0.1:${server.port}/${size === 'json' ? 'json' : '64k'}`,
      Number(process.env.WEFT_PROFILE_ROUNDS ?? 40),
    );
  } finally {
    server.stop();
  }
} else {
  const args = process.argv.slice(2);
  const size = args.includes('64k') ? '64k' : 'json';
  const list = args.find((a) => a.includes(',') || a in VARIANTS);
  const variants = list ? list.split(',') : ['fetch', 'as-weft', 'as-weft-obj', 'weft'];
  const valgrind = args.includes('--valgrind');
  const rounds = Number(process.env.WEFT_PROFILE_ROUNDS ?? 1);
  const server = await startServer();
  const url = `http://127.0.0.1:${server.port}/${size === 'json' ? 'json' : '64k'}`;
  console.log(`Node ${process.version}, GET /${size}, 50 in flight; per request:`);
  console.log(
    `  ${'variant'.padEnd(15)} ${'instructions'.padStart(12)} ${'alloc B'.padStart(8)} ${'promoted B'.padStart(10)} ${'scav/10k'.padStart(8)} ${'full/10k'.padStart(8)} ${'promises'.padStart(8)} ${'jobs'.padStart(6)}`,
  );
  try {
    for (let r = 0; r < rounds; r++) {
      for (const variant of variants) {
        const g = gc(variant, size, url, 20_000);
        const p = promises(variant, size, url, 5000);
        const i = valgrind
          ? (instructions(variant, size, url, 6000) - instructions(variant, size, url, 2000)) / 4000
          : Number.NaN;
        console.log(
          `  ${variant.padEnd(15)} ${Math.round(i).toLocaleString('en').padStart(12)} ${Math.round(g.allocatedPerRequest).toLocaleString('en').padStart(8)} ${Math.round(g.promotedPerRequest).toLocaleString('en').padStart(10)} ${g.scavengesPer10k.toFixed(1).padStart(8)} ${g.fullPer10k.toFixed(1).padStart(8)} ${p.created.toFixed(1).padStart(8)} ${p.jobs.toFixed(1).padStart(6)}`,
        );
      }
    }
  } finally {
    server.stop();
  }
}
