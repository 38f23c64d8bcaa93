import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RECORD_SIZE, RING_HEADER_SIZE, drain } from '../../tracer/win32/inproc/ring';
import { FakeRing } from '../support/fake-ring';

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
    assert.deepEqual(early.calls[0].raw, [1n, 2n, 3n, 4n, 0n, 0n, 0n, 0n]);
    ring.ret(call, 0n, 0, [5n, 6n, 7n]);
    assert.deepEqual(drain(ring.bytes, 16, 0).calls[0].raw, [1n, 2n, 3n, 4n, 5n, 6n, 7n, 0n]);
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

  it('memory arguments: a record followed by continuations (each stamped, 56 bytes of data), read back whole, across the ring end', () => {
    const ring = new FakeRing(8);
    for (let i = 0; i < 6; i++) ring.call(1, 1, [BigInt(i)]);
    const first = drain(ring.bytes, 8, 0);
    const data = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
    ring.callWithData(5, 9, [0x1a4n], data);
    const { calls, next, lost } = drain(ring.bytes, 8, first.next, { wait: true });
    assert.equal(lost, 0);
    assert.equal(next, 6 + 1 + 2, 'the record and its two continuations');
    assert.deepEqual(calls[0].data?.subarray(0, 100), data);
  });

  it('a continuation overwritten before it was read (drop mode) loses its record, counted', () => {
    const ring = new FakeRing(8);
    const seq = ring.callWithData(5, 9, [1n], Buffer.alloc(60, 7));
    ring.bytes.writeBigUInt64LE(0n, RING_HEADER_SIZE + ((seq + 2) & 7) * RECORD_SIZE);
    ring.bytes.writeBigUInt64LE(BigInt(seq + 3) | (1n << 63n), RING_HEADER_SIZE + ((seq + 2) & 7) * RECORD_SIZE);
    ring.bytes.writeBigUInt64LE(999n, RING_HEADER_SIZE + ((seq + 1) & 7) * RECORD_SIZE);
    const { calls, lost } = drain(ring.bytes, 8, 0);
    assert.equal(calls.length, 0);
    assert.equal(lost, 3);
  });

  it('wait mode: a head more than a ring ahead (stubs waiting for room) is not a loss; only what fits is read', () => {
    const ring = new FakeRing(8);
    for (let i = 0; i < 8; i++) ring.call(2, 7, [BigInt(i)]);
    // Two stubs took their seq and wait for room: the head is 10, their slots still hold records 0 and 1.
    ring.bytes.writeBigUInt64LE(10n, 0);
    const { calls, lost, next } = drain(ring.bytes, 8, 0, { wait: true });
    assert.equal(lost, 0);
    assert.equal(calls.length, 8);
    assert.equal(next, 8);
  });

  it('drop mode: records a writer may have begun to overwrite while they were read are counted lost', () => {
    const ring = new FakeRing(8);
    for (let i = 0; i < 8; i++) ring.call(2, 7, [BigInt(i)]);
    const { calls, lost, next } = drain(ring.bytes, 8, 0, { headAfter: 10 });
    assert.equal(lost, 2);
    assert.equal(calls.length, 6);
    assert.equal(calls[0].raw[0], 2n);
    assert.equal(next, 8);
  });
});
