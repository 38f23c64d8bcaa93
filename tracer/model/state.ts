/**
 * The model's state as of one event. Live sockets and descriptors are mutated in place while events are applied;
 * a snapshot (a checkpoint) deep-copies what is live, and closed sockets move to an append-only archive that every
 * snapshot shares and nothing mutates again. So applying an event allocates little, and a checkpoint costs what is live.
 */

import type { ApiCallEvent } from '../trace/schema';
import { CompactArchive, ObjectArchive } from './archive';
import { descriptorCodec, handoffCodec, socketCodec } from './codecs';
import { FindingStore } from './findings';
import type { DescriptorState, Finding, Handoff, ProcessState, SocketState } from './types';

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function processArchiveId(p: ProcessState): string {
  return `${p.pid}@${p.startSeq}`;
}

const NONE: readonly never[] = [];

/** A closed socket as a model without history keeps it: what its label needs, no descriptors, options or handoffs. */
function nameOnly(s: SocketState): SocketState {
  return { ...s, options: NONE, descriptorIds: NONE, handoffIds: NONE, cancelledRegistrations: NONE, registration: null };
}

interface Shared {
  /** Exited processes, by pid and start event (a pid can be reused once its process has exited). */
  archivedProcesses: ObjectArchive<ProcessState>;
  /** pid → the archive ids of the exited processes that had it, in exit order (append-only). */
  archivedProcessIds: Map<number, string[]>;
  /**
   * WSAPROTOCOL_INFO hash → the handoffs that exported it, in order (append-only; a snapshot sees those numbered below
   * its nextHandoff). The same bytes can be exported again later (a provider reuses the handle value it put in them).
   */
  handoffByKey: Map<number, string[]>;
  archivedSockets: CompactArchive<SocketState>;
  archivedDescriptors: CompactArchive<DescriptorState>;
  archivedHandoffs: CompactArchive<Handoff>;
  findings: FindingStore;
}

export interface ModelOptions {
  /**
   * Keep closed sockets and their descriptors for later questions (the debugger and the exports need them). `check`
   * only needs the findings and keeps a closed socket's name only. Handoffs are always kept: a WSAPROTOCOL_INFO can
   * be imported (again) after its socket closed, and that import is a finding.
   */
  keepHistory?: boolean;
}

export class ModelState {
  /** Seq of the last event applied (0 before any). */
  seq = 0;
  /** Running processes; exited ones move to the archive. */
  processes = new Map<number, ProcessState>();
  sockets = new Map<string, Mutable<SocketState>>();
  descriptors = new Map<string, Mutable<DescriptorState>>();
  /** pid → SOCKET value → the descriptor that last held that value in that process (open or closed). */
  handles = new Map<number, Map<number, DescriptorState>>();
  /** Handoffs whose socket is still live; settled ones of closed sockets move to the archive. */
  handoffs = new Map<string, Handoff>();
  /** Exports neither imported nor settled yet: their duplicate holds the socket open. */
  unsettled = new Set<string>();
  pendingCalls = new Map<number, ApiCallEvent>();
  nextSocket = 1;
  nextDescriptor = 1;
  nextHandoff = 1;
  recordsLost = 0;
  archivedProcessCount = 0;
  archivedSocketCount = 0;
  archivedDescriptorCount = 0;
  archivedHandoffCount = 0;
  findingCount = 0;
  private readonly shared: Shared;

  constructor(options: ModelOptions = {}, shared?: Shared) {
    const keep = options.keepHistory ?? true;
    this.shared = shared ?? {
      archivedProcesses: new ObjectArchive<ProcessState>(processArchiveId),
      archivedProcessIds: new Map(),
      handoffByKey: new Map(),
      // Without history a closed socket keeps only what names it: findings raised later still carry its label.
      archivedSockets: new CompactArchive('s', socketCodec, keep ? {} : { reduce: nameOnly }),
      archivedDescriptors: new CompactArchive('d', descriptorCodec, { keep, keyOf: (d) => d.pid }),
      // Filed by their export's seq: the newest handoffs are found without decoding the others.
      archivedHandoffs: new CompactArchive('h', handoffCodec, { keyOf: (h) => h.exportCall.seq }),
      findings: new FindingStore(),
    };
  }

  /**
   * The process with this pid: the one running as of `atSeq` (started at or before it), else the latest that had the
   * pid. Without `atSeq`: the running one, else the latest exited one.
   */
  process(pid: number, atSeq?: number): ProcessState | undefined {
    const running = this.processes.get(pid);
    if (running && (atSeq === undefined || running.startSeq <= atSeq)) return running;
    const ids = this.shared.archivedProcessIds.get(pid) ?? [];
    for (let i = ids.length - 1; i >= 0; i--) {
      const p = this.shared.archivedProcesses.get(ids[i], this.archivedProcessCount);
      if (p && (atSeq === undefined || p.startSeq <= atSeq)) return p;
    }
    return atSeq === undefined ? running : undefined;
  }

  /** Every process, running and exited, in start order. */
  allProcesses(): ProcessState[] {
    const all = [...this.shared.archivedProcesses.slice(this.archivedProcessCount), ...this.processes.values()];
    return all.sort((a, b) => a.startSeq - b.startSeq);
  }

  archiveProcess(pid: number): void {
    const p = this.processes.get(pid);
    if (!p) return;
    this.processes.delete(pid);
    this.shared.archivedProcesses.put(p, this.archivedProcessCount++);
    const id = processArchiveId(p);
    const ids = this.shared.archivedProcessIds.get(pid);
    if (!ids) this.shared.archivedProcessIds.set(pid, [id]);
    // A replay from an older snapshot archives the same process again: keep the list as it is.
    else if (!ids.includes(id)) ids.push(id);
  }

  /** The exports (as of this state) of a WSAPROTOCOL_INFO with this hash, oldest first. */
  handoffIdsByKey(key: number): string[] {
    const ids = this.shared.handoffByKey.get(key);
    if (!ids) return [];
    return ids.filter((id) => Number(id.slice(1)) < this.nextHandoff);
  }

  setHandoffKey(key: number, id: string): void {
    const ids = this.shared.handoffByKey.get(key);
    if (!ids) this.shared.handoffByKey.set(key, [id]);
    // A replay from an older snapshot re-derives the same exports: keep the list as it is.
    else if (!ids.includes(id)) ids.push(id);
  }

  socket(id: string): SocketState | undefined {
    return this.sockets.get(id) ?? this.shared.archivedSockets.get(id, this.archivedSocketCount);
  }

  descriptor(id: string): DescriptorState | undefined {
    return this.descriptors.get(id) ?? this.shared.archivedDescriptors.get(id, this.archivedDescriptorCount);
  }

  handleOf(pid: number, handle: number): DescriptorState | undefined {
    return this.handles.get(pid)?.get(handle);
  }

  setHandle(d: DescriptorState): void {
    let table = this.handles.get(d.pid);
    if (!table) this.handles.set(d.pid, (table = new Map()));
    table.set(d.handle, d);
  }

  handoff(id: string): Handoff | undefined {
    return this.handoffs.get(id) ?? this.shared.archivedHandoffs.get(id, this.archivedHandoffCount);
  }

  /** Every handoff, live and archived, in export order. */
  allHandoffs(): Handoff[] {
    // A reused structure can bring an archived handoff back to the live map: the live version wins.
    const byId = new Map(this.shared.archivedHandoffs.slice(this.archivedHandoffCount).map((h) => [h.id, h]));
    for (const h of this.handoffs.values()) byId.set(h.id, h);
    return [...byId.values()].sort((a, b) => a.exportCall.seq - b.exportCall.seq);
  }

  /** The `n` latest handoffs by their export's seq, oldest first: allHandoffs().slice(-n) without the others. */
  latestHandoffs(n: number): Handoff[] {
    const archived = this.shared.archivedHandoffs.largestKeys(n + this.handoffs.size, this.archivedHandoffCount).filter((h) => !this.handoffs.has(h.id));
    return [...archived, ...this.handoffs.values()].sort((a, b) => a.exportCall.seq - b.exportCall.seq).slice(-n);
  }

  /** Every socket, live and closed, in creation order. */
  allSockets(): SocketState[] {
    const all: SocketState[] = [...this.shared.archivedSockets.slice(this.archivedSocketCount), ...this.sockets.values()];
    return all.sort((a, b) => a.created.seq - b.created.seq);
  }

  /** Every descriptor a process held (its pid may have named several processes), live and closed, in creation order. */
  descriptorsOfPid(pid: number): DescriptorState[] {
    const all = this.shared.archivedDescriptors.where(pid, this.archivedDescriptorCount);
    for (const d of this.descriptors.values()) if (d.pid === pid) all.push(d);
    return all.sort((a, b) => a.created.seq - b.created.seq);
  }

  allDescriptors(): DescriptorState[] {
    const all: DescriptorState[] = [...this.shared.archivedDescriptors.slice(this.archivedDescriptorCount), ...this.descriptors.values()];
    return all.sort((a, b) => a.created.seq - b.created.seq);
  }

  findings(): readonly Finding[] {
    return this.shared.findings.slice(this.findingCount);
  }

  /** The finding raised `index`-th (below findingCount). */
  findingAt(index: number): Finding {
    return this.shared.findings.at(index);
  }

  /** Findings raised by the event with this seq (findings are kept in the order they were raised). */
  findingsRaisedAt(seq: number): Finding[] {
    const all = this.shared.findings;
    let lo = 0;
    let hi = this.findingCount;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (all.seqAt(mid) < seq) lo = mid + 1;
      else hi = mid;
    }
    const raised: Finding[] = [];
    for (let i = lo; i < this.findingCount && all.seqAt(i) === seq; i++) raised.push(all.at(i));
    return raised;
  }

  addFinding(finding: Finding): void {
    const store = this.shared.findings;
    const at = this.findingCount++;
    // Replaying from an older snapshot re-derives the same findings (the model is deterministic).
    if (at < store.length && store.seqAt(at) === finding.seq && store.ruleAt(at) === finding.rule) return;
    store.truncate(at);
    store.push(finding);
  }

  /** What the history of closed entities and findings holds, in bytes (estimated): it grows with the trace. */
  historyBytes(): { sockets: number; descriptors: number; handoffs: number; findings: number } {
    const shared = this.shared;
    return { sockets: shared.archivedSockets.bytes, descriptors: shared.archivedDescriptors.bytes, handoffs: shared.archivedHandoffs.bytes, findings: shared.findings.bytes };
  }

  /** Moves a closed socket, its descriptors and its settled handoffs out of the live maps; they never change again. */
  archiveSocket(socket: SocketState): void {
    for (const id of socket.handoffIds) {
      const h = this.handoffs.get(id);
      if (!h || this.unsettled.has(id)) continue;
      this.handoffs.delete(id);
      this.shared.archivedHandoffs.put(h, this.archivedHandoffCount++);
    }
    this.sockets.delete(socket.id);
    this.shared.archivedSockets.put(socket, this.archivedSocketCount++);
    for (const id of socket.descriptorIds) {
      const d = this.descriptors.get(id);
      if (!d) continue;
      this.descriptors.delete(id);
      this.shared.archivedDescriptors.put(d, this.archivedDescriptorCount++);
    }
  }

  /** An independent copy: live entities are cloned, archived ones (immutable) shared. */
  snapshot(): ModelState {
    const copy = new ModelState({}, this.shared);
    copy.seq = this.seq;
    copy.processes = new Map(this.processes);
    for (const [id, s] of this.sockets) {
      copy.sockets.set(id, { ...s, descriptorIds: [...s.descriptorIds], handoffIds: [...s.handoffIds], options: [...s.options], cancelledRegistrations: [...s.cancelledRegistrations] });
    }
    for (const [id, d] of this.descriptors) copy.descriptors.set(id, { ...d });
    for (const [pid, table] of this.handles) {
      const cloned = new Map<number, DescriptorState>();
      for (const [handle, d] of table) cloned.set(handle, copy.descriptors.get(d.id) ?? d);
      copy.handles.set(pid, cloned);
    }
    copy.handoffs = new Map(this.handoffs);
    copy.unsettled = new Set(this.unsettled);
    copy.archivedProcessCount = this.archivedProcessCount;
    copy.pendingCalls = new Map(this.pendingCalls);
    copy.nextSocket = this.nextSocket;
    copy.nextDescriptor = this.nextDescriptor;
    copy.nextHandoff = this.nextHandoff;
    copy.recordsLost = this.recordsLost;
    copy.archivedSocketCount = this.archivedSocketCount;
    copy.archivedDescriptorCount = this.archivedDescriptorCount;
    copy.archivedHandoffCount = this.archivedHandoffCount;
    copy.findingCount = this.findingCount;
    return copy;
  }
}
