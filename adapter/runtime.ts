/**
 * The debugger's runtime over an event source: a cursor over the events, the model as of the cursor, stepping
 * forward and (on recordings) backward, breakpoints and finding filters. It knows nothing of DAP (the session
 * translates), and asks the model for every Winsock meaning.
 */

import type { Finding } from '../tracer/model';
import { formatCall } from '../tracer/describe';
import type { TraceEvent } from '../tracer/trace/schema';
import type { CaptureEnd, StopInfo } from '../tracer/capture/live';
import { Breakpoints } from './breakpoints';
import { ConsoleOutput } from './console-output';
import type { EventSource } from './source';
import { stoppingFindingsBetween } from './step-findings';
import { TraceCursor, isHookedEvent, endsThread, beginsThread } from './cursor';

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
/**
 * What ends a movement besides breakpoints and filters: any hooked event, or one of a thread. A thread step whose
 * thread ends (forward) or begins (backward) on the way goes on to the next hooked event of any thread, as a debugger
 * steps out of a thread that exits: `tid` becomes undefined and `leftThread` remembers which one ended.
 */
type StepTarget = { tid?: number; leftThread?: number } | undefined;


/** Events: 'stopped' (RuntimeStop), 'output' (text, category), 'end' (CaptureEnd | undefined). */
export class TraceRuntime extends TraceCursor {
  private pauseRequested = false;
  /** The Debug Console's lines of the current movement, and the held output of the launch's first run. */
  private readonly console = new ConsoleOutput((text, category) => this.emit('output', text, category), () => this.cursor);
  private lastStop?: RuntimeStop;
  private liveStep: StepTarget | 'continue' = 'continue';
  private pendingFinding?: Finding[];
  private ended = false;

  /** `breakpoints`: those the client set before the launch, if any. */
  constructor(
    source: EventSource,
    readonly breakpoints = new Breakpoints(),
  ) {
    super(source);
  }

  get stop(): RuntimeStop | undefined {
    return this.lastStop;
  }

  async start(stopOnEntry: boolean, startAtSeq?: number): Promise<void> {
    await this.source.start();
    this.open();
    if (this.live) {
      this.source.on('event', () => this.onLiveEvents());
      this.source.on('stopped', (stop: StopInfo) => this.onLiveStop(stop));
      this.source.on('end', (end: CaptureEnd) => this.onEnd(end));
      this.applyLiveStops();
      if (this.pauseRequested) this.source.pause();
      return;
    }
    if (startAtSeq !== undefined) {
      this.moveTo(Math.max(0, this.indexOfSeq(startAtSeq)));
      this.emitStop('goto', `Replaying from event ${startAtSeq}`);
    } else if (stopOnEntry) {
      this.stopAtFirstCall('entry', 'Stopped at the first hooked call');
    } else {
      try {
        await this.replay('forward', undefined, true);
      } finally {
        if (this.console.holding) this.console.release();
      }
    }
  }

  /** The cursor on the recording's first hooked call (the earliest place a stop can show a call). */
  private stopAtFirstCall(reason: StopReason, description: string, text?: string): void {
    const first = this.findForward(0, isHookedEvent);
    this.moveTo(first ?? 0);
    this.emitStop(reason, description, text);
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
    // Before the source started (the agent still starting) the pause waits for it.
    if (!this.started || !this.live) this.pauseRequested = true;
    else this.source.pause();
  }

  /** Moves a recording's cursor to the event with this seq (the handoff diagram's boxes). */
  goto(seq: number): void {
    if (this.live) return;
    this.moveTo(Math.max(0, this.indexOfSeq(seq)));
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

  /** `first`: the launch's run; a recording with nothing to stop at then stops at its first handoff or hooked call. */
  private async replay(direction: Direction, target: StepTarget, first = false): Promise<void> {
    this.pauseRequested = false;
    // The first run holds its output: if it stops nowhere, it ends at the first handoff with what came before it.
    this.console.startMovement(first);
    // A step with no function breakpoint in the way asks the thread index where it stops (findings are the model's).
    const byIndex = target !== undefined && !this.breakpoints.hasFunctionBreakpoints;
    if (direction === 'forward') await (byIndex ? this.stepForward(target.tid) : this.runForward(target ? { ...target } : undefined, first));
    else if (byIndex) this.stepBackward(target.tid);
    else this.runBackward(target ? { ...target } : undefined);
  }

  /**
   * A step forward by the index: the model runs only as far as the stop (to know the findings on the way), the
   * cursor moves there once, and the calls passed are printed.
   */
  private async stepForward(tid: number | undefined): Promise<void> {
    const origin = this.cursor;
    const stop = this.index.stepStop(origin, 'forward', tid, tid === undefined ? undefined : this.processOfThread(tid));
    const last = stop?.index ?? this.length - 1;
    if (await this.extendFrontier(last + 1)) {
      this.printPassed(origin, this.timeline.frontier - 1);
      this.moveTo(this.timeline.frontier - 1);
      return this.emitStop('pause', 'Paused');
    }
    const originSeq = this.event(origin)?.seq ?? -Infinity;
    const lastEvent = this.event(last);
    const findings = lastEvent ? stoppingFindingsBetween(this.timeline.forward, this.breakpoints, originSeq, lastEvent.seq, 'forward') : [];
    const at = findings.length > 0 ? this.indexOfSeq(findings[0].seq) : last;
    this.printPassed(origin, at);
    if (at <= origin) return this.emitStop('step', 'End of the recording', 'The recording ends here: step back or reverse-continue to go on.');
    this.moveTo(at);
    const event = this.timeline.at(at);
    if (findings.length > 0) return this.emitFindingStop(findings, event);
    if (stop) this.checkStop(event, { tid: stop.leftThread === undefined ? tid : undefined, leftThread: stop.leftThread }, 'forward');
    else this.arriveAtEnd(true, false);
  }

  /** A step back by the index; a finding on the way back stops it as it would going forward. */
  private stepBackward(tid: number | undefined): void {
    const origin = this.cursor;
    const stop = this.index.stepStop(origin, 'backward', tid);
    const first = stop?.index ?? 0;
    const originSeq = this.event(origin)?.seq ?? Infinity;
    const beforeFirstSeq = (this.event(first)?.seq ?? 0) - 1;
    const findings = stoppingFindingsBetween(this.timeline.forward, this.breakpoints, beforeFirstSeq, originSeq - 1, 'backward');
    const at = findings.length > 0 ? this.indexOfSeq(findings[0].seq) : stop?.index;
    if (at === undefined) return this.stopAtFirstCall('step', 'Start of the recording', 'The recording starts here: step or continue to go on.');
    this.moveTo(at);
    this.checkStop(this.timeline.at(at), { tid: stop?.leftThread === undefined ? tid : undefined, leftThread: stop?.leftThread }, 'backward');
  }

  /** Applies events to the forward model up to `count`, letting a pause in; true if paused. */
  private async extendFrontier(count: number): Promise<boolean> {
    while (this.timeline.frontier < count) {
      this.timeline.extendTo(Math.min(count, this.timeline.frontier + 20000));
      if (this.timeline.frontier >= count) break;
      await new Promise((resolve) => setImmediate(resolve));
      if (this.pauseRequested) return true;
    }
    return false;
  }

  /** Prints what the cursor passes between `origin` (excluded) and `to` (included): returns and the programs' output. */
  private printPassed(origin: number, to: number): void {
    for (let i = origin + 1; i <= to; i++) if (this.index.isPrinted(i)) this.passed(this.timeline.at(i), i);
  }

  private async runForward(target: StepTarget, first = false): Promise<void> {
    let moved = 0;
    const origin = this.cursor;
    const pid = target?.tid === undefined ? undefined : this.processOfThread(target.tid);
    while (this.position < this.timeline.length) {
      const event = this.advance();
      if (this.checkStop(event, target, 'forward')) return;
      if (target?.tid !== undefined && endsThread(event, target.tid, pid)) {
        // The thread ended with no hooked call left: the step is one of any thread from where it began.
        target = { leftThread: target.tid };
        this.moveTo(origin);
        this.console.restart();
      }
      // Let a pause request in: a long run over a large recording yields now and then.
      if (++moved % 20000 === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        if (this.pauseRequested) return this.emitStop('pause', 'Paused');
      }
    }
    this.arriveAtEnd(moved > 0, first);
  }

  /** The cursor at the last event: a finding the end raises (an export never imported) stops like any other. */
  private arriveAtEnd(moved: boolean, first: boolean): void {
    const atEnd = moved || first ? this.breakpoints.stoppingFindings(this.findingsAtEnd()) : [];
    const last = this.event(this.timeline.length - 1);
    if (atEnd.length > 0 && last) return this.emitFindingStop(atEnd, last);
    if (first) return this.stopAtFirstHandoff();
    this.emitStop('step', 'End of the recording', 'The recording ends here: step back or reverse-continue to go on.');
  }

  /** The process a running thread belongs to, as of the cursor. */
  private processOfThread(tid: number): number | undefined {
    return this.model.running().find((p) => p.threads.includes(tid))?.pid;
  }

  /** A recording that raised nothing the filters stop at: its first export of a socket, else its first hooked call. */
  private stopAtFirstHandoff(): void {
    const text = 'Nothing in this recording stops the replay (no breakpoint hit, no finding of the enabled filters).';
    const exported = this.findForward(0, (e) => isHookedEvent(e) && e.kind === 'api' && e.phase === 'call' && e.api.startsWith('WSADuplicateSocket'));
    const at = exported ?? this.findForward(0, isHookedEvent) ?? 0;
    this.console.flush();
    this.console.release(at);
    if (exported === undefined) return this.stopAtFirstCall('entry', 'No finding: stopped at the first hooked call', text);
    this.moveTo(exported);
    this.emitStop('entry', 'No finding: stopped at the first handoff', text);
  }

  private runBackward(target: StepTarget): void {
    const origin = this.cursor;
    for (let index = origin - 1; index >= 0; index--) {
      const event = this.timeline.at(index);
      if (this.wouldStop(event, target, 'backward')) {
        this.moveTo(index);
        this.checkStop(event, target, 'backward');
        return;
      }
      if (target?.tid !== undefined && beginsThread(event, target.tid)) {
        // The thread began with no hooked call before: the step is one of any thread from where it began.
        target = { leftThread: target.tid };
        index = origin;
      }
    }
    this.stopAtFirstCall('step', 'Start of the recording', 'The recording starts here: step or continue to go on.');
  }

  /** Would the cursor stop on this event (without side effects: used while scanning backwards)? */
  private wouldStop(event: TraceEvent, target: StepTarget, direction: Direction): boolean {
    if (isHookedEvent(event)) {
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
    for (const line of hit.logs) this.console.line(`${line}\n`);
    if (hit.stopIds.length > 0) {
      this.emitStop('function breakpoint', `Breakpoint at ${event.api}`, undefined, { breakpointIds: hit.stopIds }, event);
      return true;
    }
    if (target && (target.tid === undefined || target.tid === event.tid)) {
      const where = event.phase === 'call' ? `Entering ${event.api}` : `Returned from ${event.api}`;
      const left = target.leftThread === undefined ? undefined : `Thread ${target.leftThread} makes no more hooked calls this way: the step went on in thread ${event.tid}.`;
      this.emitStop('step', where, left, {}, event);
      return true;
    }
    return false;
  }

  private emitFindingStop(findings: Finding[], event: TraceEvent): void {
    const [first] = findings;
    const kind = first.severity === 'error' ? 'Error' : first.severity === 'warning' ? 'Warning' : 'Note';
    this.emitStop('exception', `${kind}: ${first.rule} (events ${first.events.join(', ')})`, findings.map((f) => `${f.rule}: ${f.message}`).join('\n'), { findings }, event);
  }

  /**
   * Stops at `at` (default: the event at the cursor). Live, the cursor may have moved past the held call (output
   * streamed after it), so callers name the event the stop is about.
   */
  private emitStop(reason: StopReason, description: string, text?: string, extra: Partial<RuntimeStop> = {}, at?: TraceEvent): void {
    this.console.flush();
    if (this.console.holding) this.console.release();
    const index = at ? this.indexOfSeq(at.seq) : this.cursor;
    this.lastStop = { reason, index, tid: this.threadAt(index), description, text, ...extra };
    this.emit('stopped', this.lastStop);
  }

  /**
   * The thread a stop at `index` shows: that of the latest hooked call at or before it (a thread-exit or a process
   * exit has no call to show), else of the latest event with a thread.
   */
  private threadAt(index: number): number {
    const hooked = index < 0 ? undefined : this.index.findHooked(index, 'backward', undefined, 100_000);
    if (hooked !== undefined) return this.index.tidOf(hooked) ?? 0;
    for (let i = index, scanned = 0; i >= 0 && scanned < 100_000; i--, scanned++) {
      const tid = this.index.tidOf(i);
      if (tid !== undefined) return tid;
    }
    return this.lastStop?.tid ?? 0;
  }

  /** Each hooked call, as the cursor passes its return, goes to the Debug Console. */
  protected passed(event: TraceEvent, index: number): void {
    if (event.kind === 'output') return this.console.program(event.text, event.stream);
    if (event.kind !== 'api' || event.phase !== 'return' || event.internal) return;
    if (!this.console.printsCalls) return this.console.call('');
    const call = this.callOf(event, index);
    if (!call || call.internal) return;
    this.console.call(`#${call.seq} pid ${call.pid} tid ${call.tid}  ${formatCall(call, event)}`);
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
    this.console.flush();
    this.console.startMovement();
  }

  private onLiveStop(stop: StopInfo): void {
    this.onLiveEvents();
    const event = stop.seq ? this.event(this.indexOfSeq(stop.seq)) : undefined;
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
