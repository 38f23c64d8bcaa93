/** `sockshare record`: runs programs under the tracer agent, prints each hooked call, then checks the trace. */

import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { type CaptureEnd, LiveCapture, type StopInfo } from '../capture/live';
import { PreflightError, checkProgram, checkTraceOutput } from '../capture/preflight';
import { type RuntimeKind, RuntimeError, resolveRuntime } from '../capture/runtime';
import { formatCall } from '../describe';
import type { ApiCallEvent, TraceEvent } from '../trace/schema';
import { HOOKED_APIS } from '../trace/schema';
import { runCheck } from './check';
import { type CliIo, EXIT_USAGE, InputError, UsageError } from './io';

export interface RecordOptions {
  out: string;
  /** The program to start; undefined with `attach`. */
  program?: string;
  args: string[];
  /** Windows pids of running programs to attach to instead. */
  attach?: number[];
  target?: string;
  targetArgs: string[];
  stopOn: string[];
  apis?: string[];
  runtime: RuntimeKind;
  capture: 'breakpoints' | 'inprocess';
  /** In-process capture, a full ring: wait (default) or drop. */
  overflow?: 'wait' | 'drop';
  /** In-process capture: records per ring (a power of two). */
  ringSize?: number;
  /** In-process capture: each call's stack too. */
  stacks?: boolean;
  /** No line per call: only the programs' output, starts and exits are followed live; the trace is written at stops and at the end. */
  quiet?: boolean;
  tracerVersion: string;
}

/** --attach PID[,PID...]: Windows pids, decimal. */
export function attachPids(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const words = value.split(',').map((w) => w.trim()).filter(Boolean);
  const bad = words.find((w) => !/^\d+$/.test(w) || Number(w) <= 0 || Number(w) > 0xffffffff);
  if (words.length === 0 || bad !== undefined) throw new UsageError(`record: --attach takes Windows pids (PID[,PID...]), not '${bad ?? value}'`, 'record');
  return [...new Set(words.map(Number))];
}

export function overflowMode(value: string | undefined): 'wait' | 'drop' | undefined {
  if (value === undefined || value === 'wait' || value === 'drop') return value;
  throw new UsageError(`record: --overflow must be wait or drop, not '${value}'`, 'record');
}

/** --ring-size: a power of two between 1,024 and 16,777,216 records (64 KB to 1 GB per process). */
export function ringSize(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const slots = Number(value);
  if (!Number.isInteger(slots) || slots < 1024 || slots > 2 ** 24 || (slots & (slots - 1)) !== 0) throw new UsageError(`record: --ring-size must be a power of two from 1024 to 16777216, not '${value}'`, 'record');
  return slots;
}

export function captureMode(value: string | undefined): 'breakpoints' | 'inprocess' {
  if (value === undefined || value === 'breakpoints' || value === 'inprocess') return value ?? 'breakpoints';
  throw new UsageError(`record: --capture must be breakpoints or inprocess, not '${value}'`, 'record');
}

const RUNTIMES: readonly RuntimeKind[] = ['auto', 'windows', 'wine'];

export function apiList(option: string | undefined, name: string): string[] | undefined {
  if (option === undefined) return undefined;
  const apis = option.split(',').map((a) => a.trim()).filter(Boolean);
  const unknown = apis.find((a) => !(HOOKED_APIS as readonly string[]).includes(a));
  if (unknown) throw new UsageError(`record: ${name}: '${unknown}' is not a hooked API (${HOOKED_APIS.join(', ')})`, 'record');
  return apis;
}

export function runtimeKind(value: string | undefined): RuntimeKind {
  const kind = (value ?? 'auto') as RuntimeKind;
  if (!RUNTIMES.includes(kind)) throw new UsageError(`record: --runtime must be auto, windows or wine, not '${value}'`, 'record');
  return kind;
}

/** One line per hooked call, as it returns: "#27  pid 276  WSADuplicateSocketW(s=0x2c, dwProcessId=284) = 0". */
class CallPrinter {
  private readonly calls = new Map<number, ApiCallEvent>();
  /** Text not written yet, in order, by stream: a drain brings hundreds of calls at once, written together. */
  private pending: { stream: 'stdout' | 'stderr'; text: string }[] = [];
  private scheduled = false;
  constructor(private readonly io: CliIo) {}

  onEvent(event: TraceEvent): void {
    if (event.kind === 'output') return this.print(event.stream === 'stderr' ? 'stderr' : 'stdout', event.text);
    if (event.kind === 'process-start') this.print('stderr', `#${event.seq}  pid ${event.pid}  started ${event.image} (parent ${event.parentPid})\n`);
    if (event.kind === 'process-exit') this.print('stderr', `#${event.seq}  pid ${event.pid}  exited with ${event.exitCode}\n`);
    if (event.kind !== 'api') return;
    if (event.phase === 'call') {
      if (!event.internal) this.calls.set(event.seq, event);
      return;
    }
    const call = this.calls.get(event.callSeq);
    if (!call) return;
    this.calls.delete(event.callSeq);
    this.print('stderr', `#${call.seq}  pid ${call.pid}  ${formatCall(call, event)}\n`);
  }

  /** Writes what is pending, consecutive texts of one stream in one write. */
  flush(): void {
    const pending = this.pending;
    this.pending = [];
    for (let i = 0; i < pending.length; ) {
      let j = i;
      while (j < pending.length && pending[j].stream === pending[i].stream) j++;
      this.io[pending[i].stream].write(pending.slice(i, j).map((p) => p.text).join(''));
      i = j;
    }
  }

  private print(stream: 'stdout' | 'stderr', text: string): void {
    this.pending.push({ stream, text });
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }
}

/** What `--quiet` prints as it happens: the programs' output, starts and exits; the calls' lines are not even read. */
const QUIET_KINDS: readonly TraceEvent['kind'][] = ['output', 'process-start', 'process-exit'];

/** At a stop: Enter continues, `s` runs to the next hooked call, `k` kills. Without a terminal, stops continue. */
function stopPrompt(capture: LiveCapture, io: CliIo): (stop: StopInfo) => void {
  const lines = createInterface({ input: process.stdin, terminal: false });
  const answers: string[] = [];
  let waiting: ((line: string | undefined) => void) | undefined;
  let closed = false;
  lines.on('line', (line) => (waiting ? (waiting(line), (waiting = undefined)) : answers.push(line)));
  lines.on('close', () => {
    closed = true;
    waiting?.(undefined);
  });
  capture.finished.then(() => lines.close());
  return (stop) => {
    io.stderr.write(`■ stopped at ${stop.api} (#${stop.seq}, pid ${stop.pid}, tid ${stop.tid}, ${stop.reason}): Enter continues, s steps, k kills\n`);
    const answer = (line: string | undefined) => {
      const word = (line ?? '').trim();
      if (word === 'k') capture.stop();
      else capture.send(word === 's' ? { cmd: 'step' } : { cmd: 'continue' });
    };
    if (answers.length > 0) answer(answers.shift());
    else if (closed) answer(undefined);
    else waiting = answer;
  };
}

/**
 * Exit code of a run whose tracer agent died or failed mid-run (killed, crashed, its connection lost, or an error it
 * reported): the trace holds what the agent wrote before, and is checked, but the run never counts as a success.
 */
export const EXIT_AGENT_FAILED = 3;

/** Exit codes of a run ended by a signal (128 + the signal's number, as shells report it). */
const EXIT_INTERRUPTED: Record<'SIGINT' | 'SIGTERM' | 'SIGHUP', number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/** Refuses, before anything starts, programs the tracer cannot start and a --out it cannot write. */
function preflight(programs: string[], out: string): void {
  try {
    for (const p of programs) checkProgram(p);
    checkTraceOutput(out, '--out');
  } catch (error) {
    if (error instanceof PreflightError) throw new InputError(`record: ${error.message}`);
    throw error;
  }
}

/**
 * Ctrl+C (SIGINT), SIGTERM and SIGHUP end the run: the programs are killed, the trace is kept. A second signal
 * kills the agent at once. Returns the signal that ended the run (if any) and a function that removes the handlers.
 */
function handleSignals(capture: LiveCapture, io: CliIo, attached: boolean): { signal: () => keyof typeof EXIT_INTERRUPTED | undefined; remove: () => void } {
  let first: keyof typeof EXIT_INTERRUPTED | undefined;
  const handlers = (Object.keys(EXIT_INTERRUPTED) as (keyof typeof EXIT_INTERRUPTED)[]).map((name) => {
    const handler = () => {
      if (first === undefined) {
        first = name;
        const what = attached ? 'detaching from the traced programs (they keep running)' : 'stopping the traced programs';
        io.stderr.write(`\nsockshare: ${name === 'SIGINT' ? 'Ctrl+C' : name}: ${what}; the trace is kept (Ctrl+C again kills the tracer)\n`);
        if (attached) capture.detach();
        else capture.stop();
      } else {
        io.stderr.write('\nsockshare: killing the tracer\n');
        capture.killAgent();
      }
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  return { signal: () => first, remove: () => handlers.forEach(([name, handler]) => process.off(name, handler)) };
}

/**
 * The agent died or failed mid-run: its error was printed; the findings of what it recorded before are printed too,
 * then a last line says the trace is incomplete. Never exit 0.
 */
async function agentFailed(end: CaptureEnd, out: string, io: CliIo): Promise<number> {
  if (end.events > 0) await runCheck(out, { json: false, verbose: false }, io);
  const how = end.agentFailure === 'error' ? 'failed' : 'died';
  const kept = end.events > 0 ? `the trace holds the ${end.events} events recorded before, in ${out}` : 'nothing was recorded';
  io.stderr.write(`sockshare: the tracer agent ${how} during the run (exit ${EXIT_AGENT_FAILED}): the traced programs died with it; ${kept}\n`);
  return EXIT_AGENT_FAILED;
}

export async function runRecord(options: RecordOptions, io: CliIo): Promise<number> {
  const programs = [...(options.program !== undefined ? [options.program] : []), ...(options.target ? [options.target] : [])].map((p) => resolve(p));
  preflight(programs, options.out);
  let runtime;
  try {
    runtime = resolveRuntime(options.runtime);
  } catch (error) {
    if (error instanceof RuntimeError) throw new InputError(`record: ${error.message}`);
    throw error;
  }
  const capture = new LiveCapture({
    runtime,
    launches: [
      ...(options.program !== undefined ? [{ program: programs[0], args: options.args }] : []),
      ...(options.target ? [{ program: programs[programs.length - 1], args: options.targetArgs }] : []),
    ],
    attaches: options.attach,
    traceFile: options.out,
    apis: options.apis,
    capture: options.capture,
    overflow: options.overflow,
    ringSlots: options.ringSize,
    stacks: options.stacks,
    stopOn: options.stopOn,
    tracerVersion: options.tracerVersion,
    ...(options.quiet ? { follow: QUIET_KINDS, traceAtStops: true } : {}),
  });
  const printer = new CallPrinter(io);
  capture.on('event', (e: TraceEvent) => printer.onEvent(e));
  if (options.stopOn.length > 0) {
    const prompt = stopPrompt(capture, io);
    // The calls before the stop are printed before its prompt.
    capture.on('stopped', (stop: StopInfo) => {
      printer.flush();
      prompt(stop);
    });
  }
  const attached = options.attach !== undefined;
  const signals = handleSignals(capture, io, attached);
  try {
    await capture.start();
    const end = await capture.finished;
    printer.flush();
    const signal = signals.signal();
    if (end.error && !signal) io.stderr.write(`sockshare: ${end.error}\n`);
    io.stderr.write(`sockshare: recorded ${end.events} events to ${options.out}\n\n`);
    // A signal is how an attached recording ends: the programs run on, the findings decide the exit status.
    if (signal && attached && !end.agentFailure) io.stderr.write(`sockshare: detached (${signal}): the programs keep running\n`);
    else if (signal) {
      if (end.events > 0) await runCheck(options.out, { json: false, verbose: false }, io);
      io.stderr.write(`sockshare: interrupted (${signal}): the traced programs were killed; the trace so far is in ${options.out}\n`);
      return EXIT_INTERRUPTED[signal];
    }
    // An agent that reported why it could not start the programs, and recorded nothing: a failure to start (2).
    if (end.events === 0 && (end.agentFailure === undefined || end.agentFailure === 'error')) return EXIT_USAGE;
    if (end.agentFailure) return await agentFailed(end, options.out, io);
  } catch (error) {
    printer.flush();
    capture.killAgent();
    const signal = signals.signal();
    if (signal) {
      io.stderr.write(`sockshare: interrupted (${signal}) while the tracer started: nothing was recorded\n`);
      return EXIT_INTERRUPTED[signal];
    }
    throw new InputError(`record: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    signals.remove();
  }
  return runCheck(options.out, { json: false, verbose: false }, io);
}
