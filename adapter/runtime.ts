/**
 * The debugger's runtime over an event source: a cursor over the events, the model as of the cursor, stepping
 * forward and (on recordings) backward, breakpoints and finding filters. It knows nothing of DAP (the session
 * translates), and asks the model for every Winsock meaning.
 */

import { EventEmitter } from 'node:events';
import { ShareModel, Timeline, type Finding } from '../tracer/model';
import { formatCall } from '../tracer/export/format';
import type { ApiCallEvent, ApiEvent, TraceEvent } from '../tracer/trace/schema';
import type { CaptureEnd, StopInfo } from '../tracer/capture/live';
import { Breakpoints } from './breakpoints';
import type { EventSource } from './source';

export type StopReason = 'entry' | 'step' | 'breakpoint' | 'function breakpoint' | 'exception' | 'pause' | 'goto';

export interface RuntimeStop {
  reason: StopReason;
  /** Index of the event the cursor is on. */
  index: number;
  tid: number;
  description: string;
  text?: string;
  findings?: Finding[];
  breakpointIds?: number[];
}

type Direction = 'forward' | 'backward';
/** What ends a movement besides breakpoints and filters: any hooked event, or one of a thread. */
type StepTarget = { tid?: number } | undefined;

/** Events between checkpoints: stepping back replays at most this many; memory holds length / interval snapshots. */
const CHECKPOINT_INTERVAL = 4096;
/** Calls printed to the console per movement; more are summarised. */
const PRINT_LIMIT = 500;

/** Events: 'stopped' (RuntimeStop), 'output' (text, category), 'end' (CaptureEnd | undefined). */
export class TraceRuntime extends EventEmitter {
  private timeline!: Timeline;
  /** Events applied to the model the cursor shows (the cursor is the last of them). */
  private position = 0;
  /** The model when the cursor is behind the frontier; at the frontier the timeline's forward model is used. */
  private behind?: ShareModel;
  private pauseRequested = false;
  private printed = 0;
  /** Console lines of the current movement, sent as one output when it ends. */
  private consoleLines: string[] = [];
  private lastStop?: RuntimeStop;
  private liveStep: StepTarget | 'continue' = 'continue';
  private pendingFinding?: Finding[];
  private ended = false;

  /** `breakpoints`: those the client set before the launch, if any. */
  constructor(
    readonly source: EventSource,
    readonly breakpoints = new Breakpoints(),
  ) {
    super();
  }

  get live(): boolean {
    return this.source.live;
  }

  get model(): ShareModel {
    return this.behind ?? this.timeline.forward;
  }

  get cursor(): number {
    return this.position - 1;
  }

  get length(): number {
    return this.timeline.length;
  }

  event(index = this.cursor): TraceEvent | undefined {
    return index >= 0 && index < this.timeline.length ? this.timeline.at(index) : undefined;
  }

  /** The entry event of the call an api event belongs to. */
  callOf(event: ApiEvent): ApiCallEvent | undefined {
    if (event.phase === 'call') return event;
    const e = this.event(this.timeline.indexOfSeq(event.callSeq));
    return e?.kind === 'api' && e.phase === 'call' ? e : undefined;
  }

  get stop(): RuntimeStop | undefined {
    return this.lastStop;
  }

  async start(stopOnEntry: boolean, startAtSeq?: number): Promise<void> {
    await this.source.start();
    this.timeline = new Timeline(this.source.store, CHECKPOINT_INTERVAL);
    if (this.live) {
      this.source.on('event', () => this.onLiveEvents());
      this.source.on('stopped', (stop: StopInfo) => this.onLiveStop(stop));
      this.source.on('end', (end: CaptureEnd) => this.onEnd(end));
      this.applyLiveStops();
      return;
    }
    if (startAtSeq !== undefined) {
      this.moveTo(Math.max(0, this.timeline.indexOfSeq(startAtSeq)));
      this.emitStop('goto', `Replaying from event ${startAtSeq}`);
    } else if (stopOnEntry) {
      const first = this.findForward(0, (e) => e.kind === 'api' && !e.internal);
      this.moveTo(first ?? 0);
      this.emitStop('entry', 'Stopped at the first hooked call');
    } else await this.replay('forward', undefined);
  }

  /** After a change of breakpoints or filters: tell a live agent where to hold the programs. */
  applyLiveStops(): void {
    if (!this.live) return;
    this.source.setStops(this.breakpoints.liveStops());
  }

  // ---- Movement ----

  continue(): Promise<void> {
    return this.run('forward', undefined);
  }

  reverseContinue(): Promise<void> {
    return this.run('backward', undefined);
  }

  /** The next hooked event of this thread (`tid`), or of any thread. */
  step(tid?: number): Promise<void> {
    return this.run('forward', { tid });
  }

  stepBack(tid?: number): Promise<void> {
    return this.run('backward', { tid });
  }

  pause(): void {
    if (this.live) this.source.pause();
    else this.pauseRequested = true;
  }

  /** Moves a recording's cursor to the event with this seq (the handoff diagram's boxes). */
  goto(seq: number): void {
    if (this.live) return;
    this.moveTo(Math.max(0, this.timeline.indexOfSeq(seq)));
    this.emitStop('goto', `Moved to event ${seq}`);
  }

  private async run(direction: Direction, target: StepTarget): Promise<void> {
    if (this.live) {
      if (direction === 'backward') throw new Error('a live session cannot run backwards; record it and replay the trace');
      this.liveStep = target ?? 'continue';
      this.source.resume(target);
      return;
    }
    try {
      await this.replay(direction, target);
    } catch (error) {
      // The recording cannot be read on (a malformed line): stop where the cursor got to, so the client is not left running.
      this.emitStop('step', 'Cannot read the recording further', error instanceof Error ? error.message : String(error));
      throw error;
    }
  }

  private async replay(direction: Direction, target: StepTarget): Promise<void> {
    this.pauseRequested = false;
    this.printed = 0;
    if (direction === 'forward') await this.runForward(target);
    else this.runBackward(target);
  }

  private async runForward(target: StepTarget): Promise<void> {
    let moved = 0;
    while (this.position < this.timeline.length) {
      const event = this.advance();
      if (this.checkStop(event, target, 'forward')) return;
      // Let a pause request in: a long run over a large recording yields now and then.
      if (++moved % 20000 === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        if (this.pauseRequested) return this.emitStop('pause', 'Paused');
      }
    }
    this.emitStop('step', 'End of the recording', 'The recording ends here: step back or reverse-continue to go on.');
  }

  private runBackward(target: StepTarget): void {
    for (let index = this.cursor - 1; index >= 0; index--) {
      const event = this.timeline.at(index);
      if (this.wouldStop(event, target, 'backward')) {
        this.moveTo(index);
        this.checkStop(event, target, 'backward');
        return;
      }
    }
    this.moveTo(0);
    this.emitStop('step', 'Start of the recording', 'The recording starts here.');
  }

  /** Applies the next event; the cursor moves onto it. */
  private advance(): TraceEvent {
    const index = this.position;
    const event = this.timeline.at(index);
    if (this.behind) {
      this.behind.apply(event);
      if (index + 1 === this.timeline.frontier) this.behind = undefined;
    } else this.timeline.extendTo(index + 1);
    this.position++;
    this.print(event);
    return event;
  }

  /** Puts the cursor on the event at `index` (forward by applying, backward from a checkpoint). */
  private moveTo(index: number): void {
    const position = index + 1;
    if (position === this.position) return;
    if (position > this.position && !this.behind && position >= this.timeline.frontier) {
      this.timeline.extendTo(position);
    } else if (position === this.timeline.frontier) {
      this.behind = undefined;
    } else {
      this.timeline.extendTo(Math.max(position, this.timeline.frontier));
      this.behind = position === this.timeline.frontier ? undefined : this.timeline.after(position);
    }
    this.position = position;
  }

  private findForward(from: number, test: (e: TraceEvent) => boolean): number | undefined {
    for (let i = from; i < this.timeline.length; i++) if (test(this.timeline.at(i))) return i;
    return undefined;
  }

  /** Would the cursor stop on this event (without side effects: used while scanning backwards)? */
  private wouldStop(event: TraceEvent, target: StepTarget, direction: Direction): boolean {
    if (event.kind === 'api' && !event.internal) {
      if (target && (target.tid === undefined || target.tid === event.tid)) return true;
      if (this.breakpoints.atCall(event, direction === 'forward').stopIds.length > 0) return true;
    }
    return this.breakpoints.stoppingFindings(this.timeline.forward.findingsRaisedAt(event.seq)).length > 0;
  }

  /** Stops on the event the cursor just reached if a breakpoint, a filter or the step target says so. */
  private checkStop(event: TraceEvent, target: StepTarget, direction: Direction): boolean {
    const findings = this.breakpoints.stoppingFindings(this.timeline.forward.findingsRaisedAt(event.seq));
    if (findings.length > 0) {
      this.emitFindingStop(findings, event);
      return true;
    }
    if (event.kind !== 'api' || event.internal) return false;
    const hit = this.breakpoints.atCall(event, direction === 'forward');
    // Queued with the calls printed so far, so the Debug Console keeps the order of events.
    for (const line of hit.logs) this.consoleLines.push(`${line}\n`);
    if (hit.stopIds.length > 0) {
      this.emitStop('function breakpoint', `Breakpoint at ${event.api}`, undefined, { breakpointIds: hit.stopIds }, event);
      return true;
    }
    if (target && (target.tid === undefined || target.tid === event.tid)) {
      this.emitStop('step', event.phase === 'call' ? `Entering ${event.api}` : `Returned from ${event.api}`, undefined, {}, event);
      return true;
    }
    return false;
  }

  private emitFindingStop(findings: Finding[], event: TraceEvent): void {
    const [first] = findings;
    const kind = first.severity === 'error' ? 'Error' : first.severity === 'warning' ? 'Warning' : 'Note';
    this.emitStop('exception', `${kind}: ${first.rule} (events ${first.events.join(', ')})`, findings.map((f) => `${f.rule}: ${f.message}`).join('\n'), { findings }, event);
  }

  private flushConsole(): void {
    if (this.consoleLines.length === 0) return;
    this.emit('output', this.consoleLines.join(''), 'console');
    this.consoleLines = [];
  }

  /**
   * Stops at `at` (default: the event at the cursor). Live, the cursor may have moved past the held call (output
   * streamed after it), so callers name the event the stop is about.
   */
  private emitStop(reason: StopReason, description: string, text?: string, extra: Partial<RuntimeStop> = {}, at?: TraceEvent): void {
    this.flushConsole();
    const index = at ? this.timeline.indexOfSeq(at.seq) : this.cursor;
    this.lastStop = { reason, index, tid: this.threadAt(index), description, text, ...extra };
    this.emit('stopped', this.lastStop);
  }

  /** The thread of the event at `index`, or of the latest one before it with a thread (a process exit or output has none). */
  private threadAt(index: number): number {
    for (let i = index, scanned = 0; i >= 0 && scanned < 100_000; i--, scanned++) {
      const e = this.event(i);
      if (e && 'tid' in e) return e.tid;
    }
    return this.lastStop?.tid ?? 0;
  }

  /** Each hooked call, as the cursor passes its return, goes to the Debug Console. */
  private print(event: TraceEvent): void {
    if (event.kind === 'output') {
      this.flushConsole();
      this.emit('output', event.text, event.stream);
      return;
    }
    if (event.kind !== 'api' || event.phase !== 'return') return;
    const call = this.callOf(event);
    if (!call || call.internal) return;
    this.printed++;
    if (this.printed <= PRINT_LIMIT) this.consoleLines.push(`#${call.seq} pid ${call.pid} tid ${call.tid}  ${formatCall(call, event)}\n`);
    else if (this.printed === PRINT_LIMIT + 1) this.consoleLines.push(`… (more calls not printed)\n`);
  }

  // ---- Live sessions: the agent holds the programs; the runtime decides whether a hold is a stop. ----

  private onLiveEvents(): void {
    while (this.position < this.timeline.length) {
      const event = this.advance();
      // A finding no call can be held for (a process exit): stop the programs as soon as the agent can.
      if (event.kind !== 'api') {
        const findings = this.breakpoints.stoppingFindings(this.timeline.forward.findingsRaisedAt(event.seq));
        if (findings.length > 0) {
          this.pendingFinding = findings;
          this.source.pause();
        }
      }
    }
    this.flushConsole();
    this.printed = 0;
  }

  private onLiveStop(stop: StopInfo): void {
    this.onLiveEvents();
    const event = stop.seq ? this.event(this.timeline.indexOfSeq(stop.seq)) : undefined;
    const step = this.liveStep === 'continue' ? undefined : this.liveStep;
    if (stop.reason === 'entry') return this.emitStop('entry', `Stopped at the first hooked call`, undefined, {}, event);
    if (stop.reason === 'pause') {
      const findings = this.pendingFinding;
      this.pendingFinding = undefined;
      if (findings) return this.emitFindingStop(findings, event ?? this.event()!);
      return this.emitStop('pause', 'Paused', undefined, stop.tid ? { tid: stop.tid } : {}, event);
    }
    if (event && this.checkStop(event, stop.reason === 'step' ? (step ?? {}) : step, 'forward')) return;
    // Held for a breakpoint whose condition or hit count says no, or a filter that found nothing: go on.
    this.source.resume(step);
  }

  private onEnd(end: CaptureEnd | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.onLiveEvents();
    this.emit('end', end);
  }
}
