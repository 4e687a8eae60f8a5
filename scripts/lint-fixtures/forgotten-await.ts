// The tutorials' first common mistake: calling an async function without awaiting it.
// `pnpm lint` checks that ESLint reports this file; it is excluded from the normal run.
async function fetchData(name: string): Promise<string> {
  return `Data from ${name}`;
}

export function main(): void {
  fetchData('API-1');
}
