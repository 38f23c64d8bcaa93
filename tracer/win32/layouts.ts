/** x64 Win32 structure layouts the capture engine reads, and decoders for them. Pure: they work on Buffers. */

import type { ProtocolInfo } from '../trace/schema';

export const DEBUG_EVENT_SIZE = 176;
/** Offsets into DEBUG_EVENT (minwinbase.h, x64): the union starts at 16. */
export const DebugEvent = {
  code: 0,
  processId: 4,
  threadId: 8,
  // EXCEPTION_DEBUG_INFO: EXCEPTION_RECORD (152 bytes), then dwFirstChance
  exceptionCode: 16,
  exceptionAddress: 32,
  firstChance: 168,
  // CREATE_THREAD_DEBUG_INFO
  createThreadHandle: 16,
  createThreadTeb: 24,
  // CREATE_PROCESS_DEBUG_INFO
  createProcessFile: 16,
  createProcessHandle: 24,
  createProcessThread: 32,
  createProcessBase: 40,
  createProcessTeb: 56,
  // EXIT_THREAD / EXIT_PROCESS_DEBUG_INFO
  exitCode: 16,
  // LOAD_DLL_DEBUG_INFO
  loadDllFile: 16,
  loadDllBase: 24,
  // OUTPUT_DEBUG_STRING_INFO
  debugStringAddress: 16,
  debugStringUnicode: 24,
  debugStringLength: 26,
} as const;

export const DebugEventCode = {
  EXCEPTION: 1,
  CREATE_THREAD: 2,
  CREATE_PROCESS: 3,
  EXIT_THREAD: 4,
  EXIT_PROCESS: 5,
  LOAD_DLL: 6,
  UNLOAD_DLL: 7,
  OUTPUT_DEBUG_STRING: 8,
  RIP: 9,
} as const;

export const EXCEPTION_BREAKPOINT = 0x80000003;
export const EXCEPTION_SINGLE_STEP = 0x80000004;
export const EXCEPTION_ACCESS_VIOLATION = 0xc0000005;
export const DBG_CONTINUE = 0x00010002;
export const DBG_EXCEPTION_NOT_HANDLED = 0x80010001;

/** CONTEXT (winnt.h, AMD64): 1232 bytes, 16-byte aligned. */
export const CONTEXT_SIZE = 1232;
export const CONTEXT_AMD64 = 0x00100000;
export const CONTEXT_CONTROL = CONTEXT_AMD64 | 0x1;
export const CONTEXT_INTEGER = CONTEXT_AMD64 | 0x2;
export const Context = {
  contextFlags: 0x30,
  eflags: 0x44,
  rax: 0x78,
  rcx: 0x80,
  rdx: 0x88,
  rsp: 0x98,
  r8: 0xb8,
  r9: 0xc0,
  rip: 0xf8,
} as const;
export const TRAP_FLAG = 0x100;

/** TEB fields (x64): the thread's last error, which WSAGetLastError returns. */
export const TEB_LAST_ERROR = 0x68;
/** PEB → RTL_USER_PROCESS_PARAMETERS → CommandLine (UNICODE_STRING). */
export const PEB_PROCESS_PARAMETERS = 0x20;
export const PARAMS_COMMAND_LINE = 0x70;

export const WSAPROTOCOL_INFOW_SIZE = 628;
export const WSAPROTOCOL_INFOA_SIZE = 372;
const MAX_PROTOCOL_CHAIN = 7;

export function guidString(buf: Buffer, offset: number): string {
  const hex = (start: number, end: number) => buf.subarray(offset + start, offset + end).toString('hex');
  const d1 = buf.readUInt32LE(offset).toString(16).padStart(8, '0');
  const d2 = buf.readUInt16LE(offset + 4).toString(16).padStart(4, '0');
  const d3 = buf.readUInt16LE(offset + 6).toString(16).padStart(4, '0');
  return `{${d1}-${d2}-${d3}-${hex(8, 10)}-${hex(10, 16)}}`;
}

/**
 * WSAPROTOCOL_INFOW (628 bytes) or WSAPROTOCOL_INFOA (372 bytes), winsock2.h: 5 DWORDs, the provider GUID at 20,
 * the catalog id at 36, WSAPROTOCOLCHAIN at 40 (ChainLen + 7 entries), ten ints from 72, szProtocol at 116.
 * WSAPROTOCOL_INFOW (628 bytes) or WSAPROTOCOL_INFOA (372 bytes): the fields up to szProtocol are the same;
 * szProtocol is WCHAR[256] or CHAR[256].
 */
export function decodeProtocolInfo(buf: Buffer, wide: boolean): ProtocolInfo {
  const u32 = (o: number) => buf.readUInt32LE(o);
  const i32 = (o: number) => buf.readInt32LE(o);
  const chainLen = Math.max(0, Math.min(i32(40), MAX_PROTOCOL_CHAIN));
  const chainEntries: number[] = [];
  for (let i = 0; i < chainLen; i++) chainEntries.push(u32(44 + i * 4));
  const nameBytes = buf.subarray(116, wide ? 116 + 512 : 116 + 256);
  const text = wide ? nameBytes.toString('utf16le') : nameBytes.toString('latin1');
  return {
    dwServiceFlags1: u32(0),
    dwServiceFlags2: u32(4),
    dwServiceFlags3: u32(8),
    dwServiceFlags4: u32(12),
    dwProviderFlags: u32(16),
    providerId: guidString(buf, 20),
    dwCatalogEntryId: u32(36),
    protocolChain: { chainLen: i32(40), chainEntries },
    iVersion: i32(72),
    iAddressFamily: i32(76),
    iMaxSockAddr: i32(80),
    iMinSockAddr: i32(84),
    iSocketType: i32(88),
    iProtocol: i32(92),
    iProtocolMaxOffset: i32(96),
    iNetworkByteOrder: i32(100),
    iSecurityScheme: i32(104),
    dwMessageSize: u32(108),
    dwProviderReserved: u32(112),
    szProtocol: text.split('\0')[0],
  };
}

/** A sockaddr as "a.b.c.d:port" or "[v6]:port"; other families as "family N". */
export function decodeSockaddr(buf: Buffer): string {
  if (buf.length < 2) return '';
  const family = buf.readUInt16LE(0);
  if (family === 2 && buf.length >= 8) return `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}:${buf.readUInt16BE(2)}`;
  if (family === 23 && buf.length >= 24) {
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(8 + i * 2).toString(16));
    return `[${groups.join(':')}]:${buf.readUInt16BE(2)}`;
  }
  return `family ${family}`;
}
