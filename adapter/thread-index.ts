/**
 * Where each thread's hooked events are: a few bytes per event (its thread, its process, what kind of event it is),
 * learnt from every event the runtime reads and kept in typed arrays. A step asks it for the next (or previous)
 * hooked event of a thread, and the call-in-context document for a thread's calls around one, without parsing or
 * applying the events in between again. An event nobody has read yet is parsed once, when a question reaches it.
 */

import type { EventStore } from '../tracer/model/timeline';
import type { TraceEvent } from '../tracer/trace/schema';

const KNOWN = 1;
/** A call or return of the program's own (not Winsock's calls to itself). */
const HOOKED = 2;
const CALL = 4;
const THREAD_START = 8;
const THREAD_EXIT = 16;
const PROCESS_EXIT = 32;
const OUTPUT = 64;
const NONE = -1;

export type ScanDirection = 'forward' | 'backward';

/** Where a step stops: a hooked event, and the thread it left when that thread ended (or began) on the way. */
export interface StepStop {
  index: number;
  leftThread?: number;
}

function flagsOf(event: TraceEvent): number {
  switch (event.kind) {
    case 'api':
      return KNOWN | (event.internal ? 0 : HOOKED) | (event.phase === 'call' ? CALL : 0);
    case 'thread-start':
      return KNOWN | THREAD_START;
    case 'thread-exit':
      return KNOWN | THREAD_EXIT;
    case 'process-exit':
      return KNOWN | PROCESS_EXIT;
    case 'output':
      return KNOWN | OUTPUT;
    default:
      return KNOWN;
  }
}

/** An EventStore that learns each event's thread as it is read; the runtime's Timeline reads through it. */
export class ThreadIndex implements EventStore {
  private flags = new Uint8Array(0);
  private tids = new Int32Array(0);
  private pids = new Int32Array(0);

  constructor(private readonly store: EventStore) {}

  get length(): number {
    return this.store.length;
  }

  at(index: number): TraceEvent {
    const event = this.store.at(index);
    if (index >= this.flags.length || this.flags[index] === 0) this.learn(index, event);
    return event;
  }

  /** Whether the event is a call or return of the program's own. */
  isHooked(index: number): boolean {
    return (this.flagsAt(index) & HOOKED) !== 0;
  }

  /** Whether the event is the entry of a call of the program's own. */
  isHookedCall(index: number): boolean {
    return (this.flagsAt(index) & (HOOKED | CALL)) === (HOOKED | CALL);
  }

  /** Whether the event is a return of the program's own, or the programs' output (what a movement prints). */
  isPrinted(index: number): boolean {
    const flags = this.flagsAt(index);
    return (flags & OUTPUT) !== 0 || (flags & (HOOKED | CALL)) === HOOKED;
  }

  /** The event's thread, or undefined for an event of no thread. */
  tidOf(index: number): number | undefined {
    this.flagsAt(index);
    const tid = this.tids[index];
    return tid === NONE ? undefined : tid;
  }

  pidOf(index: number): number | undefined {
    this.flagsAt(index);
    const pid = this.pids[index];
    return pid === NONE ? undefined : pid;
  }

  /**
   * The first hooked event (of thread `tid`, or of any thread) from `from` on in `direction`, looking at most at
   * `limit` events; undefined when there is none.
   */
  findHooked(from: number, direction: ScanDirection, tid?: number, limit = Number.MAX_SAFE_INTEGER): number | undefined {
    const delta = direction === 'forward' ? 1 : -1;
    for (let i = from, seen = 0; i >= 0 && i < this.length && seen < limit; i += delta, seen++) {
      if ((this.flagsAt(i) & HOOKED) !== 0 && (tid === undefined || this.tids[i] === tid)) return i;
    }
    return undefined;
  }

  /**
   * Where a step from `origin` stops: the nearest hooked event of thread `tid` (of any thread without one) in
   * `direction`. When the thread ends on the way (its exit or its process's going forward, its start going back)
   * the step is one of any thread from `origin`. Undefined at the end (or start) of the events.
   */
  stepStop(origin: number, direction: ScanDirection, tid?: number, pid?: number): StepStop | undefined {
    const delta = direction === 'forward' ? 1 : -1;
    if (tid === undefined) return this.anyThread(origin + delta, direction);
    for (let i = origin + delta; i >= 0 && i < this.length; i += delta) {
      const flags = this.flagsAt(i);
      if ((flags & HOOKED) !== 0 && this.tids[i] === tid) return { index: i };
      const ends =
        direction === 'forward'
          ? ((flags & THREAD_EXIT) !== 0 && this.tids[i] === tid) || ((flags & PROCESS_EXIT) !== 0 && pid !== undefined && this.pids[i] === pid)
          : (flags & THREAD_START) !== 0 && this.tids[i] === tid;
      if (ends) {
        const stop = this.anyThread(origin + delta, direction);
        return stop && { index: stop.index, leftThread: tid };
      }
    }
    return undefined;
  }

  private anyThread(from: number, direction: ScanDirection): StepStop | undefined {
    const index = this.findHooked(from, direction);
    return index === undefined ? undefined : { index };
  }

  private flagsAt(index: number): number {
    if (index < this.flags.length && this.flags[index] !== 0) return this.flags[index];
    this.at(index);
    return this.flags[index];
  }

  private learn(index: number, event: TraceEvent): void {
    if (index >= this.flags.length) this.grow(Math.max(index + 1, this.store.length));
    this.flags[index] = flagsOf(event);
    this.tids[index] = 'tid' in event && typeof event.tid === 'number' ? event.tid : NONE;
    this.pids[index] = 'pid' in event && typeof event.pid === 'number' ? event.pid : NONE;
  }

  private grow(needed: number): void {
    const size = Math.max(needed, Math.ceil(this.flags.length * 1.5), 1024);
    const flags = new Uint8Array(size);
    flags.set(this.flags);
    const tids = new Int32Array(size);
    tids.set(this.tids);
    const pids = new Int32Array(size);
    pids.set(this.pids);
    this.flags = flags;
    this.tids = tids;
    this.pids = pids;
  }
}
