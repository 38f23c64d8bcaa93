/**
 * Setting up the in-process path in one debuggee, for the engine: the recorder installed at the process's first hooked
 * call, the thread borrowed to register the stubs' unwind data, and the capture-setup event that says what was done.
 */

import { HOOKED_APIS, apiEntry } from '../../apis';
import type { CaptureSetupEvent } from '../../trace/schema';
import { Context } from '../layouts';
import type { LoadedModule, TracedThread } from '../traced-process';
import type { BorrowedThread, InprocProcess } from './process-state';
import { InprocRecorder } from './recorder';

/** Where a process ends: the in-process path drains its ring there, while the memory is still readable. */
export const EXIT_FUNCTIONS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['kernel32.dll', new Set(['ExitProcess'])],
  ['ntdll.dll', new Set(['RtlExitUserProcess'])],
]);
/** Registers the stubs' unwind data (x64 dynamic function tables). */
export const ADD_FUNCTION_TABLE = 'RtlAddFunctionTable';
/** Where a stub waiting for room in a full ring sleeps (1 ms at a time). */
export const DELAY_EXECUTION = 'NtDelayExecution';
/** What a stub calls for the call's stack: it unwinds by the modules' (and the stubs') unwind data. */
export const CAPTURE_STACK = 'RtlCaptureStackBackTrace';

/** The exports the in-process path needs from a DLL: where the process exits, and ntdll's helpers for the stubs. */
export function inprocessFunctions(dll: string): ReadonlySet<string> | undefined {
  const exits = EXIT_FUNCTIONS.get(dll);
  return dll === 'ntdll.dll' ? new Set([...(exits ?? []), ADD_FUNCTION_TABLE, DELAY_EXECUTION, CAPTURE_STACK]) : exits;
}

/**
 * A DLL loaded: notes where the process exits (an int3 there: kernel32's ExitProcess may forward to ntdll's), ntdll's
 * RtlAddFunctionTable, and ws2_32's hooked exports. `functions`: the DLL's exports read (name → RVA).
 */
export function noteModule(state: InprocProcess, module: LoadedModule, functions: ReadonlyMap<string, number>, isWs2: boolean): void {
  const process = state.process;
  for (const exit of EXIT_FUNCTIONS.get(module.name) ?? []) {
    const rva = functions.get(exit);
    if (rva !== undefined && process.arm(module.base + BigInt(rva))) state.exitAddresses.add(module.base + BigInt(rva));
  }
  const addFunctionTable = module.name === 'ntdll.dll' ? functions.get(ADD_FUNCTION_TABLE) : undefined;
  if (addFunctionTable !== undefined) state.rtlAddFunctionTable = module.base + BigInt(addFunctionTable);
  const delay = module.name === 'ntdll.dll' ? functions.get(DELAY_EXECUTION) : undefined;
  if (delay !== undefined) state.delayFunction = module.base + BigInt(delay);
  const capture = module.name === 'ntdll.dll' ? functions.get(CAPTURE_STACK) : undefined;
  if (capture !== undefined) state.captureStackFunction = module.base + BigInt(capture);
  if (isWs2) for (const [api, rva] of functions) state.ws2Exports.set(api, module.base + BigInt(rva));
}

/** The ring's size and what a stub does when it is full. */
export interface RingOptions {
  readonly ringSlots?: number;
  /** wait (default): a stub waits for the drain; drop: it overwrites the oldest unread records, which are counted lost. */
  readonly overflow?: 'wait' | 'drop';
  /** Each call record carries the call's stack (record --stacks). */
  readonly stacks?: boolean;
}

/** The hooked APIs the stubs record: ws2_32's exports found in the process, and the extension functions. */
function recordedApis(state: InprocProcess, hooked: ReadonlySet<string>): string[] {
  return HOOKED_APIS.filter((api) => hooked.has(api) && (state.ws2Exports.has(api) || apiEntry(api)?.entryPoint === 'extension-function'));
}

/** True when a thread other than `stopped` is inside [address, address + length). */
export function threadInside(state: InprocProcess, stopped: TracedThread | undefined): (address: bigint, length: number) => boolean {
  const process = state.process;
  return (address, length) =>
    [...process.threads.values()].some((t) => {
      if (t === stopped) return false;
      const rip = process.getContext(t)?.readBigUInt64LE(Context.rip);
      return rip !== undefined && rip >= address && rip < address + BigInt(length);
    });
}

/**
 * Ring, stubs and inline hooks for the hooked APIs. The hooked entry points lose their int3 (the stubs record those
 * calls; an armed stub stops instead). `stopped` is the thread held at this event.
 */
export function installRecorder(state: InprocProcess, stopped: TracedThread, hooked: ReadonlySet<string>, armed: { entries: ReadonlySet<string>; failures: ReadonlySet<string> }, ring: RingOptions = {}): void {
  const process = state.process;
  const apis = recordedApis(state, hooked);
  const captureStack = ring.stacks ? state.captureStackFunction : undefined;
  const options = { slots: ring.ringSlots, waitWhenFull: ring.overflow !== 'drop', delayFunction: state.delayFunction, rtlAddFunctionTable: state.rtlAddFunctionTable, captureStack, threadInside: threadInside(state, stopped) };
  state.recorder = process.ws2 ? (InprocRecorder.install(process, process.ws2, state.ws2Exports, apis, options) ?? null) : null;
  for (const api of state.recorder?.hooked() ?? []) {
    const address = state.ws2Exports.get(api) as bigint;
    process.forget(address);
    process.entries.delete(address);
    if (armed.entries.has(api)) state.recorder?.setArmed(api, true);
    if (armed.failures.has(api)) state.recorder?.setFailArmed(api, true);
  }
}

/** What the in-process path set up in this process, as a trace event. */
export function captureSetup(state: InprocProcess, hooked: ReadonlySet<string>): Omit<CaptureSetupEvent, 'seq' | 'timeNs'> {
  const recorder = state.recorder;
  // An extension function's stub is hooked when WSAIoctl hands out its pointer.
  const inProcess = recorder ? recorder.apis.filter((api) => recorder.hooked().includes(api) || apiEntry(api)?.entryPoint === 'extension-function') : [];
  const onBreakpoints = recorder ? recorder.skipped : recordedApis(state, hooked).map((api) => ({ api, reason: 'no stub could be installed in this process' }));
  return { kind: 'capture-setup', pid: state.process.pid, inProcess, onBreakpoints, unwindData: recorder?.unwindRegistered === true, ...(recorder ? { ringShared: recorder.sharedRing } : {}) };
}

/**
 * Registers the stubs' unwind data with RtlAddFunctionTable, run on the thread held at a hooked call's `entry`: its
 * context is saved and it runs the thunk; at the thunk's int3 (returnBorrowedThread) the context is put back and
 * `resume` carries the call on as if nothing happened. Returns false when there is nothing to register.
 */
export function borrowThread(state: InprocProcess, thread: TracedThread, entry: bigint, resume: () => Promise<number>): boolean {
  const process = state.process;
  const registration = state.recorder?.registration;
  const context = registration && process.getContext(thread);
  if (!registration || !context) return false;
  const saved = Buffer.from(context);
  // Below the thread's stack top, 16-byte aligned as at a call; the thunk reserves its own shadow space.
  const rsp = (context.readBigUInt64LE(Context.rsp) - 0x400n) & ~0xfn;
  context.writeBigUInt64LE(rsp, Context.rsp);
  context.writeBigUInt64LE(registration.thunk, Context.rip);
  if (!process.setContext(thread, context)) return false;
  state.borrowed = { tid: thread.tid, breakAt: registration.breakAt, context: saved, entry, resume };
  return true;
}

/** The thunk has returned: notes RtlAddFunctionTable's answer and gives the thread its own context back. */
export function returnBorrowedThread(state: InprocProcess, thread: TracedThread): BorrowedThread | undefined {
  const borrowed = state.borrowed;
  state.borrowed = undefined;
  if (!borrowed) return undefined;
  const registered = state.process.getContext(thread)?.readBigUInt64LE(Context.rax) ?? 0n;
  if (state.recorder) state.recorder.unwindRegistered = (registered & 0xffn) !== 0n; // BOOLEAN in AL
  state.process.setContext(thread, borrowed.context);
  return borrowed;
}

/**
 * A stub read an address the program passed that is not readable (a span's first or last byte, *addrlen, an fd_set's
 * count, WSAIoctl's output): the read counts as nothing copied, as a failed ReadProcessMemory does on the breakpoint
 * path, and the stub goes on; the API then fails as it would (WSAEFAULT). False when the fault is not a stub's.
 */
export function recoverStubFault(state: InprocProcess | undefined, thread: TracedThread, address: bigint): boolean {
  const fault = state?.recorder?.faults.get(address);
  const context = fault && state?.process.getContext(thread);
  if (!state || !fault || !context) return false;
  for (const register of fault.zero) context.writeBigUInt64LE(0n, register === 'rax' ? Context.rax : Context.rdx);
  context.writeBigUInt64LE(fault.resume, Context.rip);
  return state.process.setContext(thread, context);
}
