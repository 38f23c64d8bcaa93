/** The seeds' scenarios as traces: source, IPC, target. Each returns the builder and the seqs a test names. */

import { TraceBuilder, tcpProtocolInfo } from '../../tracer/trace/builder';

export const SOURCE = 364;
export const TARGET = 512;
export const OTHER = 777;
export const S = 0x1a4;
export const T = 0x2b8;

/** The 10-step handoff of the WSADuplicateSocket page, done right. */
export function tenStepHandoff() {
  const trace = new TraceBuilder();
  const source = trace.start(SOURCE, 'C:\\samples\\source.exe');
  const target = trace.start(TARGET, 'C:\\samples\\target.exe', SOURCE);
  source.startup();
  target.startup();
  const info = tcpProtocolInfo(0x3c);
  const create = source.wsaSocket(S, 0x01); // 1) WSASocket
  const connect = source.connect(S); //          1) WSAConnect
  // 2-4) the target's pid travels over IPC (not a Winsock call)
  const duplicate = source.duplicate(S, TARGET, info); // 5)
  // 6-7) the WSAPROTOCOL_INFO travels over IPC
  const imported = target.importSocket(T, info, 0x01); // 8)
  const send = target.call('send', { s: T, len: 5, flags: 0 }, { result: 5 }); // 9)
  const sourceClose = source.close(S); // 10)
  const targetClose = target.close(T);
  source.exit();
  target.exit();
  return { trace, info, create, connect, duplicate, imported, send, sourceClose, targetClose };
}

/** The source registers FD_READ|FD_CLOSE, hands the socket over, and the target's WSAEventSelect cancels that registration. */
export function registrationCancelled() {
  const trace = new TraceBuilder();
  const source = trace.start(SOURCE, 'C:\\samples\\source.exe');
  const target = trace.start(TARGET, 'C:\\samples\\target.exe', SOURCE);
  source.startup();
  target.startup();
  const info = tcpProtocolInfo(7);
  const create = source.socket(S);
  source.connect(S);
  const register = source.eventSelect(S, '0x44', 0x21);
  const duplicate = source.duplicate(S, TARGET, info);
  const imported = target.importSocket(T, info, 0x01);
  const cancel = target.eventSelect(T, '0x88', 0x01);
  const sourceClose = source.close(S);
  const targetClose = target.close(T);
  source.exit();
  target.exit();
  return { trace, info, create, register, duplicate, imported, cancel, sourceClose, targetClose };
}

/**
 * Source creates and connects (or, `listening`, binds and listens), hands the socket to the target, which imports it.
 * Both keep their descriptors.
 */
export function sharedSocket(options: { listening?: boolean } = {}) {
  const trace = new TraceBuilder();
  const source = trace.start(SOURCE, 'C:\\app\\source.exe');
  const target = trace.start(TARGET, 'C:\\app\\target.exe', SOURCE);
  source.startup();
  target.startup();
  source.socket(S);
  if (options.listening) {
    source.call('bind', { s: S, name: '0.0.0.0:8080', namelen: 16 }, { result: 0 });
    source.call('listen', { s: S, backlog: 5 }, { result: 0 });
  } else source.connect(S);
  const info = tcpProtocolInfo(1);
  const exp = source.duplicate(S, TARGET, info);
  const imp = target.importSocket(T, info);
  return { trace, source, target, exp, imp };
}
