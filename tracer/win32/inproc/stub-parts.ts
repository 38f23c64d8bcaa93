/**
 * The parts of a recording stub (stubs.ts) that write one record: the span lengths, taking n slots, the wait for room
 * when the ring is full, the continuation records with the memory copies, the record's head and its commit stamp.
 * Registers while a record is written: r10 = ring header, r11 = the record's slot; rax rcx rdx r8 r9 are scratch
 * (the arguments are in the caller's home space, reloaded before the call).
 */

import type { Asm } from './asm';
import { CC } from './asm';
import { CONTINUATION_PAYLOAD, type SpanCopy } from './copy-plan';
import { CAPTURE_STACK_OFFSET, DELAY_FUNCTION_OFFSET, DELAY_INTERVAL_OFFSET, RING_HEADER_SIZE, STACK_FLAG, STALL_COUNT_OFFSET, STALL_TICKS_OFFSET, TAIL_OFFSET, WAIT_WHEN_FULL_OFFSET } from './ring';

/** The stub's frame: 8 mod 16, so RSP is 16-byte aligned inside it (entered with RSP = 8 mod 16). */
export const FRAME_SIZE = 0x128;
/** Return addresses a stub captures: the program's innermost 16 frames, and the stub's own (dropped by the tracer). */
export const STACK_CAPTURE_FRAMES = 17;

/** Offsets from RSP inside the stub. */
export const Frame = {
  /** The 5th-9th argument copies the original reads above its shadow space. */
  argCopies: 0x20,
  callSeq: 0x48,
  result: 0x50,
  lastError: 0x58,
  /** The seq of the record being written, and how many slots it took (1 + its continuations). */
  recordSeq: 0x60,
  recordSlots: 0x68,
  waitStart: 0x70,
  spins: 0x78,
  /** One 8-byte header per span: u32 bytes to copy, u32 the pointee or count its length came from. */
  spanHeaders: 0x80,
  /** The call's stack: how many return addresses were captured (u64), then the addresses; copied as one block. */
  stackCount: 0x98,
  stackFrames: 0xa0,
  /** The caller's home space (RCX RDX R8 R9 saved there), then its stack arguments: parameter p at home + 8p. */
  home: FRAME_SIZE + 8,
} as const;

/** Pause-spins before a waiting stub sleeps 1 ms (NtDelayExecution), leaving the CPU to the tracer. */
const SPINS_BEFORE_SLEEP = 200;

/** ModRM + SIB + disp32 for [rsp+disp] with register `reg` (mod 10, rm 100, SIB base rsp). */
function rsp(reg: number, disp: number): number[] {
  return [0x84 | ((reg & 7) << 3), 0x24, disp & 0xff, (disp >>> 8) & 0xff, (disp >>> 16) & 0xff, (disp >>> 24) & 0xff];
}
const rex = (reg: number) => 0x48 | (reg >= 8 ? 4 : 0);

/** mov reg64, [rsp+disp] (reg: 0 rax, 1 rcx, 2 rdx, 8 r8, 9 r9). */
export function loadFrame(a: Asm, reg: number, disp: number): void {
  a.op(rex(reg), 0x8b, ...rsp(reg, disp));
}
/** mov [rsp+disp], reg64 */
export function storeFrame(a: Asm, reg: number, disp: number): void {
  a.op(rex(reg), 0x89, ...rsp(reg, disp));
}

/** eax = min(rax, max) for an unsigned rax. */
function clampUnsigned(a: Asm, max: number, label: string): void {
  a.op(0x48, 0x3d, ...a.u32(max)); // cmp rax, max
  a.jcc(CC.be, label); // jbe
  a.op(0xb8, ...a.u32(max)); // mov eax, max
  a.label(label);
}

/** The bytes span `i` covers (and the pointee or count it came from) into the frame's span header. */
function spanLength(a: Asm, span: SpanCopy, i: number, prefix: string): void {
  const store = `${prefix}-span${i}-store`;
  a.op(0x31, 0xc0); // xor eax, eax
  a.op(0x31, 0xd2); // xor edx, edx
  loadFrame(a, 1, Frame.home + 8 * span.pointer); // mov rcx, [the address parameter]
  a.op(0x48, 0x85, 0xc9); // test rcx, rcx   ; NULL: nothing to copy
  a.jcc(CC.e, store);
  const size = span.size;
  if (size.kind === 'bytes') a.op(0xb8, ...a.u32(size.bytes)); // mov eax, bytes
  else if (size.kind === 'param') {
    if (size.signed) {
      a.op(0x48, 0x63, ...rsp(0, Frame.home + 8 * size.param)); // movsxd rax, dword [the length parameter]
      a.op(0x48, 0x85, 0xc0); // test rax, rax
      a.jcc(0xd, `${prefix}-span${i}-positive`); // jge
      a.op(0x31, 0xc0); // xor eax, eax   ; a negative int length reads nothing
      a.label(`${prefix}-span${i}-positive`);
    } else a.op(0x8b, ...rsp(0, Frame.home + 8 * size.param)); // mov eax, dword [the length parameter]
    if (size.scale !== 1) a.op(0x48, 0x69, 0xc0, ...a.u32(size.scale)); // imul rax, rax, scale
    clampUnsigned(a, size.maxBytes, `${prefix}-span${i}-clamped`);
  } else if (size.kind === 'pointee') {
    loadFrame(a, 2, Frame.home + 8 * size.param); // mov rdx, [the length pointer]
    a.op(0x48, 0x85, 0xd2); // test rdx, rdx
    a.jcc(CC.e, store);
    a.mayFault(store, ['rax', 'rdx']).op(0x8b, 0x12); // mov edx, [rdx]   ; *addrlen, kept: the decoder reads it
    a.op(0x89, 0xd0); // mov eax, edx
    clampUnsigned(a, size.maxBytes, `${prefix}-span${i}-clamped`);
  } else {
    a.mayFault(store, ['rax', 'rdx']).op(0x8b, 0x11); // mov edx, [rcx]   ; the count at the structure's start
    a.op(0x89, 0xd0); // mov eax, edx
    clampUnsigned(a, Math.floor((size.maxBytes - size.headerBytes) / size.elementBytes), `${prefix}-span${i}-clamped`);
    a.op(0x69, 0xc0, ...a.u32(size.elementBytes)); // imul eax, eax, elementBytes
    a.op(0x05, ...a.u32(size.headerBytes)); // add eax, headerBytes
  }
  // Probe the span's first and last byte (a span is at most two pages): an address the program got wrong faults here,
  // where the tracer makes it a span of 0 bytes (the breakpoint path's failed read), not in the copy.
  a.op(0x85, 0xc0); // test eax, eax
  a.jcc(CC.e, store);
  a.op(0x41, 0x89, 0xc1); // mov r9d, eax
  a.mayFault(store, ['rax']).op(0x44, 0x0f, 0xb6, 0x01); // movzx r8d, byte [rcx]
  a.mayFault(store, ['rax']).op(0x46, 0x0f, 0xb6, 0x44, 0x09, 0xff); // movzx r8d, byte [rcx+r9-1]
  a.label(store);
  a.op(0x89, ...rsp(0, Frame.spanHeaders + 8 * i)); // mov [rsp+spanHeaders+8i], eax
  a.op(0x89, ...rsp(2, Frame.spanHeaders + 8 * i + 4)); // mov [rsp+spanHeaders+8i+4], edx
}

/** rcx = recordSeq + recordSlots - slots, compared with the tail: `jle` to `label` when the record fits unread-free. */
function roomCheck(a: Asm, label: string): void {
  loadFrame(a, 1, Frame.recordSeq); // mov rcx, [rsp+recordSeq]
  a.op(0x48, 0x03, ...rsp(1, Frame.recordSlots)); // add rcx, [rsp+recordSlots]
  a.op(0x41, 0x8b, 0x52, 0x08); // mov edx, [r10+8]   ; slots
  a.op(0x48, 0x29, 0xd1); // sub rcx, rdx
  a.op(0x49, 0x3b, 0x8a, ...a.u32(TAIL_OFFSET)); // cmp rcx, [r10+tail]
  a.jcc(CC.le, label); // jle (signed: negative while the ring has never been full)
}

/**
 * Wait mode: the slots [recordSeq, recordSeq + recordSlots) must not hold records the tracer has not read yet. Spins
 * with `pause`, sleeps 1 ms after a while (the tracer drains every 20 ms), and counts the stall and its TSC ticks.
 */
function waitForRoom(a: Asm, header: bigint, prefix: string): void {
  const done = `${prefix}-room`;
  a.op(0x41, 0x80, 0xba, ...a.u32(WAIT_WHEN_FULL_OFFSET), 0x00); // cmp byte [r10+waitWhenFull], 0
  a.jcc(CC.e, done); // je   ; drop mode: overwrite, the tracer counts what was lost
  roomCheck(a, done);
  a.op(0x0f, 0x31); // rdtsc
  a.op(0x48, 0xc1, 0xe2, 0x20); // shl rdx, 32
  a.op(0x48, 0x09, 0xd0); // or rax, rdx
  storeFrame(a, 0, Frame.waitStart); // mov [rsp+waitStart], rax
  a.op(0xc7, ...rsp(0, Frame.spins), ...a.u32(0)); // mov dword [rsp+spins], 0
  a.label(`${prefix}-again`);
  a.op(0xf3, 0x90); // pause
  a.op(0x49, 0xba, ...a.u64(header)); // mov r10, imm64   ; a call to NtDelayExecution clobbered it
  roomCheck(a, `${prefix}-free`);
  a.op(0xff, ...rsp(0, Frame.spins)); // inc dword [rsp+spins]
  a.op(0x81, ...rsp(7, Frame.spins), ...a.u32(SPINS_BEFORE_SLEEP)); // cmp dword [rsp+spins], SPINS_BEFORE_SLEEP
  a.jcc(CC.b, `${prefix}-again`); // jb
  a.op(0xc7, ...rsp(0, Frame.spins), ...a.u32(0)); // mov dword [rsp+spins], 0
  a.op(0x49, 0x8b, 0x82, ...a.u32(DELAY_FUNCTION_OFFSET)); // mov rax, [r10+delayFunction]
  a.op(0x48, 0x85, 0xc0); // test rax, rax
  a.jcc(CC.e, `${prefix}-again`); // je   ; no NtDelayExecution known: spin on
  // NtDelayExecution(FALSE, &interval): RSP is 16-byte aligned here and [rsp, rsp+0x20) is free shadow space.
  a.op(0x31, 0xc9); // xor ecx, ecx
  a.op(0x49, 0x8d, 0x92, ...a.u32(DELAY_INTERVAL_OFFSET)); // lea rdx, [r10+delayInterval]
  a.op(0xff, 0xd0); // call rax
  a.jmp(`${prefix}-again`);
  a.label(`${prefix}-free`);
  a.op(0x0f, 0x31); // rdtsc
  a.op(0x48, 0xc1, 0xe2, 0x20); // shl rdx, 32
  a.op(0x48, 0x09, 0xd0); // or rax, rdx
  a.op(0x48, 0x2b, ...rsp(0, Frame.waitStart)); // sub rax, [rsp+waitStart]
  a.op(0xf0, 0x49, 0x01, 0x82, ...a.u32(STALL_TICKS_OFFSET)); // lock add [r10+stallTicks], rax
  a.op(0xf0, 0x49, 0xff, 0x82, ...a.u32(STALL_COUNT_OFFSET)); // lock inc qword [r10+stalls]
  a.label(done);
}

/** rax = the address of seq rax's slot (clobbers rax only). */
function slotOf(a: Asm, reg: 'rax' | 'r11'): void {
  if (reg === 'r11') {
    a.op(0x49, 0x89, 0xc3); // mov r11, rax
    a.op(0x45, 0x23, 0x5a, 0x0c); // and r11d, [r10+0x0c]   ; & mask
    a.op(0x49, 0xc1, 0xe3, 0x06); // shl r11, 6
    a.op(0x4f, 0x8d, 0x9c, 0x1a, ...a.u32(RING_HEADER_SIZE)); // lea r11, [r10+r11+HEADER]
  } else {
    a.op(0x41, 0x23, 0x42, 0x0c); // and eax, [r10+0x0c]   ; & mask (zero-extends)
    a.op(0x48, 0xc1, 0xe0, 0x06); // shl rax, 6
    a.op(0x49, 0x8d, 0x84, 0x02, ...a.u32(RING_HEADER_SIZE)); // lea rax, [r10+rax+HEADER]
  }
}

/**
 * Copies rcx bytes from r8 to r9 through the continuation records: at each record's end r9 skips the next one's
 * stamp, and past the ring's last record it goes on at the first (rdx = the end of the records).
 */
function copyLoop(a: Asm, label: string): void {
  a.op(0x48, 0x85, 0xc9); // test rcx, rcx
  a.jcc(CC.e, `${label}-done`);
  a.label(`${label}-loop`);
  a.op(0x41, 0x8a, 0x00); // mov al, [r8]
  a.op(0x41, 0x88, 0x01); // mov [r9], al
  a.op(0x49, 0xff, 0xc0); // inc r8
  a.op(0x49, 0xff, 0xc1); // inc r9
  a.op(0x41, 0xf6, 0xc1, 0x3f); // test r9b, 0x3f   ; records are 64-byte aligned
  a.jcc(CC.ne, `${label}-next`);
  a.op(0x49, 0x39, 0xd1); // cmp r9, rdx
  a.jcc(CC.b, `${label}-skip`);
  a.op(0x4d, 0x8d, 0x8a, ...a.u32(RING_HEADER_SIZE)); // lea r9, [r10+HEADER]   ; wrap to the first record
  a.label(`${label}-skip`);
  a.op(0x49, 0x83, 0xc1, 0x08); // add r9, 8   ; over the stamp
  a.label(`${label}-next`);
  a.op(0x48, 0xff, 0xc9); // dec rcx
  a.jcc(CC.ne, `${label}-loop`);
  a.label(`${label}-done`);
}

/**
 * The call's stack into the frame: RtlCaptureStackBackTrace(0, STACK_CAPTURE_FRAMES, frame buffer, NULL), which
 * unwinds through the stub by its registered unwind data. Its address is in the ring header (0: nothing captured, a
 * count of 0). RSP is 16-byte aligned here and [rsp, rsp+0x20) is free shadow space; the arguments are in home space.
 */
export function captureStack(a: Asm, header: bigint): void {
  a.op(0x48, 0xc7, ...rsp(0, Frame.stackCount), ...a.u32(0)); // mov qword [rsp+stackCount], 0
  a.op(0x49, 0xba, ...a.u64(header)); // mov r10, imm64 (ring header)
  a.op(0x49, 0x8b, 0x82, ...a.u32(CAPTURE_STACK_OFFSET)); // mov rax, [r10+captureStack]
  a.op(0x48, 0x85, 0xc0); // test rax, rax
  a.jcc(CC.e, 'stack-done'); // je   ; stacks off in this process
  a.op(0x31, 0xc9); // xor ecx, ecx   ; FramesToSkip
  a.op(0xba, ...a.u32(STACK_CAPTURE_FRAMES)); // mov edx, FramesToCapture
  a.op(0x4c, 0x8d, ...rsp(8, Frame.stackFrames)); // lea r8, [rsp+stackFrames]
  a.op(0x45, 0x31, 0xc9); // xor r9d, r9d   ; BackTraceHash: none
  a.op(0xff, 0xd0); // call rax
  a.op(0x0f, 0xb7, 0xc0); // movzx eax, ax   ; USHORT frames captured
  storeFrame(a, 0, Frame.stackCount); // mov [rsp+stackCount], rax
  a.label('stack-done');
}

export interface RecordPhase {
  readonly header: bigint;
  readonly api: number;
  readonly kind: number;
  readonly spans: readonly SpanCopy[];
  readonly extraParams: number;
  /** The call's stack (captureStack) goes into the data after the spans, and the record is flagged STACK_FLAG. */
  readonly stack?: boolean;
  /** Labels' prefix, unique per record in a stub. */
  readonly prefix: string;
}

/** Writes one record (and its continuations); `fill` writes the record's own fields at r11 before the commit. */
export function recordPhase(a: Asm, r: RecordPhase, fill: () => void): void {
  const continued = r.spans.length > 0 || r.extraParams > 0 || r.stack === true;
  if (continued) {
    r.spans.forEach((span, i) => spanLength(a, span, i, r.prefix));
    a.op(0xb8, ...a.u32(8 * r.spans.length + 8 * r.extraParams)); // mov eax, header bytes
    r.spans.forEach((_, i) => a.op(0x03, ...rsp(0, Frame.spanHeaders + 8 * i))); // add eax, [span i's length]
    if (r.stack) {
      loadFrame(a, 1, Frame.stackCount); // mov rcx, [rsp+stackCount]
      a.op(0x48, 0x85, 0xc9); // test rcx, rcx
      a.jcc(CC.e, `${r.prefix}-stack-sized`); // je   ; no stack: no block
      a.op(0x8d, 0x44, 0xc8, 0x08); // lea eax, [rax+rcx*8+8]   ; the count and the addresses
      a.label(`${r.prefix}-stack-sized`);
    }
    a.op(0x05, ...a.u32(CONTINUATION_PAYLOAD - 1)); // add eax, 55
    a.op(0x31, 0xd2); // xor edx, edx
    a.op(0xb9, ...a.u32(CONTINUATION_PAYLOAD)); // mov ecx, 56
    a.op(0xf7, 0xf1); // div ecx   ; eax = continuation records
    a.op(0xff, 0xc0); // inc eax   ; + the record itself
  } else a.op(0xb8, ...a.u32(1)); // mov eax, 1
  storeFrame(a, 0, Frame.recordSlots); // mov [rsp+recordSlots], rax
  a.op(0x49, 0xba, ...a.u64(r.header)); // mov r10, imm64 (ring header)
  a.op(0xf0, 0x49, 0x0f, 0xc1, 0x02); // lock xadd [r10], rax      ; rax = seq, head += slots taken
  storeFrame(a, 0, Frame.recordSeq); // mov [rsp+recordSeq], rax
  waitForRoom(a, r.header, r.prefix);
  if (continued) {
    // Continuation stamps: (seq + j + 1) | 1 << 63 for j = 1 .. n - 1.
    loadFrame(a, 1, Frame.recordSeq); // mov rcx, [rsp+recordSeq]
    a.op(0x44, 0x8b, ...rsp(8, Frame.recordSlots)); // mov r8d, [rsp+recordSlots]
    a.op(0x41, 0xff, 0xc8); // dec r8d
    a.label(`${r.prefix}-stamps`);
    a.op(0x48, 0xff, 0xc1); // inc rcx
    a.op(0x48, 0x89, 0xc8); // mov rax, rcx
    slotOf(a, 'rax');
    a.op(0x48, 0x8d, 0x51, 0x01); // lea rdx, [rcx+1]
    a.op(0x48, 0x0f, 0xba, 0xea, 0x3f); // bts rdx, 63
    a.op(0x48, 0x89, 0x10); // mov [rax], rdx
    a.op(0x41, 0xff, 0xc8); // dec r8d
    a.jcc(CC.ne, `${r.prefix}-stamps`);
    // The data: r9 = the first continuation's payload, rdx = the end of the records.
    loadFrame(a, 0, Frame.recordSeq); // mov rax, [rsp+recordSeq]
    a.op(0x48, 0xff, 0xc0); // inc rax
    slotOf(a, 'rax');
    a.op(0x4c, 0x8d, 0x48, 0x08); // lea r9, [rax+8]
    a.op(0x41, 0x8b, 0x52, 0x08); // mov edx, [r10+8]   ; slots
    a.op(0x48, 0xc1, 0xe2, 0x06); // shl rdx, 6
    a.op(0x49, 0x8d, 0x94, 0x12, ...a.u32(RING_HEADER_SIZE)); // lea rdx, [r10+rdx+HEADER]
    if (r.spans.length > 0) {
      a.op(0x4c, 0x8d, ...rsp(8, Frame.spanHeaders)); // lea r8, [rsp+spanHeaders]
      a.op(0xb9, ...a.u32(8 * r.spans.length)); // mov ecx, span header bytes
      copyLoop(a, `${r.prefix}-copy-headers`);
    }
    if (r.extraParams > 0) {
      a.op(0x4c, 0x8d, ...rsp(8, Frame.home + 8 * 4)); // lea r8, [the 5th parameter]   ; the caller's stack arguments
      a.op(0xb9, ...a.u32(8 * r.extraParams)); // mov ecx, their bytes
      copyLoop(a, `${r.prefix}-copy-params`);
    }
    r.spans.forEach((span, i) => {
      loadFrame(a, 8, Frame.home + 8 * span.pointer); // mov r8, [the address parameter]
      a.op(0x8b, ...rsp(1, Frame.spanHeaders + 8 * i)); // mov ecx, [span i's length]
      copyLoop(a, `${r.prefix}-copy-span${i}`);
    });
    if (r.stack) {
      loadFrame(a, 1, Frame.stackCount); // mov rcx, [rsp+stackCount]
      a.op(0x48, 0x85, 0xc9); // test rcx, rcx
      a.jcc(CC.e, `${r.prefix}-stack-copied`); // je
      a.op(0x48, 0x8d, 0x0c, 0xcd, ...a.u32(8)); // lea rcx, [rcx*8+8]   ; the count, then the addresses
      a.op(0x4c, 0x8d, ...rsp(8, Frame.stackCount)); // lea r8, [rsp+stackCount]
      copyLoop(a, `${r.prefix}-copy-stack`);
      a.label(`${r.prefix}-stack-copied`);
    }
  }
  loadFrame(a, 0, Frame.recordSeq); // mov rax, [rsp+recordSeq]
  slotOf(a, 'r11');
  // [r11+8] = api | kind << 16 (continuations: below), [r11+12] = tid, [r11+0x10] = rdtsc. Clobbers rax, rcx, rdx.
  a.op(0x41, 0xc7, 0x43, 0x08, ...a.u32(r.api | (r.kind << 16))); // mov dword [r11+8], api|kind<<16
  a.op(0x65, 0x8b, 0x0c, 0x25, ...a.u32(0x48)); // mov ecx, gs:[0x48]   ; TEB ClientId.UniqueThread
  a.op(0x41, 0x89, 0x4b, 0x0c); // mov [r11+0x0c], ecx
  a.op(0x0f, 0x31); // rdtsc
  a.op(0x48, 0xc1, 0xe2, 0x20); // shl rdx, 32
  a.op(0x48, 0x09, 0xd0); // or rax, rdx
  a.op(0x49, 0x89, 0x43, 0x10); // mov [r11+0x10], rax
  if (continued) {
    a.op(0x8b, ...rsp(0, Frame.recordSlots)); // mov eax, [rsp+recordSlots]
    a.op(0xff, 0xc8); // dec eax
    a.op(0x41, 0x88, 0x43, 0x0b); // mov [r11+11], al   ; continuation count
  }
  if (r.stack) {
    a.op(0x48, 0x83, 0xbc, 0x24, ...a.u32(Frame.stackCount), 0x00); // cmp qword [rsp+stackCount], 0
    a.jcc(CC.e, `${r.prefix}-unflagged`); // je
    a.op(0x41, 0x80, 0x4b, 0x0a, STACK_FLAG); // or byte [r11+10], STACK_FLAG
    a.label(`${r.prefix}-unflagged`);
  }
  fill();
  loadFrame(a, 0, Frame.recordSeq); // mov rax, [rsp+recordSeq]
  a.op(0x48, 0xff, 0xc0); // inc rax
  a.op(0x49, 0x89, 0x03); // mov [r11], rax           ; commit stamp = seq+1, last store
}
