/**
 * The engine's side of draining the in-process rings: each drained call stamped with its own time (TscClock), the
 * failed returns of fail-armed APIs kept for the stop their stub is about to make, the time the drains take, and the
 * stubs' waits for room turned into a `ring-stalls` event at a process's end.
 * When the sink takes ring chunks, a drain writes its records undecoded (ring-chunk.ts) and decodes only the calls
 * the tracer itself must read: the fail-armed APIs' (their failed returns are what their stops are about).
 */

import type { ApiReturnEvent, StackFrame, TraceEvent } from '../../trace/schema';
import type { ChunkSink, EngineSink, UnstampedEvent } from '../sink';
import type { TracedProcess } from '../traced-process';
import { type RingSource, drainRings } from './events';
import type { InprocProcess } from './process-state';
import type { InprocRecorder } from './recorder';
import type { DrainResult } from './ring';
import { countRing } from './ring-count';
import type { RingChunkProcess } from './ring-chunk';
import { TscClock, readTsc, ticksToNs } from './tsc';

/** Symbolizes a call's captured return addresses (innermost first) in its process: the trace's `stack`. */
export type StackOf = (process: TracedProcess, returnAddresses: readonly bigint[]) => StackFrame[] | undefined;

/** One process's read of a drain. */
interface ReadRing {
  readonly state: InprocProcess;
  readonly source: RingSource;
  /** The ring seq the read started from. */
  readonly start: number;
}

/** What a process's last chunk told of it. */
interface ChunkedProcess {
  readonly apis: readonly string[];
  readonly modules: number;
}

/** An event without its placeholder seq and time, for a sink that stamps copies. */
function unstamped(event: TraceEvent): UnstampedEvent {
  const rest: Partial<TraceEvent> = { ...event };
  delete rest.seq;
  delete rest.timeNs;
  return rest as UnstampedEvent;
}

/**
 * A drain with more events than this is part of a burst: the next one's CPU time is measured too. Not a busy server's
 * steady drains (about a thousand events each): asking for the CPU time costs about a millisecond under Wine.
 */
const BUSY_DRAIN_EVENTS = 10_000;

export class RingDrain {
  private busy = false;
  private readonly clock = new TscClock();
  /** Per "pid:tid": the last failed return drained for a fail-armed API. */
  private readonly failedReturns = new Map<string, ApiReturnEvent>();
  /**
   * The drains' own cost: events recorded from the rings, the time spent (reading, decoding, recording) and the CPU
   * time the agent used meanwhile (steadier than the time on a busy machine; it includes the garbage collector's).
   */
  readonly stats = { ringEvents: 0, drainNs: 0, drainCpuNs: 0, drains: 0, idleDrainNs: 0 };

  /** Per process, what its last ring chunk told (its API names and modules are sent when they change). */
  private readonly chunked = new WeakMap<InprocProcess, ChunkedProcess>();

  constructor(
    private readonly sink: EngineSink,
    private readonly stackOf?: StackOf,
  ) {}

  /**
   * Drains every process's ring into the sink, in TSC order across processes. `failureApis`: fail-armed APIs.
   * Records made while the rings are read are left for the next drain (RingReader.cutAt), unless `everything` (a
   * process's last drain). Returns how many events the records made.
   */
  drain(processes: Iterable<InprocProcess>, failureApis: ReadonlySet<string>, everything = false): number {
    const cutTsc = everything ? undefined : readTsc();
    const started = process.hrtime.bigint();
    // CPU time is asked of the system only while a burst is being drained (it is a round trip under Wine).
    const cpu = this.busy ? process.cpuUsage() : undefined;
    const states = [...processes];
    const keep = (e: TraceEvent, seq: number): void => {
      // A failed call whose stub is about to stop: its return event is what the stop is about.
      if (e.kind === 'api' && e.phase === 'return' && e.error !== undefined && !e.internal && failureApis.has(e.api)) this.failedReturns.set(`${e.pid}:${e.tid}`, { ...e, seq, timeNs: 0 });
    };
    // Ring chunks when the sink takes them and every ring can go into one (the merge spans all processes).
    const chunked = this.sink.chunks !== undefined && states.every((state) => !state.recorder || (state.recorder.reader.waitWhenFull && !state.recorder.recordsStacks));
    let events: number;
    if (chunked) events = this.drainAsChunk(states, (api) => failureApis.has(api), keep, cutTsc);
    else {
      const reads = this.readRings(states, cutTsc);
      // After the reads: every record is older than this reading, so its time is never after the clock's.
      this.clock.sample(this.sink.now?.() ?? 0);
      events = this.record(reads, keep);
    }
    const spent = Number(process.hrtime.bigint() - started);
    this.stats.drains++;
    if (events > 0) {
      this.stats.ringEvents += events;
      this.stats.drainNs += spent;
      if (cpu) {
        const used = process.cpuUsage(cpu);
        this.stats.drainCpuNs += (used.user + used.system) * 1000;
      } else this.stats.drainCpuNs += spent;
    } else this.stats.idleDrainNs += spent;
    this.busy = events > BUSY_DRAIN_EVENTS;
    return events;
  }

  /** Reads and decodes each process's ring. */
  private readRings(processes: readonly InprocProcess[], cutTsc: number | undefined): ReadRing[] {
    const reads: ReadRing[] = [];
    for (const state of processes) {
      const recorder = state.recorder;
      if (!recorder) continue;
      const start = recorder.reader.readFrom;
      const result = recorder.reader.drain(undefined, cutTsc);
      if (result) reads.push({ state, start, source: this.sourceOf(state, result) });
    }
    return reads;
  }

  private sourceOf(state: InprocProcess, result: DrainResult): RingSource {
    const recorder = state.recorder as InprocRecorder;
    const stackOf = this.stackOf;
    return {
      process: state.process,
      apis: recorder.apis,
      result,
      pendingCalls: state.pendingCalls,
      isStubCode: (address) => recorder.isStubCode(address),
      stackOf: stackOf && ((addresses) => stackOf(state.process, addresses)),
    };
  }

  /** Decodes every record and records its event. Returns how many. */
  private record(reads: readonly ReadRing[], keep: (e: TraceEvent, seq: number) => void): number {
    let events = 0;
    drainRings(
      reads.map((r) => r.source),
      (e, timeNs) => {
        events++;
        const event = e as TraceEvent;
        const seq = this.sink.stamp ? this.sink.stamp(event, timeNs) : this.sink.record(unstamped(event), timeNs);
        keep(event, seq);
        return seq;
      },
      { clock: (tsc) => this.clock.toNs(tsc) },
    );
    return events;
  }

  /**
   * Drains the rings as one ring chunk (wait mode): the records are only counted (ring-count.ts), their events' seqs
   * and times reserved. When one must be decoded (a fail-armed call), the drain is decoded whole in ring
   * order, the others counted. Returns the count.
   */
  private drainAsChunk(states: readonly InprocProcess[], decodes: (api: string) => boolean, keep: (e: TraceEvent, seq: number) => void, cutTsc: number | undefined): number {
    const chunks = this.sink.chunks as ChunkSink;
    const rings = states.flatMap((state) => (state.recorder?.reader.readNew(cutTsc) ? [{ state, recorder: state.recorder, reader: state.recorder.reader, start: state.recorder.reader.readFrom }] : []));
    // After the reads: every record is older than this reading, so its time is never after the clock's.
    this.clock.sample(this.sink.now?.() ?? 0);
    const position = chunks.position();
    const counts = rings.map(({ reader, recorder, state }) => {
      const read = reader.lastRead;
      return countRing(read.bytes, reader.slots, read.from, recorder.apis, state.pendingCalls, decodes, read.end);
    });
    const ends: number[] = [];
    let events = 0;
    if (counts.every((count) => count !== undefined)) {
      counts.forEach((count, i) => {
        const pending = rings[i].state.pendingCalls;
        for (const link of count.returned) pending.delete(link);
        // Counted calls keep no registers: their returns are counted too.
        for (const [link, api] of count.opened) pending.set(link, { seq: 0, api, tid: 0, internal: false, raw: [] });
        // The events' times only matter as the latest (times never go back): chunkTimeNs keeps the maximum.
        const latest = count.maxTsc >= 0 ? this.clock.toNs(count.maxTsc) : undefined;
        const calls = count.events - (count.lost ? 1 : 0);
        if (calls > 0) chunks.reserve(latest, calls);
        if (count.lost) chunks.reserve(undefined);
        events += count.events;
        ends.push(count.next);
      });
    } else {
      const sources = rings.map((r) => this.sourceOf(r.state, r.reader.parse(r.recorder.apis.map((api) => !decodes(api)))));
      drainRings(
        sources,
        (e, timeNs) => {
          events++;
          const seq = chunks.reserve(timeNs);
          if (e) keep(e, seq);
          return seq;
        },
        { clock: (tsc) => this.clock.toNs(tsc), decodes },
      );
      ends.push(...sources.map((source) => source.result.next));
    }
    const withRecords = rings.flatMap((r, i) => (ends[i] > r.start ? [this.chunkProcess(r.state, r.start, ends[i])] : []));
    // Read before the slots are given back to the stubs.
    if (withRecords.length > 0) chunks.write({ ringChunk: 1, seq: position.seq, count: events, lastTimeNs: position.lastTimeNs, knownNow: position.knownNow, clock: this.clock.pairs(), processes: withRecords });
    rings.forEach((r, i) => r.reader.commit(ends[i]));
    return events;
  }

  /** A process's records in a chunk (stored first), with its API names and modules when the chunk's reader does not know them yet. */
  private chunkProcess(state: InprocProcess, start: number, next: number): RingChunkProcess {
    const recorder = state.recorder as InprocRecorder;
    const process = state.process;
    const told = this.chunked.get(state);
    const at = (this.sink.chunks as ChunkSink).storeRecords(recorder.reader.recordBytes(start, next));
    const chunk: RingChunkProcess = { pid: process.pid, start, next, at };
    if (!told) chunk.fresh = true;
    if (told?.apis !== recorder.apis) chunk.apis = [...recorder.apis];
    if (told?.modules !== process.modules.length) {
      chunk.modules = process.modules.map((m) => [m.name, `0x${m.base.toString(16)}`, m.size]);
      if (process.ws2) chunk.ws2 = `0x${process.ws2.base.toString(16)}`;
    }
    this.chunked.set(state, { apis: recorder.apis, modules: process.modules.length });
    return chunk;
  }

  /** The process's last word: how often and how long its stubs waited for room (nothing when they never did). */
  recordStalls(state: InprocProcess): void {
    const stalls = state.recorder?.stalls();
    if (!stalls || stalls.count === 0 || state.stallsRecorded) return;
    state.stallsRecorded = true;
    this.clock.sample(this.sink.now?.() ?? 0);
    this.sink.record({ kind: 'ring-stalls', pid: state.process.pid, count: stalls.count, waitNs: Math.round(ticksToNs(this.clock, stalls.ticks) ?? 0) });
  }

  /** The failed return the thread's stub stopped after (drained by now), once. */
  takeFailedReturn(pid: number, tid: number): ApiReturnEvent | undefined {
    const key = `${pid}:${tid}`;
    const returned = this.failedReturns.get(key);
    this.failedReturns.delete(key);
    return returned;
  }
}
