/**
 * In-process capture: x64 machine code for one call+return recording stub per hooked API.
 * Bytes are written by hand, one instruction per line with its assembly. Ring layout: ring.ts; what each API's stub
 * copies from memory: copy-plan.ts; the copy, wait and record emitters: stub-parts.ts.
 *
 * Installed by inproc/recorder.ts; run under Wine by the in-process end-to-end tests (test/e2e/inproc*.test.ts).
 *
 * The stub is entered by the `jmp rel32` written over the API's entry (recorder.ts), i.e. exactly as the original would be:
 * RSP = 8 mod 16, [RSP] = caller's return address, args RCX RDX R8 R9 then [RSP+0x28], [RSP+0x30], ...
 * Frame after `sub rsp,0x128` (RSP 16-byte aligned for the inner call; frame offsets in stub-parts.ts Frame):
 *   [rsp+0x00..0x20) shadow space for the original   [rsp+0x20..0x48) the 5th-9th argument copies
 *   [rsp+0x48..0x128) the stub's own values (seqs, result, last error, the wait, the span headers, the stack)
 *   [rsp+0x128] caller's return address   [rsp+0x130..0x150) caller's home space: RCX RDX R8 R9 saved there
 *   [rsp+0x150..] caller's stack args 5..9
 * Only volatile registers are clobbered (RAX RCX RDX R8 R9 R10 R11); the arguments are reloaded before the call.
 * The last error is saved right after the original returns and written back last, so nothing the stub does after
 * (a wait for room in the ring) changes what the caller sees.
 * Unwind data (stubUnwindInfo) describes the one stack move, `sub rsp,0x128`: an exception or a stack walk through a
 * hooked call (e.g. out of a WSAAccept condition callback) unwinds through the stub to the program's caller.
 * Timestamps are rdtsc (shared by processes on one machine; see tsc.ts for the map to trace time).
 */

import { Asm } from './asm';
import type { StubPlan } from './copy-plan';
import { ARMED_OFFSET, EXTENSION_MAILBOX_OFFSET, EXTENSION_STOP_OFFSET, FAIL_ARMED_OFFSET, KIND_CALL, KIND_RETURN, KNOWN_EXTENSIONS, KNOWN_EXTENSIONS_OFFSET, MAX_APIS, ORIGINALS_OFFSET } from './ring';
import { FRAME_SIZE, Frame, captureStack, loadFrame, recordPhase, storeFrame } from './stub-parts';
import { SIO_GET_EXTENSION_FUNCTION_POINTER } from './copy-plan';
import type { TracedProcess } from '../traced-process';

export type { FailureTest } from './copy-plan';

/** Offset in each stub of the int3 an armed API executes (registers and stack are still as at the API's entry). */
export const STUB_BREAK_OFFSET = 20;
/** Offset of `sub rsp, FRAME_SIZE`, the stub's prologue: before it the stack is as at entry (a leaf, no unwind data). */
export const STUB_PROLOGUE_OFFSET = STUB_BREAK_OFFSET + 1;
/** `sub rsp, imm32`: the prologue's length. */
const PROLOGUE_LENGTH = 7;

const REGISTER_ONLY: StubPlan = { failure: 'minus-one', entrySpans: [], exitSpans: [], extraParams: 0, extensionPointerStop: false, stack: false };

export interface Stub {
  readonly code: Buffer;
  /** The int3 after a failed call (fail-armed). */
  readonly failBreakOffset: number;
  /** WSAIoctl: the int3 after a call that handed out an extension function pointer not seen before. */
  readonly extensionBreakOffset?: number;
  /** The instructions that read the caller's memory: where to go on if one faults, and the registers to zero. */
  readonly faults: readonly StubFault[];
}

/** A read of the caller's memory in a stub (offsets from the stub's start). */
export interface StubFault {
  readonly at: number;
  readonly resume: number;
  readonly zero: readonly ('rax' | 'rdx')[];
}

/**
 * The call+return stub for API `api` (index into the originals table at header+ORIGINALS_OFFSET).
 * `header` is the absolute address of the ring header in the debuggee.
 */
export function callReturnStub(api: number, header: bigint, plan: StubPlan | StubPlan['failure'] = REGISTER_ONLY): Stub {
  if (api < 0 || api >= MAX_APIS) throw new Error(`api id out of range: ${api}`);
  const p: StubPlan = typeof plan === 'string' ? { ...REGISTER_ONLY, failure: plan } : plan;
  const a = new Asm();
  // ---- armed: stop here, before anything moved (the debugger then runs the original itself)
  a.op(0x49, 0xba, ...a.u64(header)); // mov r10, imm64 (ring header)
  a.op(0x41, 0x80, 0xba, ...a.u32(ARMED_OFFSET + api), 0x00); // cmp byte [r10+armed+api], 0
  a.op(0x74, 0x01); // je +1
  if (a.length !== STUB_BREAK_OFFSET) throw new Error('stub layout changed: STUB_BREAK_OFFSET');
  a.op(0xcc); // int3
  if (a.length !== STUB_PROLOGUE_OFFSET) throw new Error('stub layout changed: STUB_PROLOGUE_OFFSET');
  a.op(0x48, 0x81, 0xec, ...a.u32(FRAME_SIZE)); // sub rsp, FRAME_SIZE
  storeFrame(a, 1, Frame.home); // mov [rsp+home], rcx
  storeFrame(a, 2, Frame.home + 8); // mov [rsp+home+8], rdx
  storeFrame(a, 8, Frame.home + 16); // mov [rsp+home+16], r8
  storeFrame(a, 9, Frame.home + 24); // mov [rsp+home+24], r9
  for (let param = 4; param < 9; param++) {
    loadFrame(a, 0, Frame.home + 8 * param); // mov rax, [caller's stack argument]
    storeFrame(a, 0, Frame.argCopies + 8 * (param - 4)); // mov [rsp+0x20+...], rax   ; the original's copy
  }
  // ---- call record (and its continuations: the stack parameters, the memory arguments, the call's stack)
  if (p.stack) captureStack(a, header);
  recordPhase(a, { header, api, kind: KIND_CALL, spans: p.entrySpans, extraParams: p.extraParams, stack: p.stack, prefix: 'call' }, () => {
    for (const [src, dst] of [
      [Frame.home, 0x18],
      [Frame.home + 8, 0x20],
      [Frame.home + 16, 0x28],
      [Frame.home + 24, 0x30],
      [FRAME_SIZE, 0x38],
    ] as const) {
      loadFrame(a, 0, src); // mov rax, [rsp+src]
      a.op(0x49, 0x89, 0x43, dst); // mov [r11+dst], rax
    }
  });
  loadFrame(a, 0, Frame.recordSeq);
  storeFrame(a, 0, Frame.callSeq); // the call's seq, for the return record's link
  // ---- call the original through the saved pointer
  loadFrame(a, 1, Frame.home); // mov rcx, [rsp+home]
  loadFrame(a, 2, Frame.home + 8); // mov rdx, ...
  loadFrame(a, 8, Frame.home + 16); // mov r8, ...
  loadFrame(a, 9, Frame.home + 24); // mov r9, ...
  a.op(0x49, 0xba, ...a.u64(header)); // mov r10, imm64 (ring header)
  a.op(0x41, 0xff, 0x92, ...a.u32(ORIGINALS_OFFSET + 8 * api)); // call [r10+originals+8*api]
  storeFrame(a, 0, Frame.result); // mov [rsp+result], rax
  a.op(0x65, 0x8b, 0x0c, 0x25, ...a.u32(0x68)); // mov ecx, gs:[0x68]   ; TEB LastErrorValue, before anything else runs
  a.op(0x89, 0x8c, 0x24, ...a.u32(Frame.lastError)); // mov [rsp+lastError], ecx
  // ---- return record (and its continuations: the out-parameters the callee filled)
  recordPhase(a, { header, api, kind: KIND_RETURN, spans: p.exitSpans, extraParams: 0, prefix: 'return' }, () => {
    loadFrame(a, 0, Frame.result);
    a.op(0x49, 0x89, 0x43, 0x18); // mov [r11+0x18], rax     ; RAX
    a.op(0x8b, 0x8c, 0x24, ...a.u32(Frame.lastError)); // mov ecx, [rsp+lastError]
    a.op(0x41, 0x89, 0x4b, 0x20); // mov [r11+0x20], ecx
    a.op(0x8b, 0x84, 0x24, ...a.u32(Frame.callSeq)); // mov eax, [rsp+callSeq]   ; call seq (low 32)
    a.op(0x41, 0x89, 0x43, 0x24); // mov [r11+0x24], eax     ; link
    for (const [param, dst] of [
      [4, 0x28],
      [5, 0x30],
      [6, 0x38],
    ] as const) {
      loadFrame(a, 0, Frame.home + 8 * param); // mov rax, [caller's stack argument]
      a.op(0x49, 0x89, 0x43, dst); // mov [r11+dst], rax
    }
  });
  a.op(0x8b, 0x8c, 0x24, ...a.u32(Frame.lastError)); // mov ecx, [rsp+lastError]
  a.op(0x65, 0x89, 0x0c, 0x25, ...a.u32(0x68)); // mov gs:[0x68], ecx   ; last error written back
  a.op(0x49, 0xba, ...a.u64(header)); // mov r10, imm64 (ring header)
  let extensionBreakOffset: number | undefined;
  if (p.extensionPointerStop) {
    // ---- WSAIoctl handed out an extension function pointer the tracer has not seen: stop so it can hook it
    a.op(0x41, 0x80, 0xba, ...a.u32(EXTENSION_STOP_OFFSET), 0x00); // cmp byte [r10+extensionStop], 0
    a.jcc(0x4, 'extension-done'); // je
    loadFrame(a, 0, Frame.result); // mov rax, [rsp+result]
    a.op(0x85, 0xc0); // test eax, eax   ; 0: success
    a.jcc(0x5, 'extension-done'); // jne
    a.op(0x81, 0xbc, 0x24, ...a.u32(Frame.home + 8), ...a.u32(SIO_GET_EXTENSION_FUNCTION_POINTER)); // cmp dword [dwIoControlCode], SIO_...
    a.jcc(0x5, 'extension-done'); // jne
    loadFrame(a, 1, Frame.home + 8 * 4); // mov rcx, [lpvOutBuffer]
    a.op(0x48, 0x85, 0xc9); // test rcx, rcx
    a.jcc(0x4, 'extension-done'); // je
    a.mayFault('extension-done', []).op(0x48, 0x8b, 0x09); // mov rcx, [rcx]   ; the pointer handed out
    for (let i = 0; i < KNOWN_EXTENSIONS; i++) {
      a.op(0x49, 0x3b, 0x8a, ...a.u32(KNOWN_EXTENSIONS_OFFSET + 8 * i)); // cmp rcx, [r10+known+8i]
      a.jcc(0x4, 'extension-done'); // je
    }
    // One stopped thread at a time leaves the pointer and lpvInBuffer in the mailbox: reading the stopped thread's
    // registers would make Wine set its debug registers (see extensionHandedOut).
    a.op(0x4d, 0x8d, 0x9a, ...a.u32(EXTENSION_MAILBOX_OFFSET)); // lea r11, [r10+mailbox]
    a.label('mailbox-lock');
    a.op(0x31, 0xc0); // xor eax, eax
    a.op(0xba, ...a.u32(1)); // mov edx, 1
    a.op(0xf0, 0x41, 0x0f, 0xb1, 0x13); // lock cmpxchg [r11], edx
    a.jcc(0x4, 'mailbox-locked'); // je
    a.op(0xf3, 0x90); // pause
    a.jmp('mailbox-lock');
    a.label('mailbox-locked');
    a.op(0x49, 0x89, 0x4b, 0x08); // mov [r11+8], rcx        ; the pointer handed out
    loadFrame(a, 0, Frame.home + 8 * 2); // mov rax, [lpvInBuffer]
    a.op(0x49, 0x89, 0x43, 0x10); // mov [r11+16], rax       ; where the GUID is
    extensionBreakOffset = a.length;
    a.op(0xcc); // int3
    a.op(0x41, 0xc7, 0x03, ...a.u32(0)); // mov dword [r11], 0   ; unlocked
    a.label('extension-done');
  }
  loadFrame(a, 0, Frame.result); // mov rax, [rsp+result]
  // ---- a stop after a failed call (its return is recorded): r10 holds the header
  a.op(0x41, 0x80, 0xba, ...a.u32(FAIL_ARMED_OFFSET + api), 0x00); // cmp byte [r10+failArmed+api], 0
  if (p.failure === 'minus-one') a.op(0x74, 0x06, 0x83, 0xf8, 0xff, 0x75, 0x01); // je +6; cmp eax, -1; jne +1
  else a.op(0x74, 0x05, 0x85, 0xc0, 0x74, 0x01); // je +5; test eax, eax; je +1
  const failBreakOffset = a.length;
  a.op(0xcc); // int3
  a.op(0x48, 0x81, 0xc4, ...a.u32(FRAME_SIZE)); // add rsp, FRAME_SIZE
  a.op(0xc3); // ret
  const faults = a.faults.map((f) => ({ at: f.at, resume: a.offsetOf(f.resumeLabel), zero: f.zero }));
  return { code: a.done(), failBreakOffset, ...(extensionBreakOffset !== undefined ? { extensionBreakOffset } : {}), faults };
}

/**
 * At WSAIoctl's extension-pointer int3: the pointer handed out and the GUID asked for, from the mailbox the stopped
 * stub filled (`mailbox`: its 24 bytes). The thread's registers are not read: under Wine a debugger reading the
 * context of a thread stopped at an exception makes the wineserver write that thread's debug registers (ptrace), and
 * from then on the kernel switches perf events at every context switch on the machine.
 */
export function extensionHandedOut(process: TracedProcess, mailbox: Buffer): { pointer: bigint; guid: Buffer } | undefined {
  const inBuffer = mailbox.readBigUInt64LE(16);
  const guid = process.read(inBuffer, 16);
  return guid && { pointer: mailbox.readBigUInt64LE(8), guid };
}

/**
 * UNWIND_INFO for every stub's function entry, which starts at the prologue (x64 exception handling, "struct
 * UNWIND_INFO"): version 1, no handler, a 7-byte prologue (`sub rsp, imm32`) with one UWOP_ALLOC_LARGE code (two slots).
 */
export function stubUnwindInfo(): Buffer {
  // UWOP_ALLOC_LARGE (op 1) with info 0: the next slot holds the size / 8 (a frame above 128 bytes).
  const UWOP_ALLOC_LARGE = 1;
  return Buffer.from([0x01, PROLOGUE_LENGTH, 2, 0, PROLOGUE_LENGTH, UWOP_ALLOC_LARGE, (FRAME_SIZE / 8) & 0xff, (FRAME_SIZE / 8) >> 8]);
}

/** RUNTIME_FUNCTION entries (begin, end, unwind info: RVAs from the region base), 12 bytes each, sorted by begin. */
export function runtimeFunctions(functions: readonly { begin: number; end: number }[], unwindInfo: number): Buffer {
  const table = Buffer.alloc(12 * functions.length);
  [...functions].sort((a, b) => a.begin - b.begin).forEach((f, i) => {
    table.writeUInt32LE(f.begin, 12 * i);
    table.writeUInt32LE(f.end, 12 * i + 4);
    table.writeUInt32LE(unwindInfo, 12 * i + 8);
  });
  return table;
}

/**
 * A thread's start routine that calls fn(a, b, c) and returns its BOOLEAN answer as the thread's exit code: the
 * tracer runs it in a thread of its own (CreateRemoteThread), so no thread of the program is stopped or moved.
 * `onSuccess`: a quadword stored when fn answers TRUE, before the thread ends (what waits for fn's work, in process).
 */
export function threadThunk(fn: bigint, args: readonly [bigint, bigint, bigint], onSuccess?: { address: bigint; value: bigint }): Buffer {
  const a = new Asm();
  a.op(0x48, 0x83, 0xec, 0x28); // sub rsp, 0x28        ; shadow space, and RSP aligned again for the call
  a.op(0x48, 0xb9, ...a.u64(args[0])); // mov rcx, imm64
  a.op(0x48, 0xba, ...a.u64(args[1])); // mov rdx, imm64
  a.op(0x49, 0xb8, ...a.u64(args[2])); // mov r8, imm64
  a.op(0x48, 0xb8, ...a.u64(fn)); // mov rax, imm64
  a.op(0xff, 0xd0); // call rax
  a.op(0x0f, 0xb6, 0xc0); // movzx eax, al        ; BOOLEAN
  if (onSuccess) {
    a.op(0x85, 0xc0); // test eax, eax
    a.jcc(0x4, 'done'); // je done
    a.op(0x48, 0xb9, ...a.u64(onSuccess.value)); // mov rcx, imm64
    a.op(0x48, 0xba, ...a.u64(onSuccess.address)); // mov rdx, imm64
    a.op(0x48, 0x89, 0x0a); // mov [rdx], rcx
    a.label('done');
  }
  a.op(0x48, 0x83, 0xc4, 0x28); // add rsp, 0x28
  a.op(0xc3); // ret
  return a.done();
}

/** `jmp qword [rip+0]` followed by the target: a jump that reaches anywhere (14 bytes). */
export function absoluteJump(target: bigint): Buffer {
  const a = new Asm();
  a.op(0xff, 0x25, 0, 0, 0, 0, ...a.u64(target));
  return a.done();
}

/** `jmp rel32` from `from` to `to` (5 bytes), or undefined when they are more than 2 GB apart. */
export function relativeJump(from: bigint, to: bigint): Buffer | undefined {
  const displacement = to - (from + 5n);
  if (displacement < -(2n ** 31n) || displacement >= 2n ** 31n) return undefined;
  const a = new Asm();
  a.op(0xe9, ...a.u32(Number(BigInt.asUintN(32, displacement))));
  return a.done();
}

/** Stubs are placed at 16-byte aligned offsets; returns the padded code block and each stub's offset and int3s. */
export function buildStubs(plans: readonly (StubPlan | StubPlan['failure'])[], header: bigint): { code: Buffer; offsets: number[]; lengths: number[]; failBreaks: number[]; extensionBreaks: (number | undefined)[]; faults: StubFault[] } {
  const faults: StubFault[] = [];
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  const lengths: number[] = [];
  const failBreaks: number[] = [];
  const extensionBreaks: (number | undefined)[] = [];
  let at = 0;
  for (let i = 0; i < plans.length; i++) {
    const stub = callReturnStub(i, header, plans[i]);
    offsets.push(at);
    lengths.push(stub.code.length);
    failBreaks.push(at + stub.failBreakOffset);
    extensionBreaks.push(stub.extensionBreakOffset === undefined ? undefined : at + stub.extensionBreakOffset);
    for (const f of stub.faults) faults.push({ at: at + f.at, resume: at + f.resume, zero: f.zero });
    const padded = Buffer.alloc((stub.code.length + 15) & ~15, 0xcc);
    stub.code.copy(padded);
    parts.push(padded);
    at += padded.length;
  }
  return { code: Buffer.concat(parts), offsets, lengths, failBreaks, extensionBreaks, faults };
}
