import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { TraceEvent } from '../../tracer/trace/schema';
import { type ProcessView, type RingSource, drainRings } from '../../tracer/win32/inproc/events';
import type { RingCall } from '../../tracer/win32/inproc/process-state';
import { RECORD_SIZE, RING_HEADER_SIZE, drain, ringRecords } from '../../tracer/win32/inproc/ring';
import { countRing } from '../../tracer/win32/inproc/ring-count';
import { type ChunkClock, RING_CHUNK_PREFIX, type RingChunk, RingChunkDecoder, chunkRecordBytes, chunkTimeNs, ringChunkLine, tscToNs } from '../../tracer/win32/inproc/ring-chunk';
import { RingRecordsReader, RingRecordsWriter } from '../../tracer/win32/inproc/ring-records';
import type { LoadedModule } from '../../tracer/win32/traced-process';
import { FakeRing } from '../support/fake-ring';

const APIS = ['closesocket', 'listen', 'shutdown'];
const [CLOSESOCKET, LISTEN, SHUTDOWN] = [0, 1, 2];
const PARAM_COUNTS = [1, 2, 2];
const SLOTS = 64;
/** 1 ns a tick from tsc 0, known at the drain as 1 ms. */
const CLOCK: ChunkClock = [0, 0, 2_000_000, 2_000_000];
const KNOWN_NOW = 2_000_000;

/** A traced process as the tracer sees it: its modules (the calls come from server.exe), its ring. */
class Traced implements ProcessView {
  readonly modules: LoadedModule[] = [
    { name: 'server.exe', base: 0x140000000n, size: 0x10000 },
    { name: 'ws2_32.dll', base: 0x370f70000n, size: 0x40000 },
  ];
  readonly ws2 = this.modules[1];
  readonly ring: FakeRing;
  /** Where each way of draining has read up to, and its calls waiting for their return. */
  decodedFrom = 0;
  chunkFrom = 0;
  readonly decodedPending = new Map<number, RingCall>();
  readonly chunkPending = new Map<number, RingCall>();
  chunked = false;
  constructor(
    readonly pid: number,
    tscBase: number,
  ) {
    this.ring = new FakeRing(SLOTS, tscBase);
  }
  moduleAt(address: bigint): LoadedModule | undefined {
    return this.modules.find((m) => address >= m.base && address < m.base + BigInt(m.size));
  }
}

/** The records file the chunks' records go to (the agent's), and its reader (the client's). */
const dir = mkdtempSync(join(tmpdir(), 'sockshare-ring-chunk-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const recordsFile = join(dir, 'trace.spool.rings');
const records = new RingRecordsWriter(recordsFile);
const recordsReader = new RingRecordsReader(recordsFile);
const recordsOf = (p: RingChunk['processes'][number]) => recordsReader.read(p.at, chunkRecordBytes(p));

/** The trace so far: the next seq and the last event's time, as the agent keeps them. */
const position = { seq: 1, lastTimeNs: 0 };

/** The agent decoding every record (the path without chunks): the events it writes. */
function drainDecoded(processes: Traced[]): TraceEvent[] {
  const sources: RingSource[] = processes.map((p) => {
    const result = drain(p.ring.bytes, SLOTS, p.decodedFrom, { wait: true, paramCounts: PARAM_COUNTS });
    p.decodedFrom = result.next;
    return { process: p, apis: APIS, result, pendingCalls: p.decodedPending };
  });
  const events: TraceEvent[] = [];
  let { seq, lastTimeNs } = position;
  drainRings(
    sources,
    (event, timeNs) => {
      lastTimeNs = chunkTimeNs(lastTimeNs, KNOWN_NOW, timeNs);
      Object.assign(event as TraceEvent, { seq: seq++, timeNs: lastTimeNs });
      events.push(event as TraceEvent);
      return seq - 1;
    },
    { clock: (tsc) => tscToNs(CLOCK, tsc) },
  );
  return events;
}

/**
 * The agent writing the records as one chunk's line, as RingDrain does: counted without a row each (ring-count.ts),
 * or, `whole`, drained row by row with none decoded (what it does when a drain holds a call it must decode).
 */
function drainAsChunk(processes: Traced[], whole = false): string {
  const first = { ...position };
  let count = 0;
  const reserve = (timeNs: number | undefined): number => {
    position.lastTimeNs = chunkTimeNs(position.lastTimeNs, KNOWN_NOW, timeNs);
    count++;
    return position.seq++;
  };
  const starts = processes.map((p) => p.chunkFrom);
  if (whole) {
    const results = processes.map((p) => drain(p.ring.bytes, SLOTS, p.chunkFrom, { wait: true, paramCounts: PARAM_COUNTS, countedOnly: APIS.map(() => true) }));
    drainRings(
      results.map((result, i) => ({ process: processes[i], apis: APIS, result, pendingCalls: processes[i].chunkPending })),
      (event, timeNs) => {
        assert.ok(event === undefined || event.kind === 'records-lost', 'a counted drain decodes no call');
        return reserve(timeNs);
      },
      { clock: (tsc) => tscToNs(CLOCK, tsc), decodes: () => false },
    );
    results.forEach((result, i) => (processes[i].chunkFrom = result.next));
  } else {
    for (const p of processes) {
      const counted = countRing(p.ring.bytes, SLOTS, p.chunkFrom, APIS, p.chunkPending, () => false);
      assert.ok(counted);
      for (const link of counted.returned) p.chunkPending.delete(link);
      for (const [link, api] of counted.opened) p.chunkPending.set(link, { seq: 0, api, tid: 0, internal: false, raw: [] });
      for (let e = counted.lost ? 1 : 0; e < counted.events; e++) reserve(counted.maxTsc >= 0 ? tscToNs(CLOCK, counted.maxTsc) : undefined);
      if (counted.lost) reserve(undefined);
      p.chunkFrom = counted.next;
    }
  }
  const chunk: RingChunk = {
    ringChunk: 1,
    seq: first.seq,
    count,
    lastTimeNs: first.lastTimeNs,
    knownNow: KNOWN_NOW,
    clock: CLOCK,
    processes: processes.map((p, i) => {
      const fresh = !p.chunked;
      p.chunked = true;
      return {
        pid: p.pid,
        start: starts[i],
        next: p.chunkFrom,
        at: records.append(ringRecords(p.ring.bytes, SLOTS, starts[i], p.chunkFrom)),
        ...(fresh ? { fresh: true as const, apis: APIS, modules: p.modules.map((m): [string, string, number] => [m.name, `0x${m.base.toString(16)}`, m.size]), ws2: `0x${p.ws2.base.toString(16)}` } : {}),
      };
    }),
  };
  return ringChunkLine(chunk);
}

describe('ring chunks: the records written undecoded, expanded by the reader into the events the tracer would have written', () => {
  for (const whole of [false, true])
    test(`two processes, a return drained after its call, a return whose call was never read: the same events, seqs and times (${whole ? 'drained row by row' : 'counted'})`, () => {
    position.seq = 1;
    position.lastTimeNs = 0;
    const source = new Traced(40, 5);
    const target = new Traced(41, 0);
    const decoder = new RingChunkDecoder();
    // First drain: the source's listen returns; its closesocket is still in progress; the target shuts down.
    const listen = source.ring.call(LISTEN, 0x20, [0x1a4n, 5n]);
    source.ring.ret(listen, 0n, 0);
    const close = source.ring.call(CLOSESOCKET, 0x20, [0x1a4n]);
    const shutdown = target.ring.call(SHUTDOWN, 0x30, [0x2b8n, 2n]);
    target.ring.ret(shutdown, 0xffffffffn, 10057);
    const decoded = drainDecoded([source, target]);
    const line = drainAsChunk([source, target], whole);
    assert.ok(line.startsWith(RING_CHUNK_PREFIX));
    assert.deepEqual(decoder.expand(JSON.parse(line) as RingChunk, recordsOf), decoded);
    assert.deepEqual(
      decoded.map((e) => (e.kind === 'api' ? `${e.pid} ${e.api} ${e.phase}` : e.kind)),
      ['41 shutdown call', '40 listen call', '41 shutdown return', '40 listen return', '40 closesocket call'],
      'merged across the processes by their records’ TSC',
    );
    // Second drain: the closesocket returns (its call was in the first chunk); the target's ring holds a return whose
    // call it never wrote.
    source.ring.ret(close, 0n, 0);
    target.ring.ret(999, 0n, 0);
    const later = drainDecoded([source, target]);
    assert.deepEqual(decoder.expand(JSON.parse(drainAsChunk([source, target], whole)) as RingChunk, recordsOf), later);
    const closeReturn = later.find((e) => e.kind === 'api' && e.phase === 'return');
    assert.equal(closeReturn?.kind === 'api' && closeReturn.phase === 'return' ? closeReturn.callSeq : undefined, decoded[4].seq, 'the return names the call of the earlier chunk');
    assert.ok(later.some((e) => e.kind === 'records-lost' && e.pid === 41 && e.count === 1));
  });

  test('counting gives up on a drain that holds a call the tracer must decode (it is then drained row by row)', () => {
    const process = new Traced(60, 0);
    process.ring.call(CLOSESOCKET, 1, [4n]);
    process.ring.call(LISTEN, 1, [4n, 1n]);
    assert.equal(countRing(process.ring.bytes, SLOTS, 0, APIS, new Map(), (api) => api === 'listen'), undefined);
    assert.equal(countRing(process.ring.bytes, SLOTS, 0, APIS, new Map(), () => false)?.events, 2);
  });

  test('a chunk whose events are not the count the tracer gave is refused, saying both counts', () => {
    const process = new Traced(50, 0);
    process.ring.call(CLOSESOCKET, 1, [4n]);
    const chunk = JSON.parse(drainAsChunk([process])) as RingChunk;
    assert.throws(() => new RingChunkDecoder().expand({ ...chunk, count: chunk.count + 1 }, recordsOf), /decodes to 1 events; the tracer counted 2/);
  });

  test('a chunk whose records the records file does not hold whole is refused, saying where they should lie', () => {
    const file = join(dir, 'cut.spool.rings');
    const writer = new RingRecordsWriter(file);
    const process = new Traced(51, 0);
    process.ring.call(CLOSESOCKET, 1, [4n]);
    process.ring.call(CLOSESOCKET, 1, [5n]);
    const at = writer.append(ringRecords(process.ring.bytes, SLOTS, 0, 2));
    writer.close();
    truncateSync(file, RECORD_SIZE + 10);
    const reader = new RingRecordsReader(file);
    assert.throws(() => reader.read(at, 2 * RECORD_SIZE), new RegExp(`bytes 0–${2 * RECORD_SIZE} of .*cut\\.spool\\.rings, which ends at ${RECORD_SIZE + 10}`));
    reader.close();
    assert.throws(() => new RingRecordsReader(join(dir, 'none.rings')).read(0, RECORD_SIZE), /records file .*none\.rings cannot be read/);
  });

});

describe("a chunk's records, in ring order", () => {
  const slots = 8;
  // Each slot's bytes are its slot number, so ring order is readable in the output.
  const snapshot = Buffer.alloc(RING_HEADER_SIZE + slots * RECORD_SIZE);
  for (let slot = 0; slot < slots; slot++) snapshot.fill(slot, RING_HEADER_SIZE + slot * RECORD_SIZE, RING_HEADER_SIZE + (slot + 1) * RECORD_SIZE);
  const slotsOf = (records: Buffer) => Array.from({ length: records.length / RECORD_SIZE }, (_, i) => records[i * RECORD_SIZE]);

  test('records that do not wrap are one view of the snapshot, records that wrap two, the oldest first; the records file holds them in that order', () => {
    const [inPlace, ...rest] = ringRecords(snapshot, slots, 10, 14);
    assert.deepEqual([slotsOf(inPlace), rest.length], [[2, 3, 4, 5], 0]);
    assert.equal(inPlace.buffer, snapshot.buffer, 'no copy');
    const wrapped = ringRecords(snapshot, slots, 13, 19);
    assert.deepEqual(wrapped.map(slotsOf), [[5, 6, 7], [0, 1, 2]]);
    assert.ok(wrapped.every((piece) => piece.buffer === snapshot.buffer), 'no copy');
    assert.deepEqual(ringRecords(snapshot, slots, 8, 16).map(slotsOf), [[0, 1, 2, 3, 4, 5, 6, 7]]);
    const file = join(dir, 'order.spool.rings');
    const writer = new RingRecordsWriter(file);
    const first = writer.append(ringRecords(snapshot, slots, 10, 14));
    const second = writer.append(wrapped);
    writer.close();
    const reader = new RingRecordsReader(file);
    assert.deepEqual([first, second], [0, 4 * RECORD_SIZE]);
    assert.deepEqual(slotsOf(reader.read(second, 6 * RECORD_SIZE)), [5, 6, 7, 0, 1, 2]);
    assert.deepEqual(slotsOf(reader.read(first, 4 * RECORD_SIZE)), [2, 3, 4, 5]);
    reader.close();
  });
});
