/**
 * Ring chunks: a drain's records as the agent writes them without decoding them (at most a few hundred nanoseconds
 * of its time a record, where decoding and serialising each event takes several microseconds under Wine's node.exe).
 * One chunk is one line of the agent's spool, between its other events: where the records each process's stubs wrote
 * since the last drain lie in the spool's records file (byte for byte: ring-records.ts), with what decoding them needs
 * that the records do not hold: the seq and time the chunk's events start from, the drain's clock pair, what each API
 * id means and where each module lies.
 *
 * The client expands a chunk into the very events the agent would have written (RingChunkDecoder: the same drain,
 * merge and decoders, events.ts), so the trace it writes is the breakpoint path's, call for call. Pure: no koffi.
 */

import { apiEntry } from '../../apis';
import type { TraceEvent } from '../../trace/schema';
import type { LoadedModule } from '../traced-process';
import { type ProcessView, type RingSource, drainRings } from './events';
import type { RingCall } from './process-state';
import { HEAD_OFFSET, RECORD_SIZE, RING_HEADER_SIZE, drain } from './ring';

/** How a chunk's line starts (JSON.stringify keeps the key order): other lines of the spool are trace events. */
export const RING_CHUNK_PREFIX = '{"ringChunk":';

/** A module as a chunk lists it: name, base ("0x…"), size. */
export type ChunkModule = [name: string, base: string, size: number];

/** One process's records in a chunk. */
export interface RingChunkProcess {
  pid: number;
  /** Ring seq of the first record, and the one after the last. */
  start: number;
  next: number;
  /** Where the records (RECORD_SIZE bytes each, continuations included, in ring order) start in the records file. */
  at: number;
  /** The first chunk of this process: what an earlier process of the same pid left behind is forgotten. */
  fresh?: true;
  /** API id → name (in the process's first chunk). */
  apis?: string[];
  /** The process's modules, when they changed since its last chunk; `ws2`: ws2_32's base among them. */
  modules?: ChunkModule[];
  ws2?: string;
}

/** The TSC → trace time map of the drain: two (tsc, ns) pairs (the first and the latest the agent took). */
export type ChunkClock = [tsc0: number, ns0: number, tsc1: number, ns1: number];

export interface RingChunk {
  ringChunk: 1;
  /** The seq of the chunk's first event, and how many events it holds. */
  seq: number;
  count: number;
  /** The trace time of the event before the chunk (times never go back), and the clock's reading at the drain. */
  lastTimeNs: number;
  knownNow: number;
  clock?: ChunkClock;
  processes: RingChunkProcess[];
}

/** A chunk's line. */
export function ringChunkLine(chunk: RingChunk): string {
  return JSON.stringify(chunk);
}

/** How many bytes of the records file a process's part of a chunk takes. */
export function chunkRecordBytes(p: RingChunkProcess): number {
  return (p.next - p.start) * RECORD_SIZE;
}

/** A record's TSC in trace time; undefined until two pairs some time apart give the rate. */
export function tscToNs(clock: ChunkClock | undefined, tsc: number): number | undefined {
  if (!clock) return undefined;
  const [tsc0, ns0, tsc1, ns1] = clock;
  if (ns1 - ns0 < 1e6) return undefined;
  return ns0 + ((tsc - tsc0) * (ns1 - ns0)) / (tsc1 - tsc0);
}

/**
 * The trace time of a chunk's event: its call's own time, within the trace's order (never before the previous event)
 * and never after the clock's reading at the drain (every record was read before it); a `records-lost` has none.
 */
export function chunkTimeNs(lastTimeNs: number, knownNow: number, timeNs: number | undefined): number {
  return Math.max(lastTimeNs, timeNs === undefined ? knownNow : Math.min(knownNow, Math.round(timeNs)));
}

/** Records laid out again as a ring the drain reads (the smallest power of two that holds them, head at `next`). */
function asRing(records: Buffer, start: number, next: number): { snapshot: Buffer; slots: number } {
  let slots = 1;
  while (slots < next - start) slots *= 2;
  const snapshot = Buffer.alloc(RING_HEADER_SIZE + slots * RECORD_SIZE);
  snapshot.writeBigUInt64LE(BigInt(next), HEAD_OFFSET);
  for (let seq = start; seq < next; seq++) {
    const at = RING_HEADER_SIZE + (seq & (slots - 1)) * RECORD_SIZE;
    records.copy(snapshot, at, (seq - start) * RECORD_SIZE, (seq - start + 1) * RECORD_SIZE);
  }
  return { snapshot, slots };
}

/** What the decoder keeps of a process between its chunks. */
class ChunkProcessState implements ProcessView {
  apis: readonly string[] = [];
  paramCounts: readonly number[] = [];
  modules: LoadedModule[] = [];
  ws2?: LoadedModule;
  readonly pendingCalls = new Map<number, RingCall>();
  constructor(readonly pid: number) {}

  moduleAt(address: bigint): LoadedModule | undefined {
    return this.modules.find((m) => address >= m.base && address < m.base + BigInt(m.size));
  }

  update(p: RingChunkProcess): void {
    if (p.apis) {
      this.apis = p.apis;
      this.paramCounts = p.apis.map((api) => apiEntry(api)?.paramCount ?? 7);
    }
    if (p.modules) {
      this.modules = p.modules.map(([name, base, size]) => ({ name, base: BigInt(base), size }));
      this.ws2 = p.ws2 === undefined ? undefined : this.modules.find((m) => m.base === BigInt(p.ws2 as string));
    }
  }
}

/** Expands ring chunks into trace events, chunk after chunk, in the order the agent wrote them. */
export class RingChunkDecoder {
  private readonly processes = new Map<number, ChunkProcessState>();

  /**
   * The chunk's events, with their seq and time; throws when they are not the count the agent gave them.
   * `recordsOf`: a process's records, read where the chunk says they lie.
   */
  expand(chunk: RingChunk, recordsOf: (p: RingChunkProcess) => Buffer): TraceEvent[] {
    const sources: RingSource[] = chunk.processes.map((p) => {
      let state = this.processes.get(p.pid);
      if (!state || p.fresh) this.processes.set(p.pid, (state = new ChunkProcessState(p.pid)));
      state.update(p);
      const { snapshot, slots } = asRing(recordsOf(p), p.start, p.next);
      const result = drain(snapshot, slots, p.start, { wait: true, paramCounts: state.paramCounts });
      return { process: state, apis: state.apis, result, pendingCalls: state.pendingCalls };
    });
    const events: TraceEvent[] = [];
    let lastTimeNs = chunk.lastTimeNs;
    drainRings(
      sources,
      (event, timeNs) => {
        if (!event) throw new Error('a ring chunk is decoded whole');
        lastTimeNs = chunkTimeNs(lastTimeNs, chunk.knownNow, timeNs);
        event.seq = chunk.seq + events.length;
        event.timeNs = lastTimeNs;
        events.push(event);
        return event.seq;
      },
      { clock: (tsc) => tscToNs(chunk.clock, tsc) },
    );
    if (events.length !== chunk.count) throw new Error(`the ring chunk of events ${chunk.seq}… decodes to ${events.length} events; the tracer counted ${chunk.count}`);
    return events;
  }
}
