/** Attaching the debugger to programs already running (DebugActiveProcess), and what to say when that fails. */

import { win } from './api';

/** DebugActiveProcess's failures, by Win32 error code. */
const ATTACH_ERRORS: Record<number, string> = {
  5: 'ERROR_ACCESS_DENIED: access denied, or another debugger is attached already',
  50: 'ERROR_NOT_SUPPORTED: a 32-bit program cannot be debugged by this 64-bit tracer',
  87: 'ERROR_INVALID_PARAMETER: no running process has this pid (under Wine: none in this Wine prefix)',
};

/**
 * Makes this thread the debugger of a running program. The system then reports CREATE_PROCESS, a CREATE_THREAD per
 * thread, a LOAD_DLL per loaded module and a breakpoint on an injected thread, as if the program had just started.
 */
export function attachToProcess(pid: number): void {
  if (win.DebugActiveProcess(pid)) return;
  const code = win.GetLastError();
  throw new Error(`cannot attach to pid ${pid}: ${ATTACH_ERRORS[code] ?? 'DebugActiveProcess failed'} (Win32 error ${code})`);
}
