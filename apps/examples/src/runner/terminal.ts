// Terminal output: colours and a progress line on a terminal, plain text when piped
// (or with NO_COLOR set), so a log file or a test sees exactly the example's lines.

export interface Terminal {
  /** `true` on an interactive terminal: colours and the progress line are on. */
  readonly rich: boolean;
  write(text: string): void;
  bold(text: string): string;
  dim(text: string): string;
  green(text: string): string;
  red(text: string): string;
}

interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

export function createTerminal(
  out: Output = process.stdout,
  env: Record<string, string | undefined> = process.env,
): Terminal {
  const rich = out.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb';
  const paint =
    (open: number, close: number) =>
    (text: string): string =>
      rich ? `\x1b[${open}m${text}\x1b[${close}m` : text;
  return {
    rich,
    write: (text) => {
      out.write(text);
    },
    bold: paint(1, 22),
    dim: paint(2, 22),
    green: paint(32, 39),
    red: paint(31, 39),
  };
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * A "still running" line for anything that takes over a second of real time, redrawn
 * in place; `clear()` removes it before the example prints a line. Does nothing when
 * the terminal is not interactive.
 */
export class Progress implements Disposable {
  readonly #term: Terminal;
  readonly #label: string;
  readonly #started = performance.now();
  #timer: ReturnType<typeof setInterval> | undefined;
  #shown = false;
  #frame = 0;

  constructor(term: Terminal, label: string, afterMs = 1000) {
    this.#term = term;
    this.#label = label;
    if (!term.rich) return;
    this.#timer = setInterval(() => {
      if (performance.now() - this.#started >= afterMs) this.#draw();
    }, 100);
    // Never keeps the process alive on its own.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #draw(): void {
    const elapsed = ((performance.now() - this.#started) / 1000).toFixed(1);
    const frame = FRAMES[this.#frame++ % FRAMES.length];
    this.#term.write(`\r\x1b[K  ${this.#term.dim(`${frame} ${this.#label} ${elapsed}s`)}`);
    this.#shown = true;
  }

  /** Removes the line (if drawn); it comes back on the next tick. */
  clear(): void {
    if (!this.#shown) return;
    this.#term.write('\r\x1b[K');
    this.#shown = false;
  }

  [Symbol.dispose](): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.clear();
  }
}

/** A plain-text table: columns padded, numbers right-aligned. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map(
    (_, i) => rows.length > 0 && rows.every((r) => /^[\d.,]+ ?\w*$|^—$/.test(r[i] ?? '')),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}
