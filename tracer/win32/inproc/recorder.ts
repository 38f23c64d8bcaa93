/**
 * The in-process recording path for one debuggee: an inline hook on each recorded ws2_32 entry point (a `jmp rel32`
 * over its first instructions, which move to a trampoline), a call+return stub per API that records into a ring in
 * the process's own memory, unwind data for the stubs, and the reader that reads the ring back (ring-reader.ts).
 *
 * Inline, not import-table redirects: every caller goes through the entry point, so calls made through
 * GetProcAddress pointers, from DLLs loaded later, and Winsock's own internal calls are all seen.
 * An API whose first instructions cannot be moved (see x64-decode.ts relocate) keeps its int3 breakpoint.
 * Every hooked API is recorded here: the stubs copy the memory each argument is read from (the catalogue's spans,
 * copy-plan.ts) into the ring. Extension functions (AcceptEx) are not exports: their stubs are built at install and
 * hooked when WSAIoctl hands out their pointer (hookExtension).
 */

import { apiEntry } from '../../apis';
import { win } from '../api';
import type { LoadedModule, TracedProcess } from '../traced-process';
import { MEM_COMMIT, MEM_RESERVE, PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE, PAGE_READWRITE, winExtra } from './api-extra';
import { stubPlan } from './copy-plan';
import { ARMED_OFFSET, CAPTURE_STACK_OFFSET, EXTENSION_MAILBOX_OFFSET, EXTENSION_STOP_OFFSET, FAIL_ARMED_OFFSET, KNOWN_EXTENSIONS, KNOWN_EXTENSIONS_OFFSET, ORIGINALS_OFFSET, RECORD_SIZE, RING_HEADER_SIZE, STALL_COUNT_OFFSET, WAIT_WHEN_FULL_OFFSET, ringBytes, ringHeader } from './ring';
import { type RingMemory, allocateRing } from './ring-memory';
import { RingReader } from './ring-reader';
import { STUB_BREAK_OFFSET, STUB_PROLOGUE_OFFSET, absoluteJump, buildStubs, relativeJump, threadThunk, runtimeFunctions, stubUnwindInfo } from './stubs';
import { relocate } from './x64-decode';

/** The `jmp rel32` written over an entry point. */
const PATCH_LENGTH = 5;
/** Bytes read at an entry to relocate: the instructions covering the patch (at most 4 + 15 bytes). */
const ENTRY_BYTES = 32;
/** Room per trampoline: the moved instructions (a widened branch grows them) and a 14-byte jump back. */
const TRAMPOLINE_SIZE = 64;
/** Room for the unwind-data registration thunk. */
const THUNK_SIZE = 128;
const ALLOCATION_GRANULARITY = 0x10000n;
/** Records per ring by default (16 MB). */
export const DEFAULT_RING_SLOTS = 262144;

interface InlineHook {
  readonly api: string;
  readonly entry: bigint;
  /** The original bytes the patch covers (put back on uninstall). */
  readonly saved: Buffer;
  readonly trampoline: bigint;
}

/** RtlAddFunctionTable for the stubs' unwind data: a thread start routine the tracer runs in a thread of its own. */
export interface Registration {
  readonly thunk: bigint;
}

export interface InstallOptions {
  readonly slots?: number;
  /** A full ring makes the stubs wait for the drain (default) instead of overwriting unread records. */
  readonly waitWhenFull?: boolean;
  /** ntdll!NtDelayExecution in the debuggee: a stub waiting for room sleeps through it. */
  readonly delayFunction?: bigint;
  /** ntdll!RtlAddFunctionTable in the debuggee, when known. */
  readonly rtlAddFunctionTable?: bigint;
  /** ntdll!RtlCaptureStackBackTrace in the debuggee: given, every call record carries the call's stack. */
  readonly captureStack?: bigint;
  /** True when a thread other than the one stopped at the event is inside [address, address + length). */
  readonly threadInside?: (address: bigint, length: number) => boolean;
}

export class InprocRecorder {
  private readonly hooks = new Map<string, InlineHook>();
  private readonly hookAt = new Map<bigint, InlineHook>();
  /** The int3 in each stub (taken when its API is armed) → the API and where its original code runs from. */
  readonly breaks = new Map<bigint, { api: string; original: bigint }>();
  /** The int3 each stub executes after a failed call when its API is fail-armed → the API. */
  readonly failBreaks = new Map<bigint, string>();
  /** A stub's read of the caller's memory → where it goes on if the address faults, and the registers zeroed. */
  readonly faults = new Map<bigint, { readonly resume: bigint; readonly zero: readonly ('rax' | 'rdx')[] }>();
  /** WSAIoctl's int3 after it handed out an extension function pointer the tracer has not seen. */
  readonly extensionBreaks = new Set<bigint>();
  /** Extension function pointers already seen (listed in the ring header, up to KNOWN_EXTENSIONS). */
  private readonly knownExtensions: bigint[] = [];
  /** Where each API's stub and trampoline are, for an extension function hooked later. */
  private readonly places = new Map<string, { stub: bigint; trampoline: bigint; id: number }>();
  private code = 0n;
  private codeSize = 0;
  /** APIs that could not be hooked inline, and why (they stay on breakpoints). */
  readonly skipped: { api: string; reason: string }[] = [];
  registration?: Registration;
  /** Whether RtlAddFunctionTable accepted the stubs' unwind data (undefined: not run). */
  unwindRegistered?: boolean;

  /** True for an address in the stubs' code (a captured stack's own frame). */
  isStubCode(address: bigint): boolean {
    return address >= this.code && address < this.code + BigInt(this.codeSize);
  }

  private constructor(
    private readonly process: TracedProcess,
    private readonly ring: RingMemory,
    slots: number,
    waitWhenFull: boolean,
    /** API id (the stub's index) → name. */
    readonly apis: readonly string[],
    /** Its call records end with the call's stack (symbolized by the tracer at the drain). */
    readonly recordsStacks: boolean,
  ) {
    this.reader = new RingReader(ring, slots, waitWhenFull, apis);
  }

  /** What reads the ring back (the drains). */
  readonly reader: RingReader;

  /**
   * Writes the ring (touched once, so the stubs allocate no page: a shared ring is written through the tracer's view,
   * and the program still takes a minor fault mapping each page on the ring's first pass), then, within ±2 GB of
   * ws2_32, the stubs, the trampolines, the unwind data and the registration thunk; then patches the entry points.
   * Returns undefined when nothing could be installed.
   */
  static install(process: TracedProcess, ws2: LoadedModule, exports: ReadonlyMap<string, bigint>, apis: readonly string[], options: InstallOptions = {}): InprocRecorder | undefined {
    const slots = options.slots ?? DEFAULT_RING_SLOTS;
    const waitWhenFull = options.waitWhenFull ?? true;
    const ring = allocateRing(process, ringBytes(slots));
    if (!ring) return undefined;
    const stubs = buildStubs(apis.map((api) => stubPlan(api, options.captureStack !== undefined)), ring.address);
    const layout = codeLayout(stubs.code.length, apis.length);
    const code = allocateNear(process, ws2, layout.size);
    if (code === undefined) return void ring.release();
    const recorder = new InprocRecorder(process, ring, slots, waitWhenFull, apis, options.captureStack !== undefined);
    for (const f of stubs.faults) recorder.faults.set(code + BigInt(f.at), { resume: code + BigInt(f.resume), zero: f.zero });
    recorder.code = code;
    recorder.codeSize = layout.size;
    const image = Buffer.alloc(layout.size, 0xcc);
    stubs.code.copy(image, 0);
    const patches: { hook: InlineHook; jump: Buffer }[] = [];
    apis.forEach((api, id) => {
      const entry = exports.get(api);
      const stub = code + BigInt(stubs.offsets[id]);
      const trampoline = code + BigInt(layout.trampolines + id * TRAMPOLINE_SIZE);
      recorder.places.set(api, { stub, trampoline, id });
      recorder.failBreaks.set(code + BigInt(stubs.failBreaks[id]), api);
      const extensionBreak = stubs.extensionBreaks[id];
      if (extensionBreak !== undefined) recorder.extensionBreaks.add(code + BigInt(extensionBreak));
      // An extension function: its stub waits for the pointer WSAIoctl hands out (hookExtension).
      if (apiEntry(api)?.entryPoint === 'extension-function') return;
      const bytes = entry === undefined ? undefined : process.readOriginal(entry, ENTRY_BYTES);
      if (entry === undefined || !bytes) return void recorder.skipped.push({ api, reason: 'its entry point cannot be read' });
      const moved = relocate(bytes, entry, trampoline, PATCH_LENGTH);
      if ('error' in moved) return void recorder.skipped.push({ api, reason: moved.error });
      const jump = relativeJump(entry, stub);
      if (!jump) return void recorder.skipped.push({ api, reason: 'the stubs are more than 2 GB away' });
      // A thread preempted inside the instructions the patch covers would resume in the middle of the jmp.
      if (options.threadInside?.(entry + 1n, moved.moved - 1)) return void recorder.skipped.push({ api, reason: 'a thread is inside its first instructions' });
      const trampolineCode = Buffer.concat([Buffer.from(moved.code), absoluteJump(entry + BigInt(moved.moved))]);
      if (trampolineCode.length > TRAMPOLINE_SIZE) return void recorder.skipped.push({ api, reason: `its first instructions need ${trampolineCode.length} bytes moved` });
      trampolineCode.copy(image, layout.trampolines + id * TRAMPOLINE_SIZE);
      const hook = { api, entry, saved: bytes.subarray(0, moved.moved), trampoline };
      patches.push({ hook, jump: Buffer.concat([jump, Buffer.alloc(moved.moved - PATCH_LENGTH, 0xcc)]) });
      recorder.breaks.set(stub + BigInt(STUB_BREAK_OFFSET), { api, original: trampoline });
    });
    if (patches.length === 0) return void ring.release();
    // Unwind data: one RUNTIME_FUNCTION per stub, from its prologue to its end (before it, the stack is untouched).
    stubUnwindInfo().copy(image, layout.unwindInfo);
    const functions = stubs.offsets.map((offset, id) => ({ begin: offset + STUB_PROLOGUE_OFFSET, end: offset + stubs.lengths[id] }));
    runtimeFunctions(functions, layout.unwindInfo).copy(image, layout.functionTable);
    // RtlCaptureStackBackTrace walks through a stub's frame with its unwind data alone: the stubs capture stacks only
    // once the registration thread has registered it (it stores the function's address in the ring header then).
    const captureStack = options.captureStack !== undefined && options.rtlAddFunctionTable ? { address: ring.address + BigInt(CAPTURE_STACK_OFFSET), value: options.captureStack } : undefined;
    if (options.rtlAddFunctionTable) {
      threadThunk(options.rtlAddFunctionTable, [code + BigInt(layout.functionTable), BigInt(functions.length), code], captureStack).copy(image, layout.thunk);
      recorder.registration = { thunk: code + BigInt(layout.thunk) };
    }
    const originals = apis.map((api) => patches.find((p) => p.hook.api === api)?.hook.trampoline ?? 0n);
    if (!ring.write(0, ringHeader(slots, originals, { waitWhenFull, delayFunction: options.delayFunction })) || !ring.write(RING_HEADER_SIZE, Buffer.alloc(slots * RECORD_SIZE))) return void ring.release();
    // Executable and no longer writable before any entry point jumps there.
    if (!write(process, code, image) || !winExtra.VirtualProtectEx(process.handle, code, layout.size, PAGE_EXECUTE_READ, [0])) return void ring.release();
    for (const { hook, jump } of patches) {
      if (!write(process, hook.entry, jump)) continue;
      recorder.hooks.set(hook.api, hook);
      recorder.hookAt.set(hook.entry, hook);
    }
    if (stubs.extensionBreaks.some((b) => b !== undefined)) ring.write(EXTENSION_STOP_OFFSET, Buffer.from([1]));
    return recorder;
  }

  /** The 24 bytes WSAIoctl's stub left at its extension-pointer stop (lock, pointer, lpvInBuffer). */
  extensionMailbox(): Buffer | undefined {
    const mailbox = Buffer.alloc(24);
    return this.ring.readInto(EXTENSION_MAILBOX_OFFSET, mailbox) ? mailbox : undefined;
  }

  /**
   * An extension function's pointer, handed out by WSAIoctl: its stub (built at install) gets an inline hook there.
   * Returns why it could not be hooked (it then stays on a breakpoint), or undefined once hooked.
   */
  hookExtension(api: string, entry: bigint, threadInside?: (address: bigint, length: number) => boolean): string | undefined {
    const place = this.places.get(api);
    if (!place) return 'no stub was built for it';
    if (this.hooks.has(api)) return this.hooks.get(api)?.entry === entry ? undefined : 'its stub is hooked at another address';
    const bytes = this.process.readOriginal(entry, ENTRY_BYTES);
    if (!bytes) return 'its entry point cannot be read';
    const moved = relocate(bytes, entry, place.trampoline, PATCH_LENGTH);
    if ('error' in moved) return moved.error;
    const jump = relativeJump(entry, place.stub);
    if (!jump) return 'the stubs are more than 2 GB away';
    if (threadInside?.(entry + 1n, moved.moved - 1)) return 'a thread is inside its first instructions';
    const trampolineCode = Buffer.concat([Buffer.from(moved.code), absoluteJump(entry + BigInt(moved.moved))]);
    if (trampolineCode.length > TRAMPOLINE_SIZE) return `its first instructions need ${trampolineCode.length} bytes moved`;
    // The code region is execute-read: writable for the trampoline, then back.
    if (!winExtra.VirtualProtectEx(this.process.handle, this.code, this.codeSize, PAGE_EXECUTE_READWRITE, [0])) return 'the stubs cannot be made writable';
    const written = write(this.process, place.trampoline, trampolineCode);
    winExtra.VirtualProtectEx(this.process.handle, this.code, this.codeSize, PAGE_EXECUTE_READ, [0]);
    const original = Buffer.alloc(8);
    original.writeBigUInt64LE(place.trampoline);
    if (!written || !this.ring.write(ORIGINALS_OFFSET + 8 * place.id, original)) return 'its trampoline cannot be written';
    if (!write(this.process, entry, Buffer.concat([jump, Buffer.alloc(moved.moved - PATCH_LENGTH, 0xcc)]))) return 'its entry point cannot be written';
    const hook = { api, entry, saved: bytes.subarray(0, moved.moved), trampoline: place.trampoline };
    this.hooks.set(api, hook);
    this.hookAt.set(entry, hook);
    this.breaks.set(place.stub + BigInt(STUB_BREAK_OFFSET), { api, original: place.trampoline });
    return undefined;
  }

  /** An extension function pointer the tracer has seen: WSAIoctl's stub no longer stops for it. */
  noteExtension(pointer: bigint): void {
    if (this.knownExtensions.includes(pointer) || this.knownExtensions.length >= KNOWN_EXTENSIONS) return;
    const value = Buffer.alloc(8);
    value.writeBigUInt64LE(pointer);
    this.ring.write(KNOWN_EXTENSIONS_OFFSET + 8 * this.knownExtensions.length, value);
    this.knownExtensions.push(pointer);
  }

  /** How many times the stubs waited for room, and the TSC ticks they spent waiting. */
  stalls(): { count: number; ticks: number } | undefined {
    const bytes = Buffer.alloc(16);
    if (!this.ring.readInto(STALL_COUNT_OFFSET, bytes)) return undefined;
    return { count: Number(bytes.readBigUInt64LE(0)), ticks: Number(bytes.readBigUInt64LE(8)) };
  }

  /** Whether the ring is read from the tracer's own mapping of it (ring-memory.ts). */
  get sharedRing(): boolean {
    return this.ring.shared;
  }

  /** The process is gone or no longer traced: the tracer's mapping of its ring is let go. */
  release(): void {
    this.ring.release();
  }

  /** The APIs whose calls now go through a stub (and need no breakpoint). */
  hooked(): string[] {
    return [...this.hooks.keys()];
  }

  /** A hooked entry point: where its original code now runs from (the trampoline). */
  trampolineAt(entry: bigint): bigint | undefined {
    return this.hookAt.get(entry)?.trampoline;
  }

  /** The API hooked at this entry point. */
  apiAt(entry: bigint): string | undefined {
    return this.hookAt.get(entry)?.api;
  }

  /** Arms or disarms an API's stub: armed, each call stops at the stub's int3 and runs on the breakpoint path. */
  setArmed(api: string, armed: boolean): void {
    const id = this.apis.indexOf(api);
    if (id >= 0) this.ring.write(ARMED_OFFSET + id, Buffer.from([armed ? 1 : 0]));
  }

  /** Arms or disarms the stop after a failed call: armed, a failing call stops after its return is recorded. */
  setFailArmed(api: string, armed: boolean): void {
    const id = this.apis.indexOf(api);
    if (id >= 0) this.ring.write(FAIL_ARMED_OFFSET + id, Buffer.from([armed ? 1 : 0]));
  }

  /**
   * Puts the entry points back and disarms every stub. The stubs, trampolines and ring stay: a thread inside a hooked
   * call (a blocking recv) still returns through its stub.
   */
  uninstall(): void {
    // No drain after this: the stubs overwrite rather than wait, and WSAIoctl's never stops.
    this.ring.write(WAIT_WHEN_FULL_OFFSET, Buffer.from([0, 0]));
    for (const api of this.apis) {
      this.setArmed(api, false);
      this.setFailArmed(api, false);
    }
    for (const hook of this.hooks.values()) write(this.process, hook.entry, hook.saved);
    this.hooks.clear();
    this.hookAt.clear();
  }
}

/** Offsets in the code region: stubs, trampolines, unwind info (4-aligned), function table, thunk. */
function codeLayout(stubBytes: number, apiCount: number) {
  const trampolines = stubBytes;
  const unwindInfo = trampolines + apiCount * TRAMPOLINE_SIZE;
  const functionTable = unwindInfo + 16;
  const thunk = functionTable + ((12 * apiCount + 15) & ~15);
  return { trampolines, unwindInfo, functionTable, thunk, size: thunk + THUNK_SIZE };
}

/**
 * Commits `size` bytes at the first free 64 KB-aligned address near the module (above it first, then below), so a
 * `jmp rel32` at its entry points reaches the stubs and its RIP-relative operands still reach from the trampolines.
 */
function allocateNear(process: TracedProcess, module: LoadedModule, size: number): bigint | undefined {
  const above = (module.base + BigInt(module.size) + ALLOCATION_GRANULARITY - 1n) & ~(ALLOCATION_GRANULARITY - 1n);
  const below = (module.base & ~(ALLOCATION_GRANULARITY - 1n)) - ALLOCATION_GRANULARITY;
  for (let i = 0n; i < 512n; i++) {
    for (const address of [above + i * ALLOCATION_GRANULARITY, below - i * ALLOCATION_GRANULARITY]) {
      if (address <= 0n) continue;
      const got = BigInt(winExtra.VirtualAllocEx(process.handle, address, size, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE));
      if (got !== 0n) return got;
    }
  }
  return undefined;
}

function write(process: TracedProcess, address: bigint, bytes: Buffer): boolean {
  const ok = win.WriteProcessMemory(process.handle, address, bytes, bytes.length, 0) !== 0;
  win.FlushInstructionCache(process.handle, address, bytes.length);
  return ok;
}
