/** What each hooked Winsock call does to the model: socket lifetime, registrations and shared state. */

import { CallContext, isNullPointer, toNumber } from './context';
import { andList, descriptorLabel, handleLabel, processLabel, socketLabel } from './describe';
import { duplicateSocket, importSocket, isImport } from './handoff';
import { notASocket, receive, transmit, waitTimedOut } from './symptoms';
import { addDescriptor, closeDescriptor, createSocket, otherProcessHolders, raise, updateSocket } from './ops';
import type { DescriptorState, OptionValue, Registration, SocketState } from './types';
import { HOOKED_APIS, isHookedApi, type HookedApi } from '../apis';
import { FD_FLAGS, FIONBIO, SD_BOTH, SD_RECEIVE, SD_SEND, SHUTDOWN_NAMES, SIO_SET_GROUP_QOS, SIO_SET_QOS, WSA_FLAG_OVERLAPPED, flagNames, nameOf, optionName } from './winsock';

type Handler = (ctx: CallContext) => void;

/** What each hooked API does to the model; one entry per catalogue API (a missing one does not compile). */
const HANDLERS = {
  WSAStartup: startup,
  WSACleanup: cleanup,
  socket: createBySocket,
  WSASocketA: createByWSASocket,
  WSASocketW: createByWSASocket,
  WSADuplicateSocketA: duplicateSocket,
  WSADuplicateSocketW: duplicateSocket,
  closesocket: closeSocketCall,
  WSAEventSelect: (ctx) => register(ctx, 'WSAEventSelect'),
  WSAAsyncSelect: (ctx) => register(ctx, 'WSAAsyncSelect'),
  setsockopt: setOption,
  ioctlsocket: (ctx) => ioctl(ctx, ctx.num('cmd'), ctx.arg('value')),
  WSAIoctl: (ctx) => ioctl(ctx, ctx.num('dwIoControlCode'), ctx.arg('inValue')),
  shutdown: shutdownCall,
  // Bound to port 0, the socket gets a port the system chooses; the label says so (describe: isSystemChosenPort).
  bind: (ctx) => onSocket(ctx, (s) => ({ phase: s.phase === 'created' ? 'bound' : s.phase, localAddress: str(ctx.arg('name')) })),
  listen: (ctx) => onSocket(ctx, () => ({ phase: 'listening' })),
  connect: connectCall,
  WSAConnect: connectCall,
  accept: acceptCall,
  WSAAccept: acceptCall,
  AcceptEx: acceptExCall,
  recv: receive,
  WSARecv: receive,
  send: transmit,
  WSASend: transmit,
  WSAWaitForMultipleEvents: waitTimedOut,
  // These change no shared state: the descriptor they name is only looked up (use-after-close, foreign-descriptor).
  select: touchDescriptor,
  WSAEnumNetworkEvents: touchDescriptor,
} satisfies Record<HookedApi, Handler>;

function touchDescriptor(ctx: CallContext): void {
  if (ctx.call.args.s !== undefined) ctx.descriptor();
}

/** WSA_IO_PENDING: an overlapped call that was started and completes later, not a failure. */
const WSA_IO_PENDING = 997;

/** APIs whose failure is its own finding; any other failed call is reported as call-failed. */
const FAILURE_HAS_OWN_RULE = new Set(['WSADuplicateSocketA', 'WSADuplicateSocketW']);

/**
 * The hooked calls that fail with WSANOTINITIALISED without a successful WSAStartup (their reference pages list it).
 * WSAStartup itself does not; WSACleanup is left out, as before. An API the model does not know is assumed nothing of.
 */
const NEEDS_STARTUP: ReadonlySet<string> = new Set<string>(HOOKED_APIS.filter((api) => api !== 'WSAStartup' && api !== 'WSACleanup'));

export function applyCall(ctx: CallContext): void {
  const process = ctx.state.processes.get(ctx.pid);
  if (process && process.wsaStartups === 0 && NEEDS_STARTUP.has(ctx.call.api)) {
    const got = ctx.ok ? 'it succeeded here' : `it failed with ${ctx.errorText()}`;
    const cleanup = process.cleanedUpBy;
    const when = cleanup
      ? `came after WSACleanup (event ${cleanup.seq}) released that process's last WSAStartup`
      : 'came before any successful WSAStartup in that process';
    const events = cleanup ? [cleanup.seq, cleanup.returnSeq, ...ctx.events] : ctx.events;
    raise(ctx.state, 'winsock-not-initialised', `${ctx.where} ${when}: Windows fails it with WSANOTINITIALISED (10093); ${got}.`, events, { pids: [ctx.pid] });
  }
  const api = ctx.call.api;
  // An API the catalogue does not know (a newer trace): only the descriptor it names is looked up.
  if (isHookedApi(api)) HANDLERS[api](ctx);
  else touchDescriptor(ctx);
  notASocket(ctx);
  if (!ctx.ok && ctx.error !== WSA_IO_PENDING && !FAILURE_HAS_OWN_RULE.has(ctx.call.api) && !(ctx.call.api.startsWith('WSASocket') && isImportFailure(ctx))) {
    raise(ctx.state, 'call-failed', `${ctx.where} failed: ${ctx.errorText()}`, ctx.events, { pids: [ctx.pid] });
  }
}

function isImportFailure(ctx: CallContext): boolean {
  return ctx.arg('lpProtocolInfo') !== undefined && !isNullPointer(ctx.arg('lpProtocolInfo'));
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function startup(ctx: CallContext): void {
  const p = ctx.state.processes.get(ctx.pid);
  if (ctx.ok && p) ctx.state.processes.set(p.pid, { ...p, wsaStartups: p.wsaStartups + 1 });
}

/** The last WSACleanup of a process resets and deallocates the sockets it still has open. */
function cleanup(ctx: CallContext): void {
  const { state } = ctx;
  const p = state.processes.get(ctx.pid);
  if (!ctx.ok || !p) return;
  const remaining = Math.max(0, p.wsaStartups - 1);
  state.processes.set(p.pid, { ...p, wsaStartups: remaining, ...(remaining === 0 ? { cleanedUpBy: ctx.ref } : {}) });
  if (remaining > 0) return;
  for (const d of [...(state.handles.get(ctx.pid)?.values() ?? [])]) {
    if (d.closedSeq === undefined) closeDescriptor(state, d, 'WSACleanup', ctx.events);
  }
}

function createBySocket(ctx: CallContext): void {
  if (!ctx.ok) return;
  // socket() creates an overlapped socket: an importing WSASocket must pass WSA_FLAG_OVERLAPPED.
  const socket = createSocket(ctx.state, ctx.ref, { af: ctx.num('af'), type: ctx.num('type'), protocol: ctx.num('protocol'), overlapped: true, flags: WSA_FLAG_OVERLAPPED });
  addDescriptor(ctx.state, socket, ctx.ref, ctx.ret.result, 'socket');
}

function createByWSASocket(ctx: CallContext): void {
  if (isImport(ctx)) return importSocket(ctx);
  if (!ctx.ok) return;
  const flags = ctx.num('dwFlags');
  const socket = createSocket(ctx.state, ctx.ref, { af: ctx.num('af'), type: ctx.num('type'), protocol: ctx.num('protocol'), overlapped: (flags & WSA_FLAG_OVERLAPPED) !== 0, flags });
  addDescriptor(ctx.state, socket, ctx.ref, ctx.ret.result, 'WSASocket');
}

function closeSocketCall(ctx: CallContext): void {
  const d = ctx.descriptor();
  if (d && ctx.ok) closeDescriptor(ctx.state, d, 'closesocket', ctx.events);
}

/** Applies a change to the socket of the call's descriptor when the call succeeded. */
function onSocket(ctx: CallContext, change: (s: SocketState, d: DescriptorState) => Partial<SocketState> | undefined): void {
  const d = ctx.descriptor();
  const socket = d && ctx.socketOf(d);
  if (!d || !socket || !ctx.ok) return;
  const patch = change(socket, d);
  if (patch) updateSocket(ctx.state, socket, patch);
}

/** A change to a shared socket, worded for the shared-state-changed finding. */
interface SharedChange {
  /** What the caller did: "set socket #1 (TCP …) non-blocking with ioctlsocket(FIONBIO=1) through its descriptor 0x2b8". */
  readonly did: (socket: string, through: string) => string;
  /** Which state is held in common: "the blocking mode is". */
  readonly shared: string;
  /** What the other holders now see: "is non-blocking too" (one holder) or "are non-blocking too". */
  readonly seen: (many: boolean) => string;
}

/**
 * All state of a shared socket is held in common (WSADuplicateSocket: "all of the state information associated with a
 * socket is held in common across all the descriptors"): a change through one descriptor reaches every process holding one.
 */
function sharedStateChanged(ctx: CallContext, d: DescriptorState, socket: SocketState, change: SharedChange): void {
  const others = otherProcessHolders(ctx.state, socket, ctx.pid);
  if (others.length === 0) return;
  const holders = andList(others.map((o) => descriptorLabel(ctx.state, o)));
  const message = `${processLabel(ctx.state, ctx.pid)} ${change.did(socketLabel(socket), `through its descriptor ${handleLabel(d.handle)}`)}; ${change.shared} shared by every descriptor of the socket, so ${holders} ${change.seen(others.length > 1)}.`;
  raise(ctx.state, 'shared-state-changed', message, [...ctx.events, ...others.map((o) => o.created.seq)], { socketId: socket.id, pids: [ctx.pid, ...others.map((o) => o.pid)] });
}

/** `how` is the call that changed the mode: "ioctlsocket(FIONBIO=1)"; `implied` when the call sets it as a side effect. */
function setNonBlocking(ctx: CallContext, d: DescriptorState, socket: SocketState, nonBlocking: boolean, how: string, implied = false): SocketState {
  // Setting the mode it already has changes nothing the other holders see, but it is the latest setting this process
  // made: a WSAEWOULDBLOCK that follows is its own doing.
  if (socket.nonBlocking === nonBlocking) return updateSocket(ctx.state, socket, { nonBlockingLastSetBy: ctx.ref });
  const mode = nonBlocking ? 'non-blocking' : 'blocking';
  sharedStateChanged(ctx, d, socket, {
    did: (label, through) => (implied ? `called ${how} ${through}, which sets ${label} ${mode}` : `set ${label} ${mode} with ${how} ${through}`),
    shared: 'the blocking mode is',
    seen: (many) => `${many ? 'are' : 'is'} ${mode} too`,
  });
  return updateSocket(ctx.state, socket, { nonBlocking, nonBlockingSetBy: ctx.ref, nonBlockingLastSetBy: ctx.ref });
}

/**
 * WSAEventSelect / WSAAsyncSelect: a socket has one event registration. Issuing either call through any shared
 * descriptor cancels the previous registration, whichever descriptor made it; both set the socket non-blocking.
 */
function register(ctx: CallContext, kind: Registration['kind']): void {
  const { state } = ctx;
  const d = ctx.descriptor();
  let socket = d && ctx.socketOf(d);
  if (!d || !socket || !ctx.ok) return;
  const mask = kind === 'WSAEventSelect' ? ctx.num('lNetworkEvents') : ctx.num('lEvent');
  const previous = socket.registration;
  const cancelled = socket.cancelledRegistrations as Registration[];
  // Re-registering through the same descriptor with the same call replaces (or, with no events, clears) one's own
  // registration; through another descriptor, or switching between WSAAsyncSelect and WSAEventSelect, it cancels one.
  if (previous && (previous.descriptorId !== d.id || previous.kind !== kind)) {
    cancelled.push({ ...previous, cancelledBy: ctx.ref });
    raiseCancelled(ctx, d, socket, previous, mask === 0);
  }
  // A cancelled registration's owner registering again ends the cancellation: its waits are answered again.
  for (let i = 0; i < cancelled.length; i++) {
    const old = cancelled[i];
    if (old.pid === ctx.pid && old.cancelledBy && old.cancelledBy.seq !== ctx.ref.seq && !old.renewedBy) cancelled[i] = { ...old, renewedBy: ctx.ref };
  }
  const registration: Registration | null =
    mask === 0
      ? null
      : kind === 'WSAEventSelect'
        ? { kind, call: ctx.ref, descriptorId: d.id, pid: ctx.pid, handle: d.handle, mask, event: str(ctx.arg('hEventObject')) }
        : { kind, call: ctx.ref, descriptorId: d.id, pid: ctx.pid, handle: d.handle, mask, window: str(ctx.arg('hWnd')), message: ctx.num('wMsg') };
  socket = updateSocket(state, socket, { registration, cancelledRegistrations: cancelled });
  // WSAEventSelect and WSAAsyncSelect set the socket non-blocking whatever the events asked for.
  setNonBlocking(ctx, d, socket, true, kind, true);
}

/** registration-cancelled: an error across processes, a warning within one. */
function raiseCancelled(ctx: CallContext, d: DescriptorState, socket: SocketState, previous: Registration, clears: boolean): void {
  const { state } = ctx;
  const owner = processLabel(state, previous.pid, previous.call.seq);
  const through = previous.descriptorId === d.id ? 'the same descriptor' : `descriptor ${handleLabel(d.handle)}`;
  const what = `the ${previous.kind} registration for ${flagNames(FD_FLAGS, previous.mask)} that ${owner} made through descriptor ${handleLabel(previous.handle)} (event ${previous.call.seq})`;
  const did = clears ? `cleared ${what}, leaving the socket with no event registration` : `cancelled ${what}`;
  const notified = previous.kind === 'WSAAsyncSelect' ? `window ${previous.window ?? '?'} is no longer sent message ${previous.message ?? '?'}` : `event ${previous.event ?? '?'} is no longer signalled`;
  raise(state, 'registration-cancelled', `${ctx.where} through ${through} ${did}: a shared socket has one event registration, so ${owner}'s ${notified}.`, [previous.call.seq, previous.call.returnSeq, ...ctx.events], { socketId: socket.id, pids: [previous.pid, ctx.pid], severity: previous.pid !== ctx.pid ? 'error' : 'warning' });
}

function ioctl(ctx: CallContext, command: number, argument: unknown): void {
  const d = ctx.descriptor();
  const socket = d && ctx.socketOf(d);
  if (!d || !socket || !ctx.ok) return;
  if (command === FIONBIO) {
    const on = toNumber(argument as number) !== 0;
    setNonBlocking(ctx, d, socket, on, `${ctx.call.api}(FIONBIO=${on ? 1 : 0})`);
  }
  else if (command === SIO_SET_QOS || command === SIO_SET_GROUP_QOS) updateSocket(ctx.state, socket, { qos: true });
}

function setOption(ctx: CallContext): void {
  const d = ctx.descriptor();
  const socket = d && ctx.socketOf(d);
  if (!d || !socket || !ctx.ok) return;
  const level = ctx.num('level');
  const optname = ctx.num('optname');
  const raw = ctx.arg('optval');
  const value = typeof raw === 'number' || typeof raw === 'string' ? raw : null;
  const previous = socket.options.find((o) => o.level === level && o.optname === optname);
  const option: OptionValue = { level, optname, value, call: ctx.ref, descriptorId: d.id };
  const options = socket.options as OptionValue[];
  if (previous) options.splice(options.indexOf(previous), 1);
  options.push(option);
  if (previous && previous.value === value) return;
  const setting = `${optionName(level, optname)} = ${value ?? '?'}`;
  sharedStateChanged(ctx, d, socket, {
    did: (label, through) => `set ${setting} on ${label} with setsockopt ${through}`,
    shared: 'socket options are',
    seen: (many) => `${many ? 'see' : 'sees'} ${setting} too`,
  });
}

function shutdownCall(ctx: CallContext): void {
  const d = ctx.descriptor();
  const socket = d && ctx.socketOf(d);
  if (!d || !socket || !ctx.ok) return;
  const how = ctx.num('how');
  const next = updateSocket(ctx.state, socket, {
    shutdownReceive: socket.shutdownReceive || how === SD_RECEIVE || how === SD_BOTH,
    shutdownSend: socket.shutdownSend || how === SD_SEND || how === SD_BOTH,
    shutdownBy: ctx.ref,
    ...(how === SD_SEND || how === SD_BOTH ? { shutdownSendBy: ctx.ref } : {}),
  });
  const direction = how === SD_RECEIVE ? 'receiving' : how === SD_SEND ? 'sending' : 'sending and receiving';
  const lost = how === SD_RECEIVE ? 'receive' : how === SD_SEND ? 'send' : 'send or receive';
  sharedStateChanged(ctx, d, next, {
    did: (label, through) => `shut down ${label} for ${direction} with shutdown(${nameOf(SHUTDOWN_NAMES, how)}) ${through}`,
    shared: 'the shutdown state is',
    seen: () => `can no longer ${lost} through it either`,
  });
}

function connectCall(ctx: CallContext): void {
  const d = ctx.descriptor();
  const socket = d && ctx.socketOf(d);
  if (!d || !socket) return;
  // A non-blocking connect reports WSAEWOULDBLOCK and completes later.
  const pending = !ctx.ok && ctx.error === 10035;
  if (!ctx.ok && !pending) return;
  const qos = socket.qos || !isNullPointer(ctx.arg('lpSQOS')) || !isNullPointer(ctx.arg('lpGQOS'));
  updateSocket(ctx.state, socket, { phase: pending ? 'connecting' : 'connected', remoteAddress: str(ctx.arg('name')), qos });
}

/**
 * AcceptEx: the caller's own unconnected socket becomes the connection accepted on the listening socket (at once, or
 * when its overlapped I/O completes: WSA_IO_PENDING).
 */
function acceptExCall(ctx: CallContext): void {
  const listening = ctx.descriptor(ctx.num('sListenSocket', Number.NaN));
  const accepting = ctx.descriptor(ctx.num('sAcceptSocket', Number.NaN));
  const listener = listening && ctx.socketOf(listening);
  const socket = accepting && ctx.socketOf(accepting);
  if (!listener || !socket || (!ctx.ok && ctx.error !== WSA_IO_PENDING)) return;
  updateSocket(ctx.state, socket, { phase: 'connected', acceptedFrom: listener.id });
}

/** accept: the new socket has the listening socket's properties, its event registration included. */
function acceptCall(ctx: CallContext): void {
  const d = ctx.descriptor();
  const listener = d && ctx.socketOf(d);
  if (!d || !listener || !ctx.ok) return;
  const out = ctx.ret.out ?? {};
  const socket = createSocket(ctx.state, ctx.ref, {
    af: listener.af,
    type: listener.type,
    protocol: listener.protocol,
    overlapped: listener.overlapped,
    flags: listener.flags,
    phase: 'connected',
    remoteAddress: str(out.addr),
    acceptedFrom: listener.id,
    nonBlocking: listener.nonBlocking,
  });
  const accepted = addDescriptor(ctx.state, socket, ctx.ref, ctx.ret.result, 'accept');
  if (listener.registration) {
    const inherited = ctx.state.sockets.get(socket.id);
    if (inherited) updateSocket(ctx.state, inherited, { registration: { ...listener.registration, descriptorId: accepted.id, pid: ctx.pid, handle: accepted.handle } });
  }
}
