// Makes the README's commands work on a machine that has only Node (>= 20) and npm:
// installs the pinned pnpm if needed, installs the workspace (frozen lockfile) if it is
// not installed yet, then runs the given package script with pnpm. The toolchain itself
// (Node 24, Bun, Deno) comes from the registry as devDependencies.
// Usage: node scripts/bootstrap.mjs <script> [args...]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const wanted = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split(
  '@',
)[1];
const [script, ...args] = process.argv.slice(2);
if (!script) {
  console.error('usage: node scripts/bootstrap.mjs <script> [args...]');
  process.exit(2);
}

const run = (cmd, cmdArgs) =>
  spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });

function pnpm() {
  const probe = spawnSync('pnpm', ['--version'], {
    encoding: 'utf8',
    shell: process.platform === 'win32',
  });
  if (probe.status === 0 && probe.stdout.trim() === wanted) return ['pnpm', []];
  return ['npx', ['--yes', `pnpm@${wanted}`]];
}

const [cmd, prefix] = pnpm();
const marker = join(root, 'node_modules', '.modules.yaml');
const stale =
  !existsSync(marker) || statSync(join(root, 'pnpm-lock.yaml')).mtimeMs > statSync(marker).mtimeMs;
if (stale) {
  console.log(`bootstrap: installing the workspace with pnpm ${wanted} (frozen lockfile)`);
  const install = run(cmd, [...prefix, 'install', '--frozen-lockfile']);
  if (install.status !== 0) process.exit(install.status ?? 1);
}
const result = run(cmd, [...prefix, 'run', script, ...args]);
process.exit(result.status ?? 1);
