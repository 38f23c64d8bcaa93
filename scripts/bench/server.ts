/**
 * What tracing costs a busy server, and what a burst does to the in-process path, measured in one run on this machine:
 *  - requests/s of the node-http-cluster sample (a Node cluster HTTP server whose primary shares its listening socket
 *    with two workers and drives REQUESTS requests itself, a connection each), in ROUNDS rounds of runs side by side:
 *    untraced; with WINEDEBUG=+winsock (Wine's own logging, to a file: the nearest peer); under `sockshare record
 *    --capture inprocess` printing every call, with --quiet, and with --quiet and only WSAStartup hooked (what being
 *    traced costs before any call is recorded); under a debugger that does nothing (idle-debugger.c: what being
 *    debugged under Wine costs, the floor of any debugger's figure); started untraced and attached to, all three
 *    processes, by `record --attach --capture inprocess --quiet` once its workers listen (a server started outside the
 *    tracer: scripts/lib/attach-server.mjs); each traced figure's ratio to its round's untraced
 *    run, and each variant's rate after its runs' first second against untraced's; then `sockshare record` with
 *    breakpoints (at most 300 requests) against an untraced run of as many;
 *  - a burst: cheap-calls (closesocket(INVALID_SOCKET) in a loop) making BURST_CALLS calls on 4 threads under
 *    `sockshare record --capture inprocess`: the calls in the trace, the records lost, the stubs' waits for room
 *    (the ring-stalls event: wait mode loses nothing), the agent's end, record's exit code and the wall time.
 * Runs the real command line (dist/cli.js), as a user would. Progress on stderr; one JSON line on stdout.
 * Usage: node --import tsx scripts/bench/server.ts [REQUESTS] [BURST_CALLS] [ROUNDS]   (default 3,000, 1,000,000, 14:
 * two full balanced orders of the seven variants;
 * each figure is the median of its rounds: single runs scatter by ±10-15% on this shared machine, and a 9-round
 * median still by about ±7%)
 */

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readTrace } from '../../tracer/trace/reader';
import { buildSamples } from '../build-samples.mjs';
import { balancedOrder, type RetriedRun, wineStartFailure, withWineStartRetry } from './rounds';
import { root } from '../lib/setup.mjs';
import { attachToRunningServer } from '../lib/attach-server.mjs';
import { ensureWindowsRuntime } from '../lib/win-runtime.mjs';
import { mingwGcc, runUnderWine, winePrefix, winPath } from '../lib/wine.mjs';

const SERVER_SCRIPT = join(root, 'samples', 'node-http-cluster', 'main.js');
const CHEAP_CALLS = join(root, 'samples', 'cheap-calls', 'cheap-calls.exe');
const CLI = join(root, 'dist', 'cli.js');
const CONCURRENCY = 4;
/** The breakpoint path serves a few requests a second: this many are enough for its rate. */
const BREAKPOINT_REQUESTS = 300;

type Variant = 'untraced' | 'winsock' | 'inprocess' | 'quiet' | 'attached' | 'debugged' | 'lateAttach';
const BURST_THREADS = 4;
/** A traced run that takes longer than this is killed and reported as such. */
const RUN_TIMEOUT_MS = 240_000;

/** runUnderWine with the options it takes (its JavaScript default parameter lets TypeScript see only timeoutMs). */
const runUnderWineWith = runUnderWine as (exe: string, args: string[], options: { timeoutMs?: number; env?: Record<string, string> }) => ReturnType<typeof runUnderWine>;

const scratch = mkdtempSync(join(tmpdir(), 'sockshare-bench-server-'));
const log = (line: string) => process.stderr.write(`  ${line}\n`);

/** The sample's own figures: "[primary] 165.6 requests/s (200 requests in 1207 ms)", then, for a run over two
 * seconds, "[primary] 180.2 requests/s after the first second" (the start's transient left out). */
function requestsPerSec(stdout: string): ServerRate {
  const answered = /every request answered: (\d+) of (\d+)/.exec(stdout);
  const rate = /\[primary\] ([\d.]+) requests\/s \(/.exec(stdout);
  if (!answered || !rate) throw new Error(`node-http-cluster did not answer every request:\n${stdout.slice(-2000)}`);
  const steady = /\[primary\] ([\d.]+) requests\/s after the first second/.exec(stdout);
  return { rate: Number(rate[1]), steady: steady ? Number(steady[1]) : Number.NaN };
}

interface ServerRate {
  /** Requests/s over the whole run. */
  rate: number;
  /** Requests/s after the run's first second (NaN for a run of two seconds or less). */
  steady: number;
}

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  seconds: number;
  stdout: string;
  /** record's stderr (one line per call) is kept in a file: a burst prints a million lines. */
  stderrFile: string;
  timedOut: boolean;
}

/** Runs `sockshare ARGS` with its stdout collected and its stderr to a file; kills it after RUN_TIMEOUT_MS. */
function runCli(name: string, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const stderrFile = join(scratch, `${name}.stderr.txt`);
  const stderr = openSync(stderrFile, 'w');
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: root, stdio: ['ignore', 'pipe', stderr], env: { ...process.env, ...env, SOCKSHARE_WINEPREFIX: winePrefix() } });
    closeSync(stderr);
    let stdout = '';
    let timedOut = false;
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (text: string) => (stdout += text));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }, RUN_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, seconds: (performance.now() - started) / 1000, stdout, stderrFile, timedOut });
    });
  });
}

/** record's own lines ("sockshare: ..."): the agent's error, the events recorded, the end; not the calls. */
function recordSays(stderrFile: string): string[] {
  const text = readFileSync(stderrFile, 'utf8');
  return text.split('\n').filter((line) => line.startsWith('sockshare:') || line.startsWith('    at ') || /^(Range|Type)?Error/.test(line));
}

/** `debuggerExe`: the server started by this debugger (idle-debugger.exe) instead of by Wine. */
async function untraced(requests: number, env: Record<string, string> = {}, debuggerExe?: string) {
  const server = [winPath(SERVER_SCRIPT), String(requests), String(CONCURRENCY)];
  const [exe, args] = debuggerExe ? [debuggerExe, [winPath(ensureWindowsRuntime()), ...server]] : [ensureWindowsRuntime(), server];
  const run = await runUnderWineWith(exe, args, { timeoutMs: RUN_TIMEOUT_MS, env });
  if (run.code !== 0) {
    const wineSaid = wineStartFailure(run.stdout, run.stderr);
    throw new Error(`node-http-cluster exited with ${run.code ?? run.signal}${wineSaid ? ` (${wineSaid})` : ''}: ${run.stdout.slice(-1000)}${run.stderr.slice(-1000)}`);
  }
  return { ...requestsPerSec(run.stdout), stderrMb: Buffer.byteLength(run.stderr) / 1048576 };
}

/** Builds idle-debugger.exe into the scratch folder. */
function buildIdleDebugger(): string {
  const exe = join(scratch, 'idle-debugger.exe');
  const gcc = mingwGcc();
  if (!gcc) throw new Error('x86_64-w64-mingw32-gcc is missing: it builds scripts/bench/idle-debugger.c');
  const built = spawnSync(gcc, ['-O2', '-municode', '-o', exe, join(root, 'scripts', 'bench', 'idle-debugger.c')], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`idle-debugger.c did not build:\n${built.stderr}`);
  return exe;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** `extra`: record's options besides --capture (--quiet, --apis); `env`: more of record's environment. */
async function recorded(requests: number, capture: 'inprocess' | 'breakpoints', extra: string[] = [], env: Record<string, string> = {}) {
  const trace = join(scratch, `server-${capture}.sockshare.jsonl`);
  const run = await runCli(`server-${capture}`, ['record', '--capture', capture, ...extra, '--out', trace, '--', ensureWindowsRuntime(), winPath(SERVER_SCRIPT), String(requests), String(CONCURRENCY)], env);
  if (run.code !== 0) {
    // The run's trace and record's lines are kept (the scratch folder is not) for a look at what went wrong.
    const kept = mkdtempSync(join(tmpdir(), 'sockshare-bench-failed-'));
    for (const file of [trace, run.stderrFile]) if (existsSync(file)) renameSync(file, join(kept, basename(file)));
    const keptStderr = join(kept, basename(run.stderrFile));
    // record prints the programs' stderr, where Wine's loader writes, to its own stderr.
    const wineSaid = wineStartFailure(run.stdout, existsSync(keptStderr) ? readFileSync(keptStderr, 'utf8') : '');
    throw new Error(`record --capture ${capture} exited with ${run.code ?? run.signal}${run.timedOut ? ' (timed out)' : ''}${wineSaid ? ` (${wineSaid})` : ''} (its trace and lines kept in ${kept}):\n${recordSays(keptStderr).join('\n')}\nrecord's output (the programs', then the check's):\n${run.stdout.slice(-3000)}`);
  }
  const events = Number(/recorded (\d+) events/.exec(recordSays(run.stderrFile).join('\n'))?.[1] ?? Number.NaN);
  rmSync(trace, { force: true });
  return { ...requestsPerSec(run.stdout), seconds: run.seconds, events };
}

/** A million cheap calls on 4 threads under the in-process path: what the trace holds and how the run ended. */
async function burst(calls: number) {
  const trace = join(scratch, 'burst.sockshare.jsonl');
  const perThread = Math.ceil(calls / BURST_THREADS);
  const run = await runCli('burst', ['record', '--capture', 'inprocess', '--out', trace, '--', CHEAP_CALLS, String(perThread), String(BURST_THREADS)]);
  let recordedCalls = 0;
  let recordedReturns = 0;
  let recordsLost = 0;
  let stalls = 0;
  let stallNs = 0;
  let events = 0;
  let traceWarnings = 0;
  let traceError: string | undefined;
  try {
    for await (const event of readTrace(trace, { onWarning: () => traceWarnings++ })) {
      events++;
      if (event.kind === 'api' && event.api === 'closesocket' && !event.internal) {
        if (event.phase === 'call') recordedCalls++;
        else recordedReturns++;
      }
      if (event.kind === 'records-lost') recordsLost += event.count;
      if (event.kind === 'ring-stalls') {
        stalls += event.count;
        stallNs += event.waitNs;
      }
    }
  } catch (error) {
    traceError = error instanceof Error ? error.message : String(error);
  }
  const says = recordSays(run.stderrFile);
  const agentLine = says.find((line) => /tracer agent/.test(line));
  const programLine = /\d+ threads x \d+ closesocket calls.*/.exec(run.stdout)?.[0];
  const result = {
    burstCalls: perThread * BURST_THREADS,
    burstThreads: BURST_THREADS,
    burstRecordExitCode: run.code,
    burstTimedOut: run.timedOut,
    burstAgentEnd: agentLine ? agentLine.replace(/^sockshare: /, '') : 'ended normally',
    burstCallsRecorded: recordedCalls,
    burstReturnsRecorded: recordedReturns,
    burstRecordsLost: recordsLost,
    burstStalls: stalls,
    burstStallMsAllThreads: Number((stallNs / 1e6).toFixed(1)),
    burstTraceEvents: events,
    burstTraceWarnings: traceWarnings,
    ...(traceError ? { burstTraceError: traceError } : {}),
    burstProgramSaid: programLine ?? 'nothing (it did not finish)',
    burstWallSeconds: Number(run.seconds.toFixed(2)),
    burstTraceMb: Number((statSafe(trace) / 1048576).toFixed(1)),
  };
  log(`burst: record exited ${run.code}; ${says.slice(0, 6).join(' | ')}`);
  return result;
}

function statSafe(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

const ratio = (traced: number, base: number) => Number((traced / base).toFixed(3));

/**
 * The rounds' own ratios summed up: their geometric mean and its 95% interval (two standard errors of the mean log
 * ratio). A 9-round median scatters by about ±7% on this machine; the interval says how far the figure can be trusted.
 */
function pairedInterval(ratios: number[]): { mean: number; low: number; high: number } | null {
  if (ratios.length < 2) return null;
  const logs = ratios.map(Math.log);
  const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
  const spread = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (logs.length - 1) / logs.length);
  const at = (x: number) => Number(Math.exp(x).toFixed(3));
  return { mean: at(mean), low: at(mean - 2 * spread), high: at(mean + 2 * spread) };
}

async function main(): Promise<void> {
  const requests = Number(process.argv[2] ?? 3000);
  const burstCalls = Number(process.argv[3] ?? 1_000_000);
  const rounds = Number(process.argv[4] ?? 14);
  process.env.SOCKSHARE_WINE_NODE = ensureWindowsRuntime();
  process.env.SOCKSHARE_WINEPREFIX = winePrefix();
  await buildSamples(['cheap-calls'], () => true);
  try {
    // The machine's speed drifts from minute to minute: each round runs every variant once, back to back, and each
    // traced figure's ratio is also given per round, to that round's untraced run.
    const measured: Record<Variant, ServerRate[]> = { untraced: [], winsock: [], inprocess: [], quiet: [], attached: [], debugged: [], lateAttach: [] };
    const retried: RetriedRun[] = [];
    const idleDebugger = buildIdleDebugger();
    let winsockMb = 0;
    let inprocessEvents = 0;
    let lateAttachEvents = 0;
    // Each run is measured on its own: what the previous one wrote (a trace, a spool, Wine's log) is flushed to disk
    // first, or its writeback would land in the next run; and the rounds' orders are balanced (balancedOrder).
    const runs: Record<Variant, () => Promise<ServerRate>> = {
      untraced: () => untraced(requests),
      winsock: async () => {
        const winsock = await untraced(requests, { WINEDEBUG: '+winsock' });
        winsockMb = Math.max(winsockMb, winsock.stderrMb);
        return winsock;
      },
      inprocess: async () => {
        const inprocess = await recorded(requests, 'inprocess');
        inprocessEvents = inprocess.events;
        return inprocess;
      },
      quiet: () => recorded(requests, 'inprocess', ['--quiet']),
      // The cost of being traced at all: the same agent and stubs, with one API hooked (WSAStartup: once a process).
      attached: () => recorded(requests, 'inprocess', ['--quiet', '--apis', 'WSAStartup']),
      // Debugged by a debugger that only continues each event: what being debugged costs before any tracer work.
      debugged: () => untraced(requests, {}, idleDebugger),
      // A server started outside the tracer: attached to (all three processes) once its workers listen, --quiet.
      lateAttach: async () => {
        const run = await attachToRunningServer({ requests, concurrency: CONCURRENCY, timeoutMs: RUN_TIMEOUT_MS });
        if (run.recordCode !== 0) throw new Error(`record --attach exited with ${run.recordCode}:\n${run.recordStderr.split('\n').filter((line) => line.startsWith('sockshare:')).join('\n')}`);
        lateAttachEvents = run.events;
        return requestsPerSec(run.stdout);
      },
    };
    const variants = Object.keys(runs) as Variant[];
    for (let round = 1; round <= rounds; round++) {
      const order = balancedOrder(variants.length, round - 1).map((i) => variants[i]);
      for (const variant of order) {
        spawnSync('sync');
        measured[variant].push(await withWineStartRetry(runs[variant], retried, round, variant, log));
      }
      const at = (variant: Variant) => measured[variant][round - 1].rate;
      log(`server round ${round} (${order.join(', ')}): untraced ${at('untraced')}, +winsock ${at('winsock')}, inprocess ${at('inprocess')}, inprocess --quiet ${at('quiet')}, traced with only WSAStartup hooked ${at('attached')}, under a debugger that does nothing ${at('debugged')}, started untraced and attached to ${at('lateAttach')} requests/s (${requests} requests, ${inprocessEvents} events; ${lateAttachEvents} attached)`);
    }
    const rates = Object.fromEntries(variants.map((v) => [v, measured[v].map((m) => m.rate)])) as Record<Variant, number[]>;
    const steadyRates = Object.fromEntries(variants.map((v) => [v, measured[v].map((m) => m.steady)])) as Record<Variant, number[]>;
    const ratios = (variant: Variant) => rates[variant].map((rate, i) => ratio(rate, rates.untraced[i]));
    // A single run can be the outlier (an untraced run 30% faster than the rest spoils its whole round's ratios): each
    // variant's median rate over the runs, against untraced's, is the figure the goal is judged on; the rounds' own
    // ratios are reported beside it.
    const rateRatio = (variant: Variant) => ratio(median(rates[variant]), median(rates.untraced));
    // The same after each run's first second: what tracing costs a server once it runs, its start left out (traced
    // runs start slower: their first 750 ms serve about three quarters of their later rate).
    // A variant's figures under `prefix`: its median rate and runs, and its ratios to untraced (see rateRatio).
    const variantFigures = (prefix: string, variant: Variant) => ({
      [`${prefix}ReqPerSec`]: median(rates[variant]),
      [`${prefix}Runs`]: rates[variant],
      [`${prefix}Ratio`]: median(ratios(variant)),
      [`${prefix}RateRatio`]: rateRatio(variant),
      [`${prefix}Ratios`]: ratios(variant),
    });
    const steadyRatios = Object.fromEntries(variants.filter((v) => v !== 'untraced').map((v) => [v, ratio(median(steadyRates[v]), median(steadyRates.untraced))]));
    const breakpointRequests = Math.min(requests, BREAKPOINT_REQUESTS);
    const breakpointsPlain = await untraced(breakpointRequests);
    const breakpoints = await recorded(breakpointRequests, 'breakpoints');
    log(`server record (breakpoints): ${breakpoints.rate} requests/s against ${breakpointsPlain.rate} untraced (${breakpointRequests} requests, ${breakpoints.events} events, ${breakpoints.seconds.toFixed(1)} s)`);
    const calls = await burst(burstCalls);
    console.log(
      JSON.stringify({
        serverRequests: requests,
        serverConcurrency: CONCURRENCY,
        serverRounds: rounds,
        serverRunsRetried: retried,
        serverUntracedReqPerSec: median(rates.untraced),
        serverUntracedRuns: rates.untraced,
        ...variantFigures('serverWinsockLog', 'winsock'),
        serverWinsockLogMb: Number(winsockMb.toFixed(1)),
        ...variantFigures('serverInprocess', 'inprocess'),
        ...variantFigures('serverInprocessQuiet', 'quiet'),
        serverInprocessQuietPairedRatio: pairedInterval(ratios('quiet')),
        ...variantFigures('serverAttachedOnly', 'attached'),
        ...variantFigures('serverIdleDebugger', 'debugged'),
        ...variantFigures('serverLateAttach', 'lateAttach'),
        serverLateAttachPairedRatio: pairedInterval(ratios('lateAttach')),
        serverLateAttachEvents: lateAttachEvents,
        serverUntracedSteadyReqPerSec: median(steadyRates.untraced),
        serverUntracedSteadyRuns: steadyRates.untraced,
        serverSteadyRateRatios: steadyRatios,
        serverInprocessEvents: inprocessEvents,
        serverBreakpointRequests: breakpointRequests,
        serverBreakpointsReqPerSec: breakpoints.rate,
        serverBreakpointsRatio: ratio(breakpoints.rate, breakpointsPlain.rate),
        serverBreakpointsEvents: breakpoints.events,
        ...calls,
      }),
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
