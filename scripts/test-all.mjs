// The whole test suite: the vitest files on Node 24, Bun and Deno, then the packaging
// smoke test (machine Node 20 with import and require, Node 24, Bun, Deno), then the
// examples runner on Node 24, Bun and Deno. Prints one
// summary line per runtime and ends with the totals, `N passed, N failed`. Fails when a
// runtime fails or runs no test.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { bin, exec, plain, root } from './lib.mjs';

const out = join(root, '.turbo', 'test-results');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const counts = {};
const add = (runtime, passed, failed) => {
  const c = (counts[runtime] ??= { passed: 0, failed: 0 });
  c.passed += passed;
  c.failed += failed;
};
const started = performance.now();

const build = await exec(bin('turbo'), ['run', 'build', '--output-logs=errors-only']);
if (build.code !== 0) {
  console.error('test: build failed');
  process.exit(1);
}

/** Reads vitest's JSON report; a crashed run counts as one failure. */
function vitestCounts(file, code) {
  try {
    const report = JSON.parse(readFileSync(file, 'utf8'));
    return [
      report.numPassedTests,
      report.numFailedTests + (code !== 0 && report.numFailedTests === 0 ? 1 : 0),
    ];
  } catch {
    return [0, 1];
  }
}

console.log('\n== node24: vitest');
const nodeJson = join(out, 'node24.json');
const node = await exec(bin('vitest'), [
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${nodeJson}`,
]);
add('node24', ...vitestCounts(nodeJson, node.code));

console.log('\n== bun: bun test');
const bun = await exec(bin('node'), [join(root, 'scripts', 'run-bun-tests.mjs')]);
const bunText = plain(bun.stdout);
const bunPass = Number(/^\s*(\d+) pass$/m.exec(bunText)?.[1] ?? 0);
const bunFail = Number(/^\s*(\d+) fail$/m.exec(bunText)?.[1] ?? 0);
add('bun', bunPass, bunFail + (bun.code !== 0 && bunFail === 0 ? 1 : 0));

console.log('\n== deno: vitest on Deno');
const denoJson = join(out, 'deno.json');
const deno = await exec(bin('node'), [
  join(root, 'scripts', 'run-deno-tests.mjs'),
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${denoJson}`,
]);
add('deno', ...vitestCounts(denoJson, deno.code));

console.log('\n== smoke: packed packages on every runtime');
const smoke = await exec(bin('node'), [join(root, 'scripts', 'smoke.mjs')]);
try {
  const { results } = JSON.parse(readFileSync(join(root, '.smoke', 'results.json'), 'utf8'));
  for (const [runtime, r] of Object.entries(results)) add(runtime, r.passed, r.failed);
  if (smoke.code !== 0 && Object.values(results).every((r) => r.failed === 0)) add('node24', 0, 1);
} catch {
  add('node20', 0, 1);
}

// The examples app as a user runs it (`pnpm examples`), on each runtime: every example
// in its own run(), checked by the runner (no error, no timer left behind). Their output
// is asserted by their tests above; this proves the CLI itself on Node, Bun and Deno.
const main = join(root, 'apps', 'examples', 'src', 'main.ts');
for (const [runtime, cmd, args] of [
  ['node24', bin('node'), [main]],
  ['bun', bin('bun'), [main]],
  ['deno', bin('deno'), ['run', '-A', main]],
]) {
  console.log(`\n== examples: the runner on ${runtime}`);
  const r = await exec(cmd, args, { quiet: true, env: { ...process.env, NO_COLOR: '1' } });
  const m = /^(\d+) ok, (\d+) failed$/m.exec(plain(r.stdout));
  const okCount = Number(m?.[1] ?? 0);
  const failCount = Number(m?.[2] ?? 0) + (r.code !== 0 && Number(m?.[2] ?? 0) === 0 ? 1 : 0);
  if (failCount > 0) console.log(r.stdout);
  console.log(`examples on ${runtime}: ${okCount} ok, ${failCount} failed`);
  add(`examples (${runtime})`, okCount, failCount);
}

console.log('\n== summary');
let passed = 0;
let failed = 0;
let ok = true;
for (const runtime of ['node20', 'node24', 'bun', 'deno']) {
  const c = counts[runtime] ?? { passed: 0, failed: 0 };
  passed += c.passed;
  failed += c.failed;
  if (c.failed > 0 || c.passed === 0) ok = false;
  console.log(
    `${runtime}: ${c.passed} passed, ${c.failed} failed${c.passed === 0 ? ' (ran no test)' : ''}`,
  );
}
for (const [runtime, c] of Object.entries(counts)) {
  if (['node20', 'node24', 'bun', 'deno'].includes(runtime)) continue;
  passed += c.passed;
  failed += c.failed;
  if (c.failed > 0) ok = false;
  console.log(`${runtime}: ${c.passed} passed, ${c.failed} failed`);
}
// The @weft/redis suites need a real Redis: a redis-server they start themselves, or the
// server at REDIS_URL. Without either they skip, and that is said here, never hidden.
const redisServer = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin']
  .filter((dir) => dir !== '')
  .map((dir) => join(dir, 'redis-server'))
  .find((file) => existsSync(file));
if (process.env.REDIS_URL)
  console.log(`redis: suites ran against REDIS_URL (${process.env.REDIS_URL})`);
else if (redisServer) console.log(`redis: suites ran against their own ${redisServer}`);
else {
  console.log(
    'redis: SKIPPED, no redis-server found and REDIS_URL unset; install it with: sudo apt-get install -y redis-server',
  );
}
console.log(`test time: ${((performance.now() - started) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = ok ? 0 : 1;
