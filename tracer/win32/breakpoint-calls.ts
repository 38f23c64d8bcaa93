/**
 * The breakpoint path's hooked calls, read from a thread stopped at an int3: the call event at the entry (registers,
 * stack arguments, caller, stack) and the return event at the return address. The engine records them and decides
 * the stops; this file only reads the debuggee.
 */

import type { ApiCallEvent } from '../trace/schema';
import { type HookSpec, outcome } from './hooks';
import { Context } from './layouts';
import type { CallStacks } from './symbols';
import type { PendingReturn, TracedProcess, TracedThread } from './traced-process';

/** Register offsets of the first four integer arguments (x64 calling convention). */
const ARGUMENT_REGISTERS = [Context.rcx, Context.rdx, Context.r8, Context.r9];
/** Stack offsets (from RSP at the entry) of the 5th to 8th arguments, past the return address and the shadow space. */
const STACK_ARGUMENTS = [0x28, 0x30, 0x38, 0x40];

export interface CallAtEntry {
  /** The call event, not yet stamped. */
  readonly event: Omit<ApiCallEvent, 'seq' | 'timeNs'>;
  readonly returnAddress: bigint;
  /** What the return breakpoint needs, once the event's seq is known. */
  readonly pending: (callSeq: number) => PendingReturn;
}

/** The call a thread stopped at `address` (a hooked entry point, `context` its registers) is making. */
export function callAtEntry(process: TracedProcess, thread: TracedThread, context: Buffer, address: bigint, spec: HookSpec, stacks: CallStacks | undefined): CallAtEntry {
  const rsp = context.readBigUInt64LE(Context.rsp);
  const stack = process.read(rsp, 0x48);
  const returnAddress = stack?.readBigUInt64LE(0) ?? 0n;
  const raw = [...ARGUMENT_REGISTERS.map((o) => context.readBigUInt64LE(o)), ...STACK_ARGUMENTS.map((o) => stack?.readBigUInt64LE(o) ?? 0n)];
  const caller = process.moduleAt(returnAddress);
  // socket() calls WSASocketW inside ws2_32 under Wine: a call whose return address is in ws2_32 is Winsock's own.
  const internal = caller !== undefined && caller === process.ws2;
  const callStack = internal ? undefined : stacks?.at(process, thread, context, address);
  const event = {
    kind: 'api' as const,
    phase: 'call' as const,
    pid: process.pid,
    tid: thread.tid,
    api: spec.api,
    args: spec.entry({ raw, read: (a, n) => process.read(a, n) }),
    caller: { module: caller?.name ?? '?', offset: caller ? Number(returnAddress - caller.base) : Number(returnAddress) },
    ...(callStack ? { stack: callStack } : {}),
    ...(internal ? { internal } : {}),
  };
  // The return breakpoint matches its thread and the RSP after `ret` (the entry RSP + 8).
  return { event, returnAddress, pending: (callSeq) => ({ tid: thread.tid, rsp: rsp + 8n, callSeq, spec, raw, internal }) };
}

/** The calls waiting at `address` that this thread (its registers `context`) has just returned from, if any. */
export function returnedCall(process: TracedProcess, thread: TracedThread, context: Buffer, address: bigint): PendingReturn | undefined {
  const pending = process.returns.get(address) ?? [];
  const rsp = context.readBigUInt64LE(Context.rsp);
  const index = pending.findIndex((p) => p.tid === thread.tid && p.rsp === rsp);
  return index >= 0 ? pending.splice(index, 1)[0] : undefined;
}

/** The return event of `call`, read from the thread at its return address; `out` is what it handed out. */
export function returnEvent(process: TracedProcess, thread: TracedThread, context: Buffer, call: PendingReturn) {
  const { result, error } = outcome(call.spec, context.readBigUInt64LE(Context.rax), () => process.lastError(thread));
  const out = error === undefined && call.spec.exit ? call.spec.exit({ raw: call.raw, read: (a, n) => process.read(a, n) }, result) : undefined;
  return { kind: 'api' as const, phase: 'return' as const, pid: process.pid, tid: thread.tid, api: call.spec.api, callSeq: call.callSeq, result, ...(error !== undefined ? { error } : {}), ...(out ? { out } : {}), ...(call.internal ? { internal: true } : {}) };
}
