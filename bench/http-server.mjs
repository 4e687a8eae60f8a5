// The benchmark server, run in its own process so that its work does not count against
// the clients: GET /json (1 KiB of JSON) and GET /64k (64 KiB), keep-alive. Prints its
// port on stdout; exits when its stdin closes.
import { Buffer } from 'node:buffer';
import { createServer } from 'node:http';
import { json1k } from './http-body.mjs';

const padded = json1k;
const big = Buffer.alloc(64 * 1024, 'y');

const server = createServer((req, res) => {
  const body = req.url === '/64k' ? big : padded;
  res.writeHead(200, {
    'content-type': req.url === '/64k' ? 'application/octet-stream' : 'application/json',
    'content-length': body.length,
  });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
