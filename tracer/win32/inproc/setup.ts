/**
 * Setting up the in-process path in one debuggee, for the engine: the recorder installed when ws2_32 loads (or, in a
 * process attached to, at its first hooked call), the thread started to register the stubs' unwind data, and the
 * capture-setup event that says what was done.
 */

import { HOOKED_APIS, apiEntry } from '../../apis';
import type { CaptureSetupEvent } from '../../trace/schema';
import { win } from '../api';
import { Context } from '../layouts';
import { winExtra } from './api-extra';
import type { LoadedModule, TracedThread } from '../traced-process';
import type { InprocProcess } from './process-state';
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
 * calls; an armed stub stops instead). `stopped`: the thread held at this event; none when ws2_32 has just been mapped,
 * where no thread can be inside its code yet (and no thread's registers need be read).
 */
export function installRecorder(state: InprocProcess, stopped: TracedThread | undefined, hooked: ReadonlySet<string>, armed: { entries: ReadonlySet<string>; failures: ReadonlySet<string> }, ring: RingOptions = {}): void {
  const process = state.process;
  const apis = recordedApis(state, hooked);
  const captureStack = ring.stacks ? state.captureStackFunction : undefined;
  const options = { slots: ring.ringSlots, waitWhenFull: ring.overflow !== 'drop', delayFunction: state.delayFunction, rtlAddFunctionTable: state.rtlAddFunctionTable, captureStack, threadInside: stopped && threadInside(state, stopped) };
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
 * Registers the stubs' unwind data with RtlAddFunctionTable, run in a thread of the tracer's own in the program
 * (CreateRemoteThread): its exit code is RtlAddFunctionTable's answer. No thread of the program is borrowed: under Wine,
 * setting a stopped thread's context makes the wineserver write its debug registers, which slows every context switch
 * on the machine for as long as the thread lives. Returns the thread's id, or undefined when there is nothing to
 * register or no thread could be started.
 */
export function startUnwindRegistration(state: InprocProcess): number | undefined {
  const thunk = state.recorder?.registration?.thunk;
  if (thunk === undefined) return undefined;
  const tid = Buffer.alloc(4);
  const thread = BigInt(winExtra.CreateRemoteThread(state.process.handle, 0n, 0n, thunk, 0n, 0, tid));
  if (thread === 0n) return undefined;
  win.CloseHandle(thread);
  state.registrationTid = tid.readUInt32LE(0);
  return state.registrationTid;
}

/** The registration thread ended with `exitCode`: whether the unwind data is registered. */
export function unwindRegistrationEnded(state: InprocProcess, exitCode: number): void {
  state.registrationTid = undefined;
  if (state.recorder) state.recorder.unwindRegistered = exitCode !== 0;
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
