/**
 * Extension functions (AcceptEx, ConnectEx, ...) in a process attached to while running: WSAIoctl handed their
 * pointers out before the tracer came, so no WSAIoctl return names them. Under Wine, ws2_32 keeps them in a table
 * (hooks.ts extensionFunctionsIn): each gets an int3 on its entry when ws2_32's LOAD_DLL is reported, as the exports
 * do, and in process the stubs replace those int3s where the first hooked call installs them.
 */

import { apiEntry } from '../apis';
import { type HookSpec, extensionFunctionsIn } from './hooks';
import type { InprocProcess } from './inproc/process-state';
import type { LoadedModule, TracedProcess } from './traced-process';

export function armHeldExtensions(process: TracedProcess, ws2: LoadedModule, hooked: ReadonlyMap<string, HookSpec>): void {
  const image = process.read(ws2.base, ws2.size);
  for (const { api, pointer } of image ? extensionFunctionsIn(image, ws2.base) : []) {
    const spec = hooked.get(api);
    if (spec && process.arm(pointer)) process.entries.set(pointer, spec);
  }
}

/** The int3s armHeldExtensions put in give way to inline hooks (`hook`: the engine's, as for a pointer WSAIoctl handed out). */
export function hookHeldExtensions(inproc: InprocProcess, hook: (api: string, pointer: bigint) => void): void {
  const process = inproc.process;
  for (const [address, spec] of [...process.entries]) {
    if (apiEntry(spec.api)?.entryPoint !== 'extension-function') continue;
    process.disarm(address);
    process.entries.delete(address);
    hook(spec.api, address);
  }
}
