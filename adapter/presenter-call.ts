/**
 * The Call scope: the current call's arguments with Winsock names, a WSAPROTOCOL_INFO decoded field by field, the
 * result, the error and the out-parameters. Argument naming is the exporters' (formatArg); names come from the model.
 */

import { formatArg, formatResult } from '../tracer/export/format';
import { AF_NAMES, IPPROTO_NAMES, PFL_FLAGS, SOCK_NAMES, XP1_FLAGS, describeError, flagNames, hex, nameOf } from '../tracer/model';
import { PROTOCOL_INFO_FIELDS, isProtocolInfo, type ApiCallEvent, type ApiReturnEvent, type ArgValue, type Args, type ProtocolChain, type ProtocolInfo } from '../tracer/trace/schema';
import type { VarNode } from './presenter';

/** Arguments whose raw value reads best in hex next to its name (masks, control codes, levels, versions). */
const HEX_ARGS = new Set(['dwFlags', 'lNetworkEvents', 'lEvent', 'cmd', 'dwIoControlCode', 'level', 'wVersionRequested']);

const ARG_TYPES: Record<string, string> = {
  s: 'SOCKET',
  af: 'int',
  type: 'int',
  protocol: 'int',
  dwFlags: 'DWORD',
  dwProcessId: 'DWORD',
  g: 'GROUP',
  lNetworkEvents: 'long',
  lEvent: 'long',
  hEventObject: 'WSAEVENT',
  hWnd: 'HWND',
  wMsg: 'u_int',
  level: 'int',
  optname: 'int',
  how: 'int',
  cmd: 'long',
  dwIoControlCode: 'DWORD',
  wVersionRequested: 'WORD',
};

/** "AF_INET (2)", "FD_READ|FD_CLOSE (0x21)", "0x1a4": the exporters' name for the value, with the raw value when it differs. */
export function argValue(name: string, value: ArgValue, args: Args = {}): string {
  const shown = formatArg(name, value, args);
  if (typeof value !== 'number' || name === 's') return shown;
  const raw = HEX_ARGS.has(name) ? hex(value >>> 0) : String(value);
  return shown === raw || shown === String(value) ? shown : `${shown} (${raw})`;
}

function withRaw(named: string, raw: string): string {
  return named === raw ? named : `${named} (${raw})`;
}

const FIELD_VALUES: Partial<Record<keyof ProtocolInfo, (v: number) => string>> = {
  dwServiceFlags1: (v) => withRaw(flagNames(XP1_FLAGS, v), hex(v >>> 0)),
  dwServiceFlags2: (v) => hex(v >>> 0),
  dwServiceFlags3: (v) => hex(v >>> 0),
  dwServiceFlags4: (v) => hex(v >>> 0),
  dwProviderFlags: (v) => withRaw(flagNames(PFL_FLAGS, v), hex(v >>> 0)),
  iAddressFamily: (v) => withRaw(nameOf(AF_NAMES, v), String(v)),
  iSocketType: (v) => withRaw(nameOf(SOCK_NAMES, v), String(v)),
  iProtocol: (v) => withRaw(nameOf(IPPROTO_NAMES, v), String(v)),
};

const FIELD_TYPES: Partial<Record<keyof ProtocolInfo, string>> = {
  providerId: 'GUID',
  protocolChain: 'WSAPROTOCOLCHAIN',
  szProtocol: 'WCHAR[256]',
};

/** What ChainLen says about the entry (the schema's ProtocolChain). */
function chainKind(chainLen: number): string {
  return chainLen === 0 ? 'layered protocol' : chainLen === 1 ? 'base protocol' : `protocol chain of ${chainLen} entries`;
}

function chainNode(chain: ProtocolChain): VarNode {
  return {
    name: 'protocolChain',
    value: `${chainKind(chain.chainLen)}: [${chain.chainEntries.join(', ')}]`,
    type: FIELD_TYPES.protocolChain,
    children: () => [
      { name: 'chainLen', value: `${chain.chainLen} (${chainKind(chain.chainLen)})`, type: 'int' },
      {
        name: 'chainEntries',
        value: `[${chain.chainEntries.join(', ')}]`,
        type: 'DWORD[]',
        children: () => chain.chainEntries.map((entry, i) => ({ name: `[${i}]`, value: String(entry), type: 'DWORD' })),
      },
    ],
  };
}

/** The fields of a WSAPROTOCOL_INFO, in structure order, named. */
export function protocolInfoFields(info: ProtocolInfo): VarNode[] {
  return PROTOCOL_INFO_FIELDS.map((field): VarNode => {
    const v = info[field];
    if (field === 'protocolChain') return chainNode(info.protocolChain);
    if (field === 'szProtocol') return { name: field, value: JSON.stringify(v), type: FIELD_TYPES.szProtocol };
    const namer = FIELD_VALUES[field];
    return { name: field, value: typeof v === 'number' && namer ? namer(v) : String(v), type: FIELD_TYPES[field] };
  });
}

/** 'WSAPROTOCOL_INFO {AF_INET, SOCK_STREAM, IPPROTO_TCP, "MSAFD Tcpip [TCP/IP]"}' */
export function protocolInfoSummary(info: ProtocolInfo): string {
  const kind = [nameOf(AF_NAMES, info.iAddressFamily), nameOf(SOCK_NAMES, info.iSocketType), nameOf(IPPROTO_NAMES, info.iProtocol)];
  return `WSAPROTOCOL_INFO {${kind.join(', ')}, ${JSON.stringify(info.szProtocol)}}`;
}

/** A WSAPROTOCOL_INFO as an expandable node; `pointer` is where the call's argument pointed, when it was an out-buffer. */
export function protocolInfoNode(name: string, info: ProtocolInfo, pointer?: string): VarNode {
  const summary = protocolInfoSummary(info);
  return { name, value: pointer ? `${pointer} → ${summary}` : summary, type: 'WSAPROTOCOL_INFO', children: () => protocolInfoFields(info) };
}

function argNode(name: string, value: ArgValue, args: Args, back?: ArgValue): VarNode {
  const type = ARG_TYPES[name];
  if (isProtocolInfo(value)) return protocolInfoNode(name, value);
  const shown = argValue(name, value, args);
  if (back === undefined) return { name, value: shown, ...(type ? { type } : {}) };
  if (isProtocolInfo(back)) return protocolInfoNode(name, back, shown);
  return { name, value: `${shown} → ${argValue(name, back, args)}`, ...(type ? { type } : {}) };
}

/** "0", "0x34", "-1 (SOCKET_ERROR)", "INVALID_SOCKET", or "(not returned yet)". */
export function resultValue(call: ApiCallEvent, ret?: ApiReturnEvent): string {
  if (!ret) return '(not returned yet)';
  const value = formatResult(call, { ...ret, error: undefined });
  return value === 'SOCKET_ERROR' ? `${ret.result} (SOCKET_ERROR)` : value;
}

/** The out-parameter that fills an argument's buffer: out.protocolInfo fills lpProtocolInfo, out.addr fills addr. */
function outKeyOf(argName: string): string {
  return argName === 'lpProtocolInfo' ? 'protocolInfo' : argName;
}

/**
 * The Call scope: every argument (an out-buffer argument shows what the call wrote there), then `result`, `error`
 * (when the call failed) and the out-parameters no argument names.
 */
export function callScope(call: ApiCallEvent, ret?: ApiReturnEvent): VarNode[] {
  const out: Args = { ...(ret?.out ?? {}) };
  const nodes = Object.entries(call.args).map(([name, value]) => {
    const key = outKeyOf(name);
    const back = Object.hasOwn(out, key) ? out[key] : undefined;
    delete out[key];
    return argNode(name, value, call.args, back);
  });
  nodes.push({ name: 'result', value: resultValue(call, ret) });
  if (ret?.error !== undefined) nodes.push({ name: 'error', value: describeError(ret.error), type: 'int' });
  for (const [name, value] of Object.entries(out)) nodes.push(argNode(name, value, call.args));
  return nodes;
}
