/** A ring written the way the in-process stubs write it (tracer/win32/inproc/stubs.ts), for the tracer's readers. */
import { CONTINUATION_PAYLOAD, KIND_CALL, KIND_RETURN, RECORD_SIZE, RING_HEADER_SIZE, ringBytes, ringHeader } from '../../tracer/win32/inproc/ring';

/** Writes records into a ring the way the stubs do: seq from the head, the stamp (seq + 1) last. */
export class FakeRing {
  readonly bytes: Buffer;
  head = 0;
  /** `tscBase`: the first record's TSC (each record's is its seq × 10 after it). */
  constructor(
    readonly slots: number,
    private readonly tscBase = 0,
  ) {
    this.bytes = Buffer.alloc(ringBytes(slots));
    ringHeader(slots, []).copy(this.bytes);
  }
  private slot(seq: number): number {
    return RING_HEADER_SIZE + (seq & (this.slots - 1)) * RECORD_SIZE;
  }
  private take(): number {
    const seq = this.head++;
    this.bytes.writeBigUInt64LE(BigInt(this.head), 0);
    return seq;
  }
  call(api: number, tid: number, args: bigint[]): number {
    const seq = this.take();
    const o = this.slot(seq);
    this.bytes.writeUInt16LE(api, o + 8);
    this.bytes.writeUInt8(KIND_CALL, o + 10);
    this.bytes.writeUInt32LE(tid, o + 12);
    this.bytes.writeBigUInt64LE(BigInt(this.tscBase + seq * 10), o + 16);
    args.slice(0, 4).forEach((a, i) => this.bytes.writeBigUInt64LE(a, o + 24 + i * 8));
    this.bytes.writeBigUInt64LE(0x140001234n, o + 56); // the caller's return address
    this.bytes.writeBigUInt64LE(BigInt(seq + 1), o);
    return seq;
  }
  /** A call record with `data` in continuation records, as a stub with memory arguments writes it. */
  callWithData(api: number, tid: number, args: bigint[], data: Buffer): number {
    const continuations = Math.ceil(data.length / CONTINUATION_PAYLOAD);
    const seq = this.head;
    this.head += 1 + continuations;
    this.bytes.writeBigUInt64LE(BigInt(this.head), 0);
    for (let j = 1; j <= continuations; j++) {
      const c = this.slot(seq + j);
      this.bytes.writeBigUInt64LE(BigInt(seq + j + 1) | (1n << 63n), c);
      data.copy(this.bytes, c + 8, (j - 1) * CONTINUATION_PAYLOAD, j * CONTINUATION_PAYLOAD);
    }
    const o = this.slot(seq);
    this.bytes.writeUInt16LE(api, o + 8);
    this.bytes.writeUInt8(KIND_CALL, o + 10);
    this.bytes.writeUInt8(continuations, o + 11);
    this.bytes.writeUInt32LE(tid, o + 12);
    args.slice(0, 4).forEach((a, i) => this.bytes.writeBigUInt64LE(a, o + 24 + i * 8));
    this.bytes.writeBigUInt64LE(BigInt(seq + 1), o);
    return seq;
  }
  ret(callSeq: number, rax: bigint, lastError: number, stackArgs: bigint[] = []): number {
    const seq = this.take();
    const o = this.slot(seq);
    this.bytes.writeUInt8(KIND_RETURN, o + 10);
    this.bytes.writeBigUInt64LE(BigInt(this.tscBase + seq * 10), o + 16);
    this.bytes.writeBigUInt64LE(rax, o + 24);
    this.bytes.writeUInt32LE(lastError, o + 32);
    this.bytes.writeUInt32LE(callSeq >>> 0, o + 36);
    stackArgs.slice(0, 3).forEach((a, i) => this.bytes.writeBigUInt64LE(a, o + 40 + i * 8));
    this.bytes.writeBigUInt64LE(BigInt(seq + 1), o);
    return seq;
  }
}
