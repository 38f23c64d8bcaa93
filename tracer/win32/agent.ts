/**
 * The tracer agent: its own process (Windows Node.js, or Windows node.exe under Wine). It launches the programs
 * under the capture engine, writes the trace as events happen (its one client follows the file), tells the client of
 * stops and of the end, and obeys its commands.
 * Usage: node agent.js CONFIG.json
 */

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import type { AgentConfig, AgentMessage, ClientCommand } from '../capture/protocol';
import { HOOKED_APIS, type ApiEvent, type TraceEvent } from '../trace/schema';
import { TraceWriter } from '../trace/writer';
import { CaptureEngine } from './engine';
import type { ChunkSink, StopPlace, StopReason, UnstampedEvent } from './sink';
import { chunkTimeNs, ringChunkLine } from './inproc/ring-chunk';
import { RingRecordsWriter, ringRecordsFileOf } from './inproc/ring-records';
import { attachToProcess } from './attach';
import { type OutputPipe, launchUnderDebugger } from './launch';
import { DEFAULT_RING_SLOTS } from './inproc/recorder';

/** How long a pause waits for a hooked call before breaking into the program. */
const BREAK_IN_DELAY_MS = 300;
/** How long a launched program may take to show up (its CREATE_PROCESS_DEBUG_EVENT); a cold Wine start takes ~0.5 s. */
const LAUNCH_EVENT_TIMEOUT_MS = 30_000;
/**
 * How often the in-process rings are drained, the programs' output read and the trace flushed: every 20 ms while
 * records, debug-loop events or output flow (and while a stop holds one process), backing off to every 100 ms while
 * they trickle. Each poll is a few round trips to the Wine server, which the programs' own calls queue behind: a node
 * cluster server lost about 3% of its rate to a tracer polling every 10 ms with nothing to record.
 */
const PUMP_BUSY_MS = 20;
const PUMP_IDLE_MS = 100;
/** A drain that emptied more than this share of one ring keeps the busy pace: the stubs must not wait on a full ring. */
const BUSY_RING_SHARE = 1 / 32;
/** After a kill, how long the loop waits for the programs' exit events before it ends anyway. */
const KILL_GRACE_MS = 3000;

class Agent {
  private seq = 0;
  private readonly start = process.hrtime.bigint();
  private readonly writer: TraceWriter;
  /** The ring chunks' records, beside the spool (config.traceFile). */
  private readonly ringRecords: RingRecordsWriter;
  private readonly engine: CaptureEngine;
  private client?: Socket;
  private pipes: OutputPipe[] = [];
  private stopApis: Set<string>;
  private stopReturns: Set<string>;
  /** APIs whose return holds the program only when the call failed. */
  private stopFailures = new Set<string>();
  private stepping: { tid?: number } | undefined;
  private pausing = false;
  private entryPending: boolean;
  private release?: () => void;
  private detached = false;
  private processesStarted = 0;
  /** Set by a kill: the loop ends by then even if an exit event never comes. */
  private killDeadline?: number;
  /** Why the loop ended early (a launched program never appeared). */
  failure?: string;

  constructor(private readonly config: AgentConfig) {
    try {
      this.writer = TraceWriter.create(config.traceFile, config.header);
    } catch (error) {
      throw new Error(`cannot write the trace file ${config.traceFile}: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.ringRecords = new RingRecordsWriter(ringRecordsFileOf(config.traceFile));
    this.stopApis = new Set(config.stopOn ?? []);
    this.stopReturns = new Set(config.stopOnReturn ?? []);
    this.entryPending = config.stopOnEntry ?? false;
    this.announceKinds = config.announce && new Set(config.announce);
    this.busyDrain = (config.ringSlots ?? DEFAULT_RING_SLOTS) * BUSY_RING_SHARE;
    const chunks: ChunkSink | undefined = config.ringChunks
      ? {
          position: () => ({ seq: this.seq + 1, lastTimeNs: this.lastTimeNs, knownNow: this.knownNow }),
          reserve: (timeNs, count) => this.reserve(timeNs, count),
          storeRecords: (pieces) => this.ringRecords.append(pieces),
          write: (chunk) => this.writer.queueLine(ringChunkLine(chunk), this.seq),
        }
      : undefined;
    this.engine = new CaptureEngine({ record: (e, timeNs) => this.record(e, timeNs), stamp: (e, timeNs) => this.stamp(e, timeNs), now: () => this.now(), flush: () => this.flushTrace(), chunks }, { shouldStop: (c) => this.shouldStop(c), hold: (r, p) => this.hold(r, p) }, config.apis, {
      capture: config.capture,
      ringSlots: config.ringSlots,
      overflow: config.overflow,
      stacks: config.stacks,
      // In process, the stubs go in before the first call: stopping on entry arms every stub until that stop.
      breakpointApis: this.entryPending && config.capture === 'inprocess' ? HOOKED_APIS : [...(config.stopOn ?? []), ...(config.stopOnReturn ?? [])],
    });
  }

  private lastTimeNs = 0;

  /** The trace clock's latest reading (each reading is a QueryPerformanceCounter, ~0.3 µs under Wine). */
  private knownNow = 0;

  /** The trace clock: nanoseconds since the recording started. */
  now(): number {
    this.knownNow = Number(process.hrtime.bigint() - this.start);
    return this.knownNow;
  }

  /**
   * Sends a message to the client at once. Events are not messages: the client follows the trace file, so each event
   * is serialised and written once (a socket write is also a round trip to the Wine server).
   */
  send(message: AgentMessage): void {
    const started = process.hrtime.bigint();
    this.client?.write(JSON.stringify(message) + '\n');
    this.writeNs += Number(process.hrtime.bigint() - started);
  }

  /** Time spent writing: the trace file's batches and the client's messages (nanoseconds). */
  private writeNs = 0;

  /** The last seq the client was told is in the spool. */
  private seqToldWritten = 0;

  /** The kinds of event the client wants sent (config.announce), and those recorded but not sent yet. */
  private readonly announceKinds?: ReadonlySet<string>;
  private unannounced: TraceEvent[] = [];

  /**
   * Flushes the trace and tells the client of what it holds that the client was not told of (auto-flushed lines too):
   * that there is more to read, or (announce) the events it wants.
   */
  private flushTrace(): void {
    const started = process.hrtime.bigint();
    this.writer.flush();
    this.writeNs += Number(process.hrtime.bigint() - started);
    if (this.announceKinds) {
      if (this.unannounced.length === 0) return;
      const events = this.unannounced;
      this.unannounced = [];
      return this.send({ t: 'events', events });
    }
    if (this.seq === this.seqToldWritten) return;
    this.seqToldWritten = this.seq;
    this.send({ t: 'written' });
  }

  /**
   * Queues the event for the trace file (flushed before the programs go on: see run and hold); the client reads it there.
   * `timeNs`: when it happened (a call recorded in the process), kept within the trace's order: times never go back.
   */
  record(unstamped: UnstampedEvent, timeNs?: number): number {
    return this.stamp({ seq: 0, timeNs: 0, ...unstamped } as TraceEvent, timeNs);
  }

  /** Records an event whose first keys are placeholders `seq` and `timeNs`: they are set in place, no copy. */
  stamp(event: TraceEvent, timeNs?: number): number {
    // A drained call's own time is before the clock reading the drain began with: no reading needed per record.
    const now = timeNs !== undefined && timeNs <= this.knownNow ? this.knownNow : this.now();
    const at = Math.max(this.lastTimeNs, timeNs === undefined ? now : Math.min(now, Math.round(timeNs)));
    this.lastTimeNs = at;
    event.seq = ++this.seq;
    event.timeNs = at;
    if (event.kind === 'process-start') this.processesStarted++;
    this.writer.queue(event);
    if (this.announceKinds?.has(event.kind)) this.unannounced.push(event);
    return event.seq;
  }

  /** Gives ring chunk events their seqs and time (chunkTimeNs): the chunk's reader decodes them, nothing is written. */
  private reserve(timeNs?: number, count = 1): number {
    this.lastTimeNs = chunkTimeNs(this.lastTimeNs, this.knownNow, timeNs);
    this.seq += count;
    return this.seq;
  }

  /** Stops at entries: stop on entry, a pause, a step, a stop API; at returns: a step, a stop-on-return API. */
  private shouldStop(event: ApiEvent): StopReason | undefined {
    if (event.phase === 'call' && this.entryPending) {
      this.entryPending = false;
      if (this.config.capture === 'inprocess') this.engine.setBreakpointApis([...this.stopApis, ...this.stopReturns], [...this.stopFailures]);
      return 'entry';
    }
    if (this.pausing) {
      this.pausing = false;
      return 'pause';
    }
    if (this.stepping && (this.stepping.tid === undefined || this.stepping.tid === event.tid)) return 'step';
    if (event.phase === 'return' && event.error !== undefined && this.stopFailures.has(event.api)) return 'breakpoint';
    const stops = event.phase === 'call' ? this.stopApis : this.stopReturns;
    return stops.has(event.api) ? 'breakpoint' : undefined;
  }

  /** The debuggee stays stopped at the call's entry until the client continues: the debug event is not continued. */
  private hold(reason: StopReason, place: StopPlace): Promise<void> {
    this.stepping = undefined;
    this.pausing = false;
    this.flushTrace();
    this.send({ t: 'stopped', reason, seq: place.event?.seq ?? 0, pid: place.pid, tid: place.tid, api: place.event?.api ?? '' });
    // The other processes run on while one is held: their rings are still drained, or their stubs would wait on a
    // full ring until the user lets this one go.
    const drainWhileHeld = this.config.capture === 'inprocess' ? setInterval(() => this.pumpOutput(true), PUMP_BUSY_MS) : undefined;
    return new Promise<void>((resolve) => (this.release = resolve)).finally(() => clearInterval(drainWhileHeld));
  }

  private resume(): void {
    const release = this.release;
    this.release = undefined;
    release?.();
  }

  command(command: ClientCommand): void {
    switch (command.cmd) {
      case 'continue':
        return this.resume();
      case 'step':
        // Stepping stops at every hooked call: none may stay in the process's stubs.
        if (this.config.capture === 'inprocess') this.engine.setBreakpointApis(HOOKED_APIS);
        this.stepping = { tid: command.tid };
        return this.resume();
      case 'pause':
        if (this.release) return;
        // The next hooked call stops; a program that makes none for a while is broken into (DebugBreakProcess).
        // Not at once: under Wine a break-in thread arriving after the pause was taken at a call sometimes ends
        // the whole process.
        this.pausing = true;
        setTimeout(() => {
          if (this.pausing && !this.release) this.engine.requestBreak();
        }, BREAK_IN_DELAY_MS);
        return;
      case 'setStops':
        this.stopApis = new Set(command.apis);
        this.stopReturns = new Set(command.returns ?? []);
        this.stopFailures = new Set(command.failures ?? []);
        this.engine.setBreakpointApis([...command.apis, ...(command.returns ?? [])], command.failures);
        return;
      case 'detach':
        this.detached = true;
        this.resume();
        return;
      case 'kill':
        this.engine.kill();
        this.killDeadline ??= Date.now() + KILL_GRACE_MS;
        return this.resume();
    }
  }

  launch(): void {
    for (const spec of this.config.launches) {
      this.pipes.push(...launchUnderDebugger(spec).output);
      this.engine.expectLaunch();
    }
    for (const pid of this.config.attaches ?? []) {
      attachToProcess(pid);
      this.engine.expectAttach(pid);
    }
  }

  private lastPump = 0;
  private pumpInterval = PUMP_BUSY_MS;
  private seqAtPump = 0;
  private readonly busyDrain: number;

  /** Drains the rings and forwards what the programs wrote, when the pace says so (or `force`). */
  private pumpOutput(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastPump < this.pumpInterval) return;
    this.lastPump = now;
    // Events the debug loop recorded since the last pump (stops, starts, a call on the breakpoint path): the client
    // should see them soon, and sees them once the trace is flushed below.
    const recordedByLoop = this.seq - this.seqAtPump;
    const drained = this.engine.drain();
    let output = false;
    for (const pipe of this.pipes) {
      const text = pipe.drain();
      if (!text) continue;
      output = true;
      this.record({ kind: 'output', pid: 0, stream: pipe.stream, text });
    }
    this.flushTrace();
    this.seqAtPump = this.seq;
    this.pumpInterval = drained > this.busyDrain || recordedByLoop > 0 || output ? PUMP_BUSY_MS : Math.min(PUMP_IDLE_MS, this.pumpInterval * 2);
  }

  /** How long the debug loop may wait for a debug event: until the next pump is due. */
  private untilPump(): number {
    return Math.max(1, this.lastPump + this.pumpInterval - Date.now());
  }

  get isDetached(): boolean {
    return this.detached;
  }

  forgetClient(): void {
    this.client = undefined;
  }

  /** Nothing launched was recorded: the trace file would hold its header alone. */
  abandonTrace(): void {
    this.writer.close();
    this.ringRecords.close();
    if (this.seq === 0) rmSync(this.config.traceFile, { force: true });
  }

  /** Ends the loop early: a kill whose exit events did not come, or a launched program that never appeared. */
  private giveUp(launchedAt: number): boolean {
    const now = Date.now();
    if (this.killDeadline !== undefined && now > this.killDeadline) return true;
    if (this.processesStarted < this.config.launches.length + (this.config.attaches?.length ?? 0) && now - launchedAt > LAUNCH_EVENT_TIMEOUT_MS) {
      this.failure = `a launched program did not start under the debugger within ${LAUNCH_EVENT_TIMEOUT_MS / 1000} s (no CREATE_PROCESS_DEBUG_EVENT)`;
      this.engine.kill();
      return true;
    }
    return false;
  }

  /**
   * The debug loop. Node gets a turn (the client's commands, timers) at least every 5 ms and whenever no debug event
   * is waiting; not after every event, since each turn of the event loop is itself a round trip under Wine.
   */
  async run(): Promise<void> {
    let lastTurn = Date.now();
    const launchedAt = lastTurn;
    let handled = false;
    while (this.engine.live && !this.detached && !this.giveUp(launchedAt)) {
      handled = await this.engine.step(handled ? 0 : this.untilPump());
      this.pumpOutput();
      if (!handled || Date.now() - lastTurn >= 5) {
        await new Promise((resolve) => setImmediate(resolve));
        lastTurn = Date.now();
      }
    }
    if (this.detached) {
      this.engine.detach();
      // The programs run on: keep their output pipes read (and forwarded) until they close them, or they would
      // die writing to a pipe nobody reads.
      while (this.pipes.some((p) => !p.ended)) {
        this.pumpOutput(true);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    this.pumpOutput(true);
    for (const pipe of this.pipes) pipe.close();
    this.writer.close();
    this.ringRecords.close();
    if (this.failure) this.send({ t: 'error', message: this.failure });
    this.send({ t: 'end', events: this.seq, stats: { ...this.engine.stats, writeNs: this.writeNs } });
  }
}

function waitForClient(server: Server, token: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no client presented the token within ${timeoutMs} ms`)), timeoutMs);
    server.on('connection', (socket) => {
      let buffered = '';
      const onData = (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        const newline = buffered.indexOf('\n');
        if (newline < 0 && buffered.length < 256) return;
        socket.off('data', onData);
        if (buffered.slice(0, newline).trim() !== token) {
          socket.destroy();
          return;
        }
        clearTimeout(timer);
        // One client only: stop listening once it is in.
        server.close();
        socket.unshift(Buffer.from(buffered.slice(newline + 1)));
        resolve(socket);
      };
      socket.on('data', onData);
      socket.on('error', () => socket.destroy());
    });
  });
}

async function main(): Promise<void> {
  const configFile = process.argv[2];
  if (!configFile) throw new Error('usage: agent CONFIG.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as AgentConfig;
  rmSync(configFile, { force: true });
  // Kill-on-exit stays on, attached programs included (it is the default of the debug object the first launch or
  // attach creates): an agent that dies cannot take out its int3s and hooks, and a program left with them would die or
  // hang at the next one. A lost client, or a detach, lets attached programs go with every patch removed (below).
  const agent = new Agent(config);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  writeFileSync(config.portFile + '.tmp', String(port));
  renameSync(config.portFile + '.tmp', config.portFile);
  const client = await waitForClient(server, config.token, config.connectTimeoutMs ?? 30000);
  Object.assign(agent, { client });
  agent.send({ t: 'hello', agentPid: process.pid });
  let lines = '';
  client.on('data', (chunk) => {
    lines += chunk.toString('utf8');
    let newline: number;
    while ((newline = lines.indexOf('\n')) >= 0) {
      const line = lines.slice(0, newline);
      lines = lines.slice(newline + 1);
      if (line.trim()) agent.command(JSON.parse(line) as ClientCommand);
    }
  });
  // Losing the client ends the session: the debuggees are killed with the agent (kill-on-exit).
  client.on('close', () => {
    // Detached programs outlive the session; otherwise losing the client ends it.
    if (agent.isDetached) agent.forgetClient();
    else if (config.attaches?.length) {
      // Programs attached to were running before: they are let go (every int3 out), not left to die on one.
      agent.forgetClient();
      agent.command({ cmd: 'detach' });
    } else process.exit(3);
  });
  try {
    agent.launch();
  } catch (error) {
    // Programs already launched die with the agent (kill-on-exit); a trace with no event is not left behind.
    agent.abandonTrace();
    agent.send({ t: 'error', message: error instanceof Error ? error.message : String(error) });
    await new Promise<void>((resolve) => client.end(() => resolve()));
    process.exit(2);
  }
  await agent.run();
  await new Promise<void>((resolve) => client.end(() => resolve()));
  process.exit(agent.failure ? 2 : 0);
}

main().catch((error) => {
  process.stderr.write(`sockshare agent: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(2);
});
