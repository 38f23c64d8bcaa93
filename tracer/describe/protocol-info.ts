/** The words for a WSAPROTOCOL_INFO: a one-line summary, each field by Winsock name, and its protocol chain. */

import { AF_NAMES, IPPROTO_NAMES, PFL_FLAGS, SOCK_NAMES, XP1_FLAGS, flagNames, hex, nameOf } from '../model';
import { PROTOCOL_INFO_FIELDS, type ProtocolChain, type ProtocolInfo } from '../trace/schema';
import type { Fact } from './facts';

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
export function chainKind(chainLen: number): string {
  return chainLen === 0 ? 'layered protocol' : chainLen === 1 ? 'base protocol' : `protocol chain of ${chainLen} entries`;
}

function chainFact(chain: ProtocolChain): Fact {
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
export function protocolInfoFields(info: ProtocolInfo): Fact[] {
  return PROTOCOL_INFO_FIELDS.map((field): Fact => {
    const v = info[field];
    if (field === 'protocolChain') return chainFact(info.protocolChain);
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

/** A WSAPROTOCOL_INFO as an expandable fact; `pointer` is where the call's argument pointed, when it was an out-buffer. */
export function protocolInfoFact(name: string, info: ProtocolInfo, pointer?: string): Fact {
  const summary = protocolInfoSummary(info);
  return { name, value: pointer ? `${pointer} → ${summary}` : summary, type: 'WSAPROTOCOL_INFO', children: () => protocolInfoFields(info) };
}
