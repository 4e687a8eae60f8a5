// Runs a command with its output held back: prints `<label>… done (N s)`, or on failure
// everything the command printed. For steps a reader of `pnpm examples` does not need to
// watch (building the packages).
// Usage: node scripts/quietly.mjs "<label>" <command> [args...]
import { spawn } from 'node:child_process';

const [label, cmd, ...args] = process.argv.slice(2);
if (!label || !cmd) {
  console.error('usage: node scripts/quietly.mjs "<label>" <command> [args...]');
  process.exit(2);
}
const started = performance.now();
process.stdout.write(`${label}…`);
const child = spawn(cmd, args, {
  stdio: ['ignore', 'pipe', 'pipe'],
  shell: process.platform === 'win32',
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' },
});
let output = '';
child.stdout.on('data', (chunk) => {
  output += chunk;
});
child.stderr.on('data', (chunk) => {
  output += chunk;
});
child.on('error', (err) => {
  console.log(' failed');
  console.error(err.message);
  process.exit(1);
});
child.on('close', (code) => {
  if (code === 0) {
    console.log(` done (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  } else {
    console.log(' failed:');
    process.stdout.write(output);
  }
  process.exitCode = code ?? 1;
});
