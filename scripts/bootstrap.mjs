// Makes the README's commands work on a machine that has only Node (>= 20) and npm:
// installs the pinned pnpm if needed, installs the workspace (frozen lockfile) if it is
// not installed yet, then runs the given package script with pnpm. The toolchain itself
// (Node 24, Bun, Deno) comes from the registry as devDependencies.
//
// A newcomer's first run shows the install progress and then the script's own output:
// pnpm's and npm's update boxes, turbo's telemetry notice and the dependencies' install
// chatter are kept out (all of it is printed if the install fails).
// Usage: node scripts/bootstrap.mjs <script> [args...]
import { spawn, spawnSync } from 'node:child_process';
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

const shell = process.platform === 'win32';
// No update checks, no telemetry notices: the output is the install and the script's.
const env = {
  ...process.env,
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
const result = spawnSync(cmd, [...prefix, '--silent', 'run', script, ...args], {
  cwd: root,
  stdio: 'inherit',
  shell,
  env,
});
process.exit(result.status ?? 1);
