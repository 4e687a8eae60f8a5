// The tutorial's connect / query / dispose story with `await using`; loaded by db-sim.cjs
// only on runtimes that parse the syntax (Node 24, Bun, Deno).
export async function usingStory(core, dbSim) {
  const clock = new core.TestClock({ autoAdvance: true });
  const db = dbSim.createDatabase({ clock, latency: 10 });
  let conn;
  let rows;
  {
    await using c = await db.connect();
    conn = c;
    await c.query('CREATE TABLE notes (id serial primary key, body text)');
    await c.query('INSERT INTO notes (body) VALUES ($1)', ['hello']);
    rows = (await c.query('SELECT * FROM notes')).rowCount;
  }
  return { closed: conn.closed, open: db.openConnections, rows };
}
