/**
 * The model's state as of one event: maps of immutable entities. A snapshot copies the maps (not the entities),
 * and closed sockets move to an append-only archive shared by every snapshot, so a checkpoint costs what is live.
 */

import type { ApiCallEvent } from '../trace/schema';
import type { DescriptorState, Finding, Handoff, ProcessState, SocketState } from './types';

/** Append-only store shared by all snapshots; a snapshot sees the first `length` entries. */
class Archive<T extends { id: string }> {
  private readonly items: T[] = [];
  private readonly index = new Map<string, number>();
  /** Puts `item` at position `at`; a replay from an older snapshot finds the same item already there and keeps it. */
  put(item: T, at: number): void {
    if (this.items[at]?.id === item.id) return;
    this.truncate(at);
    this.index.set(item.id, this.items.length);
    this.items.push(item);
  }
  get(id: string, visibleLength: number): T | undefined {
    const i = this.index.get(id);
    return i !== undefined && i < visibleLength ? this.items[i] : undefined;
  }
  slice(visibleLength: number): T[] {
    return this.items.slice(0, visibleLength);
  }
  private truncate(length: number): void {
    for (let i = length; i < this.items.length; i++) this.index.delete(this.items[i].id);
    this.items.length = Math.min(this.items.length, length);
  }
}

interface Shared {
  archivedSockets: Archive<SocketState>;
  archivedDescriptors: Archive<DescriptorState>;
  findings: Finding[];
}

export class ModelState {
  /** Seq of the last event applied (0 before any). */
  seq = 0;
  processes = new Map<number, ProcessState>();
  sockets = new Map<string, SocketState>();
  descriptors = new Map<string, DescriptorState>();
  /** "pid:handle" → the descriptor that last held that SOCKET value in that process (open or closed). */
  handles = new Map<string, string>();
  handoffs = new Map<string, Handoff>();
  handoffByKey = new Map<string, string>();
  pendingCalls = new Map<number, ApiCallEvent>();
  nextSocket = 1;
  nextDescriptor = 1;
  nextHandoff = 1;
  recordsLost = 0;
  archivedSocketCount = 0;
  archivedDescriptorCount = 0;
  findingCount = 0;
  private readonly shared: Shared;

  constructor(shared?: Shared) {
    this.shared = shared ?? { archivedSockets: new Archive(), archivedDescriptors: new Archive(), findings: [] };
  }

  socket(id: string): SocketState | undefined {
    return this.sockets.get(id) ?? this.shared.archivedSockets.get(id, this.archivedSocketCount);
  }

  descriptor(id: string): DescriptorState | undefined {
    return this.descriptors.get(id) ?? this.shared.archivedDescriptors.get(id, this.archivedDescriptorCount);
  }

  /** Every socket, live and closed, in creation order. */
  allSockets(): SocketState[] {
    const all = [...this.shared.archivedSockets.slice(this.archivedSocketCount), ...this.sockets.values()];
    return all.sort((a, b) => a.created.seq - b.created.seq);
  }

  allDescriptors(): DescriptorState[] {
    const all = [...this.shared.archivedDescriptors.slice(this.archivedDescriptorCount), ...this.descriptors.values()];
    return all.sort((a, b) => a.created.seq - b.created.seq);
  }

  findings(): readonly Finding[] {
    return this.shared.findings.slice(0, this.findingCount);
  }

  addFinding(finding: Finding): void {
    const known = this.shared.findings[this.findingCount];
    // Replaying from an older snapshot re-derives the same findings (the model is deterministic).
    if (!known || known.seq !== finding.seq || known.rule !== finding.rule) {
      this.shared.findings.length = this.findingCount;
      this.shared.findings.push(finding);
    }
    this.findingCount++;
  }

  /** Moves a closed socket and its descriptors out of the live maps. */
  archiveSocket(socket: SocketState): void {
    this.sockets.delete(socket.id);
    this.shared.archivedSockets.put(socket, this.archivedSocketCount++);
    for (const id of socket.descriptorIds) {
      const d = this.descriptors.get(id);
      if (!d) continue;
      this.descriptors.delete(id);
      this.shared.archivedDescriptors.put(d, this.archivedDescriptorCount++);
    }
  }

  snapshot(): ModelState {
    const copy = new ModelState(this.shared);
    copy.seq = this.seq;
    copy.processes = new Map(this.processes);
    copy.sockets = new Map(this.sockets);
    copy.descriptors = new Map(this.descriptors);
    copy.handles = new Map(this.handles);
    copy.handoffs = new Map(this.handoffs);
    copy.handoffByKey = new Map(this.handoffByKey);
    copy.pendingCalls = new Map(this.pendingCalls);
    copy.nextSocket = this.nextSocket;
    copy.nextDescriptor = this.nextDescriptor;
    copy.nextHandoff = this.nextHandoff;
    copy.recordsLost = this.recordsLost;
    copy.archivedSocketCount = this.archivedSocketCount;
    copy.archivedDescriptorCount = this.archivedDescriptorCount;
    copy.findingCount = this.findingCount;
    return copy;
  }
}
