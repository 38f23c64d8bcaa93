/**
 * The hooked Winsock entry points: how to decode each one's arguments at entry (x64: RCX, RDX, R8, R9, then the
 * stack from [RSP+0x28]) and its result and out-parameters at return.
 */

import { API_CATALOGUE, HOOKED_APIS, type HookedApi, type ReturnKind } from '../apis';
import type { Args } from '../trace/schema';
import { WSAPROTOCOL_INFOA_SIZE, WSAPROTOCOL_INFOW_SIZE, decodeProtocolInfo, decodeSockaddr } from './layouts';

/** What a decoder can see of the stopped thread. */
export interface CallSite {
  /** The raw integer arguments, first eight (registers then stack), as saved at entry. */
  readonly raw: readonly bigint[];
  read(address: bigint, length: number): Buffer | undefined;
}

/** How one API's arguments are read at entry and its out-parameters after the return (names as in the catalogue). */
interface Decoder {
  entry(site: CallSite): Args;
  /** Out-parameters, read after a successful return. */
  exit?(site: CallSite, result: number): Args | undefined;
}

/** A hooked API's decoder with what the catalogue says of its result. */
export interface HookSpec extends Decoder {
  readonly api: HookedApi;
  /** How RAX is read: a SOCKET (UINT_PTR, INVALID_SOCKET = ~0), an int (SOCKET_ERROR = -1) or a BOOL (FALSE = 0). */
  readonly returns: ReturnKind;
  /** The error comes back as the return value (WSAStartup), not through WSAGetLastError. */
  readonly errorInResult?: boolean;
}

export const i32 = (v: bigint): number => Number(BigInt.asIntN(32, v));
export const u32 = (v: bigint): number => Number(BigInt.asUintN(32, v));
/** SOCKET values are small handles; INVALID_SOCKET (~0) becomes -1 as in the trace format. */
export const socketValue = (v: bigint): number => (v === 0xffffffffffffffffn ? -1 : Number(v));
export const pointer = (v: bigint): string => `0x${v.toString(16)}`;

/** A call's result from RAX, and its error: the return value itself (WSAStartup), or the thread's last error. */
export function outcome(spec: HookSpec, rax: bigint, lastError: () => number | undefined): { result: number; error?: number } {
  const result = spec.returns === 'socket' ? socketValue(rax) : i32(rax);
  const failed = spec.errorInResult ? result !== 0 : spec.returns === 'bool' ? result === 0 : result === -1;
  const error = failed ? (spec.errorInResult ? result : lastError()) : undefined;
  return error === undefined ? { result } : { result, error };
}

/** SIO_GET_EXTENSION_FUNCTION_POINTER: WSAIoctl hands out the address of a Winsock extension function. */
const SIO_GET_EXTENSION_FUNCTION_POINTER = 0xc8000006;
/** The extension functions' GUIDs (mswsock.h), as the 16 bytes WSAIoctl reads, in hex. */
const EXTENSION_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ['f17d36b5accbcf1195ca00805f48a192', 'AcceptEx'],
  ['b907a225f3dd60468ee976e58c74063e', 'ConnectEx'],
  ['f27d36b5accbcf1195ca00805f48a192', 'GetAcceptExSockaddrs'],
  ['f07d36b5accbcf1195ca00805f48a192', 'TransmitFile'],
  ['112eda7f30866f43a031f536a6eec157', 'DisconnectEx'],
]);

/**
 * The extension functions whose pointers WSAIoctl keeps in a table in ws2_32's image (`image`: its bytes as mapped at
 * `base`): Wine's keeps { GUID, function, name } entries, so a known GUID followed by a pointer into the image names
 * its function. A process attached to while running may hold those pointers already. Windows keeps them in mswsock:
 * none is found there.
 */
export function extensionFunctionsIn(image: Buffer, base: bigint): { api: string; pointer: bigint }[] {
  const found: { api: string; pointer: bigint }[] = [];
  for (const [hex, api] of EXTENSION_FUNCTIONS) {
    const at = image.indexOf(Buffer.from(hex, 'hex'));
    if (at < 0 || at % 8 !== 0 || at + 24 > image.length) continue;
    const pointer = image.readBigUInt64LE(at + 16);
    if (pointer > base && pointer < base + BigInt(image.length)) found.push({ api, pointer });
  }
  return found;
}

/** The extension function a GUID names (its 16 bytes as WSAIoctl read them), or the GUID in hex when unknown. */
export function extensionFunctionOf(guid: Buffer): string {
  const hex = guid.toString('hex');
  return EXTENSION_FUNCTIONS.get(hex) ?? hex;
}

function protocolInfoAt(site: CallSite, address: bigint, wide: boolean) {
  if (address === 0n) return null;
  const bytes = site.read(address, wide ? WSAPROTOCOL_INFOW_SIZE : WSAPROTOCOL_INFOA_SIZE);
  return bytes ? decodeProtocolInfo(bytes, wide) : null;
}

function sockaddrAt(site: CallSite, address: bigint, length: number): string | null {
  if (address === 0n || length <= 0) return null;
  const bytes = site.read(address, Math.min(length, 128));
  return bytes ? decodeSockaddr(bytes) : null;
}

/** An option value: an int when optlen is 4 (most options), else the bytes in hex. */
function optionValue(site: CallSite, address: bigint, length: number): number | string | null {
  if (address === 0n || length <= 0) return null;
  const bytes = site.read(address, Math.min(length, 64));
  if (!bytes) return null;
  return length === 4 ? bytes.readInt32LE(0) : bytes.toString('hex');
}

function u32At(site: CallSite, address: bigint): number | null {
  if (address === 0n) return null;
  return site.read(address, 4)?.readUInt32LE(0) ?? null;
}

/** The API's charset from the catalogue: which WSAPROTOCOL_INFO layout it reads. */
const wide = (api: HookedApi) => API_CATALOGUE[api].charset === 'W';

function wsaSocket(api: 'WSASocketA' | 'WSASocketW'): Decoder {
  const isWide = wide(api);
  return {
    entry: (site) => ({
      af: i32(site.raw[0]),
      type: i32(site.raw[1]),
      protocol: i32(site.raw[2]),
      lpProtocolInfo: protocolInfoAt(site, site.raw[3], isWide),
      g: u32(site.raw[4]),
      dwFlags: u32(site.raw[5]),
    }),
  };
}

function wsaDuplicateSocket(api: 'WSADuplicateSocketA' | 'WSADuplicateSocketW'): Decoder {
  const isWide = wide(api);
  return {
    entry: ({ raw }) => ({ s: socketValue(raw[0]), dwProcessId: u32(raw[1]), lpProtocolInfo: pointer(raw[2]) }),
    // The provider fills the caller's buffer: read it back after the return.
    exit: (site) => ({ protocolInfo: protocolInfoAt(site, site.raw[2], isWide) }),
  };
}

const sockaddrCall: Decoder = { entry: (site) => ({ s: socketValue(site.raw[0]), name: sockaddrAt(site, site.raw[1], i32(site.raw[2])), namelen: i32(site.raw[2]) }) };
// Where shared-socket bugs show their symptoms. Buffers are not decoded: the model needs the socket and the outcome.
const recvSend: Decoder = { entry: ({ raw }) => ({ s: socketValue(raw[0]), buf: pointer(raw[1]), len: i32(raw[2]), flags: i32(raw[3]) }) };
const wsaRecvSend: Decoder = {
  entry: ({ raw }) => ({ s: socketValue(raw[0]), lpBuffers: pointer(raw[1]), dwBufferCount: u32(raw[2]), lpOverlapped: pointer(raw[5]), lpCompletionRoutine: pointer(raw[6]) }),
};

/** Every hooked API's decoder; the argument names are the catalogue's (test/unit/hooks-decode.test.ts checks them). */
const DECODERS = {
  WSAStartup: { entry: ({ raw }) => ({ wVersionRequested: u32(raw[0]) & 0xffff, lpWSAData: pointer(raw[1]) }) },
  WSACleanup: { entry: () => ({}) },
  socket: { entry: ({ raw }) => ({ af: i32(raw[0]), type: i32(raw[1]), protocol: i32(raw[2]) }) },
  WSASocketA: wsaSocket('WSASocketA'),
  WSASocketW: wsaSocket('WSASocketW'),
  WSADuplicateSocketA: wsaDuplicateSocket('WSADuplicateSocketA'),
  WSADuplicateSocketW: wsaDuplicateSocket('WSADuplicateSocketW'),
  closesocket: { entry: ({ raw }) => ({ s: socketValue(raw[0]) }) },
  WSAEventSelect: { entry: ({ raw }) => ({ s: socketValue(raw[0]), hEventObject: pointer(raw[1]), lNetworkEvents: i32(raw[2]) }) },
  WSAAsyncSelect: { entry: ({ raw }) => ({ s: socketValue(raw[0]), hWnd: pointer(raw[1]), wMsg: u32(raw[2]), lEvent: i32(raw[3]) }) },
  setsockopt: {
    entry: (site) => ({ s: socketValue(site.raw[0]), level: i32(site.raw[1]), optname: i32(site.raw[2]), optval: optionValue(site, site.raw[3], i32(site.raw[4])), optlen: i32(site.raw[4]) }),
  },
  // cmd is a long whose high bit is set for FIONBIO: keep it unsigned. *argp is the input (FIONBIO: 0 or non-zero).
  ioctlsocket: { entry: (site) => ({ s: socketValue(site.raw[0]), cmd: u32(site.raw[1]), argp: pointer(site.raw[2]), value: u32At(site, site.raw[2]) }) },
  shutdown: { entry: ({ raw }) => ({ s: socketValue(raw[0]), how: i32(raw[1]) }) },
  bind: sockaddrCall,
  listen: { entry: ({ raw }) => ({ s: socketValue(raw[0]), backlog: i32(raw[1]) }) },
  connect: sockaddrCall,
  WSAConnect: {
    entry: (site) => ({ s: socketValue(site.raw[0]), name: sockaddrAt(site, site.raw[1], i32(site.raw[2])), namelen: i32(site.raw[2]), lpSQOS: pointer(site.raw[5]), lpGQOS: pointer(site.raw[6]) }),
  },
  accept: {
    entry: ({ raw }) => ({ s: socketValue(raw[0]), addr: pointer(raw[1]), addrlen: pointer(raw[2]) }),
    exit: (site) => {
      const length = u32At(site, site.raw[2]);
      return { addr: length === null ? null : sockaddrAt(site, site.raw[1], length) };
    },
  },
  // WSAAccept's condition callback runs inside the call; the peer's address is not decoded (the model needs the socket).
  WSAAccept: { entry: ({ raw }) => ({ s: socketValue(raw[0]), addr: pointer(raw[1]), addrlen: pointer(raw[2]), lpfnCondition: pointer(raw[3]), dwCallbackData: pointer(raw[4]) }) },
  // Not exported: reached through the pointer WSAIoctl(SIO_GET_EXTENSION_FUNCTION_POINTER) hands out.
  AcceptEx: { entry: ({ raw }) => ({ sListenSocket: socketValue(raw[0]), sAcceptSocket: socketValue(raw[1]), dwReceiveDataLength: u32(raw[3]), lpOverlapped: pointer(raw[7]) }) },
  WSAIoctl: {
    entry: (site) => ({ s: socketValue(site.raw[0]), dwIoControlCode: u32(site.raw[1]), lpvInBuffer: pointer(site.raw[2]), cbInBuffer: u32(site.raw[3]), inValue: u32(site.raw[3]) === 4 ? u32At(site, site.raw[2]) : null }),
    // An extension function pointer handed out: which function, and where it is (the tracer hooks AcceptEx there).
    exit: (site) => {
      if (u32(site.raw[1]) !== SIO_GET_EXTENSION_FUNCTION_POINTER || u32(site.raw[3]) < 16) return undefined;
      const guid = site.read(site.raw[2], 16);
      const address = site.raw[4] === 0n ? undefined : site.read(site.raw[4], 8)?.readBigUInt64LE(0);
      return { extensionFunction: guid ? extensionFunctionOf(guid) : null, functionPointer: address === undefined ? null : pointer(address) };
    },
  },
  recv: recvSend,
  send: recvSend,
  WSARecv: wsaRecvSend,
  WSASend: wsaRecvSend,
  select: {
    entry: (site) => ({ nfds: i32(site.raw[0]), readfds: fdSetAt(site, site.raw[1]), writefds: fdSetAt(site, site.raw[2]), exceptfds: fdSetAt(site, site.raw[3]), timeout: pointer(site.raw[4]) }),
  },
  WSAWaitForMultipleEvents: {
    entry: (site) => ({ cEvents: u32(site.raw[0]), events: handlesAt(site, site.raw[1], u32(site.raw[0])), fWaitAll: u32(site.raw[2]), dwTimeout: u32(site.raw[3]), fAlertable: u32(site.raw[4]) }),
  },
  WSAEnumNetworkEvents: {
    entry: ({ raw }) => ({ s: socketValue(raw[0]), hEventObject: pointer(raw[1]), lpNetworkEvents: pointer(raw[2]) }),
    // WSANETWORKEVENTS.lNetworkEvents: which FD_ events were recorded for the socket.
    exit: (site) => ({ lNetworkEvents: u32At(site, site.raw[2]) }),
  },
} satisfies Record<HookedApi, Decoder>;

/** An fd_set (u_int fd_count, then SOCKET fd_array[64]) as "0x1a4,0x1b8", or null. */
function fdSetAt(site: CallSite, address: bigint): string | null {
  if (address === 0n) return null;
  const count = Math.min(u32At(site, address) ?? 0, 64);
  const sockets = site.read(address + 8n, count * 8);
  if (!sockets) return null;
  return Array.from({ length: count }, (_, i) => pointer(sockets.readBigUInt64LE(i * 8))).join(',');
}

/** An array of `count` HANDLEs as "0x40,0x44", or null. */
function handlesAt(site: CallSite, address: bigint, count: number): string | null {
  if (address === 0n || count === 0) return null;
  const handles = site.read(address, Math.min(count, 64) * 8);
  if (!handles) return null;
  return Array.from({ length: Math.min(count, 64) }, (_, i) => pointer(handles.readBigUInt64LE(i * 8))).join(',');
}

function hookSpec(api: HookedApi): HookSpec {
  const { returns, errorInResult } = API_CATALOGUE[api];
  const decoder: Decoder = DECODERS[api];
  return { api, returns, ...(errorInResult ? { errorInResult } : {}), entry: decoder.entry, ...(decoder.exit ? { exit: decoder.exit } : {}) };
}

/** Every hooked API's decoder and result kind, in catalogue order. */
export const HOOKS: ReadonlyMap<string, HookSpec> = new Map(HOOKED_APIS.map((api) => [api, hookSpec(api)]));
