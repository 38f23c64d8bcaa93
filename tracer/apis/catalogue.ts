/**
 * The hooked Winsock entry points, one entry each: parameters as declared in winsock2.h / mswsock.h, the arguments
 * the trace records and the memory each is read from, the out-parameters, the result. Order is the trace format's
 * HOOKED_APIS order.
 */

import type { ApiEntry, ArgSpec, MemorySpan, OutSpec } from './types';

/** sizeof(WSAPROTOCOL_INFOA): szProtocol is CHAR[256]. */
export const WSAPROTOCOL_INFOA_BYTES = 372;
/** sizeof(WSAPROTOCOL_INFOW): szProtocol is WCHAR[256]. */
export const WSAPROTOCOL_INFOW_BYTES = 628;
/** sizeof(SOCKADDR_STORAGE): the most any sockaddr length can usefully cover. */
export const SOCKADDR_MAX_BYTES = 128;
/** FD_SETSIZE as winsock2.h defines it (a program may define more; the rest are not read). */
export const FD_SETSIZE = 64;
/** MAXIMUM_WAIT_OBJECTS: the most events WSAWaitForMultipleEvents takes. */
export const WSA_MAXIMUM_WAIT_EVENTS = 64;
/** The longest option value decoded (options are ints, LINGER, timevals; longer ones are cut). */
export const OPTION_VALUE_MAX_BYTES = 64;

const socketArg = (name = 's', param = 0): ArgSpec => ({ name, param, cType: 'SOCKET', kind: 'socket', display: 'socket' });
const pointerArg = (name: string, param: number, cType: string, extra: Partial<ArgSpec> = {}): ArgSpec => ({ name, param, cType, kind: 'pointer', display: 'pointer', ...extra });
const intArg = (name: string, param: number, cType = 'int', extra: Partial<ArgSpec> = {}): ArgSpec => ({ name, param, cType, kind: 'int', display: 'decimal', ...extra });
const uintArg = (name: string, param: number, cType = 'DWORD', extra: Partial<ArgSpec> = {}): ArgSpec => ({ name, param, cType, kind: 'uint', display: 'decimal', ...extra });
const handleArg = (name: string, param: number, cType: string): ArgSpec => ({ name, param, cType, kind: 'handle', display: 'pointer' });

const atEntry = (pointer: number, length: MemorySpan['length']): MemorySpan => ({ pointer, length, when: 'entry' });
const afterReturn = (pointer: number, length: MemorySpan['length']): MemorySpan => ({ pointer, length, when: 'return' });

/** A sockaddr whose length is another parameter (bind, connect: name, namelen). */
const sockaddrIn = (param: number, lengthParam: number): ArgSpec => ({
  name: 'name',
  param,
  cType: 'const struct sockaddr *',
  kind: 'sockaddr',
  display: 'sockaddr',
  memory: atEntry(param, { param: lengthParam, maxBytes: SOCKADDR_MAX_BYTES }),
});

/** An fd_set: u_int fd_count, 4 bytes of padding, SOCKET fd_array[FD_SETSIZE]. */
const fdSet = (name: string, param: number): ArgSpec => ({
  name,
  param,
  cType: 'fd_set *',
  kind: 'fd-set',
  display: 'fd-set',
  memory: atEntry(param, { counted: { headerBytes: 8, elementBytes: 8 }, maxBytes: 8 + 8 * FD_SETSIZE }),
});

const protocolInfoBytes = (charset: 'A' | 'W') => ({ bytes: charset === 'W' ? WSAPROTOCOL_INFOW_BYTES : WSAPROTOCOL_INFOA_BYTES });

function wsaSocket(charset: 'A' | 'W'): ApiEntry {
  return {
    family: 'WSASocket',
    charset,
    returns: 'socket',
    entryPoint: 'ws2_32-export',
    paramCount: 6,
    args: [
      intArg('af', 0, 'int', { display: 'enum:AF_NAMES' }),
      intArg('type', 1, 'int', { display: 'enum:SOCK_NAMES' }),
      intArg('protocol', 2, 'int', { display: 'enum:IPPROTO_NAMES' }),
      // FROM_PROTOCOL_INFO imports the socket the structure describes: read it at the call.
      { name: 'lpProtocolInfo', param: 3, cType: `LPWSAPROTOCOL_INFO${charset}`, kind: 'protocol-info', display: 'protocol-info', memory: atEntry(3, protocolInfoBytes(charset)) },
      uintArg('g', 4, 'GROUP', { hiddenWhenZero: true }),
      uintArg('dwFlags', 5, 'DWORD', { display: 'flags:WSA_FLAGS', radix: 16 }),
    ],
  };
}

function wsaDuplicateSocket(charset: 'A' | 'W'): ApiEntry {
  const protocolInfo: OutSpec = {
    name: 'protocolInfo',
    cType: `WSAPROTOCOL_INFO${charset}`,
    kind: 'protocol-info',
    display: 'protocol-info',
    fills: 'lpProtocolInfo',
    // The provider fills the caller's buffer: read it back after the return.
    memory: afterReturn(2, protocolInfoBytes(charset)),
  };
  return {
    family: 'WSADuplicateSocket',
    charset,
    returns: 'int',
    entryPoint: 'ws2_32-export',
    paramCount: 3,
    args: [socketArg(), uintArg('dwProcessId', 1), pointerArg('lpProtocolInfo', 2, `LPWSAPROTOCOL_INFO${charset}`, { hidden: true })],
    out: [protocolInfo],
  };
}

const plainRecvSend = (): ApiEntry => ({
  family: 'recv/send',
  returns: 'int',
  entryPoint: 'ws2_32-export',
  paramCount: 4,
  // Buffers are not decoded: the model needs the socket and the outcome.
  args: [socketArg(), pointerArg('buf', 1, 'char *'), intArg('len', 2), intArg('flags', 3)],
});

const overlappedRecvSend = (): ApiEntry => ({
  family: 'WSARecv/WSASend',
  returns: 'int',
  entryPoint: 'ws2_32-export',
  paramCount: 7,
  args: [socketArg(), pointerArg('lpBuffers', 1, 'LPWSABUF'), uintArg('dwBufferCount', 2), pointerArg('lpOverlapped', 5, 'LPWSAOVERLAPPED'), pointerArg('lpCompletionRoutine', 6, 'LPWSAOVERLAPPED_COMPLETION_ROUTINE')],
});

const CATALOGUE = {
  WSAStartup: {
    family: 'WSAStartup',
    returns: 'int',
    errorInResult: true,
    entryPoint: 'ws2_32-export',
    paramCount: 2,
    args: [{ name: 'wVersionRequested', param: 0, cType: 'WORD', kind: 'word', display: 'hex', radix: 16 }, pointerArg('lpWSAData', 1, 'LPWSADATA')],
  },
  WSACleanup: { family: 'WSACleanup', returns: 'int', entryPoint: 'ws2_32-export', paramCount: 0, args: [] },
  socket: {
    family: 'socket',
    returns: 'socket',
    entryPoint: 'ws2_32-export',
    paramCount: 3,
    args: [intArg('af', 0, 'int', { display: 'enum:AF_NAMES' }), intArg('type', 1, 'int', { display: 'enum:SOCK_NAMES' }), intArg('protocol', 2, 'int', { display: 'enum:IPPROTO_NAMES' })],
  },
  WSASocketA: wsaSocket('A'),
  WSASocketW: wsaSocket('W'),
  WSADuplicateSocketA: wsaDuplicateSocket('A'),
  WSADuplicateSocketW: wsaDuplicateSocket('W'),
  closesocket: { family: 'closesocket', returns: 'int', entryPoint: 'ws2_32-export', paramCount: 1, args: [socketArg()] },
  WSAEventSelect: {
    family: 'WSAEventSelect',
    returns: 'int',
    entryPoint: 'ws2_32-export',
    paramCount: 3,
    args: [socketArg(), handleArg('hEventObject', 1, 'WSAEVENT'), intArg('lNetworkEvents', 2, 'long', { display: 'flags:FD_FLAGS', radix: 16 })],
  },
  WSAAsyncSelect: {
    family: 'WSAAsyncSelect',
    returns: 'int',
    entryPoint: 'ws2_32-export',
    paramCount: 4,
    args: [socketArg(), handleArg('hWnd', 1, 'HWND'), uintArg('wMsg', 2, 'u_int'), intArg('lEvent', 3, 'long', { display: 'flags:FD_FLAGS', radix: 16 })],
  },
  setsockopt: {
    family: 'setsockopt',
    returns: 'int',
    entryPoint: 'ws2_32-export',
    paramCount: 5,
    args: [
      socketArg(),
      intArg('level', 1, 'int', { display: 'enum:LEVEL_NAMES', radix: 16 }),
      intArg('optname', 2, 'int', { display: 'option-name' }),
      // An int when optlen is 4 (most options), else the bytes in hex.
      { name: 'optval', param: 3, cType: 'const char *', kind: 'option-value', display: 'option-value', memory: atEntry(3, { param: 4, maxBytes: OPTION_VALUE_MAX_BYTES }) },
      intArg('optlen', 4),
    ],
  },
  ioctlsocket: {
    family: 'ioctlsocket',
    returns: 'int',
    entryPoint: 'ws2_32-export',
    paramCount: 3,
    args: [
      socketArg(),
      // cmd is a long whose high bit is set for FIONBIO: kept unsigned.
      uintArg('cmd', 1, 'long', { display: 'enum:IOCTL_NAMES', radix: 16 }),
      pointerArg('argp', 2, 'u_long *'),
      // *argp is the input (FIONBIO: 0 or non-zero).
      { name: 'value', param: 2, cType: 'u_long', kind: 'u32-in-memory', display: 'decimal', memory: atEntry(2, { bytes: 4 }) },
    ],
  },
  shutdown: { family: 'shutdown', returns: 'int', entryPoint: 'ws2_32-export', paramCount: 2, args: [socketArg(), intArg('how', 1, 'int', { display: 'enum:SHUTDOWN_NAMES' })] },
  bind: { family: 'bind', returns: 'int', entryPoint: 'ws2_32-export', paramCount: 3, args: [socketArg(), sockaddrIn(1, 2), intArg('namelen', 2, 'int', { hidden: true })] },
  listen: { family: 'listen', returns: 'int', entryPoint: 'ws2_32-export', paramCount: 2, args: [socketArg(), intArg('backlog', 1)] },
  connect: { family: 'connect', returns: 'int', entryPoint: 'ws2_32-export', paramCount: 3, args: [socketArg(), sockaddrIn(1, 2), intArg('namelen', 2, 'int', { hidden: true })] },
  WSAConnect: {
    family: 'WSAConnect',
    returns: 'int',
    entryPoint: 'ws2_32-export',
    paramCount: 7,
    args: [socketArg(), sockaddrIn(1, 2), intArg('namelen', 2, 'int', { hidden: true }), pointerArg('lpSQOS', 5, 'LPQOS'), pointerArg('lpGQOS', 6, 'LPQOS')],
  },
  accept: {
    family: 'accept',
    returns: 'socket',
    entryPoint: 'ws2_32-export',
    paramCount: 3,
    args: [socketArg(), pointerArg('addr', 1, 'struct sockaddr *', { hidden: true }), pointerArg('addrlen', 2, 'int *', { hidden: true })],
    // The peer's address, as long as *addrlen says after the return.
    out: [{ name: 'addr', cType: 'struct sockaddr', kind: 'sockaddr', display: 'sockaddr', fills: 'addr', memory: afterReturn(1, { pointee: 2, maxBytes: SOCKADDR_MAX_BYTES }) }],
  },
  // The condition callback runs inside the call; the peer's address is not decoded (the model needs the socket).
  WSAAccept: {
    family: 'WSAAccept',
    returns: 'socket',
    entryPoint: 'ws2_32-export',
    paramCount: 5,
    args: [socketArg(), pointerArg('addr', 1, 'struct sockaddr *'), pointerArg('addrlen', 2, 'LPINT'), pointerArg('lpfnCondition', 3, 'LPCONDITIONPROC'), pointerArg('dwCallbackData', 4, 'DWORD_PTR')],
  },
  AcceptEx: {
    family: 'AcceptEx',
    returns: 'bool',
    entryPoint: 'extension-function',
    paramCount: 8,
    args: [socketArg('sListenSocket', 0), socketArg('sAcceptSocket', 1), uintArg('dwReceiveDataLength', 3), pointerArg('lpOverlapped', 7, 'LPOVERLAPPED')],
  },
  WSAIoctl: {
    family: 'WSAIoctl',
    returns: 'int',
    entryPoint: 'ws2_32-export',
    paramCount: 9,
    args: [
      socketArg(),
      uintArg('dwIoControlCode', 1, 'DWORD', { display: 'enum:IOCTL_NAMES', radix: 16 }),
      pointerArg('lpvInBuffer', 2, 'LPVOID'),
      uintArg('cbInBuffer', 3),
      // The input as a u32 when it is 4 bytes long (null otherwise).
      { name: 'inValue', param: 2, cType: 'DWORD', kind: 'u32-in-memory', display: 'decimal', memory: atEntry(2, { param: 3, maxBytes: 4 }) },
    ],
    // SIO_GET_EXTENSION_FUNCTION_POINTER: the GUID asked for (lpvInBuffer) and the pointer handed out (lpvOutBuffer).
    out: [
      { name: 'extensionFunction', cType: 'GUID', kind: 'extension-function', display: 'text', memory: afterReturn(2, { param: 3, maxBytes: 16 }) },
      { name: 'functionPointer', cType: 'LPVOID', kind: 'pointer-in-memory', display: 'pointer', memory: afterReturn(4, { bytes: 8 }) },
    ],
  },
  recv: plainRecvSend(),
  send: plainRecvSend(),
  WSARecv: overlappedRecvSend(),
  WSASend: overlappedRecvSend(),
  select: {
    family: 'select',
    returns: 'int',
    entryPoint: 'ws2_32-export',
    paramCount: 5,
    args: [intArg('nfds', 0), fdSet('readfds', 1), fdSet('writefds', 2), fdSet('exceptfds', 3), pointerArg('timeout', 4, 'const struct timeval *')],
  },
  WSAWaitForMultipleEvents: {
    family: 'WSAWaitForMultipleEvents',
    returns: 'int',
    entryPoint: 'ws2_32-export',
    paramCount: 5,
    args: [
      uintArg('cEvents', 0),
      { name: 'events', param: 1, cType: 'const WSAEVENT *', kind: 'handle-array', display: 'handle-list', memory: atEntry(1, { param: 0, scale: 8, maxBytes: 8 * WSA_MAXIMUM_WAIT_EVENTS }) },
      uintArg('fWaitAll', 2, 'BOOL'),
      uintArg('dwTimeout', 3),
      uintArg('fAlertable', 4, 'BOOL'),
    ],
  },
  WSAEnumNetworkEvents: {
    family: 'WSAEnumNetworkEvents',
    returns: 'int',
    entryPoint: 'ws2_32-export',
    paramCount: 3,
    args: [socketArg(), handleArg('hEventObject', 1, 'WSAEVENT'), pointerArg('lpNetworkEvents', 2, 'LPWSANETWORKEVENTS')],
    // WSANETWORKEVENTS.lNetworkEvents, its first field: which FD_ events were recorded for the socket.
    out: [{ name: 'lNetworkEvents', cType: 'long', kind: 'u32-in-memory', display: 'flags:FD_FLAGS', radix: 16, memory: afterReturn(2, { bytes: 4 }) }],
  },
} satisfies Record<string, ApiEntry>;

/** The name of a hooked entry point. */
export type HookedApi = keyof typeof CATALOGUE;

/** Every hooked API's entry, by name. */
export const API_CATALOGUE: Readonly<Record<HookedApi, ApiEntry>> = CATALOGUE;
