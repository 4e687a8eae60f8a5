// Instruction counts with valgrind (callgrind), shared by the bench scripts that use them
// (diag-overhead.mjs, http-instructions.mjs, http-profile.mjs, redis-instructions.mjs):
// unlike CPU time, a count does not move with the machine's load.
import { execFileSync, spawnSync } from 'node:child_process';

/** valgrind's arguments to count a program's instructions (no profile file written). */
export const CALLGRIND = ['--tool=callgrind', '--callgrind-out-file=/dev/null'];

/** The same for Node: V8 writes machine code at run time, which valgrind must re-read. */
export const CALLGRIND_NODE = [...CALLGRIND, '--smc-check=all-non-file'];

/** Whether `valgrind` is installed. */
export function hasValgrind() {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The instruction count ("I refs") from valgrind's stderr; throws with its tail if absent. */
export function irefs(stderr) {
  const match = /I\s+refs:\s+([\d,]+)/.exec(stderr);
  if (!match) throw new Error(`valgrind gave no instruction count: ${stderr.slice(-800)}`);
  return Number(match[1].replaceAll(',', ''));
}

/**
 * Runs `node ...nodeArgs` (this Node) under callgrind until it exits and returns the
 * instructions it executed. `options`: `spawnSync`'s (`env`, …).
 */
export function countNode(nodeArgs, options = {}) {
  const run = spawnSync('valgrind', [...CALLGRIND_NODE, process.execPath, ...nodeArgs], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    ...options,
  });
  if (run.error) throw run.error;
  return irefs(run.stderr);
}
