/** The last step of a detach, after the engine's int3s came out: the debug events still on their way. */

import { win } from './api';
import { Context, DBG_CONTINUE, DBG_EXCEPTION_NOT_HANDLED, DebugEvent, DebugEventCode, EXCEPTION_BREAKPOINT, EXCEPTION_SINGLE_STEP } from './layouts';
import type { InprocProcess } from './inproc/process-state';
import type { TracedProcess } from './traced-process';

/** How long a detach waits for debug events already on their way. */
const SETTLE_MS = 50;

/**
 * Debug events raised before the breakpoints came out (a thread that hit an int3 of ours meanwhile): each thread is
 * put back on the instruction the int3 covered before the debugger lets go. Left pending, the breakpoint would reach
 * the program as its own exception. Returns the pids of programs that started meanwhile (to be let go too).
 */
export function settlePendingEvents(processes: Map<number, TracedProcess>, e: Buffer, inprocOf: (pid: number) => InprocProcess | undefined = () => undefined): number[] {
  const started: number[] = [];
  while (win.WaitForDebugEvent(e, SETTLE_MS)) {
    const code = e.readUInt32LE(DebugEvent.code);
    const pid = e.readUInt32LE(DebugEvent.processId);
    const tid = e.readUInt32LE(DebugEvent.threadId);
    const process = processes.get(pid);
    const thread = process?.threads.get(tid);
    let status = DBG_CONTINUE;
    if (code === DebugEventCode.EXCEPTION && process && thread) {
      const exception = e.readUInt32LE(DebugEvent.exceptionCode);
      const address = e.readBigUInt64LE(DebugEvent.exceptionAddress);
      const inproc = inprocOf(pid);
      // An int3 that is part of a stub (armed, or after a failed call) stays in the code: the thread goes on past it.
      const inStub = inproc?.isStubInt3(address) === true;
      const ours = exception === EXCEPTION_BREAKPOINT && (inStub || process.placedBreakpoint(address));
      const context = ours ? process.getContext(thread) : undefined;
      if (context) {
        // Wine reports RIP past the int3, Windows at it.
        context.writeBigUInt64LE(inStub ? address + 1n : address, Context.rip);
        process.setContext(thread, context);
      } else if (exception !== EXCEPTION_BREAKPOINT && !(exception === EXCEPTION_SINGLE_STEP && thread.rearm !== undefined)) {
        status = DBG_EXCEPTION_NOT_HANDLED;
      }
    } else if (code === DebugEventCode.EXIT_PROCESS) {
      processes.delete(pid);
    } else if (code === DebugEventCode.CREATE_PROCESS) {
      const file = e.readBigUInt64LE(DebugEvent.createProcessFile);
      if (file !== 0n) win.CloseHandle(file);
      started.push(pid);
    }
    win.ContinueDebugEvent(pid, tid, status);
  }
  return started;
}
