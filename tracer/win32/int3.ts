/**
 * What an int3 the debug loop stopped at is: the one place that tells apart the breakpoint path's int3s (hooked entry
 * points, return addresses) and the in-process path's (stubs, the exit functions).
 */

import type { HookSpec } from './hooks';
import type { InprocProcess } from './inproc/process-state';
import type { TracedProcess } from './traced-process';

export type Int3 =
  /** ExitProcess / RtlExitUserProcess in a process recording in process: drain its ring while it can be read. */
  | { readonly kind: 'exit-call'; readonly inproc: InprocProcess }
  /**
   * A hooked call's entry: an entry point's int3, or (in process) an armed stub's int3 or an entry point's int3 hit just
   * before its inline hook went in. `original`: where the API's own code now runs from (its trampoline).
   */
  | { readonly kind: 'entry'; readonly spec: HookSpec; readonly original?: bigint }
  /** The return address of one or more hooked calls. */
  | { readonly kind: 'return' }
  /** A fail-armed stub stopped after a call that failed. */
  | { readonly kind: 'failed-call' }
  /** WSAIoctl's stub stopped after handing out an extension function pointer the tracer has not seen. */
  | { readonly kind: 'extension-pointer'; readonly inproc: InprocProcess };

/**
 * The int3 a thread stopped at in `process`, or undefined when it is not the tracer's (the loader's initial breakpoint,
 * a DebugBreak, a pause's break-in thread). The address sets do not overlap: stubs and trampolines are
 * the tracer's own memory, exit functions are in kernel32/ntdll, entry points in ws2_32 or mswsock, returns in callers.
 */
export function int3At(process: TracedProcess, inproc: InprocProcess | undefined, hooked: ReadonlyMap<string, HookSpec>, address: bigint): Int3 | undefined {
  const own = inproc?.int3At(address);
  if (inproc && own?.kind === 'exit-call') return { kind: own.kind, inproc };
  if (own?.kind === 'failed-call') return own;
  if (inproc && own?.kind === 'extension-pointer') return { kind: own.kind, inproc };
  const spec = process.entries.get(address);
  if (spec) return { kind: 'entry', spec };
  const ownEntry = own?.kind === 'hooked-entry' || own?.kind === 'armed-stub' ? own : undefined;
  const ownSpec = ownEntry && hooked.get(ownEntry.api);
  if (ownEntry && ownSpec) return { kind: 'entry', spec: ownSpec, original: ownEntry.original };
  if (process.returns.has(address)) return { kind: 'return' };
  return undefined;
}
