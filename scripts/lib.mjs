// Helpers shared by the repository scripts. Plain Node ESM, runs on Node 20 too.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '..');
export const bin = (name) => join(root, 'node_modules', '.bin', name);

/**
 * Runs a command, streaming its output, and resolves with { code, stdout }.
 * `quiet` keeps stdout out of the console (it is still captured).
 */
export function exec(cmd, args, { cwd = root, env = process.env, quiet = false } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Both streams are captured (Bun prints its test summary on stderr) and, unless
    // `quiet`, echoed where they belong.
    let stdout = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      stdout += chunk;
      if (!quiet) process.stderr.write(chunk);
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (!quiet) process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout }),
    );
  });
}

/** The first `node` on PATH outside any node_modules: the machine's own Node. */
export function systemNode() {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || dir.includes('node_modules')) continue;
    const candidate = join(dir, process.platform === 'win32' ? 'node.exe' : 'node');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Strips ANSI colour codes. */
// biome-ignore format: keep the escape readable
export const plain = (text) => text.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
