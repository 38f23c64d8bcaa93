/**
 * In-process capture: x64 machine code for one call+return recording stub per hooked API.
 * Bytes are written by hand, one instruction per line with its assembly. Ring layout: ring.ts.
 *
 * Installed by inproc/recorder.ts; run under Wine by the in-process end-to-end tests (test/e2e/inproc.test.ts).
 *
 * The stub is entered by the `jmp rel32` written over the API's entry (recorder.ts), i.e. exactly as the original would be:
 * RSP = 8 mod 16, [RSP] = caller's return address, args RCX RDX R8 R9 then [RSP+0x28], [RSP+0x30], [RSP+0x38].
 * Frame after `sub rsp,0x58` (RSP 16-byte aligned for the inner call):
 *   [rsp+0x00..0x20) shadow space for the original   [rsp+0x20] arg5 copy  [rsp+0x28] arg6 copy  [rsp+0x30] arg7 copy
 *   [rsp+0x38] call seq   [rsp+0x40] saved RAX   [rsp+0x58] caller's return address
 *   [rsp+0x60..0x80) caller's home space: RCX RDX R8 R9 saved there   [rsp+0x80..] caller's stack args 5..7
 * Only volatile registers are clobbered (RAX RCX RDX R8 R9 R10 R11); the arguments are reloaded before the call.
 * Nothing after the original returns calls anything, so the last error is unchanged; it is still written back.
 * Unwind data (stubUnwindInfo) describes the one stack move, `sub rsp,0x58`: an exception or a stack walk through a
 * hooked call (e.g. out of a WSAAccept condition callback) unwinds through the stub to the program's caller.
 * Timestamps are rdtsc (shared by processes on one machine; see ring.ts tscToQpc for the conversion).
 */

import { ARMED_OFFSET, FAIL_ARMED_OFFSET, KIND_CALL, KIND_RETURN, ORIGINALS_OFFSET, RING_HEADER_SIZE, MAX_APIS } from './ring';

/** How an API reports failure in RAX: SOCKET_ERROR / INVALID_SOCKET (low 32 bits all ones), or a non-zero error code. */
export type FailureTest = 'minus-one' | 'nonzero';

/** Offset in each stub of the int3 an armed API executes (registers and stack are still as at the API's entry). */
export const STUB_BREAK_OFFSET = 20;
/** Offset of `sub rsp, FRAME_SIZE`, the stub's prologue: before it the stack is as at entry (a leaf, no unwind data). */
export const STUB_PROLOGUE_OFFSET = STUB_BREAK_OFFSET + 1;
const FRAME_SIZE = 0x58;

class Asm {
  private readonly bytes: number[] = [];
  op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  u32(v: number): number[] {
    return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  }
  u64(v: bigint): number[] {
    const out: number[] = [];
    for (let i = 0n; i < 8n; i++) out.push(Number((v >> (8n * i)) & 0xffn));
    return out;
  }
  get length(): number {
    return this.bytes.length;
  }
  done(): Buffer {
    return Buffer.from(this.bytes);
  }
}

/** Emits: r11 = address of the slot for a fresh sequence number (in rax), header address in r10. */
function takeSlot(a: Asm, header: bigint): void {
  a.op(0x49, 0xba, ...a.u64(header)); // mov r10, imm64 (ring header)
  a.op(0xb8, ...a.u32(1)); // mov eax, 1
  a.op(0xf0, 0x49, 0x0f, 0xc1, 0x02); // lock xadd [r10], rax      ; rax = seq
  a.op(0x49, 0x89, 0xc3); // mov r11, rax
  a.op(0x45, 0x23, 0x5a, 0x0c); // and r11d, [r10+0x0c]   ; & mask
  a.op(0x49, 0xc1, 0xe3, 0x06); // shl r11, 6               ; * 64
  a.op(0x4f, 0x8d, 0x9c, 0x1a, ...a.u32(RING_HEADER_SIZE)); // lea r11, [r10+r11+HEADER]
}

/** Emits: [r11+8] = api|kind<<16, [r11+12] = tid, [r11+0x10] = rdtsc. Clobbers rax, rcx, rdx. */
function stampHead(a: Asm, api: number, kind: number): void {
  a.op(0x41, 0xc7, 0x43, 0x08, ...a.u32(api | (kind << 16))); // mov dword [r11+8], api|kind<<16
  a.op(0x65, 0x8b, 0x0c, 0x25, ...a.u32(0x48)); // mov ecx, gs:[0x48]   ; TEB ClientId.UniqueThread
  a.op(0x41, 0x89, 0x4b, 0x0c); // mov [r11+0x0c], ecx
  a.op(0x0f, 0x31); // rdtsc
  a.op(0x48, 0xc1, 0xe2, 0x20); // shl rdx, 32
  a.op(0x48, 0x09, 0xd0); // or rax, rdx
  a.op(0x49, 0x89, 0x43, 0x10); // mov [r11+0x10], rax
}

/**
 * The call+return stub for API `api` (index into the originals table at header+ORIGINALS_OFFSET).
 * `header` is the absolute address of the ring header in the debuggee.
 */
export function callReturnStub(api: number, header: bigint, failure: FailureTest = 'minus-one'): { code: Buffer; failBreakOffset: number } {
  if (api < 0 || api >= MAX_APIS) throw new Error(`api id out of range: ${api}`);
  const a = new Asm();
  // ---- armed: stop here, before anything moved (the debugger then runs the original itself)
  a.op(0x49, 0xba, ...a.u64(header)); // mov r10, imm64 (ring header)
  a.op(0x41, 0x80, 0xba, ...a.u32(ARMED_OFFSET + api), 0x00); // cmp byte [r10+armed+api], 0
  a.op(0x74, 0x01); // je +1
  if (a.length !== STUB_BREAK_OFFSET) throw new Error('stub layout changed: STUB_BREAK_OFFSET');
  a.op(0xcc); // int3
  if (a.length !== STUB_PROLOGUE_OFFSET) throw new Error('stub layout changed: STUB_PROLOGUE_OFFSET');
  a.op(0x48, 0x83, 0xec, FRAME_SIZE); // sub rsp, 0x58
  a.op(0x48, 0x89, 0x4c, 0x24, 0x60); // mov [rsp+0x60], rcx
  a.op(0x48, 0x89, 0x54, 0x24, 0x68); // mov [rsp+0x68], rdx
  a.op(0x4c, 0x89, 0x44, 0x24, 0x70); // mov [rsp+0x70], r8
  a.op(0x4c, 0x89, 0x4c, 0x24, 0x78); // mov [rsp+0x78], r9
  a.op(0x48, 0x8b, 0x84, 0x24, ...a.u32(0x80)); // mov rax, [rsp+0x80]  ; arg5
  a.op(0x48, 0x89, 0x44, 0x24, 0x20); // mov [rsp+0x20], rax
  a.op(0x48, 0x8b, 0x84, 0x24, ...a.u32(0x88)); // mov rax, [rsp+0x88]  ; arg6
  a.op(0x48, 0x89, 0x44, 0x24, 0x28); // mov [rsp+0x28], rax
  a.op(0x48, 0x8b, 0x84, 0x24, ...a.u32(0x90)); // mov rax, [rsp+0x90]  ; arg7
  a.op(0x48, 0x89, 0x44, 0x24, 0x30); // mov [rsp+0x30], rax
  // ---- call record
  takeSlot(a, header);
  a.op(0x48, 0x89, 0x44, 0x24, 0x38); // mov [rsp+0x38], rax   ; call seq
  stampHead(a, api, KIND_CALL);
  for (const [src, dst] of [
    [0x60, 0x18],
    [0x68, 0x20],
    [0x70, 0x28],
    [0x78, 0x30],
    [0x58, 0x38],
  ] as const) {
    a.op(0x48, 0x8b, 0x44, 0x24, src); // mov rax, [rsp+src]
    a.op(0x49, 0x89, 0x43, dst); // mov [r11+dst], rax
  }
  a.op(0x48, 0x8b, 0x44, 0x24, 0x38); // mov rax, [rsp+0x38]
  a.op(0x48, 0xff, 0xc0); // inc rax
  a.op(0x49, 0x89, 0x03); // mov [r11], rax           ; commit stamp = seq+1, last store
  // ---- call the original through the saved pointer
  a.op(0x48, 0x8b, 0x4c, 0x24, 0x60); // mov rcx, [rsp+0x60]
  a.op(0x48, 0x8b, 0x54, 0x24, 0x68); // mov rdx, [rsp+0x68]
  a.op(0x4c, 0x8b, 0x44, 0x24, 0x70); // mov r8, [rsp+0x70]
  a.op(0x4c, 0x8b, 0x4c, 0x24, 0x78); // mov r9, [rsp+0x78]
  a.op(0x41, 0xff, 0x92, ...a.u32(ORIGINALS_OFFSET + 8 * api)); // call [r10+originals+8*api]
  a.op(0x48, 0x89, 0x44, 0x24, 0x40); // mov [rsp+0x40], rax   ; result
  // ---- return record
  takeSlot(a, header);
  a.op(0x49, 0x89, 0xc0); // mov r8, rax             ; return seq
  stampHead(a, api, KIND_RETURN);
  a.op(0x48, 0x8b, 0x44, 0x24, 0x40); // mov rax, [rsp+0x40]
  a.op(0x49, 0x89, 0x43, 0x18); // mov [r11+0x18], rax     ; RAX
  a.op(0x65, 0x8b, 0x0c, 0x25, ...a.u32(0x68)); // mov ecx, gs:[0x68]   ; TEB LastErrorValue
  a.op(0x41, 0x89, 0x4b, 0x20); // mov [r11+0x20], ecx
  a.op(0x8b, 0x44, 0x24, 0x38); // mov eax, [rsp+0x38]     ; call seq (low 32)
  a.op(0x41, 0x89, 0x43, 0x24); // mov [r11+0x24], eax     ; link
  a.op(0x48, 0x8b, 0x84, 0x24, ...a.u32(0x80)); // mov rax, [rsp+0x80]  ; arg5 (caller's copy)
  a.op(0x49, 0x89, 0x43, 0x28); // mov [r11+0x28], rax
  a.op(0x48, 0x8b, 0x84, 0x24, ...a.u32(0x88)); // mov rax, [rsp+0x88]  ; arg6 (caller's copy)
  a.op(0x49, 0x89, 0x43, 0x30); // mov [r11+0x30], rax
  a.op(0x48, 0x8b, 0x84, 0x24, ...a.u32(0x90)); // mov rax, [rsp+0x90]  ; arg7
  a.op(0x49, 0x89, 0x43, 0x38); // mov [r11+0x38], rax
  a.op(0x49, 0x8d, 0x40, 0x01); // lea rax, [r8+1]
  a.op(0x49, 0x89, 0x03); // mov [r11], rax           ; commit stamp
  a.op(0x65, 0x89, 0x0c, 0x25, ...a.u32(0x68)); // mov gs:[0x68], ecx   ; last error written back
  a.op(0x48, 0x8b, 0x44, 0x24, 0x40); // mov rax, [rsp+0x40]
  // ---- a stop after a failed call (its return is recorded): r10 still holds the header
  a.op(0x41, 0x80, 0xba, ...a.u32(FAIL_ARMED_OFFSET + api), 0x00); // cmp byte [r10+failArmed+api], 0
  if (failure === 'minus-one') a.op(0x74, 0x06, 0x83, 0xf8, 0xff, 0x75, 0x01); // je +6; cmp eax, -1; jne +1
  else a.op(0x74, 0x05, 0x85, 0xc0, 0x74, 0x01); // je +5; test eax, eax; je +1
  const failBreakOffset = a.length;
  a.op(0xcc); // int3
  a.op(0x48, 0x83, 0xc4, 0x58); // add rsp, 0x58
  a.op(0xc3); // ret
  return { code: a.done(), failBreakOffset };
}

/**
 * UNWIND_INFO for every stub's function entry, which starts at the prologue (x64 exception handling, "struct
 * UNWIND_INFO"): version 1, no handler, a 4-byte prologue with one code, UWOP_ALLOC_SMALL (op 2, info = size/8 - 1).
 * Padded to an even number of codes, as the format requires.
 */
export function stubUnwindInfo(): Buffer {
  const UWOP_ALLOC_SMALL = 2;
  return Buffer.from([0x01, 4, 1, 0, 4, UWOP_ALLOC_SMALL | ((FRAME_SIZE / 8 - 1) << 4), 0, 0]);
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
 * A call the tracer makes run on a thread it holds (the thread's context is saved and restored around it):
 * fn(a, b, c) with an aligned stack and shadow space, then int3 at the returned offset, where the tracer takes over.
 * The thread's RSP must be set 16-byte aligned before it runs.
 */
export function callThunk(fn: bigint, args: readonly [bigint, bigint, bigint]): { code: Buffer; breakOffset: number } {
  const a = new Asm();
  a.op(0x48, 0x83, 0xec, 0x20); // sub rsp, 0x20        ; shadow space, RSP stays aligned for the call
  a.op(0x48, 0xb9, ...a.u64(args[0])); // mov rcx, imm64
  a.op(0x48, 0xba, ...a.u64(args[1])); // mov rdx, imm64
  a.op(0x49, 0xb8, ...a.u64(args[2])); // mov r8, imm64
  a.op(0x48, 0xb8, ...a.u64(fn)); // mov rax, imm64
  a.op(0xff, 0xd0); // call rax
  const breakOffset = a.length;
  a.op(0xcc); // int3
  return { code: a.done(), breakOffset };
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

/** Stubs are placed at 16-byte aligned offsets; returns the padded code block and each stub's offset. */
export function buildStubs(failures: readonly FailureTest[], header: bigint): { code: Buffer; offsets: number[]; lengths: number[]; failBreaks: number[] } {
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  const lengths: number[] = [];
  const failBreaks: number[] = [];
  let at = 0;
  for (let i = 0; i < failures.length; i++) {
    const { code: s, failBreakOffset } = callReturnStub(i, header, failures[i]);
    offsets.push(at);
    lengths.push(s.length);
    failBreaks.push(at + failBreakOffset);
    const padded = Buffer.alloc((s.length + 15) & ~15, 0xcc);
    s.copy(padded);
    parts.push(padded);
    at += padded.length;
  }
  return { code: Buffer.concat(parts), offsets, lengths, failBreaks };
}
