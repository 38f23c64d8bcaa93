/**
 * The client side of a live capture: starts the tracer agent (natively or under Wine), connects with the one-time
 * token, and turns the agent's stream into trace events and stops. Knows nothing of the Win32 debug API.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TraceEvent, TraceHeader } from '../trace/schema';
import { TRACE_FORMAT, TRACE_VERSION } from '../trace/schema';
import { validateEvent } from '../trace/validate';
import { SpoolFollower, spoolFileOf } from './spool';
import { PreflightError, checkProgram, checkTraceOutput } from './preflight';
import { type AgentFailure, agentErrorText, agentFailureOf } from './agent-failure';
import { type AgentConfig, type AgentMessage, type CaptureStats, type ClientCommand, type StopReasonName } from './protocol';
import { type AgentRuntime, packageRoot } from './runtime';

export interface LiveLaunch {
  /** Host path of the program (a Windows .exe). */
  program: string;
  args?: string[];
  cwd?: string;
  /** Added to (or replacing) the agent's environment for this program. */
  env?: Record<string, string>;
}

export interface LiveOptions {
  runtime: AgentRuntime;
  launches: LiveLaunch[];
  /** Windows pids of running programs to attach to (as listWindowsProcesses gives them). */
  attaches?: number[];
  /** Host path of the trace file the agent writes. */
  traceFile: string;
  apis?: string[];
  capture?: 'breakpoints' | 'inprocess';
  ringSlots?: number;
  /** In-process capture, a full ring: wait (default) or drop (overwrite the oldest unread records, counted lost). */
  overflow?: 'wait' | 'drop';
  /** In-process capture: each call's stack too (the breakpoint path always records them). */
  stacks?: boolean;
  stopOn?: string[];
  stopOnReturn?: string[];
  stopOnEntry?: boolean;
  tracerVersion: string;
  /** The kinds of event handed on ('event'), or all: the trace's other lines are not even parsed. */
  follow?: readonly TraceEvent['kind'][];
  /**
   * The trace is written from the agent's spool at stops and at the end only, not as the programs run: the events of
   * the kinds in `follow` come in the agent's messages as they happen, and the client does not read a busy spool as it
   * grows (that cost a busy server some 3-6% of its rate). The spool holds everything meanwhile.
   */
  traceAtStops?: boolean;
}

export interface StopInfo {
  reason: StopReasonName;
  seq: number;
  pid: number;
  tid: number;
  api: string;
}

export type { AgentFailure } from './agent-failure';
export { agentErrorText } from './agent-failure';

export interface CaptureEnd {
  events: number;
  /** The agent's exit code (0: every program exited and the trace is complete); null when a signal ended it. */
  agentExitCode: number | null;
  /** Set when the agent did not end normally: the trace holds what it wrote before, `error` says why. */
  agentFailure?: AgentFailure;
  /** The signal that ended the agent, if one did. */
  agentSignal?: NodeJS.Signals;
  /** Why the capture did not end normally, in the agent's own words where it left any. */
  error?: string;
  /** Where the agent's time went, when it ended normally. */
  stats?: CaptureStats;
}

/** How long stop() lets the agent end the programs and the trace before it kills the agent. */
const STOP_GRACE_MS = 5000;

/** How long an agent whose connection closed before its end may take to exit before it is killed. */
const LOST_CONNECTION_GRACE_MS = 3000;

/**
 * The agent's spool is read when the agent says it wrote to it (a `written` message), and besides that this often,
 * should a message ever come late: a follower polling every 10 ms cost a busy server about 2% of its CPU.
 */
const FOLLOW_FALLBACK_MS = 100;


/** The prefix of the agent's scratch folder in the temp dir (removed when the capture ends). */
export const AGENT_DIR_PREFIX = 'sockshare-agent-';

/** Events: 'event' (TraceEvent), 'stopped' (StopInfo), 'end' (CaptureEnd). */
export class LiveCapture extends EventEmitter {
  private socket?: Socket;
  private agent?: ChildProcess;
  private workDir = '';
  private lastError?: string;
  /** The agent said the run is over ('end'): a connection that closes after it is the normal end. */
  private endReceived = false;
  private connectionLost = false;
  private lostTimer?: NodeJS.Timeout;
  /** The agent was killed because it did not exit after losing the connection. */
  private killedAfterLostConnection = false;
  /** The agent's spool, followed into the trace: the events come from there, not over the connection. */
  private spool?: SpoolFollower;
  /** The spool could not be followed: it is kept for what it holds. */
  private spoolBroken = false;
  private followTimer?: NodeJS.Timeout;
  /** Events in the trace file, handed on or not. */
  private eventsWritten = 0;
  private stats?: CaptureStats;
  private agentExited = false;
  private stopRequested = false;
  private stopTimer?: NodeJS.Timeout;
  /** If this process exits while the capture runs, the agent goes with it and its folder is removed. */
  private readonly onHostExit = () => {
    this.killAgent();
    this.removeWorkDir();
  };
  readonly finished: Promise<CaptureEnd>;
  private finish!: (end: CaptureEnd) => void;

  constructor(private readonly options: LiveOptions) {
    super();
    this.finished = new Promise((resolve) => (this.finish = resolve));
  }

  /**
   * Starts the agent and connects; resolves once the agent has accepted this client. Programs that are not x64
   * Windows executables and a trace file that cannot be written are refused first (PreflightError).
   * On failure nothing is left running and the agent's folder is removed.
   */
  async start(): Promise<void> {
    for (const launch of this.options.launches) checkProgram(launch.program);
    checkTraceOutput(this.options.traceFile, 'trace file');
    // A spool already there is a recording whose client died before it wrote the trace: never overwritten.
    const spool = spoolFileOf(this.options.traceFile);
    if (existsSync(spool)) throw new PreflightError(`${spool} holds an earlier recording whose trace was never finished (its record or debug session died): write it with \`sockshare recover ${spool}\`, or remove it`);
    const agentScript = join(packageRoot(), 'dist', 'agent.js');
    if (!existsSync(agentScript)) throw new Error(`the tracer agent is not built (${agentScript}): run npm run build`);
    this.workDir = mkdtempSync(join(tmpdir(), AGENT_DIR_PREFIX));
    process.on('exit', this.onHostExit);
    try {
      await this.startAgent(agentScript);
    } catch (error) {
      this.stopFollowing();
      this.killAgent();
      this.removeWorkDir();
      throw error;
    }
  }

  private async startAgent(agentScript: string): Promise<void> {
    const { runtime } = this.options;
    const token = randomBytes(24).toString('hex');
    const portFile = join(this.workDir, 'port');
    const header: TraceHeader = { format: TRACE_FORMAT, version: TRACE_VERSION, startTime: new Date().toISOString(), hostOs: process.platform, tracerVersion: this.options.tracerVersion, capture: { runtime: runtime.kind, mode: this.options.capture ?? 'breakpoints' } };
    const config: AgentConfig = {
      token,
      portFile: runtime.toAgentPath(portFile),
      traceFile: runtime.toAgentPath(spoolFileOf(this.options.traceFile)),
      header,
      launches: this.options.launches.map((l) => ({ program: runtime.toAgentPath(l.program), args: l.args ?? [], cwd: l.cwd ? runtime.toAgentPath(l.cwd) : undefined, env: l.env })),
      attaches: this.options.attaches,
      apis: this.options.apis,
      capture: this.options.capture,
      ringSlots: this.options.ringSlots,
      overflow: this.options.overflow,
      stacks: this.options.stacks,
      ringChunks: true,
      announce: this.announcedKinds(),
      stopOn: this.options.stopOn,
      stopOnReturn: this.options.stopOnReturn,
      stopOnEntry: this.options.stopOnEntry,
    };
    const configFile = join(this.workDir, 'config.json');
    writeFileSync(configFile, JSON.stringify(config), { mode: 0o600 });
    // Windows node.exe under Wine crashes on Linux pipes: its stdio goes to files.
    const log = openSync(join(this.workDir, 'agent.log'), 'w');
    // Its own process group on Linux: a Ctrl+C at the terminal reaches `record` alone, which ends the run in order.
    this.agent = spawn(runtime.command, [...runtime.args, runtime.toAgentPath(agentScript), runtime.toAgentPath(configFile)], { env: runtime.env, stdio: ['ignore', log, log], detached: process.platform !== 'win32', windowsHide: true });
    closeSync(log);
    this.agent.on('exit', (code, signal) => this.onAgentExit(code, signal));
    this.agent.on('error', (error) => {
      this.lastError ??= `cannot run the tracer agent (${runtime.command}): ${error.message}`;
      // A command that could not be spawned never emits 'exit'.
      if (this.agent?.pid === undefined && !this.agentExited) this.onAgentExit(null, null);
    });
    const port = await this.waitForPort(portFile);
    // The agent wrote the spool's header before its port: the file followed from here is this run's.
    this.spool = new SpoolFollower(spoolFileOf(this.options.traceFile), resolve(this.options.traceFile), { kinds: this.options.follow });
    if (!this.announcedKinds()) this.followTimer = setInterval(() => this.followTrace(), FOLLOW_FALLBACK_MS);
    this.socket = await this.connectWithToken(port, token);
  }

  private async waitForPort(portFile: string): Promise<number> {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if (existsSync(portFile)) return Number(readFileSync(portFile, 'utf8'));
      if (this.agentExited) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    if (this.stopRequested) throw new Error('the capture was stopped before the tracer agent started');
    if (!this.agentExited) throw new Error(`the tracer agent did not start within 120 s: ${this.agentLog() || 'no output'}`);
    const how = this.agent?.exitCode !== null ? `with code ${this.agent?.exitCode}` : `on ${this.agent?.signalCode}`;
    throw new Error(`the tracer agent exited ${how} before it started: ${this.lastError ?? (this.agentLog() || 'no output')}`);
  }

  private connectWithToken(port: number, token: string): Promise<Socket> {
    return new Promise((resolveSocket, reject) => {
      const socket = connect(port, '127.0.0.1');
      let buffered = '';
      socket.once('error', reject);
      socket.on('connect', () => {
        socket.off('error', reject);
        // Once connected, an error (a reset) is the connection's end: 'close' follows it.
        socket.on('error', () => undefined);
        socket.on('close', () => this.onConnectionClosed());
        socket.write(token + '\n');
      });
      socket.on('data', (chunk) => {
        buffered += chunk.toString('utf8');
        // A chunk holds hundreds of lines: each is cut from where the last ended, the rest kept once at the end.
        let start = 0;
        let newline: number;
        while ((newline = buffered.indexOf('\n', start)) >= 0) {
          const message = JSON.parse(buffered.slice(start, newline)) as AgentMessage;
          start = newline + 1;
          if (message.t === 'hello') resolveSocket(socket);
          this.onMessage(message);
        }
        buffered = buffered.slice(start);
      });
    });
  }

  /** The kinds of event the agent sends as they happen (traceAtStops), rather than the client reading them in the spool. */
  private announcedKinds(): TraceEvent['kind'][] | undefined {
    return this.options.traceAtStops ? [...(this.options.follow ?? [])] : undefined;
  }

  /**
   * Writes to the trace what the agent has spooled since the last look and hands on its events (those not handed on
   * from the agent's messages already). A spool that cannot be followed ends the capture, and is kept.
   */
  private followTrace(): void {
    const spool = this.spool;
    if (!spool) return;
    const events: TraceEvent[] = [];
    try {
      spool.readNew(events);
    } catch (error) {
      this.lastError ??= `the agent's spool cannot be followed (it is kept): ${error instanceof Error ? error.message : String(error)}`;
      this.spoolBroken = true;
      this.stopFollowing();
      this.stop();
    }
    this.eventsWritten = spool.eventCount;
    for (const event of events) this.emit('event', event);
  }

  private stopFollowing(): void {
    clearInterval(this.followTimer);
    this.spool?.close(!this.spoolBroken);
    this.spool = undefined;
  }

  private onMessage(message: AgentMessage): void {
    switch (message.t) {
      case 'stopped':
        // The agent flushed the spool before it stopped: every event up to the stop is read (and written) first.
        this.followTrace();
        this.emit('stopped', { reason: message.reason, seq: message.seq, pid: message.pid, tid: message.tid, api: message.api } satisfies StopInfo);
        return;
      case 'error':
        this.lastError = message.message;
        return;
      case 'written':
        this.followTrace();
        return;
      case 'events':
        this.handOnAnnounced(message.events);
        return;
      case 'end':
        this.endReceived = true;
        this.stats = message.stats;
        return;
      default:
        return;
    }
  }

  /** Events the agent sent (announce), checked as a reader checks them; the spool will not hand them on again. */
  private handOnAnnounced(sent: unknown[]): void {
    const spool = this.spool;
    if (!spool) return;
    let events: TraceEvent[];
    try {
      events = sent.map((event) => validateEvent(event));
    } catch (error) {
      this.lastError ??= `the agent sent an event no reader would accept: ${error instanceof Error ? error.message : String(error)}`;
      return this.stop();
    }
    for (const event of spool.notHandedOn(events)) this.emit('event', event);
  }

  private agentLog(): string {
    try {
      return readFileSync(join(this.workDir, 'agent.log'), 'utf8').trim();
    } catch {
      return '';
    }
  }

  /**
   * The connection closed. After the agent's 'end' that is the normal end; before it (and before the agent exited)
   * the session is lost: the agent is given a moment to exit on its own (it does when it loses its client), then
   * killed, and the capture ends as failed.
   */
  private onConnectionClosed(): void {
    if (this.endReceived || this.agentExited || this.stopRequested) return;
    this.connectionLost = true;
    this.lostTimer ??= setTimeout(() => {
      this.killedAfterLostConnection = true;
      this.killAgent();
    }, LOST_CONNECTION_GRACE_MS);
  }

  /** The agent's process ended: read what is still in flight on the connection first (up to 2 s), then finish. */
  private onAgentExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.agentExited = true;
    const socket = this.socket;
    if (socket && !socket.destroyed && !socket.readableEnded) {
      const timer = setTimeout(() => socket.destroy(), 2000);
      socket.once('close', () => {
        clearTimeout(timer);
        this.finishCapture(code, signal);
      });
      return;
    }
    this.finishCapture(code, signal);
  }

  private failureOf(code: number | null, signal: NodeJS.Signals | null): { failure: AgentFailure; error: string } | undefined {
    return agentFailureOf({
      code,
      signal,
      log: agentErrorText(this.agentLog()),
      reported: this.lastError,
      stopRequested: this.stopRequested,
      killedLateAfterStop: this.stopTimer !== undefined,
      stopGraceMs: STOP_GRACE_MS,
      killedAfterLostConnection: this.killedAfterLostConnection,
      connectionLost: this.connectionLost,
      endReceived: this.endReceived,
    });
  }

  private finishCapture(code: number | null, signal: NodeJS.Signals | null): void {
    // What the agent wrote to its end (or its death) is read, and in the trace, before the end is told.
    this.followTrace();
    this.stopFollowing();
    const failed = this.failureOf(code, signal);
    this.socket?.destroy();
    if (this.stopTimer) clearTimeout(this.stopTimer);
    if (this.lostTimer) clearTimeout(this.lostTimer);
    process.off('exit', this.onHostExit);
    this.removeWorkDir();
    const end: CaptureEnd = {
      events: this.eventsWritten,
      agentExitCode: code,
      ...(failed ? { agentFailure: failed.failure, error: failed.error } : {}),
      ...(signal ? { agentSignal: signal } : {}),
      ...(this.stats ? { stats: this.stats } : {}),
    };
    this.emit('end', end);
    this.finish(end);
  }

  send(command: ClientCommand): void {
    this.socket?.write(JSON.stringify(command) + '\n');
  }

  private removeWorkDir(): void {
    if (this.workDir) rmSync(this.workDir, { recursive: true, force: true });
  }

  /**
   * Ends the capture now: the traced programs are killed, the trace so far is kept. An agent that has not ended
   * within STOP_GRACE_MS (or is not connected yet) is killed, so it never outlives a stopped capture.
   */
  stop(): void {
    this.stopRequested = true;
    if (!this.agent || this.agentExited) return;
    if (!this.socket || this.socket.destroyed) return this.killAgent();
    this.send({ cmd: 'kill' });
    this.stopTimer ??= setTimeout(() => this.killAgent(), STOP_GRACE_MS);
  }

  /** Lets the programs go on without the tracer (every breakpoint and hook removed); the trace ends there. */
  detach(): void {
    this.stopRequested = true;
    if (!this.agent || this.agentExited) return;
    if (!this.socket || this.socket.destroyed) return this.killAgent();
    this.send({ cmd: 'detach' });
    this.stopTimer ??= setTimeout(() => this.killAgent(), STOP_GRACE_MS);
  }

  /** Kills the agent itself (its debuggees die with it: kill-on-exit). */
  killAgent(): void {
    if (this.agent && !this.agentExited) this.agent.kill('SIGKILL');
  }

  get agentPid(): number | undefined {
    return this.agent?.pid;
  }

  /** The agent's scratch folder (config, port, log); removed when the capture ends. */
  get agentFolder(): string | undefined {
    return this.workDir || undefined;
  }
}
