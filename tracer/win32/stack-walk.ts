/**
 * Walks a stopped debuggee thread's stack with dbghelp's StackWalk64, which unwinds x64 frames from the modules'
 * unwind data (.pdata / UNWIND_INFO) in the debuggee, and works the same under Wine.
 *
 * dbghelp reads the debuggee a few bytes at a time (each stack slot, each UNWIND_INFO): under Wine every read of
 * another process is a wineserver round trip, hundreds per walk of a deep stack. Its reads go through WalkMemory
 * instead, which reads whole pages: the pages of module images (code and unwind data, which do not change) are kept
 * for the process's life, the stack's for one walk.
 */

import { dbghelp, readMemoryCallback, type Handle } from './api';
import { CONTEXT_SIZE, Context } from './layouts';
import { IMAGE_FILE_MACHINE_AMD64 } from './pe';

/** STACKFRAME64 (x64): AddrPC at 0, AddrFrame at 32, AddrStack at 48, each an ADDRESS64 {Offset, Segment, Mode}. */
const STACKFRAME64_SIZE = 264;
const ADDR_PC = 0;
const ADDR_FRAME = 32;
const ADDR_STACK = 48;
const ADDRESS64_MODE = 12;
const ADDR_MODE_FLAT = 3;
const PAGE = 0x1000n;

/** One debuggee's memory as the walker reads it, a page at a time. */
export class WalkMemory {
  private readonly imagePages = new Map<bigint, Buffer | null>();
  private walkPages = new Map<bigint, Buffer | null>();
  /** Pages read from the debuggee (each one read of its memory). */
  pageReads = 0;

  constructor(
    private readonly readDebuggee: (address: bigint, length: number) => Buffer | undefined,
    /** True for an address in a loaded module's image. */
    private readonly inImage: (address: bigint) => boolean,
  ) {}

  /** A module was loaded or unloaded: its pages may now be another's. */
  imagesChanged(): void {
    this.imagePages.clear();
  }

  /** Fills `into` from `address` on; returns the bytes filled (fewer when a page cannot be read). */
  copy(address: bigint, into: Uint8Array): number {
    let filled = 0;
    while (filled < into.length) {
      const at = address + BigInt(filled);
      const page = this.page(at & ~(PAGE - 1n));
      if (!page) break;
      const offset = Number(at & (PAGE - 1n));
      const count = Math.min(into.length - filled, page.length - offset);
      into.set(page.subarray(offset, offset + count), filled);
      filled += count;
    }
    return filled;
  }

  /** Starts a walk: the stack's pages are read again. */
  startWalk(): void {
    this.walkPages = new Map();
  }

  private page(base: bigint): Buffer | null {
    const pages = this.inImage(base) ? this.imagePages : this.walkPages;
    let page = pages.get(base);
    if (page === undefined) {
      this.pageReads++;
      page = this.readDebuggee(base, Number(PAGE)) ?? null;
      pages.set(base, page);
    }
    return page;
  }
}

/** The memory the walk in progress reads (StackWalk64 calls back into it synchronously). */
let walking: WalkMemory | undefined;
let readRoutine: bigint | undefined;

/**
 * The code addresses of the thread's frames, innermost first: `pc` (where the thread is stopped), then each return
 * address, at most `maxFrames` in all. `context` is the thread's CONTEXT; it is copied (StackWalk64 rewrites it).
 */
export function walkStack(process: Handle, thread: Handle, context: Buffer, pc: bigint, maxFrames: number, memory?: WalkMemory): bigint[] {
  const help = dbghelp();
  const copy = Buffer.alloc(CONTEXT_SIZE);
  context.copy(copy, 0, 0, Math.min(context.length, CONTEXT_SIZE));
  // At an int3 Rip is one past it; at a function's first byte that makes the unwinder assume its prologue has begun.
  copy.writeBigUInt64LE(pc, Context.rip);
  const frame = Buffer.alloc(STACKFRAME64_SIZE);
  const rsp = copy.readBigUInt64LE(Context.rsp);
  for (const [at, value] of [[ADDR_PC, pc], [ADDR_FRAME, rsp], [ADDR_STACK, rsp]] as const) {
    frame.writeBigUInt64LE(value, at);
    frame.writeUInt32LE(ADDR_MODE_FLAT, at + ADDRESS64_MODE);
  }
  if (memory) {
    readRoutine ??= readMemoryCallback((address, into) => walking?.copy(address, into) ?? 0);
    memory.startWalk();
    walking = memory;
  }
  const addresses: bigint[] = [];
  try {
    while (addresses.length < maxFrames) {
      if (!help.StackWalk64(IMAGE_FILE_MACHINE_AMD64, process, thread, frame, copy, memory ? readRoutine ?? 0n : 0n, help.functionTableAccess, help.getModuleBase, 0n)) break;
      const address = frame.readBigUInt64LE(ADDR_PC);
      if (address === 0n) break;
      addresses.push(address);
    }
  } finally {
    walking = undefined;
  }
  return addresses;
}
