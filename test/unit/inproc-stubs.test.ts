import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STUB_BREAK_OFFSET, STUB_PROLOGUE_OFFSET, absoluteJump, buildStubs, callReturnStub, extensionHandedOut, relativeJump, threadThunk, runtimeFunctions, stubUnwindInfo } from '../../tracer/win32/inproc/stubs';
import { decodeInstruction } from '../../tracer/win32/inproc/x64-decode';
import { stubPlan } from '../../tracer/win32/inproc/copy-plan';
import { HOOKED_APIS } from '../../tracer/apis';
import type { TracedProcess } from '../../tracer/win32/traced-process';

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

  it('an armed stub stops at its int3 before the stack moves; the prologue is the one `sub rsp, 0x128` that follows', () => {
    const code = instructions(stub);
    assert.deepEqual(code.find((i) => i.offset === STUB_BREAK_OFFSET)?.bytes, [0xcc]);
    assert.deepEqual(code.find((i) => i.offset === STUB_PROLOGUE_OFFSET)?.bytes, [0x48, 0x81, 0xec, 0x28, 0x01, 0, 0]);
    // Entered with RSP = 8 mod 16: 0x128 more leaves it 16-byte aligned at the inner call (and at NtDelayExecution's and RtlCaptureStackBackTrace's).
    assert.equal((8 + 0x128) % 16, 0);
  });

  it('the stack is given back before the return: `add rsp, 0x128; ret` ends the stub, as the unwinder expects of an epilogue', () => {
    assert.deepEqual([...stub.subarray(stub.length - 8)], [0x48, 0x81, 0xc4, 0x28, 0x01, 0, 0, 0xc3]);
  });

  it('every hooked API gets a stub that decodes instruction by instruction, memory copies, waits and stack capture included', () => {
    for (const stack of [false, true])
      for (const api of HOOKED_APIS) {
        const plan = stubPlan(api, stack);
        const built = callReturnStub(5, 0x10000000n, plan);
        const code = instructions(built.code);
        assert.ok(code.some((i) => i.offset === built.failBreakOffset), `${api}: the fail int3 is an instruction`);
        assert.equal(built.extensionBreakOffset !== undefined, api === 'WSAIoctl', `${api}: only WSAIoctl stops for a new extension pointer`);
        // call rax: RtlCaptureStackBackTrace from the header (NtDelayExecution's is the other `call rax`).
        const calls = code.filter((i) => i.bytes.length === 2 && i.bytes[0] === 0xff && i.bytes[1] === 0xd0).length;
        assert.equal(calls, stack ? 3 : 2, `${api}: ${stack ? 'one stack capture' : 'no stack capture'} besides the waits' sleeps`);
      }
  });

  it('WSAIoctl stops for a new extension pointer holding the mailbox lock: pointer and lpvInBuffer left there, the lock given back after the int3', () => {
    const built = callReturnStub(5, 0x10000000n, stubPlan('WSAIoctl'));
    const at = built.extensionBreakOffset ?? -1;
    const code = instructions(built.code);
    const int3 = code.findIndex((i) => i.offset === at);
    assert.ok(int3 > 0 && built.code[at] === 0xcc);
    const before = code.slice(int3 - 10, int3).map((i) => i.bytes);
    assert.ok(before.some((b) => b.join() === [0xf0, 0x41, 0x0f, 0xb1, 0x13].join()), 'lock cmpxchg [r11], edx: one stopped thread at a time');
    assert.ok(before.some((b) => b.join() === [0x49, 0x89, 0x4b, 0x08].join()), 'mov [r11+8], rcx: the pointer handed out');
    assert.ok(before.some((b) => b.join() === [0x49, 0x89, 0x43, 0x10].join()), 'mov [r11+16], rax: lpvInBuffer');
    assert.deepEqual(code[int3 + 1].bytes, [0x41, 0xc7, 0x03, 0, 0, 0, 0], 'mov dword [r11], 0 right after the int3');
  });

  it("the tracer takes the extension pointer and the GUID from the mailbox, not from the stopped thread's registers", () => {
    const guid = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const mailbox = Buffer.alloc(24);
    mailbox.writeBigUInt64LE(0x7ff012345678n, 8);
    mailbox.writeBigUInt64LE(0x5000n, 16);
    const process = { read: (address: bigint, length: number) => (address === 0x5000n && length === 16 ? guid : undefined) } as unknown as TracedProcess;
    assert.deepEqual(extensionHandedOut(process, mailbox), { pointer: 0x7ff012345678n, guid });
    mailbox.writeBigUInt64LE(0x6000n, 16);
    assert.equal(extensionHandedOut(process, mailbox), undefined, 'an unreadable GUID: nothing hooked');
  });

  it('the copy plans follow the catalogue: what each stub copies and when', () => {
    assert.deepEqual(stubPlan('closesocket').entrySpans, []);
    assert.deepEqual(stubPlan('setsockopt').entrySpans, [{ pointer: 3, size: { kind: 'param', param: 4, scale: 1, signed: true, maxBytes: 64 } }]);
    assert.deepEqual(stubPlan('ioctlsocket').entrySpans, [{ pointer: 2, size: { kind: 'bytes', bytes: 4 } }], 'argp and *argp: one copy');
    assert.deepEqual(stubPlan('WSASocketW').entrySpans, [{ pointer: 3, size: { kind: 'bytes', bytes: 628 } }]);
    assert.deepEqual(stubPlan('WSADuplicateSocketW').exitSpans, [{ pointer: 2, size: { kind: 'bytes', bytes: 628 } }]);
    assert.deepEqual(stubPlan('accept').exitSpans, [{ pointer: 1, size: { kind: 'pointee', param: 2, maxBytes: 128 } }]);
    assert.equal(stubPlan('select').entrySpans.length, 3);
    assert.equal(stubPlan('AcceptEx').extraParams, 4, "AcceptEx's stack parameters travel with the call record");
    assert.equal(stubPlan('select').extraParams, 1, "select's timeout too: a blocking call shows it before it returns");
    assert.equal(stubPlan('WSAIoctl').exitSpans.length, 2);
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

  it('the unwind info describes exactly that prologue: version 1, 7 bytes, one UWOP_ALLOC_LARGE of 0x128', () => {
    const info = stubUnwindInfo();
    assert.equal(info[0] & 7, 1, 'version');
    assert.equal(info[0] >> 3, 0, 'no handler');
    assert.equal(info[1], 7, 'prologue size');
    assert.equal(info[2], 2, 'one unwind code in two slots');
    assert.equal(info[4], 7, 'the code applies after the 7-byte sub');
    assert.equal(info[5] & 0xf, 1, 'UWOP_ALLOC_LARGE');
    assert.equal(info[5] >> 4, 0, 'its size / 8 in the next slot');
    assert.equal(info.readUInt16LE(6) * 8, 0x128);
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

  it('the registration thread realigns the stack for its call, returns the BOOLEAN answer as its exit code, and stops nowhere', () => {
    const code = threadThunk(0x7000n, [1n, 2n, 3n]);
    // A start routine is entered with RSP 8 off 16-byte alignment (the return address): 0x28 puts it back.
    assert.deepEqual([...code.subarray(0, 4)], [0x48, 0x83, 0xec, 0x28]);
    assert.equal(code.readBigUInt64LE(code.indexOf(Buffer.from([0x48, 0xb8])) + 2), 0x7000n);
    assert.deepEqual([...code.subarray(code.length - 8)], [0x0f, 0xb6, 0xc0, 0x48, 0x83, 0xc4, 0x28, 0xc3]);
    assert.ok(!code.includes(0xcc), 'no int3: no thread stops in it');
  });

  it('the registration thread stores a quadword when its call answers TRUE, and only then (what turns the stubs\' stack capture on)', () => {
    const code = threadThunk(0x7000n, [1n, 2n, 3n], { address: 0x5000_0100n, value: 0x7ffe_1234n });
    const afterCall = code.indexOf(Buffer.from([0x0f, 0xb6, 0xc0])) + 3;
    // test eax, eax; je (rel32) over the store.
    assert.deepEqual([...code.subarray(afterCall, afterCall + 4)], [0x85, 0xc0, 0x0f, 0x84]);
    const skipTo = afterCall + 8 + code.readInt32LE(afterCall + 4);
    assert.equal(code.readBigUInt64LE(code.indexOf(Buffer.from([0x48, 0xb9]), afterCall) + 2), 0x7ffe_1234n);
    assert.equal(code.readBigUInt64LE(code.indexOf(Buffer.from([0x48, 0xba]), afterCall) + 2), 0x5000_0100n);
    assert.deepEqual([...code.subarray(skipTo - 3, skipTo)], [0x48, 0x89, 0x0a], 'the store (mov [rdx], rcx) is what a FALSE answer skips');
    assert.deepEqual([...code.subarray(skipTo)], [0x48, 0x83, 0xc4, 0x28, 0xc3]);
  });

  it('a jmp rel32 reaches ±2 GB and no further; the absolute jump reaches anywhere', () => {
    assert.deepEqual([...(relativeJump(0x1000n, 0x2000n) ?? [])], [0xe9, 0xfb, 0x0f, 0, 0]);
    assert.equal(relativeJump(0x1000n, 0x1000n + 2n ** 32n), undefined);
    assert.equal(absoluteJump(0x123456789abcdefn).readBigUInt64LE(6), 0x123456789abcdefn);
  });
});
