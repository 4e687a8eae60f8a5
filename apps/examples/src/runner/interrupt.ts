// What an example's failure says about the process: cancelled by Ctrl-C or SIGTERM (the
// runner stops there) and the exit code that belongs to it, as core's run() sets it.

/**
 * The exit code for an example that ended because the process was interrupted: 143 for
 * SIGTERM, 130 for SIGINT (Ctrl-C); `undefined` for any other outcome.
 */
export function interruptExitCode(err: unknown): number | undefined {
  if (!(err instanceof Error)) return undefined;
  if (/SIGTERM/.test(err.message)) return 143;
  if (/SIGINT|interrupt/i.test(err.message)) return 130;
  return undefined;
}
