/**
 * Reading an in-process ring back (tracer side), from the seq the last drain ended at, and the tail written back so
 * that stubs waiting for room go on. In wait mode a shared ring is read where it lies, in the tracer's mapping
 * (ring-memory.ts): no stub writes a slot again before the tail says it was read, so the records stay as they are
 * until the drain is done with them. A private ring (ReadProcessMemory) and drop mode (stubs overwrite the oldest
 * records) are copied into a snapshot first; drop mode reads the head before and after, to count what was overwritten.
 */

import { apiEntry } from '../../apis';
import type { RingMemory } from './ring-memory';
import { DESCRIPTION_WORD, HEAD_OFFSET, RECORD_SIZE, RING_HEADER_SIZE, TAIL_OFFSET, TSC_OFFSET, type DrainResult, drain, ringBytes, ringRecords, wordsOf } from './ring';

/** Wait mode's reads: the first chunk of records, doubled while they are all written, up to the last size. */
const FIRST_CHUNK_RECORDS = 1024;
const LAST_CHUNK_RECORDS = 65536;

export class RingReader {
  private next = 0;
  /** Where the records readNew found end (before a cut). */
  private readEnd = 0;
  /** The tail last written to the ring header (what the stubs know has been read). */
  private tailWritten = 0;
  /** Where copies of the records go (a private ring, drop mode): allocated at the first copy. */
  private snapshot?: Buffer;
  /** What the last read reads: the shared ring itself, or the snapshot (header + slots). */
  private records?: Buffer;
  /** Where the last read's records end (after the cut). */
  private end = 0;
  /** Per API id, its parameter count: the drain makes BigInts of those alone. */
  private readonly paramCounts: readonly number[];

  constructor(
    private readonly ring: RingMemory,
    readonly slots: number,
    readonly waitWhenFull: boolean,
    apis: readonly string[],
  ) {
    this.paramCounts = apis.map((api) => apiEntry(api)?.paramCount ?? 7);
  }

  /** The ring seq the next drain reads from. */
  get readFrom(): number {
    return this.next;
  }

  /** The records [start, next) the last drain read, byte for byte, in one piece or two (valid until the next read). */
  recordBytes(start: number, next: number): Buffer[] {
    return ringRecords(this.records as Buffer, this.slots, start, next);
  }

  /** The copies' buffer, allocated at the first copy (a shared ring in wait mode never needs it). */
  private get copies(): Buffer {
    return (this.snapshot ??= Buffer.alloc(ringBytes(this.slots)));
  }

  /**
   * Reads what was recorded since the last drain. Drop mode: the head, the records up to it (one or two reads), the
   * head again. Wait mode: readNew, parse, commit.
   * `countedOnly` (wait mode): per API id, records only counted, not decoded (ring.ts DrainOptions).
   */
  drain(countedOnly?: readonly boolean[], cutTsc?: number): DrainResult | undefined {
    if (!this.waitWhenFull) return this.drainDropped();
    if (!this.readNew(cutTsc)) return undefined;
    const result = this.parse(countedOnly);
    this.commit(result.next);
    return result;
  }

  /**
   * Wait mode: finds the records written since the last commit. A shared ring is read in place up to its head; a
   * private one, whose every read is a round trip to the Wine server, is copied from `next` in chunks (growing from
   * 64 KB) until one ends in a record not yet written: nothing is overwritten, so its head is not needed, and a quiet
   * ring costs one read. False when the process's memory could not be read (a shared ring the tracer let go).
   * `cutTsc`: the records from the first one stamped after it are left for the next drain (see cutAt).
   */
  readNew(cutTsc?: number): boolean {
    const inPlace = this.ring.inPlace?.();
    if (this.ring.shared && !inPlace) return false;
    this.records = inPlace ?? this.copies;
    let end = inPlace ? Math.min(Number(inPlace.readBigUInt64LE(HEAD_OFFSET)), this.next + this.slots) : this.readInChunks();
    if (end === undefined) return false;
    // Where the written records end (a full ring: every slot), before the cut.
    this.readEnd = end;
    if (cutTsc !== undefined) end = this.cutAt(end, cutTsc);
    // The readers read up to `end` and stop at the first record not written yet.
    this.end = end;
    return true;
  }

  /** The ring's head: the seq the next stub will take. */
  private readHead(): number | undefined {
    const head = Buffer.alloc(8);
    return this.ring.readInto(HEAD_OFFSET, head) ? Number(head.readBigUInt64LE(0)) : undefined;
  }

  /** Copies the records [from, end) into the snapshot, in one read or two where the ring wraps. */
  private copyRecords(from: number, end: number): boolean {
    const snapshot = this.copies;
    for (let seq = from; seq < end; ) {
      const slot = seq % this.slots;
      const count = Math.min(end - seq, this.slots - slot);
      const offset = RING_HEADER_SIZE + slot * RECORD_SIZE;
      if (!this.ring.readInto(offset, snapshot.subarray(offset, offset + count * RECORD_SIZE))) return false;
      seq += count;
    }
    return true;
  }

  private readInChunks(): number | undefined {
    const snapshot = this.copies;
    let end = this.next;
    const limit = this.next + this.slots;
    for (let chunk = FIRST_CHUNK_RECORDS; end < limit; chunk = Math.min(chunk * 2, LAST_CHUNK_RECORDS)) {
      const slot = end % this.slots;
      const count = Math.min(chunk, this.slots - slot, limit - end);
      const offset = RING_HEADER_SIZE + slot * RECORD_SIZE;
      if (!this.ring.readInto(offset, snapshot.subarray(offset, offset + count * RECORD_SIZE))) return undefined;
      end += count;
      // The chunk's last record (or continuation) is not written yet: nothing after it is either.
      const last = offset + (count - 1) * RECORD_SIZE;
      if (snapshot.readUInt32LE(last) + (snapshot.readUInt32LE(last + 4) & 0x7fffffff) * 2 ** 32 !== end) break;
    }
    return end;
  }

  /**
   * Where a drain that began at `cutTsc` ends this ring: at the first record (in ring order) stamped after it. The
   * rings are read one after another, so without the cut a ring read later would give records made while an earlier
   * one was read, and the trace could show a target importing a WSAPROTOCOL_INFO before its source's
   * WSADuplicateSocket returned. With it, a record made after a record of another ring is never drained before it:
   * that one was complete before the cut, so it was read.
   */
  private cutAt(end: number, cutTsc: number): number {
    const words = wordsOf(this.records as Buffer);
    for (let seq = this.next; seq < end; ) {
      const w = (RING_HEADER_SIZE + (seq % this.slots) * RECORD_SIZE) / 4;
      // Not written yet (its stamp is not seq + 1): the readers stop here anyway.
      if (words[w] + words[w + 1] * 2 ** 32 !== seq + 1) return seq;
      if (words[w + TSC_OFFSET / 4] + words[w + TSC_OFFSET / 4 + 1] * 2 ** 32 > cutTsc) return seq;
      seq += 1 + (words[w + DESCRIPTION_WORD] >>> 24);
    }
    return end;
  }

  /** Wait mode: the rows readNew read. */
  parse(countedOnly?: readonly boolean[]): DrainResult {
    return drain(this.records as Buffer, this.slots, this.next, { wait: true, end: this.end, paramCounts: this.paramCounts, countedOnly });
  }

  /** Wait mode: what readNew read, for a reader of its own: the ring's bytes (header + slots), the records [from, end). */
  get lastRead(): { bytes: Buffer; from: number; end: number } {
    return { bytes: this.records as Buffer, from: this.next, end: this.end };
  }

  /**
   * Wait mode: the records below `next` are read, and a stub waiting for room may use their slots. Told once an
   * eighth of a ring was read since (each write is a round trip to another process; a stub waits only when the ring
   * is full), when the whole ring was unread, and when nothing new came (every writer may be waiting for exactly this).
   */
  commit(next: number): void {
    const unwritten = next - this.tailWritten;
    if (unwritten > 0 && (unwritten >= this.slots / 8 || this.readEnd === this.next + this.slots || next === this.next)) {
      const tail = Buffer.alloc(8);
      tail.writeBigUInt64LE(BigInt(next));
      if (this.ring.write(TAIL_OFFSET, tail)) this.tailWritten = next;
    }
    this.next = next;
  }

  /** Drop mode: stubs overwrite the oldest records; the head before and after the read tells what was lost. */
  private drainDropped(): DrainResult | undefined {
    const end = this.readHead();
    if (end === undefined || !this.copyRecords(Math.max(this.next, end - this.slots), end)) return undefined;
    this.records = this.copies;
    const result = drain(this.records, this.slots, this.next, { end, headAfter: this.readHead(), paramCounts: this.paramCounts });
    this.next = result.next;
    return result;
  }
}
