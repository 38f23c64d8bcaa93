/**
 * The replay's position: a cursor over the events of a source, and the model as of the cursor (the timeline's forward
 * model at the frontier, a model replayed from a checkpoint behind it, the finished model at a recording's end).
 * The runtime (runtime.ts) moves it; nothing here decides where to stop.
 */

import { EventEmitter } from 'node:events';
import { ShareModel, Timeline, type Finding } from '../tracer/model';
import type { ApiCallEvent, ApiEvent, TraceEvent } from '../tracer/trace/schema';
import type { EventSource } from './source';
import { ThreadIndex } from './thread-index';

/** Events between checkpoints: stepping back replays at most this many; memory holds length / interval snapshots. */
export const CHECKPOINT_INTERVAL = 4096;

const EMPTY_MODEL = new ShareModel();

/** A call or return of the program's own (Winsock's calls to itself are not stops). */
export function isHookedEvent(event: TraceEvent): event is ApiEvent {
  return event.kind === 'api' && !event.internal;
}

/** The last event of thread `tid` of process `pid`: its exit, or its process's (the debug API reports no exit of the last thread). */
export function endsThread(event: TraceEvent, tid: number, pid: number | undefined): boolean {
  return (event.kind === 'thread-exit' && event.tid === tid) || (event.kind === 'process-exit' && event.pid === pid);
}

/** The first event of thread `tid`. */
export function beginsThread(event: TraceEvent, tid: number): boolean {
  return event.kind === 'thread-start' && event.tid === tid;
}

export abstract class TraceCursor extends EventEmitter {
  protected timeline!: Timeline;
  protected index!: ThreadIndex;
  /** Events applied to the model the cursor shows (the cursor is the last of them). */
  protected position = 0;
  /** The model when the cursor is behind the frontier; at the frontier the timeline's forward model is used. */
  protected behind?: ShareModel;
  private finishedModel?: ShareModel;

  constructor(readonly source: EventSource) {
    super();
  }

  get live(): boolean {
    return this.source.live;
  }

  /** Opens the cursor on the source's events, before the first. */
  protected open(): void {
    this.index = new ThreadIndex(this.source.store);
    this.timeline = new Timeline(this.index, CHECKPOINT_INTERVAL);
  }

  /** Each event the cursor passes going forward (the runtime prints calls and output). */
  protected abstract passed(event: TraceEvent, index: number): void;

  /**
   * The model as of the cursor. Before the source started (a pause or a threads request that came first) it is
   * empty; at the end of a recording it is finished: what the trace's end settles (an export never imported) is
   * raised there, as `check` raises it.
   */
  get model(): ShareModel {
    if (this.behind) return this.behind;
    if (!this.timeline) return EMPTY_MODEL;
    if (!this.live && this.timeline.length > 0 && this.position === this.timeline.length) return this.modelAtEnd();
    return this.timeline.forward;
  }

  protected modelAtEnd(): ShareModel {
    this.finishedModel ??= this.timeline.after(this.timeline.length, true);
    return this.finishedModel;
  }

  /** The findings the end of the recording raises (none live: the programs may go on). */
  protected findingsAtEnd(): Finding[] {
    if (this.live) return [];
    return this.modelAtEnd().findings().slice(this.timeline.forward.findingCount);
  }

  get started(): boolean {
    return this.timeline !== undefined;
  }

  get cursor(): number {
    return this.position - 1;
  }

  get length(): number {
    return this.timeline?.length ?? 0;
  }

  event(index = this.cursor): TraceEvent | undefined {
    return index >= 0 && index < this.length ? this.timeline.at(index) : undefined;
  }

  /** Index of the event with this seq, or of the last event before it (-1 if none). */
  indexOfSeq(seq: number): number {
    if (!this.timeline || this.length === 0) return -1;
    // Seqs mostly go one an event: try where that puts it before a binary search over the file.
    const guess = seq - this.timeline.at(0).seq;
    if (guess >= 0 && guess < this.length && this.timeline.at(guess).seq === seq) return guess;
    return this.timeline.indexOfSeq(seq);
  }

  /** Where each thread's hooked events are (every event read is learnt). */
  get threads(): ThreadIndex | undefined {
    return this.index;
  }

  /** The entry event of the call an api event belongs to. */
  callOf(event: ApiEvent, eventIndex?: number): ApiCallEvent | undefined {
    if (event.phase === 'call') return event;
    // Seqs mostly go one an event: try where that puts the call before searching.
    const guess = eventIndex === undefined ? -1 : eventIndex - (event.seq - event.callSeq);
    const index = guess >= 0 && this.event(guess)?.seq === event.callSeq ? guess : this.indexOfSeq(event.callSeq);
    const e = this.event(index);
    return e?.kind === 'api' && e.phase === 'call' ? e : undefined;
  }

  /** Applies the next event; the cursor moves onto it. */
  protected advance(): TraceEvent {
    const index = this.position;
    const event = this.timeline.at(index);
    if (this.behind) {
      this.behind.apply(event);
      if (index + 1 === this.timeline.frontier) this.behind = undefined;
    } else this.timeline.extendTo(index + 1);
    this.position++;
    this.passed(event, index);
    return event;
  }

  /** Puts the cursor on the event at `index` (forward by applying, backward from a checkpoint). */
  protected moveTo(index: number): void {
    const position = index + 1;
    if (position === this.position) return;
    if (position > this.position && !this.behind && position >= this.timeline.frontier) {
      this.timeline.extendTo(position);
    } else if (position === this.timeline.frontier) {
      this.behind = undefined;
    } else if (this.behind && position > this.position && position < this.timeline.frontier && position - this.position <= CHECKPOINT_INTERVAL) {
      // A little ahead of a model behind the frontier: applying the events between is cheaper than a checkpoint's replay.
      for (let i = this.position; i < position; i++) this.behind.apply(this.timeline.at(i));
    } else {
      this.timeline.extendTo(Math.max(position, this.timeline.frontier));
      this.behind = position === this.timeline.frontier ? undefined : this.timeline.after(position);
    }
    this.position = position;
  }

  protected findForward(from: number, test: (e: TraceEvent) => boolean): number | undefined {
    for (let i = from; i < this.timeline.length; i++) if (test(this.timeline.at(i))) return i;
    return undefined;
  }
}
