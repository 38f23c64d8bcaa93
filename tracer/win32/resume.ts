/**
 * Letting a thread stopped at one of the tracer's int3s go on: at an address (the int3's own instruction, a
 * trampoline, past a stub's int3), or over a breakpoint's original instruction with the trap flag; and hooking a
 * Winsock extension function where WSAIoctl says it is.
 */

import { runsUnderWine } from './api';
import type { HookSpec } from './hooks';
import { threadInside } from './inproc/setup';
import type { InprocProcess } from './inproc/process-state';
import { Context, TRAP_FLAG } from './layouts';
import type { TracedProcess, TracedThread } from './traced-process';

/**
 * Wine reports RIP past the int3, Windows at it: set it to the breakpoint's address either way. `context` is the
 * thread's context read at this debug event (each GetThreadContext is a round trip to another process).
 */
export function resumeAt(process: TracedProcess, thread: TracedThread, address: bigint, trap: boolean, context: Buffer): void {
  context.writeBigUInt64LE(address, Context.rip);
  if (trap) context.writeUInt32LE(context.readUInt32LE(Context.eflags) | TRAP_FLAG, Context.eflags);
  process.setContext(thread, context);
}

/** Executes the original instruction under a breakpoint: restore it, back up RIP, single-step, re-arm after. */
export function stepOver(process: TracedProcess, thread: TracedThread, address: bigint, context: Buffer): void {
  process.disarm(address);
  thread.rearm = address;
  resumeAt(process, thread, address, true, context);
}

/**
 * A Winsock extension function handed out by WSAIoctl (AcceptEx is not exported by name), at `pointer` ("0x…"):
 * in process, an inline hook there to the stub built for it (armed as its API is); otherwise, or when it cannot be
 * patched, a breakpoint there. `inproc`: undefined on the breakpoint path (or once detaching). `stopped`: the thread
 * held at this event (in WSAIoctl, not in the function: its registers are not read).
 */
export function hookExtensionFunction(process: TracedProcess, inproc: InprocProcess | undefined, spec: HookSpec, pointer: unknown, armed: { entries: ReadonlySet<string>; failures: ReadonlySet<string> }, stopped: TracedThread): void {
  if (typeof pointer !== 'string' || !/^0x[0-9a-f]+$/.test(pointer)) return;
  const address = BigInt(pointer);
  if (address === 0n || process.entries.has(address) || inproc?.recorder?.apiAt(address)) return;
  const recorder = inproc?.recorder;
  // Under Wine, WSAIoctl hands out functions of ws2_32's own that are called only through the pointer, and in a process
  // traced from its start every first handout stops here: no thread can be inside one yet. Reading the other threads'
  // registers to make sure would make the wineserver set their debug registers.
  const inside = inproc && (process.attachedWhileRunning || !runsUnderWine()) ? threadInside(inproc, stopped) : undefined;
  if (inproc && recorder && recorder.hookExtension(spec.api, address, inside) === undefined) {
    recorder.setArmed(spec.api, armed.entries.has(spec.api));
    recorder.setFailArmed(spec.api, armed.failures.has(spec.api));
    return;
  }
  if (process.arm(address)) process.entries.set(address, spec);
}
