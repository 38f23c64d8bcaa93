/* global require, process, __filename */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script for whichever node.exe runs it */
// node-cluster - Node's own socket handoff: the parent accepts a connection and hands it to a forked child with
// child.send('socket', socket). On Windows libuv does the ten-step handoff itself: WSADuplicateSocketW in the
// parent for the child's pid, the WSAPROTOCOL_INFOW over the IPC pipe, WSASocketW(FROM_PROTOCOL_INFO, ...,
// WSA_FLAG_OVERLAPPED) in the child; the parent closes its handle when the child acknowledges (step 10).
'use strict';
const { fork } = require('node:child_process');
const { writeSync } = require('node:fs');
const net = require('node:net');

function say(role, text) {
  // fs.writeSync works on pipes and files alike (Windows node.exe under Wine cannot open a stdout pipe as a stream).
  writeSync(1, `[${role}] ${text}\n`);
}

if (process.argv[2] === '--target') {
  // The child: receives the socket, says so, and writes to it only once the parent has closed its copy.
  let socket = null;
  process.on('message', (message, handle) => {
    if (message === 'socket' && handle) {
      socket = handle;
      say('target', `received the socket (pid ${process.pid})`);
      process.send('imported');
    } else if (message === 'go' && socket) {
      socket.end(`hello from the child ${process.pid}`, () => process.disconnect());
    }
  });
} else {
  // pauseOnConnect: the parent reads nothing from the socket before handing it over.
  const server = net.createServer({ pauseOnConnect: true });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    const child = fork(__filename, ['--target'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    server.once('connection', (socket) => {
      say('source', `accepted a connection; sending it to the child (pid ${child.pid})`);
      child.send('socket', socket);
    });
    child.on('message', (message) => {
      // The child's 'imported' comes after its NODE_HANDLE_ACK, on which the parent closed its handle.
      if (message === 'imported') {
        say('source', 'the child imported the socket; the parent no longer holds it');
        child.send('go');
      }
    });
    const client = net.connect(port, '127.0.0.1');
    let received = '';
    client.on('data', (data) => (received += data));
    client.on('end', () => {
      say('source', `peer received: ${received}`);
      say('source', 'peer saw EOF');
      client.end();
      server.close();
    });
    child.on('exit', (code) => say('source', `child exited with ${code}`));
  });
}
