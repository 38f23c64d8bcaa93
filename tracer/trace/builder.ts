/**
 * Builds well-formed traces in code: seq and time advance by themselves, a call and its return come as a pair.
 * Used by the test scenarios, the bundled sample traces and the benchmark's generator.
 */

import type { Args, CallerLocation, ProtocolInfo, TraceEvent, TraceHeader } from './schema';
import { TRACE_FORMAT, TRACE_VERSION } from './schema';

export interface ReturnSpec {
  result: number;
  error?: number;
  out?: Args;
}

export class TraceBuilder {
  readonly events: TraceEvent[] = [];
  private seq = 0;
  private timeNs = 0;

  constructor(private readonly stepNs = 1000) {}

  header(startTime = '2026-01-01T00:00:00.000Z'): TraceHeader {
    return { format: TRACE_FORMAT, version: TRACE_VERSION, startTime, hostOs: 'win32', tracerVersion: '0.1.0' };
  }

  private next(): { seq: number; timeNs: number } {
    this.seq += 1;
    this.timeNs += this.stepNs;
    return { seq: this.seq, timeNs: this.timeNs };
  }

  get lastSeq(): number {
    return this.seq;
  }

  start(pid: number, image: string, parentPid = 0, tid = pid + 4): ProcessHandle {
    this.events.push({ ...this.next(), kind: 'process-start', pid, parentPid, image, commandLine: `"${image}"` });
    this.events.push({ ...this.next(), kind: 'thread-start', pid, tid });
    this.events.push({ ...this.next(), kind: 'module-load', pid, module: 'ws2_32.dll', base: '0x7ffb1c0a0000' });
    return new ProcessHandle(this, pid, tid);
  }

  /** Appends the entry event and the return event of one hooked call; returns the entry's seq. */
  call(pid: number, tid: number, api: string, args: Args, ret: ReturnSpec, caller: CallerLocation = { module: 'app.exe', offset: 0x1234 }): number {
    const entry = this.next();
    this.events.push({ ...entry, kind: 'api', phase: 'call', pid, tid, api, args, caller });
    const back = this.next();
    this.events.push({ ...back, kind: 'api', phase: 'return', pid, tid, api, callSeq: entry.seq, result: ret.result, ...(ret.error !== undefined ? { error: ret.error } : {}), ...(ret.out ? { out: ret.out } : {}) });
    return entry.seq;
  }

  exit(pid: number, exitCode = 0): number {
    const e = this.next();
    this.events.push({ ...e, kind: 'process-exit', pid, exitCode });
    return e.seq;
  }

  toJsonl(): string {
    return [this.header(), ...this.events].map((e) => JSON.stringify(e)).join('\n') + '\n';
  }
}

/** One traced process of a scenario, with the Winsock calls it makes. */
export class ProcessHandle {
  constructor(
    readonly trace: TraceBuilder,
    readonly pid: number,
    readonly tid: number,
  ) {}

  call(api: string, args: Args, ret: ReturnSpec): number {
    return this.trace.call(this.pid, this.tid, api, args, ret);
  }

  startup(): number {
    return this.call('WSAStartup', { wVersionRequested: 0x202 }, { result: 0 });
  }

  socket(handle: number): number {
    return this.call('socket', { af: 2, type: 1, protocol: 6 }, { result: handle });
  }

  wsaSocket(handle: number, dwFlags: number): number {
    return this.call('WSASocketW', { af: 2, type: 1, protocol: 6, lpProtocolInfo: null, g: 0, dwFlags }, { result: handle });
  }

  connect(s: number, name = '127.0.0.1:5000'): number {
    return this.call('connect', { s, name, namelen: 16 }, { result: 0 });
  }

  duplicate(s: number, dwProcessId: number, info: ProtocolInfo | null, fail?: number): number {
    const api = 'WSADuplicateSocketW';
    if (fail !== undefined || !info) return this.call(api, { s, dwProcessId, lpProtocolInfo: '0x5ffd30' }, { result: -1, error: fail ?? 10022 });
    return this.call(api, { s, dwProcessId, lpProtocolInfo: '0x5ffd30' }, { result: 0, out: { protocolInfo: info } });
  }

  importSocket(handle: number, info: ProtocolInfo, dwFlags = 0x01, fail?: number): number {
    const args = { af: -1, type: -1, protocol: -1, lpProtocolInfo: info, g: 0, dwFlags };
    return this.call('WSASocketW', args, fail !== undefined ? { result: -1, error: fail } : { result: handle });
  }

  close(s: number, error?: number): number {
    return this.call('closesocket', { s }, error !== undefined ? { result: -1, error } : { result: 0 });
  }

  eventSelect(s: number, hEventObject: string, lNetworkEvents: number): number {
    return this.call('WSAEventSelect', { s, hEventObject, lNetworkEvents }, { result: 0 });
  }

  asyncSelect(s: number, hWnd: string, wMsg: number, lEvent: number): number {
    return this.call('WSAAsyncSelect', { s, hWnd, wMsg, lEvent }, { result: 0 });
  }

  /** ioctlsocket(FIONBIO): non-blocking when `on`. */
  fionbio(s: number, on: boolean): number {
    return this.call('ioctlsocket', { s, cmd: 0x8004667e, argp: '0x5ffd40', value: on ? 1 : 0 }, { result: 0 });
  }

  /** recv; `error` makes it fail (e.g. 10035 WSAEWOULDBLOCK). */
  recv(s: number, error?: number): number {
    return this.call('recv', { s, buf: '0x5ffe00', len: 512, flags: 0 }, error !== undefined ? { result: -1, error } : { result: 5 });
  }

  send(s: number, error?: number): number {
    return this.call('send', { s, buf: '0x5ffe00', len: 5, flags: 0 }, error !== undefined ? { result: -1, error } : { result: 5 });
  }

  shutdown(s: number, how: number): number {
    return this.call('shutdown', { s, how }, { result: 0 });
  }

  /** WSAWaitForMultipleEvents on `events` ("0x44,0x48"): 258 WSA_WAIT_TIMEOUT when `timedOut`, else the first. */
  wait(events: string, timedOut: boolean): number {
    return this.call('WSAWaitForMultipleEvents', { cEvents: events.split(',').length, events, fWaitAll: 0, dwTimeout: 1000, fAlertable: 0 }, { result: timedOut ? 258 : 0 });
  }

  cleanup(): number {
    return this.call('WSACleanup', {}, { result: 0 });
  }

  /** bind to `address`, then listen. */
  listen(s: number, address = '127.0.0.1:8080'): number {
    this.call('bind', { s, name: address, namelen: 16 }, { result: 0 });
    return this.call('listen', { s, backlog: 5 }, { result: 0 });
  }

  /** accept on listening socket `s`, returning the connection's descriptor `handle`. */
  accept(s: number, handle: number, peer = '127.0.0.1:50000'): number {
    return this.call('accept', { s, addr: '0x5ffd50', addrlen: '0x5ffd60' }, { result: handle, out: { addr: peer } });
  }

  exit(code = 0): number {
    return this.trace.exit(this.pid, code);
  }
}

/** A WSAPROTOCOL_INFOW as the TCP/IP base provider fills it in for a duplicated socket; `unique` tells exports apart. */
export function tcpProtocolInfo(unique: number, chain: number[] = [1001]): ProtocolInfo {
  return {
    dwServiceFlags1: 0x20066,
    dwServiceFlags2: 0,
    dwServiceFlags3: 0,
    dwServiceFlags4: 0,
    dwProviderFlags: 0x8,
    providerId: '{e70f1aa0-ab8b-11cf-8ca3-00805f48a192}',
    dwCatalogEntryId: chain[0],
    protocolChain: { chainLen: chain.length, chainEntries: chain },
    iVersion: 2,
    iAddressFamily: 2,
    iMaxSockAddr: 16,
    iMinSockAddr: 16,
    iSocketType: 1,
    iProtocol: 6,
    iProtocolMaxOffset: 0,
    iNetworkByteOrder: 0,
    iSecurityScheme: 0,
    dwMessageSize: 0,
    dwProviderReserved: unique,
    szProtocol: 'MSAFD Tcpip [TCP/IP]',
  };
}
