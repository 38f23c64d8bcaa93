/**
 * The words for an underlying socket: its state, every descriptor of it in every process, the shared state (blocking
 * mode, shutdown, options) and who set it, the live registration and the cancelled ones. The debugger's Socket scope,
 * the Shared Sockets view and the language server's hover all show these facts.
 */

import {
  FD_FLAGS, WSA_FLAGS, flagNames, handleLabel, hex, localAddressLabel, optionName, socketLabel,
  type DescriptorState, type Registration, type ShareModel, type SocketState,
} from '../model';
import { isProtocolInfo, type ApiCallEvent, type ApiReturnEvent, type ArgValue } from '../trace/schema';
import { callLabel } from './calls';
import { descriptorHandle, handleInProcess, openOrClosedText, originText } from './descriptors';
import { factList, type Fact } from './facts';

/** "WSAEventSelect FD_READ|FD_CLOSE, event 0x44, by source.exe (pid 364) through 0x1a4 at event 29" */
export function registrationText(model: ShareModel, r: Registration): string {
  const target = r.event !== undefined ? `event ${r.event}` : `window ${r.window ?? '?'} message ${hex(r.message ?? 0)}`;
  return `${r.kind} ${flagNames(FD_FLAGS, r.mask)}, ${target}, by ${model.processLabel(r.pid, r.call.seq)} through ${handleLabel(r.handle)} at event ${r.call.seq}`;
}

function registrationFacts(model: ShareModel, r: Registration): Fact[] {
  const facts: Fact[] = [
    { name: 'kind', value: r.kind },
    { name: 'events', value: `${flagNames(FD_FLAGS, r.mask)} (${hex(r.mask >>> 0)})`, type: 'long' },
  ];
  if (r.event !== undefined) facts.push({ name: 'event', value: r.event, type: 'WSAEVENT' });
  if (r.window !== undefined) facts.push({ name: 'window', value: r.window, type: 'HWND' });
  if (r.message !== undefined) facts.push({ name: 'message', value: hex(r.message), type: 'u_int' });
  facts.push({ name: 'process', value: model.processLabel(r.pid, r.call.seq) }, { name: 'descriptor', value: handleLabel(r.handle), type: 'SOCKET' }, { name: 'made', value: callLabel(model, r.call) });
  if (r.cancelledBy) facts.push({ name: 'cancelled by', value: callLabel(model, r.cancelledBy) });
  return facts;
}

/** "non-blocking, set by ioctlsocket in target.exe (pid 512) at event 33", or "blocking" */
export function blockingText(model: ShareModel, s: SocketState): string {
  const mode = s.nonBlocking ? 'non-blocking' : 'blocking';
  return s.nonBlockingSetBy ? `${mode}, set by ${callLabel(model, s.nonBlockingSetBy)}` : mode;
}

/** "both directions (receive and send)", "receive", "send", "none" */
export function shutdownText(s: SocketState): string {
  if (s.shutdownReceive && s.shutdownSend) return 'both directions (receive and send)';
  if (s.shutdownReceive) return 'receive';
  return s.shutdownSend ? 'send' : 'none';
}

/** "127.0.0.1:5000 -> 127.0.0.1:6000", "127.0.0.1:0 (port chosen by the system)", or "" */
export function socketEnds(s: SocketState): string {
  return s.remoteAddress ? `${s.localAddress ?? '?'} -> ${s.remoteAddress}` : (localAddressLabel(s) ?? '');
}

/** "open at the end of the trace", or "closed at event 40" */
export function socketEndText(s: SocketState): string {
  return s.closedSeq === undefined ? 'open at the end of the trace' : `closed at event ${s.closedSeq}`;
}

/** "open", or "at event 40" */
export function socketClosedText(s: SocketState): string {
  return s.closedSeq === undefined ? 'open' : `at event ${s.closedSeq}`;
}

/** One descriptor of a socket, named by handle and process: open or how it closed, and where it came from. */
export function descriptorFact(model: ShareModel, d: DescriptorState): Fact {
  const state = openOrClosedText(d);
  return {
    name: handleInProcess(model, d),
    value: `${state}, ${originText(d)}`,
    type: 'SOCKET',
    children: () => [
      { name: 'process', value: model.processLabel(d.pid, d.created.seq) },
      { name: 'handle', value: handleLabel(d.handle), type: 'SOCKET' },
      { name: 'origin', value: originText(d) },
      { name: 'created', value: callLabel(model, d.created) },
      { name: 'closed', value: state },
    ],
  };
}

function stateFacts(model: ShareModel, s: SocketState): Fact[] {
  const facts: Fact[] = [{ name: 'phase', value: s.phase }];
  const local = localAddressLabel(s);
  if (local) facts.push({ name: 'local address', value: local });
  if (s.remoteAddress) facts.push({ name: 'remote address', value: s.remoteAddress });
  const from = s.acceptedFrom ? model.socket(s.acceptedFrom) : undefined;
  if (from) facts.push({ name: 'accepted from', value: socketLabel(from) });
  facts.push({ name: 'created', value: `${callLabel(model, s.created)}${s.originUnknown ? ' (first seen through an import; its source was not traced)' : ''}` });
  facts.push({ name: 'flags', value: flagNames(WSA_FLAGS, s.flags) });
  return facts;
}

/** One socket: its label, state, descriptors in every process, shared state and registrations. */
export function socketFacts(model: ShareModel, socketId: string): Fact[] {
  const s = model.socket(socketId);
  if (!s) return [{ name: 'socket', value: `${socketId} is not known to the model` }];
  const descriptors = model.descriptorsOf(s);
  const open = descriptors.filter((d) => d.closedSeq === undefined).length;
  const ends = socketEnds(s);
  return [
    { name: 'label', value: socketLabel(s) },
    { name: 'state', value: ends ? `${s.phase}, ${ends}` : s.phase, children: () => stateFacts(model, s) },
    { name: 'descriptors', value: `${descriptors.length} (${open} open)`, children: () => descriptors.map((d) => descriptorFact(model, d)) },
    { name: 'blocking mode', value: blockingText(model, s) },
    { name: 'shutdown', value: shutdownText(s) },
    factList('options', s.options.map((o) => ({
      name: optionName(o.level, o.optname),
      value: `${o.value ?? '?'}, set by ${callLabel(model, o.call)} through ${descriptorHandle(model, o.descriptorId)}`,
    }))),
    s.registration
      ? { name: 'registration', value: registrationText(model, s.registration), children: () => registrationFacts(model, s.registration as Registration) }
      : { name: 'registration', value: 'none' },
    factList('cancelled registrations', s.cancelledRegistrations.map((r) => ({
      name: `${r.kind} by ${model.processLabel(r.pid, r.call.seq)}`,
      value: `${registrationText(model, r)}; cancelled by ${r.cancelledBy ? callLabel(model, r.cancelledBy) : '?'}`,
      children: () => registrationFacts(model, r),
    }))),
    { name: 'qos', value: s.qos ? 'enabled' : 'off' },
    { name: 'handoffs', value: s.handoffIds.length ? s.handoffIds.join(', ') : 'none' },
    { name: 'closed', value: socketClosedText(s) },
  ];
}

/** "open, socket #1 (TCP …)" or "closed at event 30 by closesocket; socket #1 (TCP …)": a descriptor with its socket. */
export function descriptorWithSocket(model: ShareModel, d: DescriptorState): string {
  const socket = model.socket(d.socketId);
  const label = socket ? socketLabel(socket) : `socket ${d.socketId}`;
  return d.closedSeq === undefined ? `open, ${label}` : `${openOrClosedText(d)}; ${label}`;
}

function num(value: ArgValue | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^(0x[0-9a-f]+|-?\d+)$/i.test(value)) return Number(value);
  return undefined;
}

/**
 * The descriptor a SOCKET value named in a process at event `seq`: the model's current holder of that value, or
 * (once the process exited, or the value was reused since) the last descriptor with that value created by then.
 */
export function descriptorAt(model: ShareModel, pid: number, handle: number, seq: number): DescriptorState | undefined {
  const current = model.descriptorByHandle(pid, handle);
  if (current && current.created.seq <= seq) return current;
  return model.descriptorsIn(pid).filter((d) => d.handle === handle && d.created.seq <= seq).pop();
}

/**
 * The socket the call is about: the one whose descriptor the call created (socket, WSASocket, an import, accept's new
 * socket), else the descriptor an import's result names, else the one `s` names in the calling process (maybe closed).
 */
export function socketOfCall(model: ShareModel, call: ApiCallEvent, ret?: ApiReturnEvent): string | undefined {
  const created = model.descriptorsIn(call.pid).find((d) => d.created.seq === call.seq);
  if (created) return created.socketId;
  if (ret && ret.result !== -1 && isProtocolInfo(call.args.lpProtocolInfo)) {
    const imported = descriptorAt(model, call.pid, ret.result, ret.seq);
    if (imported) return imported.socketId;
  }
  const s = num(call.args.s);
  return s === undefined ? undefined : descriptorAt(model, call.pid, s, call.seq)?.socketId;
}
