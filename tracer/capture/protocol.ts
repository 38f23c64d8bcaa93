/**
 * The tracer agent's wire protocol: JSON lines over one loopback TCP connection. The client's first line must be
 * the one-time token from the agent's configuration; anything else closes the connection. The events themselves
 * are not sent: the client follows the trace file, which the agent has flushed before it says `stopped` or `end`.
 * A client that wants only a few kinds of event as the programs run has them sent instead (`announce`).
 */

import type { TraceEvent, TraceHeader } from '../trace/schema';

export interface AgentLaunch {
  /** Windows path of the program. */
  program: string;
  args: string[];
  cwd?: string;
  env?: Record<string, string>;
}

export interface AgentConfig {
  token: string;
  /** Where the agent writes the port it listens on (then renames `.tmp` into place). */
  portFile: string;
  /** Where the agent writes the trace (Windows path); each event is written as it happens. */
  traceFile: string;
  header: TraceHeader;
  launches: AgentLaunch[];
  /** Windows pids of running programs to attach to (DebugActiveProcess); they outlive the agent and are detached at its end. */
  attaches?: number[];
  /** Hooked APIs (default: all the engine knows). */
  apis?: string[];
  /** breakpoints (default): a debug event per call; inprocess: stubs record register-only calls in the process. */
  capture?: 'breakpoints' | 'inprocess';
  /** In-process capture: records per process ring (a power of two; default 262,144 = 16 MB). */
  ringSlots?: number;
  /** In-process capture, a full ring: wait (default) makes the stubs wait for the drain; drop overwrites and counts. */
  overflow?: 'wait' | 'drop';
  /**
   * In-process capture: the drains may write their records undecoded, as ring chunks (tracer/win32/inproc/ring-chunk.ts)
   * between the trace's events; the client expands them. Without it every event is written decoded.
   */
  ringChunks?: boolean;
  /** In-process capture: each call record carries the call's stack, symbolized at the drain. */
  stacks?: boolean;
  /**
   * The client reads the spool only at stops and at the end: events of these kinds are sent to it in `events`
   * messages once they are in the spool, and no `written` message is sent (no read of a busy spool as it grows).
   */
  announce?: TraceEvent['kind'][];
  /** APIs whose entry holds the program. */
  stopOn?: string[];
  /** APIs whose return holds the program (the debugger's finding filters stop right after the call). */
  stopOnReturn?: string[];
  stopOnEntry?: boolean;
  /** Milliseconds to wait for the client before giving up. */
  connectTimeoutMs?: number;
}

/**
 * The agent's exit codes: 0 the run ended (every program exited, was killed on request, or was detached) and the
 * trace is complete; 2 it failed (a program it could not launch, an uncaught error: its stderr says which); 3 it
 * lost its client mid-run (the programs died with it). Anything else, or a signal, is a death it could not report.
 */
export const AGENT_EXIT_OK = 0;
export const AGENT_EXIT_FAILED = 2;
export const AGENT_EXIT_CLIENT_LOST = 3;

/** Where the agent's time went (nanoseconds), for the benchmark. */
export interface CaptureStats {
  debugEvents: number;
  /**
   * Get/SetThreadContext calls on the programs' threads, apart from those at ExitProcess. Under Wine each one makes the
   * wineserver set that thread's debug registers, which slows every context switch on the machine while it lives.
   */
  threadContextCalls: number;
  waitNs: number;
  handleNs: number;
  continueNs: number;
  /** In-process capture: events recorded from the rings, and the agent's time spent draining them. */
  ringEvents?: number;
  drainNs?: number;
  /** The agent's CPU time during those drains (measured in bursts; elsewhere the time spent stands for it). */
  drainCpuNs?: number;
  /** Drains, and the time spent in those that found nothing. */
  drains?: number;
  idleDrainNs?: number;
  /** Writing the trace file and the client's messages. */
  writeNs?: number;
  /** Stacks walked on the breakpoint path and the time spent walking and symbolizing them. */
  stacks?: number;
  stackNs?: number;
}

export type StopReasonName = 'entry' | 'breakpoint' | 'step' | 'pause';

export type AgentMessage =
  | { t: 'hello'; agentPid: number }
  /** seq 0 and api '' when the stop is not at a hooked call (a pause between calls). */
  | { t: 'stopped'; reason: StopReasonName; seq: number; pid: number; tid: number; api: string }
  | { t: 'error'; message: string }
  /** The agent has written to its spool: the client reads it now rather than at its next look. */
  | { t: 'written' }
  /** With `announce`: the events of those kinds just flushed to the spool, in order. */
  | { t: 'events'; events: TraceEvent[] }
  | { t: 'end'; events: number; stats?: CaptureStats };

export type ClientCommand =
  | { cmd: 'continue' }
  /** Run to the next hooked call's entry or return: of any thread, or of one thread. */
  | { cmd: 'step'; tid?: number }
  | { cmd: 'pause' }
  /** Hold at the entry of `apis`, at the return of `returns`, and at the return of `failures` when the call failed. */
  | { cmd: 'setStops'; apis: string[]; returns?: string[]; failures?: string[] }
  | { cmd: 'detach' }
  | { cmd: 'kill' };
