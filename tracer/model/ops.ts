/** The model's state changes that several calls share: creating and closing descriptors, raising findings. */

import { andList, descriptorLabel, handleLabel, processLabel, socketLabel } from './describe';
import { ruleInfo } from './rules';
import type { ModelState, Mutable } from './state';
import type { CallRef, DescriptorOrigin, DescriptorState, Finding, Handoff, RuleId, Severity, SocketState } from './types';

export function raise(
  state: ModelState,
  rule: RuleId,
  message: string,
  events: number[],
  extra: { socketId?: string; pids?: number[]; severity?: Severity } = {},
): void {
  const label = socketOf(state, extra.socketId);
  const finding: Finding = {
    rule,
    severity: extra.severity ?? ruleInfo(rule).severity,
    message: flat(message),
    events: ascendingUnique(events),
    seq: state.seq,
    socketId: extra.socketId,
    socketLabel: label === undefined ? undefined : flat(label),
    pids: unique(extra.pids ?? NO_PIDS),
  };
  state.addFinding(finding);
}

const NO_PIDS: readonly number[] = [];

/**
 * A message built from template literals is a rope of its pieces; reading one character makes the engine copy it
 * into one flat string and drop the pieces, so a kept finding costs its text and not the text's history.
 */
function flat(text: string): string {
  text.charCodeAt(0);
  return text;
}

/** Sorted ascending, each number once (the lists are a handful of seqs: no Set). */
function ascendingUnique(values: readonly number[]): number[] {
  const sorted: number[] = [];
  for (const v of values) {
    let at = sorted.length;
    while (at > 0 && sorted[at - 1] > v) at--;
    if (at > 0 && sorted[at - 1] === v) continue;
    sorted.splice(at, 0, v);
  }
  return sorted;
}

/** Each number once, first occurrence order kept. */
function unique(values: readonly number[]): number[] {
  const kept: number[] = [];
  for (const v of values) if (!kept.includes(v)) kept.push(v);
  return kept;
}

function socketOf(state: ModelState, id: string | undefined): string | undefined {
  const socket = id === undefined ? undefined : state.socket(id);
  return socket ? socketLabel(socket) : undefined;
}

export function callEvents(call: CallRef): number[] {
  return [call.seq, call.returnSeq];
}

/** Changes a live socket in place (snapshots copy live entities; archived ones never change). */
export function updateSocket(state: ModelState, socket: SocketState, change: Partial<SocketState>): SocketState {
  const live = state.sockets.get(socket.id);
  if (live) Object.assign(live, change);
  return live ?? socket;
}

export function createSocket(
  state: ModelState,
  call: CallRef,
  init: Pick<SocketState, 'af' | 'type' | 'protocol' | 'overlapped' | 'flags'> & Partial<SocketState>,
): SocketState {
  // Every property from the start, optional ones undefined: all sockets share one shape, so the engine keeps the
  // rules' property reads fast (a socket that gained properties in varying orders would not).
  const { af, type, protocol, overlapped, flags, ...rest } = init;
  const socket: Mutable<SocketState> = {
    id: `s${state.nextSocket++}`,
    af,
    type,
    protocol,
    created: call,
    overlapped,
    flags,
    originUnknown: false,
    phase: 'created',
    localAddress: undefined,
    remoteAddress: undefined,
    acceptedFrom: undefined,
    shutdownReceive: false,
    shutdownSend: false,
    shutdownBy: undefined,
    shutdownSendBy: undefined,
    nonBlocking: false,
    nonBlockingSetBy: undefined,
    nonBlockingLastSetBy: undefined,
    qos: false,
    options: [],
    descriptorIds: [],
    handoffIds: [],
    registration: null,
    cancelledRegistrations: [],
    closedSeq: undefined,
    ...rest,
  };
  state.sockets.set(socket.id, socket);
  return socket;
}

export function addDescriptor(
  state: ModelState,
  socket: SocketState,
  call: CallRef,
  handle: number,
  origin: DescriptorOrigin,
  handoffId?: string,
): DescriptorState {
  // A provider may hand back a value that is already an open descriptor of this socket here (Wine does, on a reused
  // WSAPROTOCOL_INFO): that is the same descriptor, not a second one.
  const existing = state.handleOf(call.pid, handle);
  if (existing && existing.closedSeq === undefined && existing.socketId === socket.id) return existing;
  // One shape for every descriptor (see createSocket): the close fields are there from the start.
  const d: DescriptorState = { id: `d${state.nextDescriptor++}`, pid: call.pid, handle, socketId: socket.id, origin, created: call, handoffId, closedSeq: undefined, closedBy: undefined, closeEvents: undefined };
  state.descriptors.set(d.id, d);
  state.setHandle(d);
  (state.sockets.get(socket.id)?.descriptorIds as string[] | undefined)?.push(d.id);
  return d;
}

export function openDescriptors(state: ModelState, socket: SocketState): DescriptorState[] {
  const open: DescriptorState[] = [];
  for (const id of socket.descriptorIds) {
    const d = state.descriptor(id);
    if (d && d.closedSeq === undefined) open.push(d);
  }
  return open;
}

/** Open descriptors of the socket held by processes other than `pid`. */
export function otherProcessHolders(state: ModelState, socket: SocketState, pid: number): DescriptorState[] {
  return openDescriptors(state, socket).filter((d) => d.pid !== pid);
}

/**
 * Deallocates one descriptor. The underlying socket closes only with its last descriptor (Shared Sockets:
 * "The underlying socket, however, remains open until closesocket is called with the last remaining descriptor").
 */
export function closeDescriptor(
  state: ModelState,
  d: DescriptorState,
  by: NonNullable<DescriptorState['closedBy']>,
  events: number[],
): void {
  const closed = state.descriptors.get(d.id) ?? { ...d };
  Object.assign(closed, { closedSeq: state.seq, closedBy: by, closeEvents: events });
  let socket: SocketState | undefined = state.sockets.get(d.socketId);
  if (!socket) return;
  // A registration made through the closed descriptor ends with it.
  if (socket.registration?.descriptorId === d.id) socket = updateSocket(state, socket, { registration: null });
  const closing = closingText(state, d, by);
  settleSourceKeptOpen(state, closed, socket, events);
  const remaining = openDescriptors(state, socket);
  const pending = pendingHandoffs(state, socket);
  if (remaining.length > 0 || pending.length > 0) {
    const holders = andList([
      ...remaining.map((r) => descriptorLabel(state, r)),
      ...pending.map((h) => `the duplicate exported for ${processLabel(state, h.targetPid)}, not yet imported`),
    ]);
    raise(
      state,
      'descriptor-closed',
      `${closing}. Only that descriptor is deallocated: ${socketLabel(socket)} stays open, held by ${holders}.`,
      [...events, d.created.seq],
      { socketId: socket.id, pids: [d.pid, ...remaining.map((r) => r.pid), ...pending.map((h) => h.targetPid)] },
    );
    return;
  }
  closeSocket(state, socket, (label) => `${closing}, the last descriptor of ${label}, so the socket closes.`, [...events, d.created.seq], [d.pid]);
}

/** "source.exe (pid 364) closed its descriptor 0x1a4 with closesocket", "target.exe (pid 512) exited, which closed its descriptor 0x2b8" */
function closingText(state: ModelState, d: DescriptorState, by: NonNullable<DescriptorState['closedBy']>, what = 'descriptor'): string {
  const who = processLabel(state, d.pid);
  const handle = handleLabel(d.handle);
  switch (by) {
    case 'closesocket': return `${who} closed its ${what} ${handle} with closesocket`;
    case 'process-exit': return `${who} exited, which closed its ${what} ${handle}`;
    case 'WSACleanup': return `${who} called WSACleanup for the last time, which closed its ${what} ${handle}`;
  }
}

/** Handoffs of this socket exported and not yet imported or settled: their duplicate keeps the socket open. */
export function pendingHandoffs(state: ModelState, socket: SocketState): Handoff[] {
  const pending: Handoff[] = [];
  // Every export of the socket is in its handoffIds, in export order (the order `unsettled` keeps them in).
  for (const id of socket.handoffIds) {
    if (!state.unsettled.has(id)) continue;
    const h = state.handoffs.get(id);
    if (h && h.socketId === socket.id) pending.push(h);
  }
  return pending;
}

/** The underlying socket closes: no descriptor and no pending duplicate holds it any more. */
export function closeSocket(state: ModelState, socket: SocketState, message: (label: string) => string, events: number[], pids: number[]): void {
  const closed = updateSocket(state, socket, { closedSeq: state.seq, registration: null });
  raise(state, 'socket-closed', message(socketLabel(closed)), events, { socketId: socket.id, pids });
  state.archiveSocket(closed);
}

/**
 * The target closed the descriptor it imported while the source still holds its own: the connection does not end
 * (the underlying socket stays open until its last descriptor is closed).
 */
function settleSourceKeptOpen(state: ModelState, closed: DescriptorState, socket: SocketState, events: number[]): void {
  if (!closed.handoffId || socket.phase !== 'connected') return;
  const handoff = state.handoff(closed.handoffId);
  if (!handoff || handoff.settled || !handoff.sourceDescriptorId) return;
  const source = state.descriptor(handoff.sourceDescriptorId);
  if (!source || source.closedSeq !== undefined) return;
  state.handoffs.set(handoff.id, { ...handoff, settled: 'source-kept-open' });
  raise(
    state,
    'source-kept-open',
    `${closingText(state, closed, closed.closedBy ?? 'closesocket', 'imported descriptor')}, but the source still holds ${descriptorLabel(state, source)}: ${socketLabel(socket)} stays open and the connection does not end. The source should call closesocket after the handoff (step 10).`,
    [handoff.exportCall.seq, closed.created.seq, ...events, source.created.seq],
    { socketId: socket.id, pids: [handoff.sourcePid, closed.pid] },
  );
}
