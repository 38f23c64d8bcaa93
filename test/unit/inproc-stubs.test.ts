import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STUB_BREAK_OFFSET, STUB_PROLOGUE_OFFSET, absoluteJump, buildStubs, callReturnStub, callThunk, relativeJump, runtimeFunctions, stubUnwindInfo } from '../../tracer/win32/inproc/stubs';
import { decodeInstruction } from '../../tracer/win32/inproc/x64-decode';

/** The stub's instructions, decoded one after the other from its start. */
function instructions(code: Uint8Array): { offset: number; bytes: number[] }[] {
  const out: { offset: number; bytes: number[] }[] = [];
  for (let offset = 0; offset < code.length; ) {
    const d = decodeInstruction(code, offset);
    assert.ok(d, `undecodable stub byte at ${offset}`);
    out.push({ offset, bytes: [...code.subarray(offset, offset + d.length)] });
    offset += d.length;
  }
  return out;
}

describe('the in-process stubs: x64 rules a hooked call must keep', () => {
  const { code: stub, failBreakOffset } = callReturnStub(3, 0x10000000n);

  it('an armed stub stops at its int3 before the stack moves; the prologue is the one `sub rsp, 0x58` that follows', () => {
    const code = instructions(stub);
    assert.deepEqual(code.find((i) => i.offset === STUB_BREAK_OFFSET)?.bytes, [0xcc]);
    assert.deepEqual(code.find((i) => i.offset === STUB_PROLOGUE_OFFSET)?.bytes, [0x48, 0x83, 0xec, 0x58]);
    // Entered with RSP = 8 mod 16: 0x58 more leaves it 16-byte aligned at the inner call.
    assert.equal((8 + 0x58) % 16, 0);
  });

  it('the stack is given back before the return: `add rsp, 0x58; ret` ends the stub, as the unwinder expects of an epilogue', () => {
    assert.deepEqual([...stub.subarray(stub.length - 5)], [0x48, 0x83, 0xc4, 0x58, 0xc3]);
  });

  it('a stop after a failed call: the int3 comes after the return record, where only SOCKET_ERROR (eax = -1) reaches it', () => {
    const code = instructions(stub);
    const at = code.findIndex((i) => i.offset === failBreakOffset);
    assert.deepEqual(code[at].bytes, [0xcc]);
    assert.deepEqual(code[at - 2].bytes, [0x83, 0xf8, 0xff], 'cmp eax, -1');
    assert.deepEqual(code[at - 1].bytes, [0x75, 0x01], 'jne over the int3');
    const startup = callReturnStub(0, 0x10000000n, 'nonzero');
    assert.deepEqual([...startup.code.subarray(startup.failBreakOffset - 4, startup.failBreakOffset + 1)], [0x85, 0xc0, 0x74, 0x01, 0xcc], 'WSAStartup fails with a non-zero error code');
  });

  it('the unwind info describes exactly that prologue: version 1, 4 bytes, one UWOP_ALLOC_SMALL of 0x58', () => {
    const info = stubUnwindInfo();
    assert.equal(info[0] & 7, 1, 'version');
    assert.equal(info[0] >> 3, 0, 'no handler');
    assert.equal(info[1], 4, 'prologue size');
    assert.equal(info[2], 1, 'one unwind code');
    assert.equal(info[4], 4, 'the code applies after the 4-byte sub');
    assert.equal(info[5] & 0xf, 2, 'UWOP_ALLOC_SMALL');
    assert.equal(((info[5] >> 4) + 1) * 8, 0x58);
    assert.equal(info.length % 4, 0, 'codes padded to an even count');
  });

  it('function table entries are sorted by start and point at the shared unwind info', () => {
    const { offsets, lengths } = buildStubs(['nonzero', 'minus-one', 'minus-one'], 0x10000000n);
    const table = runtimeFunctions(
      offsets.map((o, i) => ({ begin: o + STUB_PROLOGUE_OFFSET, end: o + lengths[i] })).reverse(),
      0x900,
    );
    const begins = [0, 1, 2].map((i) => table.readUInt32LE(12 * i));
    assert.deepEqual(begins, [...begins].sort((a, b) => a - b));
    for (let i = 0; i < 3; i++) assert.equal(table.readUInt32LE(12 * i + 8), 0x900);
  });

  it('the registration thunk keeps the stack aligned and ends in the int3 the tracer waits for', () => {
    const { code, breakOffset } = callThunk(0x7000n, [1n, 2n, 3n]);
    assert.deepEqual([...code.subarray(0, 4)], [0x48, 0x83, 0xec, 0x20]);
    assert.equal(code[breakOffset], 0xcc);
    assert.equal(breakOffset, code.length - 1);
  });

  it('a jmp rel32 reaches ±2 GB and no further; the absolute jump reaches anywhere', () => {
    assert.deepEqual([...(relativeJump(0x1000n, 0x2000n) ?? [])], [0xe9, 0xfb, 0x0f, 0, 0]);
    assert.equal(relativeJump(0x1000n, 0x1000n + 2n ** 32n), undefined);
    assert.equal(absoluteJump(0x123456789abcdefn).readBigUInt64LE(6), 0x123456789abcdefn);
  });
});
