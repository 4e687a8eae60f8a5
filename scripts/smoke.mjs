// Packaging smoke test: pack every package with pnpm, check the packages (publint,
// arethetypeswrong esm-only, deno publish --dry-run), install the tarballs into a fresh
// project outside the workspace, and use the public API from the machine's Node (import
// and require), Node 24, Bun and Deno.
// Writes the per-runtime counts to .smoke/results.json.
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin, exec, plain, root, systemNode } from './lib.mjs';

const packages = ['core', 'http', 'db-sim', 'redis'];
const results = {};
const record = (runtime, passed, failed, failures = []) => {
  const r = (results[runtime] ??= { passed: 0, failed: 0, failures: [] });
  r.passed += passed;
  r.failed += failed;
  r.failures.push(...failures);
};

const smokeDir = join(root, '.smoke');
const tarballs = join(smokeDir, 'tarballs');
rmSync(smokeDir, { recursive: true, force: true });
mkdirSync(tarballs, { recursive: true });

console.log('smoke: packing');
for (const p of packages) {
  const cwd = join(root, 'packages', p);
  const pack = await exec('pnpm', ['pack', '--pack-destination', tarballs], { cwd, quiet: true });
  if (pack.code !== 0) record('node24', 0, 1, [`pnpm pack ${p} failed`]);
}

console.log('smoke: publint, arethetypeswrong (esm-only), deno publish --dry-run');
for (const p of packages) {
  const cwd = join(root, 'packages', p);
  const publint = await exec(bin('publint'), ['--strict'], { cwd, quiet: true });
  record(
    'node24',
    publint.code === 0 ? 1 : 0,
    publint.code === 0 ? 0 : 1,
    publint.code === 0 ? [] : [`publint ${p}: ${plain(publint.stdout)}`],
  );
  const tgz = join(
    tarballs,
    readdirSync(tarballs).find((f) => f.startsWith(`weft-${p}-`)),
  );
  const attw = await exec(
    bin('attw'),
    [tgz, '--profile', 'esm-only', '--format', 'table-flipped'],
    { quiet: true },
  );
  record(
    'node24',
    attw.code === 0 ? 1 : 0,
    attw.code === 0 ? 0 : 1,
    attw.code === 0 ? [] : [`attw ${p}: ${plain(attw.stdout)}`],
  );
}

// deno publish --dry-run over a Deno workspace made of each package's jsr.json and
// sources, so that `@weft/core` imported by the others resolves to the workspace member,
// as it will on JSR.
const jsrRoot = mkdtempSync(join(tmpdir(), 'weft-jsr-'));
writeFileSync(
  join(jsrRoot, 'deno.json'),
  JSON.stringify({ workspace: packages.map((p) => `./${p}`), nodeModulesDir: 'none' }),
);
// Resolution only (nothing of it is published): @effect/platform -> msgpackr ->
// msgpackr-extract 3.0.7 lists platform addons that this machine's npm registry mirror
// lacks (darwin-arm64 stops at 3.0.4); Deno resolves every platform's, so pin 3.0.4 here.
writeFileSync(
  join(jsrRoot, 'package.json'),
  JSON.stringify({ private: true, overrides: { 'msgpackr-extract': '3.0.4' } }),
);
for (const p of packages) {
  const src = join(root, 'packages', p);
  const jsr = JSON.parse(readFileSync(join(src, 'jsr.json'), 'utf8'));
  const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'));
  const exportsMatch =
    Object.keys(jsr.exports).join() ===
    Object.keys(pkg.exports)
      .filter((k) => pkg.exports[k] !== null && k !== './package.json')
      .join();
  const versionMatch = jsr.version === pkg.version && jsr.name === pkg.name;
  record(
    'deno',
    exportsMatch && versionMatch ? 1 : 0,
    exportsMatch && versionMatch ? 0 : 1,
    exportsMatch && versionMatch
      ? []
      : [`jsr.json of ${p} does not match package.json (name, version, exports)`],
  );
  cpSync(join(src, 'src'), join(jsrRoot, p, 'src'), { recursive: true });
  cpSync(join(src, 'README.md'), join(jsrRoot, p, 'README.md'));
  writeFileSync(join(jsrRoot, p, 'deno.json'), JSON.stringify(jsr, null, 2));
}
const dry = await exec(bin('deno'), ['publish', '--dry-run', '--allow-dirty'], {
  cwd: jsrRoot,
  quiet: true,
});
record(
  'deno',
  dry.code === 0 ? 1 : 0,
  dry.code === 0 ? 0 : 1,
  dry.code === 0 ? [] : [`deno publish --dry-run failed:\n${plain(dry.stdout)}`],
);
rmSync(jsrRoot, { recursive: true, force: true });

console.log('smoke: installing the tarballs into a fresh project');
const project = mkdtempSync(join(tmpdir(), 'weft-smoke-'));
writeFileSync(
  join(project, 'package.json'),
  JSON.stringify({ name: 'weft-smoke', private: true, type: 'module' }),
);
for (const f of ['checks.cjs', 'esm.mjs', 'cjs.cjs', 'http.cjs'])
  cpSync(join(root, 'scripts', 'smoke', f), join(project, f));
// @weft/db-sim's story (its own files, loaded by checks.cjs).
for (const f of ['db-sim.cjs', 'db-sim-using.mjs'])
  cpSync(join(root, 'scripts', 'smoke', f), join(project, f));
const tgzs = readdirSync(tarballs).map((f) => join(tarballs, f));
const install = await exec(
  'npm',
  ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tgzs],
  { cwd: project, quiet: true },
);
if (install.code !== 0) {
  console.error('smoke: npm install of the tarballs failed');
  process.exit(1);
}

const machineNode = systemNode();
const machineVersion = machineNode
  ? (await exec(machineNode, ['-v'], { quiet: true })).stdout.trim()
  : undefined;
const machineLabel = machineVersion ? `node${machineVersion.slice(1).split('.')[0]}` : undefined;
const runs = [];
if (machineNode) {
  runs.push([machineLabel, machineNode, ['esm.mjs']], [machineLabel, machineNode, ['cjs.cjs']]);
} else {
  record('node20', 0, 1, ['no machine Node found on PATH']);
}
runs.push(
  ['node24', bin('node'), ['esm.mjs']],
  ['node24', bin('node'), ['cjs.cjs']],
  ['bun', bin('bun'), ['esm.mjs']],
  ['bun', bin('bun'), ['cjs.cjs']],
  ['deno', bin('deno'), ['run', '-A', 'esm.mjs']],
);
for (const [label, cmd, args] of runs) {
  const env = { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1' };
  const { code, stdout } = await exec(cmd, args, { cwd: project, env, quiet: true });
  const line = stdout.split('\n').find((l) => l.startsWith('SMOKE '));
  if (!line) {
    record(label, 0, 1, [
      `${label} ${args.join(' ')} printed no result (exit ${code}): ${stdout.slice(-500)}`,
    ]);
    continue;
  }
  const r = JSON.parse(line.slice(6));
  record(label, r.passed, r.failed + (code === 0 ? 0 : 1), r.failures);
  console.log(`smoke: ${label} ${r.label}: ${r.passed} passed, ${r.failed} failed`);
}

// The Effect subpaths: install `effect` (an optional peer the checks above ran without)
// and use `@weft/core/effect` and `@weft/http/effect` from the packed tarballs on every
// runtime.
console.log('smoke: installing effect and @effect/platform for the Effect subpaths');
cpSync(join(root, 'scripts', 'smoke', 'effect.mjs'), join(project, 'effect.mjs'));
const effectInstall = await exec(
  'npm',
  [
    'install',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
    'effect@3.22.4',
    '@effect/platform@0.97.2',
    ...tgzs,
  ],
  { cwd: project, quiet: true },
);
if (effectInstall.code !== 0) {
  record('node24', 0, 1, [`npm install effect failed: ${plain(effectInstall.stdout)}`]);
} else {
  const effectRuns = [
    ['node24', bin('node'), ['effect.mjs']],
    ['bun', bin('bun'), ['effect.mjs']],
    ['deno', bin('deno'), ['run', '-A', 'effect.mjs']],
  ];
  if (machineNode) effectRuns.unshift([machineLabel, machineNode, ['effect.mjs']]);
  for (const [label, cmd, args] of effectRuns) {
    const env = { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1' };
    const { code, stdout } = await exec(cmd, args, { cwd: project, env, quiet: true });
    const line = stdout.split('\n').find((l) => l.startsWith('SMOKE '));
    if (!line) {
      record(label, 0, 1, [
        `${label} effect.mjs printed no result (exit ${code}): ${stdout.slice(-500)}`,
      ]);
      continue;
    }
    const r = JSON.parse(line.slice(6));
    record(label, r.passed, r.failed + (code === 0 ? 0 : 1), r.failures);
    console.log(`smoke: ${label} ${r.label}: ${r.passed} passed, ${r.failed} failed`);
  }
}
rmSync(project, { recursive: true, force: true });

writeFileSync(
  join(smokeDir, 'results.json'),
  JSON.stringify({ machineNode: machineVersion, results }, null, 2),
);
let failed = 0;
for (const [label, r] of Object.entries(results)) {
  failed += r.failed;
  for (const f of r.failures) console.error(`smoke FAIL [${label}] ${f}`);
}
console.log(`smoke: machine Node ${machineVersion ?? 'not found'}`);
process.exitCode = failed > 0 ? 1 : 0;
