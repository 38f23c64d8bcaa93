/**
 * The debugger's scopes as plain trees, knowing nothing of DAP: the current call, the process's descriptors, one
 * socket, the handoffs and the findings. Every fact comes from the model (tracer/model); this module only words it.
 */

import {
  FD_FLAGS, baseName, describeError, localAddressLabel, errorName, flagNames, handleLabel, hex, optionName, socketLabel, WSA_FLAGS,
  type CallRef, type DescriptorState, type Finding, type Handoff, type ImportAttempt, type Registration, type ShareModel, type SocketState,
} from '../tracer/model';
import { isProtocolInfo, type ApiCallEvent, type ApiReturnEvent, type ArgValue } from '../tracer/trace/schema';

export interface VarNode {
  name: string;
  value: string;
  type?: string;
  /** Present when the node expands; called only when the user expands it. */
  children?: () => VarNode[];
}

export { argValue, callScope, protocolInfoFields, protocolInfoNode, protocolInfoSummary, resultValue } from './presenter-call';

function num(value: ArgValue | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^(0x[0-9a-f]+|-?\d+)$/i.test(value)) return Number(value);
  return undefined;
}

/**
 * The descriptor a SOCKET value named in a process at event `seq`: the model's current holder of that value, or
 * (once the process exited, or the value was reused since) the last descriptor with that value created by then.
 */
function descriptorAt(model: ShareModel, pid: number, handle: number, seq: number): DescriptorState | undefined {
  const current = model.descriptorByHandle(pid, handle);
  if (current && current.created.seq <= seq) return current;
  return model.descriptorsIn(pid).filter((d) => d.handle === handle && d.created.seq <= seq).pop();
}

/**
 * The socket the call is about: the one whose descriptor the call created (socket, WSASocket, an import, accept's new
 * socket), else the descriptor an import's result names, else the one `s` names in the calling process (maybe closed).
 */
export function currentSocketId(model: ShareModel, call: ApiCallEvent, ret?: ApiReturnEvent): string | undefined {
  const created = model.descriptorsIn(call.pid).find((d) => d.created.seq === call.seq);
  if (created) return created.socketId;
  if (ret && ret.result !== -1 && isProtocolInfo(call.args.lpProtocolInfo)) {
    const imported = descriptorAt(model, call.pid, ret.result, ret.seq);
    if (imported) return imported.socketId;
  }
  const s = num(call.args.s);
  return s === undefined ? undefined : descriptorAt(model, call.pid, s, call.seq)?.socketId;
}

/** "source.exe [source] pid 364 tid 368" */
export function threadName(model: ShareModel, pid: number, tid: number): string {
  const p = model.process(pid);
  const image = p ? `${baseName(p.image)} ` : '';
  return `${image}[${model.role(pid)}] pid ${pid} tid ${tid}`;
}

// ---- Wording ----

/** "WSAEventSelect in target.exe (pid 512) at event 31" */
function callLabel(model: ShareModel, call: CallRef): string {
  return `${call.api} in ${model.processLabel(call.pid)} at event ${call.seq}`;
}

const CLOSED_BY: Record<NonNullable<DescriptorState['closedBy']>, string> = {
  closesocket: 'closesocket',
  'process-exit': 'process exit',
  WSACleanup: 'WSACleanup',
};

function closedText(d: DescriptorState): string {
  return `closed at event ${d.closedSeq} by ${CLOSED_BY[d.closedBy ?? 'closesocket']}`;
}

/** "created by socket at event 9", "imported from handoff h1 at event 27", "accepted by accept at event 14" */
function originText(d: DescriptorState): string {
  const at = `at event ${d.created.seq}`;
  switch (d.origin) {
    case 'import': return d.handoffId ? `imported from handoff ${d.handoffId} ${at}` : `imported ${at} (the export was not traced)`;
    case 'accept': return `accepted by ${d.created.api} ${at}`;
    default: return `created by ${d.created.api} ${at}`;
  }
}

/** Node names a debugger shows side by side must differ: repeats get " (2)", " (3)". */
function uniqueNames(nodes: VarNode[]): VarNode[] {
  const seen = new Map<string, number>();
  return nodes.map((n) => {
    const count = (seen.get(n.name) ?? 0) + 1;
    seen.set(n.name, count);
    return count === 1 ? n : { ...n, name: `${n.name} (${count})` };
  });
}

function list(name: string, items: VarNode[], empty = 'none'): VarNode {
  return items.length === 0 ? { name, value: empty } : { name, value: String(items.length), children: () => uniqueNames(items) };
}

// ---- Descriptors ----

/** This process's descriptors, open ones first, each expanding to its socket. */
export function descriptorsScope(model: ShareModel, pid: number): VarNode[] {
  const all = model.descriptorsIn(pid);
  const ordered = [...all.filter((d) => d.closedSeq === undefined), ...all.filter((d) => d.closedSeq !== undefined)];
  return uniqueNames(
    ordered.map((d) => {
      const socket = model.socket(d.socketId);
      const label = socket ? socketLabel(socket) : `socket ${d.socketId}`;
      const value = d.closedSeq === undefined ? `open, ${label}` : `${closedText(d)}; ${label}`;
      return { name: handleLabel(d.handle), value, type: 'SOCKET', children: () => socketScope(model, d.socketId) };
    }),
  );
}

function descriptorNode(model: ShareModel, d: DescriptorState): VarNode {
  const state = d.closedSeq === undefined ? 'open' : closedText(d);
  return {
    name: `${handleLabel(d.handle)} in ${model.processLabel(d.pid)}`,
    value: `${state}, ${originText(d)}`,
    type: 'SOCKET',
    children: () => [
      { name: 'process', value: model.processLabel(d.pid) },
      { name: 'handle', value: handleLabel(d.handle), type: 'SOCKET' },
      { name: 'origin', value: originText(d) },
      { name: 'created', value: callLabel(model, d.created) },
      { name: 'closed', value: d.closedSeq === undefined ? 'open' : closedText(d) },
    ],
  };
}

// ---- Socket ----

function registrationDetails(model: ShareModel, r: Registration): VarNode[] {
  const nodes: VarNode[] = [
    { name: 'kind', value: r.kind },
    { name: 'events', value: `${flagNames(FD_FLAGS, r.mask)} (${hex(r.mask >>> 0)})`, type: 'long' },
  ];
  if (r.event !== undefined) nodes.push({ name: 'event', value: r.event, type: 'WSAEVENT' });
  if (r.window !== undefined) nodes.push({ name: 'window', value: r.window, type: 'HWND' });
  if (r.message !== undefined) nodes.push({ name: 'message', value: hex(r.message), type: 'u_int' });
  nodes.push({ name: 'process', value: model.processLabel(r.pid) }, { name: 'descriptor', value: handleLabel(r.handle), type: 'SOCKET' }, { name: 'made', value: callLabel(model, r.call) });
  if (r.cancelledBy) nodes.push({ name: 'cancelled by', value: callLabel(model, r.cancelledBy) });
  return nodes;
}

/** "WSAEventSelect FD_READ|FD_CLOSE, event 0x44, by source.exe (pid 364) through 0x1a4 at event 29" */
function registrationText(model: ShareModel, r: Registration): string {
  const target = r.event !== undefined ? `event ${r.event}` : `window ${r.window ?? '?'} message ${hex(r.message ?? 0)}`;
  return `${r.kind} ${flagNames(FD_FLAGS, r.mask)}, ${target}, by ${model.processLabel(r.pid)} through ${handleLabel(r.handle)} at event ${r.call.seq}`;
}

function blockingText(model: ShareModel, s: SocketState): string {
  const mode = s.nonBlocking ? 'non-blocking' : 'blocking';
  return s.nonBlockingSetBy ? `${mode}, set by ${callLabel(model, s.nonBlockingSetBy)}` : mode;
}

function shutdownText(s: SocketState): string {
  if (s.shutdownReceive && s.shutdownSend) return 'both directions (receive and send)';
  if (s.shutdownReceive) return 'receive';
  return s.shutdownSend ? 'send' : 'none';
}

/** One socket: its label, state, descriptors in every process, shared state and registrations. */
export function socketScope(model: ShareModel, socketId: string): VarNode[] {
  const s = model.socket(socketId);
  if (!s) return [{ name: 'socket', value: `${socketId} is not known to the model` }];
  const descriptors = model.descriptorsOf(s);
  const open = descriptors.filter((d) => d.closedSeq === undefined).length;
  const stateChildren: VarNode[] = [{ name: 'phase', value: s.phase }];
  const local = localAddressLabel(s);
  if (local) stateChildren.push({ name: 'local address', value: local });
  if (s.remoteAddress) stateChildren.push({ name: 'remote address', value: s.remoteAddress });
  const from = s.acceptedFrom ? model.socket(s.acceptedFrom) : undefined;
  if (from) stateChildren.push({ name: 'accepted from', value: socketLabel(from) });
  stateChildren.push({ name: 'created', value: `${callLabel(model, s.created)}${s.originUnknown ? ' (first seen through an import; its source was not traced)' : ''}` });
  stateChildren.push({ name: 'flags', value: flagNames(WSA_FLAGS, s.flags) });
  const ends = s.remoteAddress ? `${s.localAddress ?? '?'} -> ${s.remoteAddress}` : (local ?? '');
  return [
    { name: 'label', value: socketLabel(s) },
    { name: 'state', value: ends ? `${s.phase}, ${ends}` : s.phase, children: () => stateChildren },
    { name: 'descriptors', value: `${descriptors.length} (${open} open)`, children: () => descriptors.map((d) => descriptorNode(model, d)) },
    { name: 'blocking mode', value: blockingText(model, s) },
    { name: 'shutdown', value: shutdownText(s) },
    list('options', s.options.map((o) => ({
      name: optionName(o.level, o.optname),
      value: `${o.value ?? '?'}, set by ${callLabel(model, o.call)} through ${descriptorHandle(model, o.descriptorId)}`,
    }))),
    s.registration
      ? { name: 'registration', value: registrationText(model, s.registration), children: () => registrationDetails(model, s.registration as Registration) }
      : { name: 'registration', value: 'none' },
    list('cancelled registrations', s.cancelledRegistrations.map((r) => ({
      name: `${r.kind} by ${model.processLabel(r.pid)}`,
      value: `${registrationText(model, r)}; cancelled by ${r.cancelledBy ? callLabel(model, r.cancelledBy) : '?'}`,
      children: () => registrationDetails(model, r),
    }))),
    { name: 'qos', value: s.qos ? 'enabled' : 'off' },
    { name: 'handoffs', value: s.handoffIds.length ? s.handoffIds.join(', ') : 'none' },
    { name: 'closed', value: s.closedSeq === undefined ? 'open' : `at event ${s.closedSeq}` },
  ];
}

function descriptorHandle(model: ShareModel, id: string): string {
  const d = model.descriptor(id);
  return d ? handleLabel(d.handle) : id;
}

// ---- Handoffs ----

/** "imported at event 27", "pending", "reused (2 imports)", "imported by the wrong process ...", "never imported" */
function handoffStatus(model: ShareModel, h: Handoff): string {
  const never = h.settled === 'never-imported';
  if (h.imports.length > 1) return `reused (${h.imports.length} imports)${never ? '; never imported by the target' : ''}`;
  const first = h.imports[0];
  if (!first) return never ? 'never imported' : 'pending';
  const at = `at event ${first.call.seq}`;
  if (first.call.pid !== h.targetPid) return `imported by the wrong process (${model.processLabel(first.call.pid)}) ${at}${never ? '; never imported by the target' : ''}`;
  if (!first.ok) return `import failed ${at} (${errorName(first.error ?? 0)})${never ? '; never imported' : '; pending'}`;
  return `imported ${at}`;
}

function importNode(model: ShareModel, i: ImportAttempt, index: number): VarNode {
  const d = i.descriptorId ? model.descriptor(i.descriptorId) : undefined;
  const where = `${i.call.api} at event ${i.call.seq}`;
  const value = i.ok
    ? `ok: ${d ? handleLabel(d.handle) : '?'} in ${model.processLabel(i.call.pid)}, ${where}`
    : `failed in ${model.processLabel(i.call.pid)}, ${where}: ${describeError(i.error ?? 0)}`;
  return {
    name: `[${index}]`,
    value,
    children: () => [
      { name: 'call', value: callLabel(model, i.call) },
      { name: 'dwFlags', value: `${flagNames(WSA_FLAGS, i.flags)} (${hex(i.flags >>> 0)})`, type: 'DWORD' },
      i.ok ? { name: 'descriptor', value: d ? handleLabel(d.handle) : '?', type: 'SOCKET' } : { name: 'error', value: describeError(i.error ?? 0) },
    ],
  };
}

function handoffDetails(model: ShareModel, h: Handoff): VarNode[] {
  const socket = h.socketId ? model.socket(h.socketId) : undefined;
  return [
    { name: 'status', value: handoffStatus(model, h) },
    { name: 'source', value: `${model.processLabel(h.sourcePid)}, descriptor ${handleLabel(h.sourceHandle)}` },
    { name: 'target', value: model.processLabel(h.targetPid) },
    { name: 'exported', value: callLabel(model, h.exportCall) },
    socket ? { name: 'socket', value: socketLabel(socket), children: () => socketScope(model, socket.id) } : { name: 'socket', value: 'not traced' },
    list('imports', h.imports.map((i, n) => importNode(model, i, n))),
    ...(h.settled ? [{ name: 'settled', value: h.settled === 'never-imported' ? 'never imported' : 'the source kept its descriptor open' }] : []),
  ];
}

/** Every handoff so far: "h1" → "exported by source.exe (pid 364) for target.exe (pid 512) at event 25: imported at event 27". */
/** The newest `RECENT` items first-hand; older ones under one lazily built node (a large trace has thousands). */
const RECENT = 100;
function recentFirst<T>(items: () => readonly T[], count: number, node: (item: T) => VarNode, olderName: string): VarNode[] {
  if (count <= RECENT * 2) return items().map(node);
  const all = items();
  const older = count - RECENT;
  return [{ name: olderName, value: `${older} earlier`, children: () => all.slice(0, older).map(node) }, ...all.slice(older).map(node)];
}

export function handoffsScope(model: ShareModel): VarNode[] {
  const node = (h: Handoff): VarNode => ({
    name: h.id,
    value: `exported by ${model.processLabel(h.sourcePid)} for ${model.processLabel(h.targetPid)} at event ${h.exportCall.seq}: ${handoffStatus(model, h)}`,
    children: () => handoffDetails(model, h),
  });
  return recentFirst(() => model.handoffs(), model.handoffCount, node, 'earlier handoffs');
}

// ---- Findings ----

function findingDetails(model: ShareModel, f: Finding): VarNode[] {
  return [
    { name: 'rule', value: f.rule },
    { name: 'severity', value: f.severity },
    { name: 'message', value: f.message },
    { name: 'raised at', value: `event ${f.seq}` },
    { name: 'events', value: f.events.join(', ') },
    ...(f.socketLabel ? [{ name: 'socket', value: f.socketLabel }] : []),
    { name: 'pids', value: f.pids.map((pid) => model.processLabel(pid)).join(', ') || 'none' },
  ];
}

/** The findings raised so far, newest last: "error registration-cancelled" → its message. */
export function findingsScope(model: ShareModel): VarNode[] {
  const node = (f: Finding): VarNode => ({ name: `${f.severity} ${f.rule}`, value: f.message, children: () => findingDetails(model, f) });
  return uniqueNames(recentFirst(() => model.findings(), model.findingCount, node, 'earlier findings'));
}
