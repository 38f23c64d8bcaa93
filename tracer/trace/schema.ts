/**
 * The sockshare trace format, version 1: JSON Lines, a header line first, then one event a line.
 * This module is the format's single definition; it imports nothing from the model.
 */

export const TRACE_FORMAT = 'sockshare-trace';
export const TRACE_VERSION = 1;

export interface TraceHeader {
  format: typeof TRACE_FORMAT;
  version: number;
  /** Wall-clock start of the recording, ISO 8601. */
  startTime: string;
  /** `process.platform` of the machine that recorded (win32, or linux when recorded under Wine). */
  hostOs: string;
  tracerVersion: string;
  /** Free-form facts about the capture (runtime, capture mode); readers ignore unknown keys. */
  capture?: Record<string, unknown>;
}

/** Where a hooked call came from: the module holding the return address, and the offset in it. */
export interface CallerLocation {
  module: string;
  offset: number;
}

/**
 * One frame of a call's stack, symbolized when it was recorded (a replay needs no binaries): the module and the
 * offset of the frame's address in it (a return address for every frame but a stop's own), the function it lies in
 * and the offset from the function's start, and the source file and line where the module carries a line table.
 */
export interface StackFrame {
  module: string;
  offset: number;
  function?: string;
  functionOffset?: number;
  file?: string;
  line?: number;
}

/** One PROTOCOL_CHAIN entry list: ChainLen 0 = layered protocol, 1 = base protocol, >1 = a chain. */
export interface ProtocolChain {
  chainLen: number;
  chainEntries: number[];
}

/** WSAPROTOCOL_INFOA/W decoded field by field (GUID as its canonical string). */
export interface ProtocolInfo {
  dwServiceFlags1: number;
  dwServiceFlags2: number;
  dwServiceFlags3: number;
  dwServiceFlags4: number;
  dwProviderFlags: number;
  providerId: string;
  dwCatalogEntryId: number;
  protocolChain: ProtocolChain;
  iVersion: number;
  iAddressFamily: number;
  iMaxSockAddr: number;
  iMinSockAddr: number;
  iSocketType: number;
  iProtocol: number;
  iProtocolMaxOffset: number;
  iNetworkByteOrder: number;
  iSecurityScheme: number;
  dwMessageSize: number;
  dwProviderReserved: number;
  szProtocol: string;
}

/** A decoded argument value: numbers for integers and descriptors, strings for pointers/handles ("0x…"), addresses and byte dumps. */
export type ArgValue = number | string | boolean | null | ProtocolInfo;
export type Args = Record<string, ArgValue>;

interface EventBase {
  /** Strictly increasing over the whole trace, across processes. */
  seq: number;
  /** Monotonic nanoseconds since the recording started. */
  timeNs: number;
  pid: number;
}

export interface ProcessStartEvent extends EventBase {
  kind: 'process-start';
  parentPid: number;
  image: string;
  commandLine: string;
  /** The tracer attached to the process while it ran: what it did before (its open descriptors) is not in the trace. */
  attached?: boolean;
}

export interface ProcessExitEvent extends EventBase {
  kind: 'process-exit';
  exitCode: number;
}

export interface ThreadStartEvent extends EventBase {
  kind: 'thread-start';
  tid: number;
}

export interface ThreadExitEvent extends EventBase {
  kind: 'thread-exit';
  tid: number;
  exitCode: number;
}

export interface ModuleLoadEvent extends EventBase {
  kind: 'module-load';
  /** Base name, lower case (e.g. "ws2_32.dll"). */
  module: string;
  /** Load address, "0x…". */
  base: string;
  path?: string;
}

/** Output a traced program wrote to stdout or stderr, kept with the trace. */
export interface OutputEvent extends EventBase {
  kind: 'output';
  stream: 'stdout' | 'stderr';
  text: string;
}

/** Records the in-process capture could not keep (ring overflow). */
export interface RecordsLostEvent extends EventBase {
  kind: 'records-lost';
  count: number;
}

/**
 * In-process capture, wait mode: how often the process's stubs found the ring full and waited for the tracer to drain
 * it, and how long they waited in all (every thread's waits added up). Recorded once per process, at its end (or at a
 * detach), when it waited at all.
 */
export interface RingStallsEvent extends EventBase {
  kind: 'ring-stalls';
  count: number;
  waitNs: number;
}

/**
 * In-process capture set up in a process (at its first hooked call): the APIs its stubs record, the ones left on
 * breakpoints and why, whether the stubs' unwind data was registered (exceptions and stack walks through them), and
 * how the tracer reads the ring.
 */
export interface CaptureSetupEvent extends EventBase {
  kind: 'capture-setup';
  inProcess: string[];
  onBreakpoints: { api: string; reason: string }[];
  unwindData: boolean;
  /**
   * True: the ring is a section mapped into the tracer too, read as memory; false: read with ReadProcessMemory (the
   * section could not be mapped into the process). Absent in traces made before it was recorded.
   */
  ringShared?: boolean;
}

/** Entry into a hooked Winsock function. */
export interface ApiCallEvent extends EventBase {
  kind: 'api';
  phase: 'call';
  tid: number;
  api: string;
  args: Args;
  caller: CallerLocation;
  /** The calling thread's stack from the hooked function's caller outward (frame 0 is `caller`), when recorded. */
  stack?: StackFrame[];
  /** The return address lies inside ws2_32 itself: a call Winsock made, not the program. */
  internal?: boolean;
}

/** Return from a hooked Winsock function; `callSeq` names its entry event. */
export interface ApiReturnEvent extends EventBase {
  kind: 'api';
  phase: 'return';
  tid: number;
  api: string;
  callSeq: number;
  /** The return value; a SOCKET is a number, INVALID_SOCKET and SOCKET_ERROR are -1. */
  result: number;
  /** WSAGetLastError() when the call failed, absent on success. */
  error?: number;
  /** Out-parameters read back after the return (e.g. `protocolInfo` of WSADuplicateSocket). */
  out?: Args;
  /** The return of an internal call (see ApiCallEvent.internal). */
  internal?: boolean;
}

export type ApiEvent = ApiCallEvent | ApiReturnEvent;

export type TraceEvent =
  | ProcessStartEvent
  | ProcessExitEvent
  | ThreadStartEvent
  | ThreadExitEvent
  | ModuleLoadEvent
  | OutputEvent
  | RecordsLostEvent
  | RingStallsEvent
  | CaptureSetupEvent
  | ApiEvent;

export type EventKind = TraceEvent['kind'];

export const EVENT_KINDS: readonly EventKind[] = [
  'process-start',
  'process-exit',
  'thread-start',
  'thread-exit',
  'module-load',
  'output',
  'records-lost',
  'ring-stalls',
  'capture-setup',
  'api',
];

/** The Winsock entry points the capture hooks and the model understands: the hooked-API catalogue's, in its order. */
export { HOOKED_APIS, type HookedApi } from '../apis';

export const PROTOCOL_INFO_FIELDS: readonly (keyof ProtocolInfo)[] = [
  'dwServiceFlags1',
  'dwServiceFlags2',
  'dwServiceFlags3',
  'dwServiceFlags4',
  'dwProviderFlags',
  'providerId',
  'dwCatalogEntryId',
  'protocolChain',
  'iVersion',
  'iAddressFamily',
  'iMaxSockAddr',
  'iMinSockAddr',
  'iSocketType',
  'iProtocol',
  'iProtocolMaxOffset',
  'iNetworkByteOrder',
  'iSecurityScheme',
  'dwMessageSize',
  'dwProviderReserved',
  'szProtocol',
];

export function isProtocolInfo(value: ArgValue | undefined): value is ProtocolInfo {
  return typeof value === 'object' && value !== null && 'protocolChain' in value;
}
