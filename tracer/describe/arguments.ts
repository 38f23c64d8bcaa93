/**
 * How each argument of a hooked call is worded, derived from the hooked-API catalogue (tracer/apis): which ones the
 * compact form leaves out, which are shown by Winsock name or in hex, their C types, and which calls return a SOCKET.
 */

import { API_CATALOGUE, HOOKED_APIS, apiEntry, type ArgDisplay, type ArgSpec, type EnumTable, type FlagTable, type HookedApi, type OutSpec } from '../apis';
import type { ArgValue } from '../trace/schema';
import {
  AF_NAMES, FD_FLAGS, IOCTL_NAMES, IPPROTO_NAMES, LEVEL_NAMES, SHUTDOWN_NAMES, SOCK_NAMES, WSA_FLAGS,
  flagNames, handleLabel, hex, optionName,
} from '../model';

export type ArgNamer = (value: number, args: Readonly<Record<string, ArgValue>>) => string;

const FLAG_TABLES: Readonly<Record<FlagTable, [number, string][]>> = { WSA_FLAGS, FD_FLAGS };
const ENUM_TABLES: Readonly<Record<EnumTable, Record<number, string>>> = { AF_NAMES, SOCK_NAMES, IPPROTO_NAMES, SHUTDOWN_NAMES, LEVEL_NAMES, IOCTL_NAMES };

/** How a number is named for a catalogue display kind; undefined where the number is shown as it is. */
export function namerFor(display: ArgDisplay, radix?: 16): ArgNamer | undefined {
  if (display === 'socket') return handleLabel;
  if (display === 'hex') return hex;
  if (display === 'option-name') return (v, args) => optionName(typeof args.level === 'number' ? args.level : -1, v).replace(/^[^/]*\//, '');
  if (display.startsWith('flags:')) {
    const flags = FLAG_TABLES[display.slice('flags:'.length) as FlagTable];
    return (v) => flagNames(flags, v);
  }
  if (display.startsWith('enum:')) {
    const names = ENUM_TABLES[display.slice('enum:'.length) as EnumTable];
    // A value the table does not name is shown in the radix the catalogue reads it in.
    return (v) => names[v] ?? names[v >>> 0] ?? (radix === 16 ? hex(v >>> 0) : String(v));
  }
  return undefined;
}

type ValueSpec = ArgSpec | OutSpec;

/** The out-parameter that holds what the call wrote into an argument's buffer (accept's addr, the duplicate's protocolInfo). */
export function outParamFilling(api: string, argName: string): string | undefined {
  return apiEntry(api)?.out?.find((o) => o.fills === argName)?.name;
}

/** A table with an entry per hooked API (an API the catalogue does not know has none). */
function byApi<T>(pick: (api: HookedApi) => T): Readonly<Partial<Record<string, T>>> {
  return Object.fromEntries(HOOKED_APIS.map((api) => [api, pick(api)]));
}

function argNames(api: HookedApi, keep: (spec: ArgSpec) => boolean): readonly string[] {
  return API_CATALOGUE[api].args.filter(keep).map((a) => a.name);
}

/** An API's arguments, then its out-parameters. */
function specsOf(api: HookedApi): readonly ValueSpec[] {
  return [...API_CATALOGUE[api].args, ...(API_CATALOGUE[api].out ?? [])];
}

/** Arguments the compact form leaves out, per API: out-buffers and lengths that say nothing about the socket. */
export const HIDDEN_ARGS = byApi((api) => argNames(api, (a) => a.hidden === true));

/** Arguments left out when zero, their default (WSASocket's socket group g), per API. */
export const HIDDEN_WHEN_ZERO = byApi((api) => argNames(api, (a) => a.hiddenWhenZero === true));

/** Calls whose result is a SOCKET (INVALID_SOCKET on failure). */
export const SOCKET_RESULT_APIS: ReadonlySet<string> = new Set(HOOKED_APIS.filter((api) => API_CATALOGUE[api].returns === 'socket'));

/** Arguments and out-parameters shown by name (Winsock constants) or in hex (descriptors, versions), per API. */
export const ARG_NAMERS = byApi((api) => {
  const namers: Record<string, ArgNamer> = {};
  for (const spec of specsOf(api)) {
    const namer = namerFor(spec.display, spec.radix);
    if (namer && !(spec.name in namers)) namers[spec.name] = namer;
  }
  return namers as Readonly<Record<string, ArgNamer>>;
});

/** Arguments whose raw value reads best in hex next to its name (masks, control codes, levels, versions), per API. */
export const HEX_ARGS = byApi((api) => specsOf(api).filter((s) => s.radix === 16).map((s) => s.name));

/** The C type of each argument and out-parameter as declared in winsock2.h / mswsock.h, per API. */
export const ARG_TYPES = byApi((api) => {
  const types: Record<string, string> = {};
  for (const spec of specsOf(api)) if (!(spec.name in types)) types[spec.name] = spec.cType;
  return types as Readonly<Record<string, string>>;
});

export function isHiddenArg(api: string, name: string, value: ArgValue): boolean {
  return (HIDDEN_ARGS[api] ?? []).includes(name) || (value === 0 && (HIDDEN_WHEN_ZERO[api] ?? []).includes(name));
}

export function argNamer(api: string, name: string): ArgNamer | undefined {
  return ARG_NAMERS[api]?.[name];
}

export function isHexArg(api: string, name: string): boolean {
  return (HEX_ARGS[api] ?? []).includes(name);
}

export function argType(api: string, name: string): string | undefined {
  return ARG_TYPES[api]?.[name];
}
