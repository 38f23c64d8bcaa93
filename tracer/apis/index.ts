/**
 * The hooked-API catalogue: one typed entry per Winsock entry point the capture hooks. The trace format's
 * HOOKED_APIS, the capture's decoders, the in-process recorder's API list, the model's dispatch table, the readers'
 * formatting and package.json's API enums all derive from it (tables keyed by HookedApi use
 * `satisfies Record<HookedApi, …>`, so an API missing from one is a compile error).
 * It imports nothing: the trace format, the capture and the model all sit above it.
 */

import { API_CATALOGUE, type HookedApi } from './catalogue';
import type { ApiEntry, ArgSpec, MemorySpan, OutSpec } from './types';

export * from './types';
export {
  API_CATALOGUE,
  FD_SETSIZE,
  OPTION_VALUE_MAX_BYTES,
  SOCKADDR_MAX_BYTES,
  WSAPROTOCOL_INFOA_BYTES,
  WSAPROTOCOL_INFOW_BYTES,
  WSA_MAXIMUM_WAIT_EVENTS,
  type HookedApi,
} from './catalogue';

/** Every hooked API, in the trace format's order (never empty). */
export const HOOKED_APIS = Object.keys(API_CATALOGUE) as unknown as readonly [HookedApi, ...HookedApi[]];

const HOOKED = new Set<string>(HOOKED_APIS);

export function isHookedApi(name: string): name is HookedApi {
  return HOOKED.has(name);
}

/** The catalogue entry of a hooked API; undefined for any other name. */
export function apiEntry(name: string): ApiEntry | undefined {
  return isHookedApi(name) ? API_CATALOGUE[name] : undefined;
}

/** Every memory span an API's arguments and out-parameters are read from. */
export function memorySpans(entry: ApiEntry): MemorySpan[] {
  return [...entry.args, ...(entry.out ?? [])].flatMap((value: ArgSpec | OutSpec) => (value.memory ? [value.memory] : []));
}

/**
 * Whether the in-process stubs can record the API today: a ws2_32 export (the stubs hook exports inline) whose
 * arguments and out-parameters are all register or stack values. The stubs save the integer parameters only; an API
 * that needs bytes from memory stays on the breakpoint path, where the tracer reads them at the call.
 */
export function recordableInProcess(entry: ApiEntry): boolean {
  return entry.entryPoint === 'ws2_32-export' && memorySpans(entry).length === 0;
}

/** The APIs the in-process stubs record (see recordableInProcess), in catalogue order. */
export const REGISTER_ONLY_APIS: readonly HookedApi[] = HOOKED_APIS.filter((api) => recordableInProcess(API_CATALOGUE[api]));

/** An argument's catalogue entry by its trace name. */
export function argSpec(api: string, name: string): ArgSpec | undefined {
  return apiEntry(api)?.args.find((arg) => arg.name === name);
}

/** An out-parameter's catalogue entry by its trace name. */
export function outSpec(api: string, name: string): OutSpec | undefined {
  return apiEntry(api)?.out?.find((out) => out.name === name);
}
