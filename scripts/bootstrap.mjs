// Makes the README's commands work on a machine that has only Node (>= 20) and npm:
// installs the pinned pnpm if needed, installs the workspace (frozen lockfile) if it is
// not installed yet, then runs the given package script with pnpm. The toolchain itself
// (Node 24, Bun, Deno) comes from the registry as devDependencies.
//
// A newcomer's first run shows the install progress and then the script's own output:
// pnpm's and npm's update boxes, turbo's telemetry notice and the dependencies' install
// chatter are kept out (all of it is printed if the install fails).
// Usage: node scripts/bootstrap.mjs <script> [args...]
//        node scripts/bootstrap.mjs <script> --then-node <file> [args...]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const wanted = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split(
  '@',
)[1];
const [script, ...args] = process.argv.slice(2);
if (!script) {
  console.error('usage: node scripts/bootstrap.mjs <script> [args...]');
  process.exit(2);
}

const shell = process.platform === 'win32';
// The package manager that started this script put the workspace's node_modules/.bin
// first on PATH, where `node` is the Node 24 devDependency's shell shim: pnpm (a
// `#!/usr/bin/env node` script) would run through that shim, a shell that dies of Ctrl-C
// at once instead of waiting for pnpm. pnpm puts the directory back for the script it runs.
const localBin = join(root, 'node_modules', '.bin');
const pathKey = Object.keys(process.env).find((k) => k.toUpperCase() === 'PATH') ?? 'PATH';
const path = (process.env[pathKey] ?? '')
  .split(delimiter)
  .filter((dir) => resolve(dir) !== localBin)
  .join(delimiter);
// No update checks, no telemetry notices: the output is the install and the script's.
const env = {
  ...process.env,
  [pathKey]: path,
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
  TURBO_TELEMETRY_DISABLED: '1',
  TURBO_NO_UPDATE_NOTIFIER: '1',
  DO_NOT_TRACK: '1',
};

function pnpm() {
  const probe = spawnSync('pnpm', ['--version'], { encoding: 'utf8', shell, env });
  if (probe.status === 0 && probe.stdout.trim() === wanted) return ['pnpm', []];
  return ['npx', ['--yes', '--loglevel=error', `pnpm@${wanted}`]];
}

/** Runs the install, showing only its progress; the full log only when it fails. */
function install(cmd, prefix) {
  return new Promise((done) => {
    const child = spawn(
      cmd,
      [...prefix, 'install', '--frozen-lockfile', '--reporter=append-only'],
      {
        cwd: root,
        env,
        shell,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const log = [];
    const tty = process.stdout.isTTY === true;
    let last = '';
    const onLine = (line) => {
      log.push(line);
      const progress = /^Progress: /.test(line);
      if (progress || /^Packages: \+\d+$|^Done in /.test(line)) {
        if (tty && progress) {
          process.stdout.write(`\r\x1b[K${line}`);
          last = line;
        } else {
          if (tty && last) process.stdout.write('\n');
          last = '';
          console.log(line);
        }
      }
    };
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        const lines = (pending + chunk).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      });
      stream.on('end', () => pending && onLine(pending));
    }
    child.on('close', (code) => {
      if (tty && last) process.stdout.write('\n');
      if (code !== 0) {
        console.error(log.join('\n'));
        console.error(`bootstrap: pnpm install failed (exit ${code})`);
      }
      done(code ?? 1);
    });
  });
}

const [cmd, prefix] = pnpm();
const marker = join(root, 'node_modules', '.modules.yaml');
const stale =
  !existsSync(marker) || statSync(join(root, 'pnpm-lock.yaml')).mtimeMs > statSync(marker).mtimeMs;
if (stale) {
  console.log(
    `bootstrap: installing the workspace with pnpm ${wanted} (frozen lockfile; about a minute the first time)`,
  );
  const code = await install(cmd, prefix);
  if (code !== 0) process.exit(code);
}
// `--then-node <file> [args...]`: after the script (a build, say), the program itself runs
// as this wrapper's own child on the workspace's Node 24, with no package manager or shell
// in between. Ctrl-C (SIGINT to the whole foreground process group) then reaches the
// program once, straight from the terminal: a package manager running it would forward
// a second SIGINT (pnpm does), which weft's run() takes for "exit now", and a shell or
// the `node` devDependency's shim would die of it while the program is still closing.
const runNode = args[0] === '--then-node';
const steps = runNode
  ? [
      [cmd, [...prefix, '--silent', 'run', script], shell],
      [workspaceNode(), [args[1], ...args.slice(2)], false],
    ]
  : [[cmd, [...prefix, '--silent', 'run', script, ...args], shell]];
if (runNode && !args[1]) {
  console.error('usage: node scripts/bootstrap.mjs <script> --then-node <file> [args...]');
  process.exit(2);
}
for (const [command, commandArgs, useShell] of steps) {
  const { code, signal } = await runChild(command, commandArgs, useShell);
  if (signal) {
    // The command died of a signal: so does this wrapper, for its parent to see the same.
    process.kill(process.pid, signal);
    process.exit(128 + (constants.signals[signal] ?? 0));
  }
  if (code !== 0) process.exit(code ?? 1);
}
process.exit(0);

/** The Node 24 binary of the `node` devDependency (its shim's target), or the shim. */
function workspaceNode() {
  const binary = join(root, 'node_modules', 'node', 'bin', 'node');
  return existsSync(binary) ? binary : join(root, 'node_modules', '.bin', 'node');
}

/**
 * Runs one command with this terminal, and outlives it: Ctrl-C reaches the command from
 * the terminal (this wrapper ignores SIGINT, it does not forward a second one), a SIGTERM
 * sent to this wrapper alone is passed on, and the wrapper ends with the command's status.
 */
function runChild(command, commandArgs, useShell) {
  return new Promise((done) => {
    const child = spawn(command, commandArgs, {
      cwd: root,
      stdio: 'inherit',
      shell: useShell,
      env,
    });
    const onInt = () => {};
    const onTerm = () => child.kill('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    const finish = (code, signal) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      done({ code, signal });
    };
    child.on('error', (error) => {
      console.error(`bootstrap: ${command}: ${error.message}`);
      finish(1, null);
    });
    child.on('exit', finish);
  });
}
