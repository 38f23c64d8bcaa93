// A server started outside the tracer, then traced: node-http-cluster runs untraced under Wine with a GO_FILE, and
// once its workers listen (it prints the three pids) `sockshare record --attach PIDS` attaches to all three; when
// record has reported each one, the file appears and the server makes its requests. The rate the server prints is
// over those requests alone, as an untraced run's is, so the two compare side by side (scripts/bench/server.ts).
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root } from './setup.mjs';
import { ensureWindowsRuntime } from './win-runtime.mjs';
import { runUnderWine, winePrefix, winPath } from './wine.mjs';

const SERVER_SCRIPT = join(root, 'samples', 'node-http-cluster', 'main.js');
const CLI = join(root, 'dist', 'cli.js');

/** Polls `check` every 50 ms until it returns a value other than undefined; throws `what()` after `timeoutMs`. */
async function until(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(what());
    await sleep(50);
  }
}

/**
 * Starts node-http-cluster (`requests`, `concurrency` at a time) untraced, and resolves once its workers listen: its
 * three processes' pids (the primary's first), `go()` that lets it make its requests, `finished` (runUnderWine's
 * result) and `output()`, what it printed so far. `stop()` lets it go and waits for it, for a `finally`.
 * @param {{ requests: number, concurrency: number, timeoutMs?: number }} options
 * @returns {Promise<{ pids: number[], go: () => void, finished: Promise<{ code: number | null, signal: string | null, stdout: string, stderr: string }>, output: () => string, stop: () => Promise<void> }>}
 */
export async function startWaitingServer({ requests, concurrency, timeoutMs = 240_000 }) {
  const dir = mkdtempSync(join(tmpdir(), 'sockshare-attach-'));
  const goFile = join(dir, 'go');
  const finished = runUnderWine(ensureWindowsRuntime(), [winPath(SERVER_SCRIPT), String(requests), String(concurrency), winPath(goFile)], { timeoutMs });
  const go = () => writeFileSync(goFile, '');
  const stop = async () => {
    go();
    await finished.catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pids = await until(() => /\[primary\] pids: ([\d,]+);/.exec(finished.outputSoFar())?.[1], 60_000, () => `node-http-cluster printed no pids:\n${finished.outputSoFar().slice(-2000)}`);
    return { pids: pids.split(',').map(Number), go, finished, output: () => finished.outputSoFar(), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Runs node-http-cluster and attaches `sockshare record RECORD_ARGS --attach PIDS` to it before its requests.
 * Resolves with the server's output, record's exit code and its stderr, and the events it said it recorded; throws
 * when the server does not run to a clean end.
 */
export async function attachToRunningServer({ requests, concurrency, recordArgs = ['--capture', 'inprocess', '--quiet'], timeoutMs = 240_000 }) {
  const server = await startWaitingServer({ requests, concurrency, timeoutMs });
  const dir = mkdtempSync(join(tmpdir(), 'sockshare-attach-record-'));
  let record;
  try {
    const stderrFile = join(dir, 'record.stderr.txt');
    const stderr = openSync(stderrFile, 'w');
    record = spawn(process.execPath, [CLI, 'record', ...recordArgs, '--out', join(dir, 'attached.sockshare.jsonl'), '--attach', server.pids.join(',')], { stdio: ['ignore', 'ignore', stderr], env: { ...process.env, SOCKSHARE_WINEPREFIX: winePrefix() } });
    closeSync(stderr);
    const recordEnd = new Promise((resolve) => record.on('close', (code) => resolve(code)));
    const said = () => readFileSync(stderrFile, 'utf8');
    // record prints each process it traces as it starts tracing it.
    const attached = () => server.pids.every((pid) => new RegExp(`pid ${pid}\\s+started`).test(said()));
    await until(() => (attached() ? true : undefined), 60_000, () => `record --attach ${server.pids} did not report every process:\n${said().slice(-2000)}`);
    server.go();
    const run = await server.finished;
    const recordCode = await recordEnd;
    if (run.code !== 0) throw new Error(`node-http-cluster, attached to, exited with ${run.code ?? run.signal}: ${run.stdout.slice(-1000)}${run.stderr.slice(-1000)}\nrecord said:\n${said().slice(-2000)}`);
    const recordStderr = said();
    return { stdout: run.stdout, recordCode, recordStderr, events: Number(/recorded (\d+) events/.exec(recordStderr)?.[1] ?? Number.NaN) };
  } finally {
    if (record && record.exitCode === null) record.kill('SIGTERM');
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
