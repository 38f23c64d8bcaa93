/* global require, process, Buffer, setInterval, clearInterval */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS script for whichever node.exe runs it */
// node-http-cluster - a Node cluster HTTP server that drives itself: the primary forks two workers with node:cluster,
// both serve HTTP on one listening socket, and the primary is also the client: it makes REQUESTS requests, a new
// connection for each (no keep-alive), checks every answer, prints the requests per second (over the whole run, and
// after its first second when it lasted over two) and exits.
// On Windows the cluster's default scheduling is "none": the primary creates the listening socket and shares it with
// each worker (libuv: WSADuplicateSocketW in the primary for the worker's pid, the WSAPROTOCOL_INFOW over the IPC
// pipe, WSASocketW(FROM_PROTOCOL_INFO) in the worker), and the workers accept from it themselves.
// With GO_FILE, once both workers listen the primary prints the three pids and waits for that file to exist before
// it makes the requests: a tracer can attach to the running server first.
// Usage: node main.js [REQUESTS] [CONCURRENCY] [GO_FILE]   (default 200 requests, 4 at a time, no wait)
'use strict';
const cluster = require('node:cluster');
const http = require('node:http');
const { existsSync, writeSync } = require('node:fs');

const WORKERS = 2;

function say(role, text) {
  // fs.writeSync works on pipes and files alike (Windows node.exe under Wine cannot open a stdout pipe as a stream).
  writeSync(1, `[${role}] ${text}\n`);
}

function positiveArgument(index, fallback) {
  const value = Number(process.argv[index] ?? fallback);
  if (!Number.isInteger(value) || value < 1) {
    say('primary', `usage: main.js [REQUESTS] [CONCURRENCY] [GO_FILE]: '${process.argv[index]}' is not a positive whole number`);
    process.exit(2);
  }
  return value;
}

function runWorker() {
  const id = cluster.worker.id;
  const server = http.createServer((request, response) => {
    // The body names the request it answers and who answered: the client checks both.
    const body = `${request.url} answered by worker ${id}`;
    response.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
    response.end(body);
  });
  server.keepAliveTimeout = 0;
  server.listen(0, '127.0.0.1', () => {
    say('worker', `listening on the shared socket (worker ${id})`);
    process.send({ listening: server.address().port });
  });
}

/** One GET on a connection of its own; resolves with the status and body, rejects on a network error. */
function get(port, path) {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent: false, headers: { Connection: 'close' } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode, body }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/**
 * Makes `total` requests, `concurrency` at a time; returns how many each worker answered, what went wrong and when each
 * answer came (ns since `started`).
 */
async function drive(port, total, concurrency, started) {
  const answeredBy = new Map();
  const failures = [];
  const answeredAt = [];
  let next = 0;
  async function lane() {
    while (next < total) {
      const path = `/request/${++next}`;
      try {
        const { status, body } = await get(port, path);
        const worker = /^(\S+) answered by worker (\d+)$/.exec(body);
        if (status !== 200 || !worker || worker[1] !== path) failures.push(`${path}: ${status} ${JSON.stringify(body)}`);
        else {
          answeredBy.set(worker[2], (answeredBy.get(worker[2]) ?? 0) + 1);
          answeredAt.push(process.hrtime.bigint() - started);
        }
      } catch (error) {
        failures.push(`${path}: ${error.message}`);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
  return { answeredBy, failures, answeredAt };
}

/** The rate after the first second (a start's transient left out), when the run lasted over two. */
function steadyRate(answeredAt, seconds) {
  if (seconds <= 2) return undefined;
  const after = answeredAt.filter((at) => at > 1_000_000_000n).length;
  return after / (seconds - 1);
}

/** Resolves once `file` exists (checked every 20 ms). */
function fileAppears(file) {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (!existsSync(file)) return;
      clearInterval(timer);
      resolve();
    }, 20);
  });
}

function runPrimary() {
  const total = positiveArgument(2, 200);
  const concurrency = positiveArgument(3, 4);
  const goFile = process.argv[4];
  cluster.setupPrimary({ stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ports = [];
  const exits = [];
  let failed = false;
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  say('primary', `forked ${WORKERS} workers`);
  cluster.on('message', async (_worker, message) => {
    if (!message || typeof message.listening !== 'number') return;
    ports.push(message.listening);
    if (ports.length < WORKERS) return;
    if (new Set(ports).size !== 1) {
      say('primary', `the workers listen on different ports: ${ports.join(', ')}`);
      failed = true;
    }
    if (goFile !== undefined) {
      const workers = Object.values(cluster.workers).map((worker) => worker.process.pid);
      say('primary', `pids: ${[process.pid, ...workers].join(',')}; waiting for ${goFile}`);
      await fileAppears(goFile);
    }
    say('primary', `both workers listen on one port; making ${total} requests, ${concurrency} at a time, a connection each`);
    const started = process.hrtime.bigint();
    const { answeredBy, failures, answeredAt } = await drive(ports[0], total, concurrency, started);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const answered = [...answeredBy.values()].reduce((a, b) => a + b, 0);
    const perWorker = [...answeredBy.keys()].sort().map((id) => `worker ${id}: ${answeredBy.get(id)}`).join(', ');
    for (const failure of failures.slice(0, 10)) say('primary', `failed: ${failure}`);
    if (answered === total && failures.length === 0) say('primary', `every request answered: ${answered} of ${total} (${perWorker})`);
    else {
      say('primary', `only ${answered} of ${total} requests answered (${failures.length} failed)`);
      failed = true;
    }
    say('primary', `${(total / seconds).toFixed(1)} requests/s (${total} requests in ${(seconds * 1000).toFixed(0)} ms)`);
    const steady = steadyRate(answeredAt, seconds);
    if (steady !== undefined) say('primary', `${steady.toFixed(1)} requests/s after the first second`);
    cluster.disconnect();
  });
  cluster.on('exit', (worker, code, signal) => {
    exits.push(code);
    say('primary', `worker ${worker.id} exited with ${code ?? signal}`);
    if (code !== 0) failed = true;
    if (exits.length === WORKERS) process.exitCode = failed ? 1 : 0;
  });
}

if (cluster.isPrimary) runPrimary();
else runWorker();
