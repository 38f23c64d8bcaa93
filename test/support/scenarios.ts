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

export const WORKER_A = 600;
export const WORKER_B = 604;
/** Under Wine both workers' WSAPROTOCOL_INFOs carry the same handle value: the structures are byte-equal. */
const SAME_BYTES = 0x2c;

/**
 * A pre-fork server: the source listens, duplicates the listener for worker A, then for worker B, before either
 * imports; the workers import (in `order`) and accept. `sameBytes`: the two structures are byte-equal, as under Wine.
 * `bug`: 'A-twice' (A imports its structure twice, B never imports), 'C-imports' (a third process imports B's).
 */
export function preforkServer(options: { order?: 'A-first' | 'B-first'; sameBytes?: boolean; bug?: 'A-twice' | 'C-imports' } = {}) {
  const trace = new TraceBuilder();
  const source = trace.start(SOURCE, 'C:\\app\\server.exe');
  const a = trace.start(WORKER_A, 'C:\\app\\server.exe', SOURCE);
  const b = trace.start(WORKER_B, 'C:\\app\\server.exe', SOURCE);
  const c = options.bug === 'C-imports' ? trace.start(OTHER, 'C:\\app\\intruder.exe', SOURCE) : undefined;
  for (const p of [source, a, b, c]) p?.startup();
  source.socket(S);
  source.listen(S);
  const infoA = tcpProtocolInfo(options.sameBytes === false ? 0x2c : SAME_BYTES);
  const infoB = tcpProtocolInfo(options.sameBytes === false ? 0x30 : SAME_BYTES);
  const exportA = source.duplicate(S, WORKER_A, infoA);
  const exportB = source.duplicate(S, WORKER_B, infoB);
  const imports: Record<string, number> = {};
  const importA = () => (imports.A = a.importSocket(T, infoA));
  const importB = () => {
    if (options.bug === 'A-twice') imports.A2 = a.importSocket(T + 4, infoA);
    else if (c && options.bug === 'C-imports') imports.C = c.importSocket(T, infoB);
    else imports.B = b.importSocket(T, infoB);
  };
  if (options.order === 'B-first') {
    importB();
    importA();
  } else {
    importA();
    importB();
  }
  source.close(S);
  a.accept(T, 0x300);
  if (imports.B) b.accept(T, 0x300, '127.0.0.1:50001');
  for (const p of [a, b, c, source]) p?.exit();
  return { trace, exportA, exportB, imports };
}

/** The handoff done; every descriptor closed (the socket closes); then the target imports the structure again if `again`. */
export function importAfterSocketClosed(again: boolean) {
  const { trace, source, target, exp, imp } = sharedSocket();
  const info = tcpProtocolInfo(1);
  source.close(S);
  target.close(T);
  const reimport = again ? target.importSocket(T + 4, info) : undefined;
  source.exit();
  target.exit();
  return { trace, exp, imp, reimport };
}

/**
 * Failed imports: `retry` the target's import fails with WSAENOBUFS and it retries; `wrongFirst` another process's
 * import fails first and the target imports after; `twice` the target's import succeeds and it imports again.
 */
export function failedImport(kind: 'retry' | 'wrongFirst' | 'twice') {
  const trace = new TraceBuilder();
  const source = trace.start(SOURCE, 'C:\\app\\source.exe');
  const target = trace.start(TARGET, 'C:\\app\\target.exe', SOURCE);
  const other = trace.start(OTHER, 'C:\\app\\other.exe', SOURCE);
  for (const p of [source, target, other]) p.startup();
  source.socket(S);
  source.connect(S);
  const info = tcpProtocolInfo(5);
  const exp = source.duplicate(S, TARGET, info);
  let first: number;
  if (kind === 'retry') first = target.importSocket(T, info, 0x01, 10055);
  else if (kind === 'wrongFirst') first = other.importSocket(T, info, 0x01, 10022);
  else first = target.importSocket(T, info);
  const second = target.importSocket(T + 4, info);
  source.close(S);
  for (const p of [source, target, other]) p.exit();
  return { trace, exp, first, second };
}

/** Source sets FIONBIO=1; then the target (when `targetSetsToo`) sets it too; the target's recv fails with WSAEWOULDBLOCK. */
export function ownNonBlocking(targetSetsToo: boolean) {
  const { trace, source, target } = sharedSocket();
  const sourceSet = source.fionbio(S, true);
  const targetSet = targetSetsToo ? target.fionbio(T, true) : undefined;
  const recv = target.recv(T, 10035);
  return { trace, sourceSet, targetSet, recv };
}

/** The target's WSAEventSelect cancels the source's; the source registers again when `reRegisters`, then its wait times out. */
export function cancelledThenReRegistered(reRegisters: boolean) {
  const { trace, source, target } = sharedSocket();
  const register = source.eventSelect(S, '0x44', 0x01);
  const cancel = target.eventSelect(T, '0x88', 0x01);
  target.eventSelect(T, '0x88', 0); // the target clears its own registration again
  const again = reRegisters ? source.eventSelect(S, '0x44', 0x01) : undefined;
  const wait = source.wait('0x44', true);
  return { trace, register, cancel, again, wait };
}

/**
 * pid reuse: target.exe (pid 512) exits, a new other.exe gets pid 512. `importsOld`: it imports the structure made for
 * the first process (which exited without importing); else the first imported its own and the second gets a new export.
 */
export function pidReused(importsOld: boolean) {
  const trace = new TraceBuilder();
  const source = trace.start(SOURCE, 'C:\\app\\source.exe');
  const first = trace.start(TARGET, 'C:\\app\\target.exe', SOURCE);
  source.startup();
  first.startup();
  source.socket(S);
  source.listen(S);
  const info = tcpProtocolInfo(9);
  const exp = source.duplicate(S, TARGET, info);
  if (!importsOld) first.importSocket(T, info);
  const firstExit = first.exit();
  const second = trace.start(TARGET, 'C:\\app\\other.exe', SOURCE);
  second.startup();
  let imp: number;
  if (importsOld) imp = second.importSocket(T, info);
  else {
    const next = tcpProtocolInfo(10);
    source.duplicate(S, TARGET, next);
    imp = second.importSocket(T, next);
  }
  source.close(S);
  second.close(T);
  second.exit();
  source.exit();
  return { trace, exp, firstExit, imp };
}
