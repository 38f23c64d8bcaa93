/**
 * The stand-alone debug adapter: DAP over stdio, or, with --server=PORT, on a TCP port (to debug the adapter itself).
 */

import { createServer } from 'node:net';
import { SockshareSession } from './session';

const server = process.argv.map((a) => /^--server=(\d+)$/.exec(a)).find(Boolean);

if (server) {
  const port = Number(server[1]);
  createServer((socket) => {
    // Small DAP messages back to back (a response, then a stopped event): without this, Nagle holds the second one.
    socket.setNoDelay(true);
    const session = new SockshareSession();
    session.setRunAsServer(true);
    session.start(socket, socket);
  }).listen(port, '127.0.0.1', () => process.stderr.write(`sockshare debug adapter listening on 127.0.0.1:${port}\n`));
} else {
  const session = new SockshareSession();
  process.on('SIGTERM', () => session.shutdown());
  session.start(process.stdin, process.stdout);
}
