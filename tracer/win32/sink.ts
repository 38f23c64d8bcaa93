/**
 * What the capture engine and its parts (the in-process drain, the agent) share: where events go, and how the
 * client decides about stops. Types only; it sits below the engine and the in-process code.
 */

import type { ApiEvent, TraceEvent } from '../trace/schema';
import type { RingChunk } from './inproc/ring-chunk';

type WithoutStamp<T> = T extends unknown ? Omit<T, 'seq' | 'timeNs'> : never;
/** An event before the sink gives it its seq and time. */
export type UnstampedEvent = WithoutStamp<TraceEvent>;

export interface EngineSink {
  /** Records one event and returns the seq it was given; `timeNs`: when it happened, if not now (trace time). */
  record(event: UnstampedEvent, timeNs?: number): number;
  /**
   * Records an event built with placeholders `seq: 0, timeNs: 0` as its first keys, in place (a drained ring's
   * events: no copy per event); sets both and returns the seq. Optional: `record` is used without it.
   */
  stamp?(event: TraceEvent, timeNs?: number): number;
  /** The trace clock now (nanoseconds since the recording started). */
  now?(): number;
  /** Makes what was recorded durable: called before a debug event is continued (the programs go on). */
  flush?(): void;
  /** Where the in-process drains write their records undecoded, when the reader of the trace expands ring chunks. */
  chunks?: ChunkSink;
}

/** The sink's side of a ring chunk (inproc/ring-chunk.ts): its events get their seq and time here, and are not written. */
export interface ChunkSink {
  /** Where the next chunk's events start: the next seq, the last event's time, the clock's latest reading. */
  position(): { seq: number; lastTimeNs: number; knownNow: number };
  /** Gives the next `count` seqs (default one) to the chunk's events, at the time chunkTimeNs gives them; the last. */
  reserve(timeNs?: number, count?: number): number;
  /**
   * Writes a process's records for the next chunk (one piece, or two where its ring wrapped) where the chunk's reader
   * finds them, before the chunk's line; returns where they start (RingChunkProcess.at).
   */
  storeRecords(pieces: readonly Buffer[]): number;
  /** Queues the chunk's line: the events reserved since position() were its. */
  write(chunk: RingChunk): void;
}

export type StopReason = 'entry' | 'breakpoint' | 'step' | 'pause';

/** How hooked calls are captured: debug breakpoints on every call, or stubs recording in the process. */
export type CaptureMode = 'breakpoints' | 'inprocess';

/** Where a stop holds the debuggee: at a hooked call's entry, or anywhere (a pause between calls). */
export interface StopPlace {
  pid: number;
  tid: number;
  /** The hooked call's entry, or its return when the stop is after the call. */
  event?: ApiEvent;
}

export interface StopControl {
  /** Asked at the entry, and at the return, of each of the program's own hooked calls: stop here, and why? */
  shouldStop(event: ApiEvent): StopReason | undefined;
  /** Keeps the debuggee stopped until the client lets it go. */
  hold(reason: StopReason, place: StopPlace): Promise<void>;
}
