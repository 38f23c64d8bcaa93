/**
 * One debuggee: its memory, threads, modules and the int3 bytes the engine placed in it (the breakpoint path's state;
 * the in-process path keeps its own, inproc/process-state.ts).
 */

import { type Handle, win } from './api';
import { CONTEXT_CONTROL, CONTEXT_INTEGER, CONTEXT_SIZE, Context, TEB_LAST_ERROR } from './layouts';
import type { HookSpec } from './hooks';

export interface TracedThread {
  readonly tid: number;
  readonly handle: Handle;
  /** Thread environment block (lpThreadLocalBase): holds the thread's last error. */
  readonly teb: bigint;
  /** A breakpoint stepped over with the trap flag, to put back on the next single-step event. */
  rearm?: bigint;
}

export interface LoadedModule {
  readonly name: string;
  readonly base: bigint;
  readonly size: number;
}

export interface PendingReturn {
  readonly tid: number;
  /** RSP after the return instruction: the entry RSP + 8. */
  readonly rsp: bigint;
  readonly callSeq: number;
  readonly spec: HookSpec;
  readonly raw: readonly bigint[];
  readonly internal: boolean;
}

const INT3 = Buffer.from([0xcc]);

export class TracedProcess {
  readonly threads = new Map<number, TracedThread>();
  /** Attached to while running (DebugActiveProcess): its threads may be anywhere, its sockets opened before. */
  attachedWhileRunning = false;
  readonly modules: LoadedModule[] = [];
  /** Hooked entry points: address → the API. */
  readonly entries = new Map<bigint, HookSpec>();
  /** Return breakpoints: return address → the calls waiting to return there. */
  readonly returns = new Map<bigint, PendingReturn[]>();
  /** Original bytes under each int3 the engine wrote (kept after removal: the program's code does not change). */
  private readonly originals = new Map<bigint, number>();
  /** Addresses holding an int3 of the engine now. */
  private readonly armed = new Set<bigint>();
  ws2?: LoadedModule;
  private readonly context = Buffer.alloc(CONTEXT_SIZE);

  constructor(
    readonly pid: number,
    readonly handle: Handle,
  ) {}

  read(address: bigint, length: number): Buffer | undefined {
    const buffer = Buffer.alloc(length);
    return win.ReadProcessMemory(this.handle, address, buffer, length, 0) ? buffer : undefined;
  }

  /** Reads `target.length` bytes at `address` into `target` (a view into a larger buffer: no copy). */
  readInto(address: bigint, target: Buffer): boolean {
    return win.ReadProcessMemory(this.handle, address, target, target.length, 0) !== 0;
  }

  readU64(address: bigint): bigint | undefined {
    return this.read(address, 8)?.readBigUInt64LE(0);
  }

  readWideString(address: bigint, bytes: number): string {
    return this.read(address, bytes)?.toString('utf16le') ?? '';
  }

  private writeByte(address: bigint, value: Buffer): boolean {
    const ok = win.WriteProcessMemory(this.handle, address, value, 1, 0) !== 0;
    win.FlushInstructionCache(this.handle, address, 1);
    return ok;
  }

  /** Writes an int3 at `address`, remembering the byte it covers. */
  arm(address: bigint): boolean {
    if (!this.originals.has(address)) {
      const original = this.read(address, 1);
      if (!original) return false;
      this.originals.set(address, original[0]);
    }
    if (this.armed.has(address)) return true;
    const ok = this.writeByte(address, INT3);
    if (ok) this.armed.add(address);
    return ok;
  }

  /** Puts the original byte back. */
  disarm(address: bigint): void {
    const original = this.originals.get(address);
    if (original === undefined || !this.armed.delete(address)) return;
    this.writeByte(address, Buffer.from([original]));
  }

  /** The program's own bytes at `address`: memory as read, with the original byte under each int3 of ours. */
  readOriginal(address: bigint, length: number): Buffer | undefined {
    const bytes = this.read(address, length);
    if (!bytes) return undefined;
    for (const at of this.armed) if (at >= address && at < address + BigInt(length)) bytes[Number(at - address)] = this.originals.get(at) as number;
    return bytes;
  }

  /** True when the engine ever put an int3 at `address` (it may have been removed since). */
  placedBreakpoint(address: bigint): boolean {
    return this.originals.has(address);
  }

  /**
   * Drops an int3 from the books without writing: its bytes now belong to an inline hook. Its original byte is kept:
   * a thread that hit the int3 before the hook went in is still put back on that instruction at a detach.
   */
  forget(address: bigint): void {
    this.armed.delete(address);
  }

  /** Removes every int3 (before a detach). */
  disarmAll(): void {
    for (const address of [...this.armed]) this.disarm(address);
    this.returns.clear();
  }

  /** Get/SetThreadContext calls made on this process's threads. */
  contextCalls = 0;

  /** Registers of a stopped thread (control + integer). The buffer is reused: copy what must outlive the next call. */
  getContext(thread: TracedThread): Buffer | undefined {
    this.contextCalls++;
    this.context.fill(0);
    this.context.writeUInt32LE(CONTEXT_CONTROL | CONTEXT_INTEGER, Context.contextFlags);
    return win.GetThreadContext(thread.handle, this.context) ? this.context : undefined;
  }

  setContext(thread: TracedThread, context: Buffer): boolean {
    this.contextCalls++;
    return win.SetThreadContext(thread.handle, context) !== 0;
  }

  lastError(thread: TracedThread): number | undefined {
    return this.read(thread.teb + BigInt(TEB_LAST_ERROR), 4)?.readUInt32LE(0);
  }

  moduleAt(address: bigint): LoadedModule | undefined {
    return this.modules.find((m) => address >= m.base && address < m.base + BigInt(m.size));
  }
}
