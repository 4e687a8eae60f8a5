// The shared benchmark runner: every subject of a case runs in the same process, one
// after the other, measured by mitata; results print as a table with each subject's
// ratio to weft and are written to bench/results.json.
import { measure } from 'mitata';

export interface Subject {
  /** `weft` for the subject the others are compared to. */
  subject: string;
  fn: () => unknown;
}

export interface Case {
  suite: string;
  case: string;
  /** What one operation is, for the table ("100,000 tasks"). */
  unit: string;
  subjects: Subject[];
  /** Subject name that counts as weft (ratios are against it). Default 'weft'. */
  baseline?: string;
}

export interface Row {
  suite: string;
  case: string;
  subject: string;
  opsPerSec: number;
  ratioToWeft: number;
  /** Mean time of one operation, ms. */
  meanMs: number;
  /** Median (p50) time of one operation, ms. */
  p50Ms: number;
  samples: number;
  unit: string;
}

const fmt = (n: number): string =>
  n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n >= 1 ? n.toFixed(2) : n.toPrecision(2);

export async function runCase(c: Case, budgetMs: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const s of c.subjects) {
    await s.fn(); // warm up, and fail early if the subject is broken
    const stats = await measure(s.fn, {
      min_cpu_time: budgetMs * 1e6,
      min_samples: 5,
      max_samples: 10_000,
    });
    rows.push({
      suite: c.suite,
      case: c.case,
      subject: s.subject,
      opsPerSec: 1e9 / stats.avg,
      ratioToWeft: 0,
      meanMs: stats.avg / 1e6,
      p50Ms: stats.p50 / 1e6,
      samples: stats.samples.length,
      unit: c.unit,
    });
  }
  const base = rows.find((r) => r.subject === (c.baseline ?? 'weft')) ?? rows[0]!;
  for (const r of rows) r.ratioToWeft = r.opsPerSec / base.opsPerSec;
  printTable(c, rows);
  return rows;
}

function printTable(c: Case, rows: Row[]): void {
  console.log(`\n${c.suite} / ${c.case}  (one op = ${c.unit})`);
  const w = Math.max(...rows.map((r) => r.subject.length), 8);
  console.log(
    `  ${'subject'.padEnd(w)}  ${'ops/s'.padStart(10)}  ${'mean ms'.padStart(9)}  ${'p50 ms'.padStart(9)}  vs weft`,
  );
  for (const r of rows) {
    const vs =
      r.ratioToWeft >= 1
        ? `${fmt(r.ratioToWeft)}× weft's speed`
        : `weft ${fmt(1 / r.ratioToWeft)}× faster`;
    console.log(
      `  ${r.subject.padEnd(w)}  ${fmt(r.opsPerSec).padStart(10)}  ${fmt(r.meanMs).padStart(9)}  ${fmt(r.p50Ms).padStart(9)}  ${r.subject.startsWith('weft') ? (r.ratioToWeft === 1 ? 'baseline' : vs) : vs}`,
    );
  }
}

/** Runs `gc()` when node was started with --expose-gc. */
export function collect(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
