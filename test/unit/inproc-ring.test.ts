import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KIND_CALL, KIND_RETURN, RECORD_SIZE, RING_HEADER_SIZE, drain, ringBytes, ringHeader } from '../../tracer/win32/inproc/ring';

/** Writes records into a ring the way the stubs do: seq from the head, the stamp (seq + 1) last. */
class FakeRing {
  readonly bytes: Buffer;
  head = 0;
  constructor(readonly slots: number) {
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
    this.bytes.writeUInt16LE(KIND_CALL, o + 10);
    this.bytes.writeUInt32LE(tid, o + 12);
    this.bytes.writeBigUInt64LE(BigInt(seq * 10), o + 16);
    args.slice(0, 4).forEach((a, i) => this.bytes.writeBigUInt64LE(a, o + 24 + i * 8));
    this.bytes.writeBigUInt64LE(0x140001234n, o + 56); // the caller's return address
    this.bytes.writeBigUInt64LE(BigInt(seq + 1), o);
    return seq;
  }
  ret(callSeq: number, rax: bigint, lastError: number, stackArgs: bigint[] = []): number {
    const seq = this.take();
    const o = this.slot(seq);
    this.bytes.writeUInt16LE(KIND_RETURN, o + 10);
    this.bytes.writeBigUInt64LE(rax, o + 24);
    this.bytes.writeUInt32LE(lastError, o + 32);
    this.bytes.writeUInt32LE(callSeq >>> 0, o + 36);
    stackArgs.slice(0, 3).forEach((a, i) => this.bytes.writeBigUInt64LE(a, o + 40 + i * 8));
    this.bytes.writeBigUInt64LE(BigInt(seq + 1), o);
    return seq;
  }
}

describe('the in-process ring: records the stubs commit, read back by the tracer', () => {
  it('a call and its return are linked, with the arguments, RAX and the last error', () => {
    const ring = new FakeRing(16);
    const call = ring.call(3, 0x20, [0x1a4n, 0n, 0n, 0n, 0n]);
    ring.ret(call, 0xffffffffffffffffn, 10038);
    const { calls, lost, next } = drain(ring.bytes, 16, 0);
    assert.equal(lost, 0);
    assert.equal(next, 2);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].raw[0], 0x1a4n);
    assert.equal(calls[0].ret?.lastError, 10038);
    assert.equal(calls[0].returnAddress, 0x140001234n);
  });

  it('the caller is known from the call record alone; the 5th-7th arguments come with the return (0 before it)', () => {
    const ring = new FakeRing(16);
    const call = ring.call(4, 0x20, [1n, 2n, 3n, 4n]);
    const early = drain(ring.bytes, 16, 0);
    assert.equal(early.calls[0].returnAddress, 0x140001234n);
    assert.deepEqual(early.calls[0].raw, [1n, 2n, 3n, 4n, 0n, 0n, 0n]);
    ring.ret(call, 0n, 0, [5n, 6n, 7n]);
    assert.deepEqual(drain(ring.bytes, 16, 0).calls[0].raw, [1n, 2n, 3n, 4n, 5n, 6n, 7n]);
  });

  it('a record still being written (its stamp not yet committed) ends the drain; it is read next time', () => {
    const ring = new FakeRing(16);
    ring.call(1, 1, [1n]);
    ring.call(1, 1, [2n]);
    const o = RING_HEADER_SIZE + 1 * RECORD_SIZE;
    ring.bytes.writeBigUInt64LE(0n, o);
    const first = drain(ring.bytes, 16, 0);
    assert.equal(first.calls.length, 1);
    assert.equal(first.next, 1);
    ring.bytes.writeBigUInt64LE(2n, o);
    assert.equal(drain(ring.bytes, 16, first.next).calls[0].raw[0], 2n);
  });

  it('an overflowed ring reports exactly how many records were lost and keeps the newest', () => {
    const ring = new FakeRing(8);
    for (let i = 0; i < 30; i++) ring.call(2, 7, [BigInt(i)]);
    const { calls, lost, next } = drain(ring.bytes, 8, 0);
    assert.equal(lost, 22);
    assert.equal(calls.length, 8);
    assert.equal(calls[0].raw[0], 22n);
    assert.equal(next, 30);
  });
});
