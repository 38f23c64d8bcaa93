/**
 * The capture engine: a Win32 debug loop (WaitForDebugEvent / ContinueDebugEvent, on the one thread that created
 * the debuggees) that hooks ws2_32's exported entry points with int3 breakpoints, and a one-shot breakpoint on each
 * call's return address, and turns every hit into trace events.
 */

import type { ApiCallEvent, ApiReturnEvent } from '../trace/schema';
import { type Handle, runsUnderWine, win } from './api';
import { callAtEntry, returnEvent, returnedCall } from './breakpoint-calls';
import { type HookSpec, HOOKS, extensionFunctionOf } from './hooks';
import { armHeldExtensions, hookHeldExtensions } from './held-extensions';
import { int3At } from './int3';
import { DBG_CONTINUE, DBG_EXCEPTION_NOT_HANDLED, DEBUG_EVENT_SIZE, DebugEvent, DebugEventCode, EXCEPTION_ACCESS_VIOLATION, EXCEPTION_BREAKPOINT, EXCEPTION_SINGLE_STEP } from './layouts';
import { describeNewProcess } from './process-info';
import { readImageExports } from './pe';
import { RingDrain } from './inproc/drain';
import { extensionHandedOut } from './inproc/stubs';
import { type InprocProcess, InprocProcesses } from './inproc/process-state';
import { captureSetup, inprocessFunctions, installRecorder, noteModule, recoverStubFault, startUnwindRegistration, unwindRegistrationEnded } from './inproc/setup';
import { hookExtensionFunction, resumeAt, stepOver } from './resume';
import { settlePendingEvents } from './settle';
import { CallStacks } from './symbols';
import type { CaptureMode, EngineSink, StopControl, UnstampedEvent } from './sink';
import { type TracedThread, TracedProcess } from './traced-process';
import { ChildFollower, unfollowedChildNote } from './follow';

const WS2_32 = 'ws2_32.dll';

export class CaptureEngine {
  readonly processes = new Map<number, TracedProcess>();
  private readonly event = Buffer.alloc(DEBUG_EVENT_SIZE);
  private readonly hooked: ReadonlyMap<string, HookSpec>;
  private readonly hookedNames: ReadonlySet<string>;
  private stopping = false;
  /** Where the capture's time goes: waiting for debug events, handling them, continuing them. */
  private readonly eventStats = { debugEvents: 0, waitNs: 0, handleNs: 0, continueNs: 0 };
  /** Breakpoint-path calls' stacks, walked and symbolized in the debuggee. */
  private readonly callStacks = new CallStacks();

  /** The debug loop's times, and the in-process drains' (events recorded from the rings, time spent on them). */
  get stats() {
    const live = [...this.processes.values()].reduce((sum, p) => sum + p.contextCalls, 0);
    const threadContextCalls = this.endedContextCalls + live - this.exitContextCalls;
    return { ...this.eventStats, threadContextCalls, ...(this.rings?.stats ?? {}), ...this.callStacks.stats };
  }

  /** Context calls of the processes that ended, and of all processes at ExitProcess (see CaptureStats). */
  private endedContextCalls = 0;
  private exitContextCalls = 0;

  /** In-process capture: calls of register-only APIs are recorded by stubs in the process, not by breakpoints. */
  private readonly inprocess: boolean;
  /** In-process capture: each debuggee's stubs, ring and the int3s that go with them. */
  private readonly inproc?: InprocProcesses;
  /** APIs that must keep their breakpoint (the user stops on them). */
  private breakpointApis: Set<string>;

  constructor(
    private readonly sink: EngineSink,
    private readonly control: StopControl,
    apis?: readonly string[],
    private readonly options: { capture?: CaptureMode; breakpointApis?: readonly string[]; ringSlots?: number; overflow?: 'wait' | 'drop'; stacks?: boolean } = {},
  ) {
    this.hooked = apis ? new Map([...HOOKS].filter(([api]) => apis.includes(api))) : HOOKS;
    this.hookedNames = new Set(this.hooked.keys());
    this.inprocess = options.capture === 'inprocess';
    this.rings = this.inprocess ? new RingDrain(sink, (process, addresses) => this.callStacks.fromReturnAddresses(process, addresses)) : undefined;
    this.inproc = this.inprocess ? new InprocProcesses() : undefined;
    this.breakpointApis = new Set(options.breakpointApis ?? []);
  }

  /** Records an event; in-process records made before it are drained first, so the trace stays in order. */
  private record(event: UnstampedEvent): number {
    if (this.inprocess) this.drain();
    return this.sink.record(event);
  }

  /**
   * Drains every process's in-process ring into the trace (the agent calls this now and then, too): the events made.
   * `everything`: the records made during the drain too (a process's last chance: it is exiting, or being let go).
   */
  drain(everything = false): number {
    return this.rings && this.inproc ? this.rings.drain(this.inproc.values(), this.failureApis, everything) : 0;
  }

  /**
   * The APIs the user stops on: their in-process stubs are armed (they stop at their int3), the others disarmed.
   * `failures`: APIs whose stubs stop only after a call that failed.
   */
  setBreakpointApis(apis: readonly string[], failures: readonly string[] = []): void {
    this.breakpointApis = new Set(apis);
    this.failureApis = new Set(failures);
    for (const { recorder } of this.inproc?.values() ?? []) {
      for (const api of recorder?.hooked() ?? []) {
        recorder?.setArmed(api, this.breakpointApis.has(api));
        recorder?.setFailArmed(api, this.failureApis.has(api));
      }
    }
  }

  /** In-process capture: the rings' drain. */
  private readonly rings?: RingDrain;
  /** APIs whose in-process stubs stop after a failed call. */
  private failureApis: ReadonlySet<string> = new Set();

  /**
   * Ring, stubs and inline hooks in this process; its capture-setup event once the unwind data's registration thread
   * ends (at once when there is none). `stopped`: the thread held at this event, if any.
   */
  private installInProcess(inproc: InprocProcess, stopped: TracedThread | undefined): void {
    installRecorder(inproc, stopped, this.hookedNames, { entries: this.breakpointApis, failures: this.failureApis }, this.options);
    if (stopped && inproc.process.attachedWhileRunning) hookHeldExtensions(inproc, (api, pointer) => this.hookKnownExtension(inproc, stopped, api, pointer));
    if (startUnwindRegistration(inproc) === undefined) this.recordCaptureSetup(inproc);
  }

  private recordCaptureSetup(inproc: InprocProcess): void {
    if (inproc.setupRecorded) return;
    inproc.setupRecorded = true;
    this.record(captureSetup(inproc, this.hookedNames));
  }

  /** Programs launched whose CREATE_PROCESS event has not come yet. */
  private awaitedLaunches = 0;

  /** True while a debuggee runs or a launched program has yet to appear. */
  get live(): boolean {
    return this.processes.size > 0 || this.awaitedLaunches > 0;
  }

  expectLaunch(): void {
    this.awaitedLaunches++;
  }

  /** Programs attached to whose CREATE_PROCESS event has not come yet: their process-start says `attached`. */
  private readonly awaitedAttaches = new Set<number>();

  expectAttach(pid: number): void {
    this.awaitedLaunches++;
    this.awaitedAttaches.add(pid);
    this.follower.follow(pid);
  }

  /** The children of programs attached to are attached to as they are created (DEBUG_PROCESS does not cover them). */
  private readonly follower = new ChildFollower();

  /**
   * Waits up to `timeoutMs` for one debug event and handles it. Returns false when none came.
   * Must run on the thread that created the debuggees.
   */
  async step(timeoutMs: number): Promise<boolean> {
    const waitStarted = process.hrtime.bigint();
    const got = win.WaitForDebugEvent(this.event, timeoutMs);
    const handleStarted = process.hrtime.bigint();
    this.eventStats.waitNs += Number(handleStarted - waitStarted);
    if (!got) return false;
    this.eventStats.debugEvents++;
    const e = this.event;
    const code = e.readUInt32LE(DebugEvent.code);
    const pid = e.readUInt32LE(DebugEvent.processId);
    const tid = e.readUInt32LE(DebugEvent.threadId);
    let status = DBG_CONTINUE;
    switch (code) {
      case DebugEventCode.CREATE_PROCESS:
        this.onCreateProcess(pid, tid);
        break;
      case DebugEventCode.CREATE_THREAD:
        // The unwind data's registration thread is the tracer's, not the program's.
        if (this.inproc?.get(pid)?.registrationTid === tid) closeIfSet(e.readBigUInt64LE(DebugEvent.createThreadHandle));
        else this.onCreateThread(pid, tid, e.readBigUInt64LE(DebugEvent.createThreadHandle), e.readBigUInt64LE(DebugEvent.createThreadTeb));
        break;
      case DebugEventCode.EXIT_THREAD:
        this.onExitThread(pid, tid, e.readUInt32LE(DebugEvent.exitCode));
        break;
      case DebugEventCode.EXIT_PROCESS:
        this.callStacks.processEnded(pid);
        this.onExitProcess(pid, e.readUInt32LE(DebugEvent.exitCode));
        break;
      case DebugEventCode.LOAD_DLL:
        this.onLoadDll(pid, e.readBigUInt64LE(DebugEvent.loadDllBase));
        this.callStacks.moduleLoaded(pid, e.readBigUInt64LE(DebugEvent.loadDllFile), e.readBigUInt64LE(DebugEvent.loadDllBase));
        closeIfSet(e.readBigUInt64LE(DebugEvent.loadDllFile));
        break;
      case DebugEventCode.UNLOAD_DLL: {
        const p = this.processes.get(pid);
        const base = e.readBigUInt64LE(16);
        if (p) p.modules.splice(0, p.modules.length, ...p.modules.filter((m) => m.base !== base));
        break;
      }
      case DebugEventCode.EXCEPTION:
        status = await this.onException(pid, tid);
        break;
      default:
        break;
    }
    this.sink.flush?.();
    const continueStarted = process.hrtime.bigint();
    win.ContinueDebugEvent(pid, tid, status);
    const done = process.hrtime.bigint();
    this.eventStats.handleNs += Number(continueStarted - handleStarted);
    this.eventStats.continueNs += Number(done - continueStarted);
    return true;
  }

  private onCreateProcess(pid: number, tid: number): void {
    const e = this.event;
    const handle = e.readBigUInt64LE(DebugEvent.createProcessHandle);
    const process = new TracedProcess(pid, handle);
    this.processes.set(pid, process);
    this.inproc?.add(process);
    if (this.awaitedLaunches > 0) this.awaitedLaunches--;
    closeIfSet(e.readBigUInt64LE(DebugEvent.createProcessFile));
    const info = describeNewProcess(process);
    const base = e.readBigUInt64LE(DebugEvent.createProcessBase);
    const image = readImageExports((rva, length) => process.read(base + BigInt(rva), length) ?? Buffer.alloc(length));
    process.modules.push({ name: baseName(info.image).toLowerCase(), base, size: image?.sizeOfImage ?? 0 });
    // Attached to while running: the descriptors it opened before are unknown to the trace.
    const attached = this.awaitedAttaches.delete(pid);
    process.attachedWhileRunning = attached;
    this.record({ kind: 'process-start', pid, parentPid: info.parentPid, image: info.image, commandLine: info.commandLine, ...(attached ? { attached } : {}) });
    this.onCreateThread(pid, tid, e.readBigUInt64LE(DebugEvent.createProcessThread), e.readBigUInt64LE(DebugEvent.createProcessTeb));
  }

  private onCreateThread(pid: number, tid: number, handle: Handle, teb: bigint): void {
    this.processes.get(pid)?.threads.set(tid, { tid, handle, teb });
    this.record({ kind: 'thread-start', pid, tid });
  }

  private onExitThread(pid: number, tid: number, exitCode: number): void {
    const inproc = this.inproc?.get(pid);
    if (inproc && inproc.registrationTid === tid) {
      unwindRegistrationEnded(inproc, exitCode);
      return this.recordCaptureSetup(inproc);
    }
    this.processes.get(pid)?.threads.delete(tid);
    this.record({ kind: 'thread-exit', pid, tid, exitCode });
  }

  private onExitProcess(pid: number, exitCode: number): void {
    const inproc = this.inproc?.get(pid);
    if (inproc?.recorder !== undefined) this.recordCaptureSetup(inproc);
    const process = this.processes.get(pid);
    this.endedContextCalls += process?.contextCalls ?? 0;
    this.processes.delete(pid);
    this.inproc?.delete(pid);
    this.follower.forget(pid);
    this.record({ kind: 'process-exit', pid, exitCode });
    if (process) closeIfSet(process.handle);
  }

  /** Reads the DLL's export table in the debuggee; for ws2_32, puts an int3 on each hooked entry point. */
  private onLoadDll(pid: number, base: bigint): void {
    const process = this.processes.get(pid);
    if (!process) return;
    const image = readImageExports((rva, length) => process.read(base + BigInt(rva), length) ?? Buffer.alloc(length), (dll) => this.follower.wanted(pid, dll) ?? (dll.toLowerCase() === WS2_32 ? this.hookedNames : this.inprocess ? inprocessFunctions(dll.toLowerCase()) : undefined));
    const name = (image?.name ?? '').toLowerCase();
    const module = { name, base, size: image?.sizeOfImage ?? 0 };
    process.modules.push(module);
    if (image) this.follower.noteModule(process, name, base, image.functions);
    // In-process capture: where the process ends (the ring is drained there), RtlAddFunctionTable, ws2_32's exports.
    const inproc = this.inproc?.get(pid);
    if (inproc && image) noteModule(inproc, module, image.functions, name === WS2_32);
    if (name !== WS2_32 || !image) return;
    process.ws2 = module;
    for (const [api, rva] of image.functions) {
      const address = base + BigInt(rva);
      const spec = this.hooked.get(api);
      if (spec && process.arm(address)) process.entries.set(address, spec);
    }
    // Attached to while running: pointers WSAIoctl handed out before are in the program's hands already.
    if (process.attachedWhileRunning) armHeldExtensions(process, module, this.hooked);
    this.record({ kind: 'module-load', pid, module: WS2_32, base: `0x${base.toString(16)}` });
    // Just mapped, ws2_32 runs no code yet: its entry points are hooked now, with no thread stopped or read. In a
    // process attached to while running, threads may be inside it: that waits for its first hooked call.
    if (inproc && !process.attachedWhileRunning) this.installInProcess(inproc, undefined);
  }

  private async onException(pid: number, tid: number): Promise<number> {
    const e = this.event;
    const code = e.readUInt32LE(DebugEvent.exceptionCode);
    const address = e.readBigUInt64LE(DebugEvent.exceptionAddress);
    const process = this.processes.get(pid);
    const thread = process?.threads.get(tid);
    if (!process || !thread) return DBG_EXCEPTION_NOT_HANDLED;
    if (code === EXCEPTION_BREAKPOINT) {
      const creation = this.follower.onBreakpoint(process, thread, address);
      if (creation.child?.error) this.record({ kind: 'output', pid, stream: 'stderr', text: unfollowedChildNote(pid, creation.child) });
      if (creation.handled) return DBG_CONTINUE;
      const int3 = int3At(process, this.inproc?.get(pid), this.hooked, address);
      if (int3?.kind === 'exit-call') return this.onExitProcessCall(int3.inproc, thread, address);
      if (int3?.kind === 'entry') return this.onEntry(process, thread, address, int3.spec, int3.original);
      if (int3?.kind === 'return') return await this.onReturn(process, thread, address);
      if (int3?.kind === 'failed-call') return await this.onFailedCall(process, thread, address);
      if (int3?.kind === 'extension-pointer') return this.onExtensionPointer(int3.inproc, thread, address);
      // A pause asked for between hooked calls: the break-in thread DebugBreakProcess started has arrived.
      if (this.breakRequested) {
        this.breakRequested = false;
        await this.control.hold('pause', { pid, tid });
        return DBG_CONTINUE;
      }
      // The loader's initial breakpoint, or a DebugBreak in the program: not ours, carry on.
      return DBG_CONTINUE;
    }
    if (code === EXCEPTION_SINGLE_STEP && thread.rearm !== undefined) {
      const address = thread.rearm;
      thread.rearm = undefined;
      if (process.entries.has(address) || process.returns.has(address) || this.follower.isOwnInt3(pid, address)) process.arm(address);
      return DBG_CONTINUE;
    }
    // A stub's read of an address the program got wrong: counted as nothing copied, the call goes on.
    if (code === EXCEPTION_ACCESS_VIOLATION && recoverStubFault(this.inproc?.get(pid), thread, address)) return DBG_CONTINUE;
    // The program's own exceptions go to its handlers (first chance), or end it (second chance).
    return DBG_EXCEPTION_NOT_HANDLED;
  }

  /**
   * WSAIoctl's stub handed out an extension function pointer not seen before: the function is hooked where it is (the
   * pointer and the GUID asked for, from the stub's mailbox) before the program can call through the pointer, and the
   * stub stops no more for it. The thread goes on past the int3: under Wine it is already there, and its registers
   * are left alone (setting them would make the wineserver write its debug registers).
   */
  private onExtensionPointer(inproc: InprocProcess, thread: TracedThread, address: bigint): number {
    const mailbox = inproc.recorder?.extensionMailbox();
    const handedOut = mailbox && extensionHandedOut(inproc.process, mailbox);
    if (handedOut) this.hookKnownExtension(inproc, thread, extensionFunctionOf(handedOut.guid), handedOut.pointer);
    if (runsUnderWine()) return DBG_CONTINUE;
    const context = inproc.process.getContext(thread);
    if (context) resumeAt(inproc.process, thread, address + 1n, false, context);
    return DBG_CONTINUE;
  }

  /** ExitProcess: the last moment this process's ring can be read. */
  private onExitProcessCall(inproc: InprocProcess, thread: TracedThread, address: bigint): number {
    this.drain(true);
    this.rings?.recordStalls(inproc);
    const process = inproc.process;
    const before = process.contextCalls;
    const context = process.getContext(thread);
    inproc.exitAddresses.delete(address);
    process.disarm(address);
    if (context) resumeAt(process, thread, address, false, context);
    this.exitContextCalls += process.contextCalls - before;
    return DBG_CONTINUE;
  }

  /**
   * A hooked call's entry. `original`: stopped in an armed stub, which is left for the API's own code. In a process
   * attached to while running, the first one installs the stubs (`installing`).
   */
  private async onEntry(process: TracedProcess, thread: TracedThread, address: bigint, spec: HookSpec, original?: bigint): Promise<number> {
    const inproc = this.inproc?.get(process.pid);
    const installing = inproc !== undefined && inproc.recorder === undefined;
    if (installing) this.installInProcess(inproc, thread);
    // In-process, calls have stacks only with --stacks, the one installing the stubs too (a user's stop keeps its
    // stack): dbghelp's symbol handler is not started, whose module reads (thousands of wineserver round trips under
    // Wine) held up node-http-cluster's start, three processes, by about a second.
    const stacks = installing && !this.options.stacks ? undefined : this.callStacks;
    // This call's own entry may just have been hooked: its original code now runs from the trampoline.
    original ??= inproc?.recorder?.trampolineAt(address);
    const context = process.getContext(thread);
    if (!context) return DBG_CONTINUE;
    const { event, returnAddress, pending } = callAtEntry(process, thread, context, address, spec, stacks);
    const call: ApiCallEvent = { ...event, seq: this.record(event), timeNs: 0 };
    const waiting = process.returns.get(returnAddress) ?? [];
    waiting.push(pending(call.seq));
    process.returns.set(returnAddress, waiting);
    process.arm(returnAddress);
    if (!event.internal && !this.stopping) {
      const reason = this.control.shouldStop(call);
      if (reason) {
        if (reason === 'pause') this.breakRequested = false;
        await this.control.hold(reason, { pid: process.pid, tid: thread.tid, event: call });
      }
    }
    if (original !== undefined) resumeAt(process, thread, original, false, context);
    else stepOver(process, thread, address, context);
    return DBG_CONTINUE;
  }

  private async onReturn(process: TracedProcess, thread: TracedThread, address: bigint): Promise<number> {
    const context = process.getContext(thread);
    if (!context) return DBG_CONTINUE;
    const call = returnedCall(process, thread, context, address);
    let returned: ApiReturnEvent | undefined;
    if (call) {
      const event = returnEvent(process, thread, context, call);
      if (event.out?.extensionFunction !== undefined) this.hookExtensionFunction(process, thread, String(event.out.extensionFunction), event.out.functionPointer);
      const seq = this.record(event);
      returned = call.internal ? undefined : { ...event, seq, timeNs: 0 };
    }
    if ((process.returns.get(address)?.length ?? 0) === 0) {
      process.returns.delete(address);
      process.disarm(address);
      resumeAt(process, thread, address, false, context);
    } else stepOver(process, thread, address, context);
    // A stop after the call: the program is held right after the call returned.
    const reason = returned && !this.stopping ? this.control.shouldStop(returned) : undefined;
    if (returned && reason) await this.control.hold(reason, { pid: process.pid, tid: thread.tid, event: returned });
    return DBG_CONTINUE;
  }

  /**
   * A stub stopped after a call that failed (its API is fail-armed): the call and its return are in the ring, so a
   * drain puts them in the trace, and the stop is at that return. The thread goes on after the stub's int3.
   */
  private async onFailedCall(process: TracedProcess, thread: TracedThread, address: bigint): Promise<number> {
    // Everything: the failed return must be drained even if this core's TSC lags the one the stub read.
    this.drain(true);
    const returned = this.rings?.takeFailedReturn(process.pid, thread.tid);
    const context = process.getContext(thread);
    if (context) resumeAt(process, thread, address + 1n, false, context);
    const reason = returned && !this.stopping ? this.control.shouldStop(returned) : undefined;
    if (returned && reason) await this.control.hold(reason, { pid: process.pid, tid: thread.tid, event: returned });
    return DBG_CONTINUE;
  }

  /** An extension function whose pointer the tracer knows: WSAIoctl's stub stops for it no more, and it is hooked. */
  private hookKnownExtension(inproc: InprocProcess, stopped: TracedThread, api: string, pointer: bigint): void {
    inproc.recorder?.noteExtension(pointer);
    this.hookExtensionFunction(inproc.process, stopped, api, `0x${pointer.toString(16)}`);
  }

  /** A Winsock extension function handed out by WSAIoctl (AcceptEx is not exported by name): hooked where it is. */
  private hookExtensionFunction(process: TracedProcess, stopped: TracedThread, name: string, pointer: unknown): void {
    const spec = this.hooked.get(name);
    if (!spec) return;
    hookExtensionFunction(process, this.stopping ? undefined : this.inproc?.get(process.pid), spec, pointer, { entries: this.breakpointApis, failures: this.failureApis }, stopped);
  }

  private breakRequested = false;

  /** Stops the programs as soon as possible: at the next hooked call, or where the break-in finds them. */
  requestBreak(): void {
    const first = this.processes.values().next().value;
    if (!first) return;
    this.breakRequested = true;
    win.DebugBreakProcess(first.handle);
  }

  /** Removes every breakpoint and inline hook and lets the programs run on without the debugger. */
  detach(): void {
    this.stopping = true;
    this.drain(true);
    for (const state of this.inproc?.values() ?? []) this.rings?.recordStalls(state);
    this.inproc?.uninstallAll();
    for (const process of this.processes.values()) process.disarmAll();
    const started = settlePendingEvents(this.processes, this.event, (pid) => this.inproc?.get(pid));
    for (const pid of this.processes.keys()) this.callStacks.processEnded(pid);
    for (const pid of [...this.processes.keys(), ...started]) win.DebugActiveProcessStop(pid);
    this.processes.clear();
    this.inproc?.clear();
  }

  kill(exitCode = 1): void {
    this.stopping = true;
    for (const process of this.processes.values()) win.TerminateProcess(process.handle, exitCode);
  }
}

function closeIfSet(handle: Handle): void {
  if (handle !== 0n) win.CloseHandle(handle);
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}
