// The CPU-bound work of example 13 (cpu-bound): a module of its own, so that a worker can
// load it (`runInWorker(new URL('./13-cpu-work.ts', import.meta.url), 'fib', [n])`).
// Plain TypeScript that Node (type stripping), Bun and Deno run as is.

/** The n-th Fibonacci number, computed the slow way: pure CPU, no await anywhere. */
export function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}
