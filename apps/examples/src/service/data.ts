// The dashboard service's database: users and their orders, generated from a seed so
// that every run (and every runtime) starts from the same rows.
import { createRandom, type Row, type TableSeed } from '@weft/db-sim';

/** A row of `users`. */
export interface User {
  id: number;
  name: string;
  email: string;
}

/** A row of `orders`, as the dashboard returns it. */
export interface Order {
  id: number;
  total: number;
  status: string;
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Barbara', 'Edsger', 'Frances', 'Donald', 'Margaret'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Liskov', 'Dijkstra', 'Allen', 'Knuth', 'Hamilton'];
const STATUSES = ['pending', 'paid', 'shipped', 'delivered', 'refunded'];

/**
 * The seed rows: `users` ids 1…`users`, and for each of them 0…`maxOrders` orders
 * (`orders.user_id` points at the user). The same `seed` gives the same rows.
 *
 * @example
 * ```ts
 * const db = createDatabase({ tables: seedTables({ users: 50, maxOrders: 20, seed: 1 }) });
 * ```
 */
export function seedTables(options: {
  users: number;
  maxOrders: number;
  seed: number;
}): Record<string, TableSeed> {
  const random = createRandom(options.seed);
  const users: Row[] = [];
  const orders: Row[] = [];
  for (let id = 1; id <= options.users; id++) {
    const first = FIRST[random.int(0, FIRST.length - 1)] ?? 'Ada';
    const last = LAST[random.int(0, LAST.length - 1)] ?? 'Lovelace';
    users.push({
      id,
      name: `${first} ${last}`,
      email: `${first}.${last}${id}@example.com`.toLowerCase(),
    });
    const count = random.int(0, options.maxOrders);
    for (let i = 0; i < count; i++) {
      orders.push({
        id: orders.length + 1,
        user_id: id,
        total: random.int(100, 50_000) / 100,
        status: STATUSES[random.int(0, STATUSES.length - 1)] ?? 'pending',
      });
    }
  }
  return {
    users: {
      columns: 'id int primary key, name text not null, email text unique not null',
      rows: users,
    },
    orders: {
      columns:
        'id int primary key, user_id int not null, total real not null, status text not null',
      rows: orders,
    },
  };
}
