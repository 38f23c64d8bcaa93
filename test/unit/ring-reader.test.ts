import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RECORD_SIZE, RING_HEADER_SIZE, TAIL_OFFSET } from '../../tracer/win32/inproc/ring';
import type { RingMemory } from '../../tracer/win32/inproc/ring-memory';
import { RingReader } from '../../tracer/win32/inproc/ring-reader';
import { FakeRing } from '../support/fake-ring';

const APIS = ['closesocket', 'WSAStartup'];
const CLOSESOCKET = 0;

/** The ring as the tracer's mapping of a shared section shows it: the same bytes the stubs write. */
function mapped(ring: FakeRing, state = { readable: true, reads: 0, writes: 0 }): RingMemory & { state: typeof state } {
  return {
    state,
    address: 0x7f0000n,
    shared: true,
    inPlace: () => (state.readable ? ring.bytes : undefined),
    readInto(offset, target) {
      if (!state.readable) return false;
      state.reads++;
      ring.bytes.copy(target, 0, offset, offset + target.length);
      return true;
    },
    write(offset, bytes) {
      state.writes++;
      bytes.copy(ring.bytes, offset);
      return true;
    },
    release() {},
  };
}

/** A private ring (VirtualAllocEx in the debuggee): every read is a copy (ReadProcessMemory). */
function copied(ring: FakeRing): RingMemory & { state: { readable: boolean; reads: number; writes: number } } {
  const memory = mapped(ring);
  delete memory.inPlace;
  return { ...memory, shared: false };
}

const tailOf = (ring: FakeRing) => Number(ring.bytes.readBigUInt64LE(TAIL_OFFSET));

describe('reading a ring back: each drain reads what the stubs committed since the last one', () => {
  for (const [kind, memoryOf] of [['shared, read in place', mapped], ['private, copied', copied]] as const)
    it(`wait mode: a drain reads every record written since the last drain, and only those (${kind})`, () => {
      const ring = new FakeRing(64);
      const memory = memoryOf(ring);
      const reader = new RingReader(memory, 64, true, APIS);
      for (let i = 0; i < 3; i++) ring.call(CLOSESOCKET, 7, [BigInt(i)]);
      assert.deepEqual(reader.drain()?.calls.map((c) => c.raw[0]), [0n, 1n, 2n]);
      ring.call(CLOSESOCKET, 7, [3n]);
      ring.call(CLOSESOCKET, 7, [4n]);
      const second = reader.drain();
      assert.deepEqual(second?.calls.map((c) => c.raw[0]), [3n, 4n]);
      assert.equal(second?.next, 5);
      assert.deepEqual(
        reader.recordBytes(3, 5).map((piece) => piece.readUInt32LE(0)),
        [4],
        'the records as the stubs wrote them (stamp: seq + 1)',
      );
      assert.equal(reader.drain()?.calls.length, 0, 'nothing new: nothing read twice');
      if (memory.shared) assert.equal(memory.state.reads, 0, 'a shared ring is never copied');
      else assert.ok(memory.state.reads >= 3);
    });

  it('wait mode: records stamped after the drain began are left for the next drain, a record\'s continuations with it', () => {
    const ring = new FakeRing(64);
    const reader = new RingReader(mapped(ring), 64, true, APIS);
    // TSCs: each record's seq × 10.
    ring.call(CLOSESOCKET, 7, [1n]);
    ring.callWithData(CLOSESOCKET, 7, [2n], Buffer.alloc(100, 1)); // seq 1, two continuations
    ring.call(CLOSESOCKET, 7, [3n]); // seq 4, TSC 40
    ring.call(CLOSESOCKET, 7, [4n]); // seq 5, TSC 50
    const first = reader.drain(undefined, 40);
    assert.deepEqual(first?.calls.map((c) => c.raw[0]), [1n, 2n, 3n], 'up to the records stamped at the cut');
    assert.equal(first?.next, 5);
    assert.deepEqual(reader.drain(undefined, 1000)?.calls.map((c) => c.raw[0]), [4n]);
  });

  it('wait mode: a record whose stamp is not written yet ends the read; it is read by the next drain', () => {
    const ring = new FakeRing(64);
    const reader = new RingReader(mapped(ring), 64, true, APIS);
    ring.call(CLOSESOCKET, 7, [1n]);
    ring.call(CLOSESOCKET, 7, [2n]);
    const second = RING_HEADER_SIZE + 1 * RECORD_SIZE;
    const written = ring.bytes.readBigUInt64LE(second);
    ring.bytes.writeBigUInt64LE(0n, second);
    assert.deepEqual(reader.drain()?.calls.map((c) => c.raw[0]), [1n]);
    ring.bytes.writeBigUInt64LE(written, second);
    assert.deepEqual(reader.drain()?.calls.map((c) => c.raw[0]), [2n]);
  });

  it('wait mode: the tail goes back to the ring once an eighth of it was read, when nothing new came, and not on every drain', () => {
    const ring = new FakeRing(64);
    const memory = mapped(ring);
    const reader = new RingReader(memory, 64, true, APIS);
    for (let i = 0; i < 8; i++) ring.call(CLOSESOCKET, 7, [BigInt(i)]);
    reader.drain();
    assert.equal(tailOf(ring), 8, 'an eighth of the ring read: stubs waiting for room may use those slots');
    ring.call(CLOSESOCKET, 7, [8n]);
    reader.drain();
    assert.equal(tailOf(ring), 8, 'one record read: the tail is not written for it');
    reader.drain();
    assert.equal(tailOf(ring), 9, 'a drain that found nothing new tells the stubs everything is read (they may all be waiting for it)');
  });

  it('wait mode: a full ring is read whole, and its tail written at once', () => {
    const ring = new FakeRing(64);
    const reader = new RingReader(mapped(ring), 64, true, APIS);
    for (let i = 0; i < 64; i++) ring.call(CLOSESOCKET, 7, [BigInt(i)]);
    // A stub took seq 64 and waits for room.
    ring.bytes.writeBigUInt64LE(65n, 0);
    const result = reader.drain();
    assert.equal(result?.calls.length, 64);
    assert.equal(result?.lost, 0);
    assert.equal(tailOf(ring), 64);
  });

  it('drop mode: records the stubs overwrote before the drain are counted lost, the newest kept', () => {
    const ring = new FakeRing(8);
    const reader = new RingReader(mapped(ring), 8, false, APIS);
    for (let i = 0; i < 20; i++) ring.call(CLOSESOCKET, 7, [BigInt(i)]);
    const result = reader.drain();
    assert.equal(result?.lost, 12);
    assert.deepEqual(result?.calls.map((c) => Number(c.raw[0])), [12, 13, 14, 15, 16, 17, 18, 19]);
    assert.equal(reader.readFrom, 20);
  });

  it("a ring that cannot be read (the process's memory is gone) gives no drain, and the next drain starts where the last ended", () => {
    const ring = new FakeRing(64);
    const memory = mapped(ring);
    const reader = new RingReader(memory, 64, true, APIS);
    ring.call(CLOSESOCKET, 7, [1n]);
    memory.state.readable = false;
    assert.equal(reader.drain(), undefined);
    assert.equal(reader.readFrom, 0);
    memory.state.readable = true;
    assert.deepEqual(reader.drain()?.calls.map((c) => c.raw[0]), [1n]);
  });
});
