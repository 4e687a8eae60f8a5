// What @weft/core's diagnostics cost when nobody uses them (issue 10: "under 5% when
// off"). Run from the repository root: `pnpm bench:diag-overhead` (Node 24; a few minutes;
// never part of CI). Options: `--rounds N` (process pairs for CPU time, default 12),
// `--instr-rounds N` (valgrind pairs, default 3; 0 skips them), `--check` (only check that
// the removal below still applies to the sources, and build both).
//
// It copies packages/core/src twice into a temporary directory, removes the diagnostics
// code from one copy (REMOVAL below: start times, the task chain's upkeep beyond what the
// scope needs to attach handlers, the instrumentation hook checks, the stuck-check
// plumbing on settle, and the per-call check whether a limited gather/map/mapConcurrent
// tracks its items),
// builds both with tsup exactly alike, and compares them on the fan-out benchmark
// (spawn and join 100,000 trivial tasks in one scope), with no hooks registered:
//
// - CPU time (`process.cpuUsage`) in alternating processes, full build then removed build,
//   each process warming up and then timing 15 fan-outs (median); the overhead is the
//   median over processes of the full/removed ratio of each pair;
// - when valgrind is installed, instructions (callgrind, `--predictable-gc-schedule`, so
//   the garbage collector runs at the same points in both builds): the difference between
//   a run of 6 and a run of 2 fan-outs, divided by 4, so start-up and compilation cancel
//   out; alternating builds, median per build. On a loaded machine judge by these: they
//   do not move with the load.
//
// The limited map (100,000 trivial async items, concurrency 16, as in `pnpm bench`) is
// measured the same way, since the pool-item bookkeeping is on its path. Prints the overhead and writes
// bench/diag-overhead.json. A removal that no longer applies (the source changed) is an
// error naming the file and the text: update REMOVAL with the change.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { countNode, hasValgrind } from './callgrind.mjs';

const self = fileURLToPath(import.meta.url);
const root = dirname(dirname(self));
const N = 100_000;

/** [file under src, text to find (exactly once), replacement] */
export const REMOVAL = [
  // Tasks: the start time (tree ages, stuck check) and the hook checks.
  [
    'task.ts',
    `    const h = hooks;
    if (h === null) this.startedAt = startTime(this.#link.scope.clock);
    else {
      const at = this.#link.scope.clock.now();
      this.startedAt = at;
      h.taskStart(this, at);
    }
`,
    '',
  ],
  [
    'task.ts',
    `    const h = hooks;
    if (h !== null) h.taskSettle(this, owner.clock.now());
`,
    '',
  ],
  ['task.ts', '    this.startedAt = undefined;\n', ''],
  [
    'task.ts',
    `  // When it started, on its scope's clock (see startTime), for its age in \`Scope.tree()\`.
  startedAt: number | undefined;
`,
    '',
  ],
  // Scopes: the stuck plumbing on settle, the opening time and hooks, the chain kept for
  // tree() beyond the batch of handlers to attach (emptied after each batch instead).
  [
    'scope.ts',
    `      this.#unlistTask(task);
      const diag = task.diag;
      if (diag?.stuckCheck !== undefined) {
        diag.stuckCheck();
        diag.stuckCheck = undefined;
      }
`,
    '',
  ],
  [
    'scope.ts',
    `      if (this.#stuckWaiting) this.#recheckStuck();
      if (this.#pending === 0`,
    '      if (this.#pending === 0',
  ],
  [
    'scope.ts',
    `    const h = hooks;
    this.#openedAt = h === null ? openTime(this.#clock) : this.#clock.now();
    if (this.#parent !== undefined) this.#parent.#adopt(this);
    if (h !== null) h.scopeOpen(this, this.#openedAt);
`,
    '    this.#openedAt = 0;\n',
  ],
  [
    'scope.ts',
    `    if (this.#listed >= 64 && this.#listed >= 2 * this.#pending) this.#compact();
    const newest`,
    '    const newest',
  ],
  [
    'scope.ts',
    `    this.#newest = task;
    this.#listed++;
  }`,
    `    this.#newest = task;
  }`,
  ],
  [
    'scope.ts',
    `      t.attach();
      t = newer;
    }`,
    `      t.attach();
      t = newer;
    }
    this.#oldest = undefined;
    this.#newest = undefined;`,
  ],
  [
    'scope.ts',
    `    const h = hooks;
    if (h !== null) h.scopeClose(this, this.#clock.now());
`,
    '',
  ],
  // Pools: the per-call choice of the worker loop that tracks items (tree, stuck report,
  // hooks) while diagnostics are on.
  ['internal/pool.ts', '  const tracked = tracksItems(s);\n', ''],
  [
    'internal/pool.ts',
    'scopeInternals.spawn(s, tracked ? trackedWorker : worker, workerName);',
    'scopeInternals.spawn(s, worker, workerName);',
  ],
  ['iter/map-concurrent.ts', '    const tracked = tracksItems(currentContext()?.scope);\n', ''],
  [
    'iter/map-concurrent.ts',
    "pipe.produce('mapConcurrent-worker', tracked ? trackedWorker : worker);",
    "pipe.produce('mapConcurrent-worker', worker);",
  ],
];

/** Applies REMOVAL to the copy of src at `dir`; throws when a text is not found once. */
export function removeDiagnostics(dir) {
  const files = new Map();
  for (const [file, find, replace] of REMOVAL) {
    const path = join(dir, file);
    const text = files.get(path) ?? readFileSync(path, 'utf8');
    const count = text.split(find).length - 1;
    if (count !== 1) {
      throw new Error(
        `diag-overhead: the removal no longer applies to packages/core/src/${file}: expected this text exactly once, found it ${count} times (the source changed: update REMOVAL in bench/diag-overhead.mjs):\n${find}`,
      );
    }
    files.set(
      path,
      text.replace(find, () => replace),
    );
  }
  for (const [path, text] of files) writeFileSync(path, text);
}

export function build(dir) {
  // The package's own compiler settings, without its test files and type checks.
  const base = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module", "sideEffects": false }\n');
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { ...base.compilerOptions, types: [] }, include: ['src'] }),
  );
  execFileSync(
    join(root, 'node_modules/.bin/tsup'),
    [
      'src/index.ts',
      '--format',
      'esm',
      '--target',
      'es2022',
      '--platform',
      'neutral',
      '--treeshake',
      '--out-dir',
      'dist',
      '--silent',
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return pathToFileURL(join(dir, 'dist/index.js')).href;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function child() {
  const [url, which, mode, runs] = process.argv.slice(3);
  const core = await import(url);
  // The same work as the `pnpm bench` cases (bench/suites/core.ts).
  const trivial = async () => 1;
  const identity = async (x) => x;
  const items = Array.from({ length: N }, (_, i) => i);
  const once =
    which === 'fan-out'
      ? () =>
          core.scope((s) => {
            for (let i = 0; i < N; i++) s.spawn(trivial);
          })
      : () => core.map(items, identity, { concurrency: 16 });
  if (mode === 'cpu') {
    for (let i = 0; i < 5; i++) await once();
    const times = [];
    for (let i = 0; i < Number(runs); i++) {
      const t = process.cpuUsage();
      await once();
      const d = process.cpuUsage(t);
      times.push((d.user + d.system) / 1000);
    }
    process.stdout.write(`${median(times)}\n`);
  } else {
    for (let i = 0; i < Number(runs); i++) await once();
  }
}

function cpuRun(url, which) {
  const out = execFileSync(process.execPath, [self, '--child', url, which, 'cpu', '15'], {
    encoding: 'utf8',
  });
  return Number(out.trim());
}

export function instructions(url, which, runs) {
  return countNode([
    '--single-threaded',
    '--predictable-gc-schedule',
    self,
    '--child',
    url,
    which,
    'run',
    String(runs),
  ]);
}

async function main() {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const i = args.indexOf(name);
    return i === -1 ? fallback : Number(args[i + 1]);
  };
  const rounds = option('--rounds', 12);
  const instrRounds = hasValgrind() ? option('--instr-rounds', 3) : 0;
  const tmp = mkdtempSync(join(tmpdir(), 'weft-diag-overhead-'));
  try {
    const fullDir = join(tmp, 'full');
    const offDir = join(tmp, 'removed');
    for (const dir of [fullDir, offDir])
      cpSync(join(root, 'packages/core/src'), join(dir, 'src'), { recursive: true });
    removeDiagnostics(join(offDir, 'src'));
    console.log('building both copies of packages/core/src with tsup …');
    const full = build(fullDir);
    const removed = build(offDir);
    if (args.includes('--check')) {
      for (const url of [full, removed]) {
        for (const which of ['fan-out', 'limited map']) {
          execFileSync(process.execPath, [self, '--child', url, which, 'run', '1']);
        }
      }
      console.log('the removal applies, and both builds build and run');
      return;
    }
    const cases = {};
    for (const which of ['fan-out', 'limited map']) {
      const cpu = { full: [], removed: [], ratios: [] };
      for (let r = 0; r < rounds; r++) {
        // Alternate which goes first, so that a trend in the machine's load cancels out.
        const [a, b] = r % 2 === 0 ? [full, removed] : [removed, full];
        const ta = cpuRun(a, which);
        const tb = cpuRun(b, which);
        const f = a === full ? ta : tb;
        const o = a === full ? tb : ta;
        cpu.full.push(f);
        cpu.removed.push(o);
        cpu.ratios.push(f / o);
        process.stdout.write(
          `  ${which} CPU pair ${r + 1}/${rounds}: ${f.toFixed(1)} vs ${o.toFixed(1)} ms\r`,
        );
      }
      const instr = { full: [], removed: [] };
      for (let r = 0; r < instrRounds; r++) {
        for (const [name, url] of r % 2 === 0
          ? [
              ['full', full],
              ['removed', removed],
            ]
          : [
              ['removed', removed],
              ['full', full],
            ]) {
          instr[name].push((instructions(url, which, 6) - instructions(url, which, 2)) / 4);
        }
        process.stdout.write(`  ${which} valgrind pair ${r + 1}/${instrRounds}            \r`);
      }
      cases[which] = {
        unit: which === 'fan-out' ? '100,000 tasks' : '100,000 items, concurrency 16',
        cpuPairs: rounds,
        cpuMsFull: median(cpu.full),
        cpuMsRemoved: median(cpu.removed),
        cpuOverheadPct: (median(cpu.ratios) - 1) * 100,
        cpuRatios: cpu.ratios,
        ...(instrRounds > 0
          ? {
              instrPairs: instrRounds,
              instrFull: median(instr.full),
              instrRemoved: median(instr.removed),
              instrOverheadPct: (median(instr.full) / median(instr.removed) - 1) * 100,
              instrFullRuns: instr.full,
              instrRemovedRuns: instr.removed,
            }
          : {}),
      };
      const c = cases[which];
      console.log(
        `${which} (${c.unit}), diagnostics off vs removed: CPU ${c.cpuMsFull.toFixed(1)} vs ${c.cpuMsRemoved.toFixed(1)} ms (median of ${rounds} process pairs), overhead ${c.cpuOverheadPct.toFixed(1)}%` +
          (instrRounds > 0
            ? `; instructions ${(c.instrFull / 1e6).toFixed(1)} vs ${(c.instrRemoved / 1e6).toFixed(1)} million (valgrind, ${instrRounds} pairs), overhead ${c.instrOverheadPct.toFixed(1)}%`
            : hasValgrind()
              ? '; instruction counts skipped (--instr-rounds 0)'
              : '; valgrind not installed: no instruction counts'),
      );
    }
    const loadavg = (await import('node:os')).loadavg();
    writeFileSync(
      join(root, 'bench/diag-overhead.json'),
      `${JSON.stringify({ node: process.version, date: new Date().toISOString(), loadAverage: loadavg[0], cases }, null, 2)}\n`,
    );
    console.log('written to bench/diag-overhead.json');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// Run as a script (not when imported for REMOVAL).
if (process.argv[1] === self) {
  if (process.argv[2] === '--child') await child();
  else await main();
}
