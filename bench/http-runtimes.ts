// @weft/http against raw fetch and its peers on each runtime weft supports (issue 8): the
// same GETs as `pnpm bench http` (1 KiB of JSON, 64 KiB of bytes, 50 in flight) from a
// client running on Node, Bun and Deno in turn, against one server on Node in its own
// process (bench/http-server.mjs). Run from the repository root:
//
//   pnpm bench:http-runtimes [blocks] [requests per block] [--floor]   (default 200 × 100)
//
// With --floor, only the GET of 1 KiB of JSON, through the steps from raw fetch to weft
// (a signal, the accept header, manual redirects, all of them, the body read as text:
// floorSteps() in http-clients.ts), written to `httpRuntimesFloor`.
//
// Method (as the Redis benchmark's): on each runtime the subjects take turns in short
// blocks (the order rotating), CPU time of the client process is summed per subject over
// all blocks, and each ratio (fetch's CPU ÷ the subject's: above 1 is cheaper than raw
// fetch) carries a 90% paired bootstrap interval over the blocks. Prints one table per
// runtime and case and writes them to bench/results.json (`httpRuntimes`). A runtime
// that is not installed is skipped, and said so.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { type As, clients, FLOOR, floorSteps, pool, startServer } from './http-clients.ts';
import { pairedInterval } from './stats.ts';

const CONCURRENCY = 50;
const CASES: { case: string; path: string; as: As }[] = [
  { case: 'GET 1 KiB JSON, 50 in flight', path: '/json', as: 'json' },
  { case: 'GET 64 KiB body, 50 in flight', path: '/64k', as: 'bytes' },
];

/** One subject's result on one runtime and case. */
export interface RuntimeRow {
  runtime: string;
  version: string;
  case: string;
  subject: string;
  /** Client CPU µs per request, summed over all blocks. */
  cpuMicrosPerRequest: number;
  /** Raw fetch's CPU per request ÷ this subject's (above 1: cheaper than raw fetch). */
  vsFetch: number;
  /** 90% paired bootstrap interval of `vsFetch` over the blocks. */
  vsFetchInterval: [number, number];
  /** Wall µs per request, summed over all blocks (50 in flight). */
  wallMicrosPerRequest: number;
  blocks: number;
  requestsPerBlock: number;
}

const child = process.env.WEFT_HTTP_RUNTIMES_CHILD;
if (child !== undefined) await measure(child);
else await main();

/** In a child: every subject on this runtime, printed as one JSON line of RuntimeRows. */
async function measure(base: string): Promise<void> {
  const blocks = Number(process.env.WEFT_BLOCKS);
  const per = Number(process.env.WEFT_PER_BLOCK);
  const { runtime, version } = runtimeName();
  const floorOnly = process.env.WEFT_FLOOR === '1';
  const rows: RuntimeRow[] = [];
  for (const c of floorOnly ? CASES.slice(0, 1) : CASES) {
    const u = `${base}${c.path}`;
    const subjects = Object.entries(floorOnly ? floorSteps() : clients(c.as));
    // Warm-up: every subject, unmeasured.
    for (const [, one] of subjects) await pool(2000, CONCURRENCY, () => one(u));
    const cpu = new Map<string, number[]>(subjects.map(([name]) => [name, []]));
    const wall = new Map<string, number>(subjects.map(([name]) => [name, 0]));
    for (let b = 0; b < blocks; b++) {
      for (let j = 0; j < subjects.length; j++) {
        const [name, one] = subjects[(j + b) % subjects.length]!;
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await pool(per, CONCURRENCY, () => one(u));
        const t1 = performance.now();
        const used = process.cpuUsage(c0);
        cpu.get(name)!.push(used.user + used.system);
        wall.set(name, wall.get(name)! + (t1 - t0) * 1000);
      }
    }
    const floor = cpu.get(FLOOR)!;
    const total = (xs: readonly number[]): number => xs.reduce((a, x) => a + x, 0);
    for (const [name] of subjects) {
      const mine = cpu.get(name)!;
      rows.push({
        runtime,
        version,
        case: c.case,
        subject: name,
        cpuMicrosPerRequest: total(mine) / (blocks * per),
        vsFetch: total(floor) / total(mine),
        vsFetchInterval: pairedInterval(floor, mine),
        wallMicrosPerRequest: wall.get(name)! / (blocks * per),
        blocks,
        requestsPerBlock: per,
      });
    }
  }
  process.stdout.write(`${JSON.stringify(rows)}\n`);
}

function runtimeName(): { runtime: string; version: string } {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (g.Bun !== undefined) return { runtime: 'Bun', version: g.Bun.version };
  if (g.Deno !== undefined) return { runtime: 'Deno', version: g.Deno.version.deno };
  return { runtime: 'Node', version: process.versions.node };
}

/** The parent: the server, then one child per runtime, then the tables and the JSON. */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const floor = args.includes('--floor');
  const [blocksArg, perArg] = args.filter((a) => a !== '--floor');
  const blocks = Number(blocksArg ?? 200);
  const per = Number(perArg ?? 100);
  if (!(Number.isSafeInteger(blocks) && blocks > 0 && Number.isSafeInteger(per) && per > 0)) {
    throw new RangeError(
      `Expected blocks and requests per block to be positive integers, got ${blocksArg} and ${perArg}`,
    );
  }
  const server = startServer();
  const base = await server.url;
  const self = new URL(import.meta.url).pathname;
  const bin = (name: string): string =>
    new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;
  const runtimes: [string, string[]][] = [
    ['Node', [process.execPath, self]],
    ['Bun', [bin('bun'), self]],
    ['Deno', [bin('deno'), 'run', '-A', self]],
  ];
  const rows: RuntimeRow[] = [];
  try {
    for (const [name, [command, ...args]] of runtimes) {
      if (!existsSync(command!)) {
        console.log(`\n${name}: not installed (${command}), skipped`);
        continue;
      }
      const run = spawnSync(command!, args, {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
        stdio: ['ignore', 'pipe', 'inherit'],
        env: {
          ...process.env,
          WEFT_HTTP_RUNTIMES_CHILD: base,
          WEFT_BLOCKS: String(blocks),
          WEFT_PER_BLOCK: String(per),
          WEFT_FLOOR: floor ? '1' : '0',
        },
      });
      const line = run.stdout.trim().split('\n').at(-1);
      if (run.status !== 0 || line === undefined || !line.startsWith('[')) {
        throw new Error(`${name} failed (exit ${run.status}): ${run.stdout.slice(-500)}`);
      }
      const mine = JSON.parse(line) as RuntimeRow[];
      rows.push(...mine);
      print(mine, floor);
    }
  } finally {
    server.process.stdin!.end();
  }
  const file = new URL('./results.json', import.meta.url);
  const results = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const key = floor ? 'httpRuntimesFloor' : 'httpRuntimes';
  results[key] = { date: new Date().toISOString(), rows };
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwritten to bench/results.json (${key})`);
}

function print(rows: readonly RuntimeRow[], floor: boolean): void {
  for (const c of new Set(rows.map((r) => r.case))) {
    const of = rows.filter((r) => r.case === c);
    const first = of[0]!;
    console.log(
      `\n${first.runtime} ${first.version} / ${c}: client CPU per request, ${first.blocks} alternating blocks of ${first.requestsPerBlock}\n  fetch's CPU ÷ the subject's (above 1: cheaper than raw fetch) [90% paired bootstrap interval]`,
    );
    for (const r of of) {
      console.log(
        `  ${r.subject.padEnd(floor ? 42 : 26)} ${r.cpuMicrosPerRequest.toFixed(1).padStart(7)} µs  ${r.vsFetch.toFixed(3)} [${r.vsFetchInterval[0].toFixed(3)}–${r.vsFetchInterval[1].toFixed(3)}]  wall ${r.wallMicrosPerRequest.toFixed(1)} µs`,
      );
    }
    if (floor) continue;
    const weft = of.find((r) => r.subject === 'weft')!;
    const peers = of.filter((r) => r.subject === 'ky' || r.subject === 'ofetch');
    console.log(
      `  target: weft ≥ 0.95× fetch: ${weft.vsFetch >= 0.95 ? 'met' : 'NOT met'} (${weft.vsFetch.toFixed(3)}); ahead of ky and ofetch: ${peers.every((p) => weft.vsFetch > p.vsFetch) ? 'yes' : 'NO'}`,
    );
  }
}
