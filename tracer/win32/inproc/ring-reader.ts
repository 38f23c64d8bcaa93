/**
 * Reading an in-process ring back (tracer side): a snapshot of the ring the records are copied into (from the
 * tracer's mapping of it, or with ReadProcessMemory: ring-memory.ts), from the seq the last drain ended at, and the
 * tail written back so that stubs waiting for room go on. Drop mode reads the head before and after, to count what
 * was overwritten.
 */

import { apiEntry } from '../../apis';
import type { RingMemory } from './ring-memory';
import { CONTINUATIONS_OFFSET, HEAD_OFFSET, RECORD_SIZE, RING_HEADER_SIZE, TAIL_OFFSET, TSC_OFFSET, type DrainResult, drain, ringBytes, ringRecords } from './ring';

/** Wait mode's reads: the first chunk of records, doubled while they are all written, up to the last size. */
const FIRST_CHUNK_RECORDS = 1024;
const LAST_CHUNK_RECORDS = 65536;

export class RingReader {
  private next = 0;
  /** Where the records readNew found end (before a cut). */
  private readEnd = 0;
  /** The tail last written to the ring header (what the stubs know has been read). */
  private tailWritten = 0;
  private readonly snapshot: Buffer;
  /** Per API id, its parameter count: the drain makes BigInts of those alone. */
  private readonly paramCounts: readonly number[];

  constructor(
    private readonly ring: RingMemory,
    readonly slots: number,
    readonly waitWhenFull: boolean,
    apis: readonly string[],
  ) {
    this.snapshot = Buffer.alloc(ringBytes(slots));
    this.paramCounts = apis.map((api) => apiEntry(api)?.paramCount ?? 7);
  }

  /** The ring seq the next drain reads from. */
  get readFrom(): number {
    return this.next;
  }

  /** The records [start, next) the last drain read, byte for byte (a ring chunk's data; valid until the next read). */
  recordBytes(start: number, next: number): Buffer {
    return ringRecords(this.snapshot, this.slots, start, next);
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
   * Wait mode: reads the records written since the last commit into the snapshot. A shared ring is read up to its
   * head (reading it is a memory read); a private one, whose every read is a round trip to the Wine server, from
   * `next` in chunks (growing from 64 KB) until one ends in a record not yet written: nothing is overwritten, so its
   * head is not needed, and a quiet ring costs one read. False when the process's memory could not be read.
   * `cutTsc`: the records from the first one stamped after it are left for the next drain (see cutAt).
   */
  readNew(cutTsc?: number): boolean {
    let end = this.ring.shared ? this.readToHead() : this.readInChunks();
    if (end === undefined) return false;
    // Where the written records end (a full ring: every slot), before the cut.
    this.readEnd = end;
    if (cutTsc !== undefined) end = this.cutAt(end, cutTsc);
    // The snapshot's readers read up to `end` and stop at the first record not written yet.
    this.snapshot.writeBigUInt64LE(BigInt(end), HEAD_OFFSET);
    return true;
  }

  /** Copies the slots [next, head) into the snapshot: no more than the stubs took (nor pages they have not touched). */
  private readToHead(): number | undefined {
    const head = this.readHead();
    if (head === undefined) return undefined;
    const end = Math.min(head, this.next + this.slots);
    return this.copyRecords(this.next, end) ? end : undefined;
  }

  /** The ring's head: the seq the next stub will take. */
  private readHead(): number | undefined {
    const head = Buffer.alloc(8);
    return this.ring.readInto(HEAD_OFFSET, head) ? Number(head.readBigUInt64LE(0)) : undefined;
  }

  /** Copies the records [from, end) into the snapshot, in one read or two where the ring wraps. */
  private copyRecords(from: number, end: number): boolean {
    for (let seq = from; seq < end; ) {
      const slot = seq % this.slots;
      const count = Math.min(end - seq, this.slots - slot);
      const offset = RING_HEADER_SIZE + slot * RECORD_SIZE;
      if (!this.ring.readInto(offset, this.snapshot.subarray(offset, offset + count * RECORD_SIZE))) return false;
      seq += count;
    }
    return true;
  }

  private readInChunks(): number | undefined {
    let end = this.next;
    const limit = this.next + this.slots;
    for (let chunk = FIRST_CHUNK_RECORDS; end < limit; chunk = Math.min(chunk * 2, LAST_CHUNK_RECORDS)) {
      const slot = end % this.slots;
      const count = Math.min(chunk, this.slots - slot, limit - end);
      const offset = RING_HEADER_SIZE + slot * RECORD_SIZE;
      if (!this.ring.readInto(offset, this.snapshot.subarray(offset, offset + count * RECORD_SIZE))) return undefined;
      end += count;
      // The chunk's last record (or continuation) is not written yet: nothing after it is either.
      const last = offset + (count - 1) * RECORD_SIZE;
      if (this.snapshot.readUInt32LE(last) + (this.snapshot.readUInt32LE(last + 4) & 0x7fffffff) * 2 ** 32 !== end) break;
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
    for (let seq = this.next; seq < end; ) {
      const offset = RING_HEADER_SIZE + (seq % this.slots) * RECORD_SIZE;
      // Not written yet (its stamp is not seq + 1): the readers stop here anyway.
      if (this.snapshot.readUInt32LE(offset) + this.snapshot.readUInt32LE(offset + 4) * 2 ** 32 !== seq + 1) return seq;
      if (this.snapshot.readUInt32LE(offset + TSC_OFFSET) + this.snapshot.readUInt32LE(offset + TSC_OFFSET + 4) * 2 ** 32 > cutTsc) return seq;
      seq += 1 + this.snapshot[offset + CONTINUATIONS_OFFSET];
    }
    return end;
  }

  /** Wait mode: the rows readNew read. */
  parse(countedOnly?: readonly boolean[]): DrainResult {
    return drain(this.snapshot, this.slots, this.next, { wait: true, paramCounts: this.paramCounts, countedOnly });
  }

  /** Wait mode: what readNew read, for a reader of its own (`snapshot` from `readFrom`, slots as `slots`). */
  get snapshotBytes(): Buffer {
    return this.snapshot;
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
    // The drain reads the head from the snapshot.
    this.snapshot.writeBigUInt64LE(BigInt(end), HEAD_OFFSET);
    const result = drain(this.snapshot, this.slots, this.next, { headAfter: this.readHead(), paramCounts: this.paramCounts });
    this.next = result.next;
    return result;
  }
}
