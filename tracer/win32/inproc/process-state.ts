/**
 * The in-process path's record of each debuggee (the breakpoint path's is TracedProcess): its recorder, where it
 * exits, the thread started to register the stubs' unwind data, the ring calls still waiting for their return.
 * One record per process, held here rather than on TracedProcess, so the debuggee knows nothing of the stubs.
 */

import type { TracedProcess } from '../traced-process';
import type { InprocRecorder } from './recorder';

/** A call drained from the ring whose return has not been drained yet. */
export interface RingCall {
  /** Its trace seq (the return's callSeq). */
  readonly seq: number;
  readonly api: string;
  readonly tid: number;
  readonly internal: boolean;
  /** Its raw arguments (the out-parameters' addresses, for the return's decoder). */
  readonly raw: readonly bigint[];
}

/** What an int3 of the in-process path is. */
export type InprocInt3 =
  /** ExitProcess / RtlExitUserProcess: the last moment the ring can be read. */
  | { readonly kind: 'exit-call' }
  /** A hooked entry point's int3 hit just before the inline hook went in: the call goes on through the trampoline. */
  | { readonly kind: 'hooked-entry'; readonly api: string; readonly original: bigint }
  /** An armed stub's int3: handled as the API's entry, then the original runs (the stub records nothing). */
  | { readonly kind: 'armed-stub'; readonly api: string; readonly original: bigint }
  /** A fail-armed stub's int3 after a call that failed. */
  | { readonly kind: 'failed-call' }
  /** WSAIoctl's stub stopped: it handed out an extension function pointer the tracer has not seen. */
  | { readonly kind: 'extension-pointer' };

export class InprocProcess {
  /** The stubs and ring in this process once installed (null: could not be installed; undefined: not tried yet). */
  recorder?: InprocRecorder | null;
  /** ws2_32's hooked exports: name → address (the stubs hook them inline). */
  readonly ws2Exports = new Map<string, bigint>();
  /** ExitProcess / RtlExitUserProcess, where the ring is drained before the memory is gone. */
  readonly exitAddresses = new Set<bigint>();
  /** ntdll!RtlAddFunctionTable, which registers the stubs' unwind data. */
  rtlAddFunctionTable?: bigint;
  /** The thread the tracer started to register the stubs' unwind data, until it ends (not the program's). */
  registrationTid?: number;
  /** The capture-setup event is in the trace. */
  setupRecorded = false;
  /** Its `ring-stalls` event is in the trace (at most one per process). */
  stallsRecorded = false;
  /** ntdll!NtDelayExecution: where a stub waiting for room sleeps. */
  delayFunction?: bigint;
  /** ntdll!RtlCaptureStackBackTrace: what a stub calls for the call's stack (record --stacks). */
  captureStackFunction?: bigint;
  /** Ring seq (low 32 bits) of a call already in the trace → the call, until its return is drained. */
  readonly pendingCalls = new Map<number, RingCall>();

  constructor(readonly process: TracedProcess) {}

  /** An int3 that is part of a stub (armed, or after a failed call): it stays in the code, the thread goes past it. */
  isStubInt3(address: bigint): boolean {
    return this.recorder?.breaks.has(address) === true || this.recorder?.failBreaks.has(address) === true || this.recorder?.extensionBreaks.has(address) === true;
  }

  /** Which of the in-process path's int3s a thread stopped at, in the order they are told apart; undefined: none. */
  int3At(address: bigint): InprocInt3 | undefined {
    if (this.exitAddresses.has(address)) return { kind: 'exit-call' };
    const recorder = this.recorder;
    if (!recorder) return undefined;
    const hookedApi = recorder.apiAt(address);
    const trampoline = recorder.trampolineAt(address);
    if (hookedApi !== undefined && trampoline !== undefined) return { kind: 'hooked-entry', api: hookedApi, original: trampoline };
    const armed = recorder.breaks.get(address);
    if (armed) return { kind: 'armed-stub', api: armed.api, original: armed.original };
    if (recorder.failBreaks.has(address)) return { kind: 'failed-call' };
    if (recorder.extensionBreaks.has(address)) return { kind: 'extension-pointer' };
    return undefined;
  }
}

/** The in-process records of the live debuggees, by pid. */
export class InprocProcesses {
  private readonly byPid = new Map<number, InprocProcess>();

  add(process: TracedProcess): InprocProcess {
    const state = new InprocProcess(process);
    this.byPid.set(process.pid, state);
    return state;
  }

  get(pid: number): InprocProcess | undefined {
    return this.byPid.get(pid);
  }

  delete(pid: number): void {
    this.byPid.get(pid)?.recorder?.release();
    this.byPid.delete(pid);
  }

  values(): IterableIterator<InprocProcess> {
    return this.byPid.values();
  }

  /** Puts every hooked entry point back (a detach); the stubs stay for the threads inside them. */
  uninstallAll(): void {
    for (const state of this.byPid.values()) state.recorder?.uninstall();
  }

  clear(): void {
    for (const state of this.byPid.values()) state.recorder?.release();
    this.byPid.clear();
  }
}
