/**
 * Walks a stopped debuggee thread's stack with dbghelp's StackWalk64, which unwinds x64 frames from the modules'
 * unwind data (.pdata / UNWIND_INFO) in the debuggee, and works the same under Wine.
 */

import { dbghelp, type Handle } from './api';
import { CONTEXT_SIZE, Context } from './layouts';
import { IMAGE_FILE_MACHINE_AMD64 } from './pe';

/** STACKFRAME64 (x64): AddrPC at 0, AddrFrame at 32, AddrStack at 48, each an ADDRESS64 {Offset, Segment, Mode}. */
const STACKFRAME64_SIZE = 264;
const ADDR_PC = 0;
const ADDR_FRAME = 32;
const ADDR_STACK = 48;
const ADDRESS64_MODE = 12;
const ADDR_MODE_FLAT = 3;

/**
 * The code addresses of the thread's frames, innermost first: `pc` (where the thread is stopped), then each return
 * address, at most `maxFrames` in all. `context` is the thread's CONTEXT; it is copied (StackWalk64 rewrites it).
 */
export function walkStack(process: Handle, thread: Handle, context: Buffer, pc: bigint, maxFrames: number): bigint[] {
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
  const addresses: bigint[] = [];
  while (addresses.length < maxFrames) {
    if (!help.StackWalk64(IMAGE_FILE_MACHINE_AMD64, process, thread, frame, copy, 0n, help.functionTableAccess, help.getModuleBase, 0n)) break;
    const address = frame.readBigUInt64LE(ADDR_PC);
    if (address === 0n) break;
    addresses.push(address);
  }
  return addresses;
}
