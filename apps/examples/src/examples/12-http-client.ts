// Tutorial 1, "Async HTTP with httpx": one GET with a client that pools connections and is
// closed when the block ends. `async with httpx.AsyncClient() as client:` → `await using
// client = createClient(...)` (@weft/http); `response.json()` → `.json()`.
import { systemClock } from '@weft/core';
import { createClient } from '@weft/http';
import { type Example, TUTORIAL_1 } from '../example.ts';
import { inspect } from './inspect.ts';

/** jsonplaceholder's todo shape. */
interface Todo {
  userId: number;
  id: number;
  title: string;
  completed: boolean;
}

/** Fetches data from an API with a client that is closed when the function returns. */
async function fetchTodos(baseUrl: string): Promise<Todo> {
  // The network runs on real time, whatever clock the example runs on.
  await using client = createClient({ baseUrl, clock: systemClock });
  // `return await`, not `return`: the client is closed when the block ends, so the body
  // must be read before it does.
  return await client.get('/todos/1').json<Todo>();
}

export const httpClient: Example = {
  number: 12,
  name: 'http-client',
  title: 'fetchTodos with an HTTP client (httpx.AsyncClient → @weft/http)',
  section: `${TUTORIAL_1} · "Async HTTP with httpx"`,
  upstream: true,
  async run({ log, upstream }) {
    // The tutorial calls https://jsonplaceholder.typicode.com; the runner serves the same
    // /todos/1 on 127.0.0.1.
    const result = await fetchTodos(upstream());
    log(inspect(result));
  },
};
