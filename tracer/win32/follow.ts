/**
 * Following the children of programs the tracer attached to. DebugActiveProcess does not make the programs a process
 * starts debuggees (only DEBUG_PROCESS at creation does), so every process creation in such a program is caught at
 * kernelbase!CreateProcessInternalW, which CreateProcessA/W and CreateProcessAsUser all reach (Wine 8, Windows 10):
 * at its entry CREATE_SUSPENDED is added to the creation flags; at its return the child, created but not yet run, is
 * attached to with DebugActiveProcess and its first thread resumed, unless the caller asked for it suspended.
 */

import { win } from './api';
import { attachToProcess } from './attach';
import { Context } from './layouts';
import { stepOver, resumeAt } from './resume';
import type { TracedProcess, TracedThread } from './traced-process';

const KERNELBASE = 'kernelbase.dll';
const CREATE_PROCESS_INTERNAL = 'CreateProcessInternalW';
export const FOLLOWED_EXPORTS: ReadonlySet<string> = new Set([CREATE_PROCESS_INTERNAL]);

const CREATE_SUSPENDED = 0x4;
/** The program debugs its children itself: they are its, not the tracer's. */
const DEBUG_FLAGS = 0x1 | 0x2;
/**
 * CreateProcessInternalW(token, app, cmdline, process_attr, thread_attr, inherit, flags, env, cwd, startup, info,
 * new_token): the 7th and 11th arguments, on the stack at the entry (x64: 5th argument at RSP+0x28).
 */
const FLAGS_AT = 0x38n;
const INFO_AT = 0x58n;
/** PROCESS_INFORMATION (x64): hProcess 0, hThread 8, dwProcessId 16, dwThreadId 20. */
const INFO_PID = 16;
const INFO_TID = 20;
const THREAD_SUSPEND_RESUME = 0x2;

interface PendingCreation {
  readonly tid: number;
  /** RSP after the return: the entry RSP + 8. */
  readonly rsp: bigint;
  readonly info: bigint;
  /** The caller asked for CREATE_SUSPENDED itself: the child stays suspended. */
  readonly suspendedByCaller: boolean;
}

export interface FollowedChild {
  readonly pid: number;
  /** Why it could not be followed (DebugActiveProcess's error), when it could not. */
  readonly error?: string;
}

export class ChildFollower {
  /** Processes whose children the system does not report to the tracer. */
  private readonly followed = new Set<number>();
  private readonly entries = new Map<number, bigint>();
  /** Per process: return address → the creations waiting to return there. */
  private readonly returns = new Map<number, Map<bigint, PendingCreation[]>>();

  follow(pid: number): void {
    this.followed.add(pid);
  }

  forget(pid: number): void {
    this.followed.delete(pid);
    this.entries.delete(pid);
    this.returns.delete(pid);
  }

  /** The exports to read from a DLL loaded in `pid`. */
  wanted(pid: number, dll: string): ReadonlySet<string> | undefined {
    return this.followed.has(pid) && dll.toLowerCase() === KERNELBASE ? FOLLOWED_EXPORTS : undefined;
  }

  /** kernelbase loaded in a followed process: an int3 on CreateProcessInternalW. */
  noteModule(process: TracedProcess, name: string, base: bigint, functions: ReadonlyMap<string, number>): void {
    const rva = this.followed.has(process.pid) && name === KERNELBASE ? functions.get(CREATE_PROCESS_INTERNAL) : undefined;
    if (rva === undefined) return;
    const entry = base + BigInt(rva);
    if (process.arm(entry)) this.entries.set(process.pid, entry);
  }

  /** True for an int3 of the follower, which is put back after a single step. */
  isOwnInt3(pid: number, address: bigint): boolean {
    return this.entries.get(pid) === address || this.returns.get(pid)?.has(address) === true;
  }

  /** An int3 of the follower: handles it and returns the child followed at a return, or undefined when not its. */
  onBreakpoint(process: TracedProcess, thread: TracedThread, address: bigint): { handled: boolean; child?: FollowedChild } {
    if (this.entries.get(process.pid) === address) {
      this.onCreationEntry(process, thread, address);
      return { handled: true };
    }
    const pending = this.returns.get(process.pid)?.get(address);
    if (!pending) return { handled: false };
    return { handled: true, child: this.onCreationReturn(process, thread, address, pending) };
  }

  private onCreationEntry(process: TracedProcess, thread: TracedThread, address: bigint): void {
    const context = process.getContext(thread);
    if (!context) return;
    const rsp = context.readBigUInt64LE(Context.rsp);
    const stack = process.read(rsp, Number(INFO_AT) + 8);
    const flags = stack?.readUInt32LE(Number(FLAGS_AT));
    if (stack && flags !== undefined && (flags & DEBUG_FLAGS) === 0) {
      const suspended = Buffer.alloc(4);
      suspended.writeUInt32LE((flags | CREATE_SUSPENDED) >>> 0);
      if (win.WriteProcessMemory(process.handle, rsp + FLAGS_AT, suspended, 4, 0n)) {
        const returnAddress = stack.readBigUInt64LE(0);
        const waiting = this.returns.get(process.pid) ?? new Map<bigint, PendingCreation[]>();
        this.returns.set(process.pid, waiting);
        waiting.set(returnAddress, [...(waiting.get(returnAddress) ?? []), { tid: thread.tid, rsp: rsp + 8n, info: stack.readBigUInt64LE(Number(INFO_AT)), suspendedByCaller: (flags & CREATE_SUSPENDED) !== 0 }]);
        process.arm(returnAddress);
      }
    }
    stepOver(process, thread, address, context);
  }

  private onCreationReturn(process: TracedProcess, thread: TracedThread, address: bigint, pending: PendingCreation[]): FollowedChild | undefined {
    const context = process.getContext(thread);
    if (!context) return undefined;
    const rsp = context.readBigUInt64LE(Context.rsp);
    const index = pending.findIndex((p) => p.tid === thread.tid && p.rsp === rsp);
    let child: FollowedChild | undefined;
    if (index >= 0) {
      const [creation] = pending.splice(index, 1);
      const created = (context.readBigUInt64LE(Context.rax) & 0xffffffffn) !== 0n;
      const info = created ? process.read(creation.info, 24) : undefined;
      if (info) child = attachChild(info.readUInt32LE(INFO_PID), info.readUInt32LE(INFO_TID), creation.suspendedByCaller);
    }
    if (pending.length === 0) {
      this.returns.get(process.pid)?.delete(address);
      process.disarm(address);
      resumeAt(process, thread, address, false, context);
    } else stepOver(process, thread, address, context);
    if (child && !child.error) this.follow(child.pid);
    return child;
  }
}

/** The child was created suspended: attach before its first instruction, then let it run (unless asked not to). */
function attachChild(pid: number, tid: number, suspendedByCaller: boolean): FollowedChild {
  let error: string | undefined;
  try {
    attachToProcess(pid);
  } catch (failure) {
    error = failure instanceof Error ? failure.message : String(failure);
  }
  if (!suspendedByCaller) {
    const thread = win.OpenThread(THREAD_SUSPEND_RESUME, 0, tid);
    if (thread) {
      win.ResumeThread(thread);
      win.CloseHandle(thread);
    }
  }
  return { pid, error };
}

/** A child that could not be followed, as the trace says it: its calls are missing from the trace. */
export function unfollowedChildNote(parentPid: number, child: FollowedChild): string {
  return `sockshare: process ${child.pid}, started by ${parentPid}, is not traced: ${child.error}\n`;
}
