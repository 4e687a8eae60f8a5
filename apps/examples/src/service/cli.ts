// `pnpm examples serve` and `pnpm examples load` (built in the service work).
export async function serveCommand(_args: string[]): Promise<number> {
  throw new Error('serve: not built yet');
}
export async function loadCommand(_args: string[]): Promise<number> {
  throw new Error('load: not built yet');
}
