/**
 * The shared-socket model: a pure, incremental state machine over trace events. No I/O, no clocks.
 * Feed events in order with apply(); call finish() when the trace ends; ask the state at any point.
 */

import type { ApiCallEvent, ApiReturnEvent, TraceEvent } from '../trace/schema';
import { applyCall } from './calls';
import { CallContext } from './context';
import { plural, processLabel } from './describe';
import { settleNeverImported } from './handoff';
import { closeDescriptor, raise } from './ops';
import { ModelState } from './state';
import type { DescriptorState, Finding, Handoff, ProcessState, SocketState } from './types';

export type ProcessRole = 'source' | 'target' | 'source+target' | 'child' | 'process';

export class ShareModel {
  private finished = false;

  constructor(public state: ModelState = new ModelState()) {}

  /** A model that keeps only what findings need (no closed sockets for later questions): what `check` uses. */
  static findingsOnly(): ShareModel {
    return new ShareModel(new ModelState({ keepHistory: false }));
  }

  /** Applies one event. Events must come in ascending seq order. */
  apply(event: TraceEvent): void {
    const state = this.state;
    state.seq = event.seq;
    switch (event.kind) {
      case 'process-start':
        // A pid is reused only after its process exited: a start for a running pid means that exit was not recorded.
        if (state.processes.has(event.pid)) this.exitProcess(event.pid, undefined, event.seq);
        state.processes.set(event.pid, event.attached ? attachedProcess(newProcess(event.pid, event.parentPid, event.image, event.commandLine, event.seq)) : newProcess(event.pid, event.parentPid, event.image, event.commandLine, event.seq));
        return;
      case 'process-exit':
        return this.exitProcess(event.pid, event.exitCode, event.seq);
      case 'thread-start':
        return this.updateProcess(event.pid, (p) => ({ threads: [...p.threads, event.tid] }));
      case 'thread-exit':
        return this.updateProcess(event.pid, (p) => ({ threads: p.threads.filter((t) => t !== event.tid) }));
      case 'records-lost':
        state.recordsLost += event.count;
        raise(state, 'records-lost', `The capture lost ${plural(event.count, 'record')} in ${processLabel(state, event.pid)}: findings about this process may be incomplete.`, [event.seq], { pids: [event.pid] });
        return;
      case 'api':
        if (event.phase === 'call') state.pendingCalls.set(event.seq, event);
        else this.applyReturn(event);
        return;
      default:
        return;
    }
  }

  /** The trace ended: exports that no process imported can no longer be. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    settleNeverImported(this.state, undefined, []);
  }

  private applyReturn(ret: ApiReturnEvent): void {
    const call: ApiCallEvent | undefined = this.state.pendingCalls.get(ret.callSeq);
    // The reader rejects a return that is not its call's (tracer/trace/validate.ts checkReturnMatchesCall).
    if (!call || call.pid !== ret.pid || call.api !== ret.api) return;
    this.state.pendingCalls.delete(ret.callSeq);
    // Calls Winsock makes from inside ws2_32 are not the program's own.
    if (call.internal) return;
    applyCall(new CallContext(this.state, call, ret));
  }

  private updateProcess(pid: number, change: (p: ProcessState) => Partial<ProcessState>): void {
    const p = this.state.processes.get(pid);
    if (p) this.state.processes.set(pid, { ...p, ...change(p) });
  }

  /** Process exit: pending exports for it leak, and the system closes every descriptor it still holds. */
  private exitProcess(pid: number, exitCode: number | undefined, seq: number): void {
    const state = this.state;
    this.updateProcess(pid, () => ({ exitSeq: seq, exitCode, threads: [] }));
    // Its labels stay available (messages name it) from the archive of exited processes.
    settleNeverImported(state, pid, [seq]);
    for (const d of [...(state.handles.get(pid)?.values() ?? [])]) {
      if (d.closedSeq === undefined) closeDescriptor(state, d, 'process-exit', [seq]);
    }
    state.handles.delete(pid);
    for (const [callSeq, call] of state.pendingCalls) if (call.pid === pid) state.pendingCalls.delete(callSeq);
    state.archiveProcess(pid);
  }

  // ---- Questions the adapter, the language server and the exports ask. ----

  get seq(): number {
    return this.state.seq;
  }

  findings(): readonly Finding[] {
    return this.state.findings();
  }

  get findingCount(): number {
    return this.state.findingCount;
  }

  /** Findings the event with this seq raised. */
  findingsRaisedAt(seq: number): Finding[] {
    return this.state.findingsRaisedAt(seq);
  }

  processes(): ProcessState[] {
    return this.state.allProcesses();
  }

  /** The process with this pid as of `atSeq` (a pid is reused once its process exits); without it, the latest. */
  process(pid: number, atSeq?: number): ProcessState | undefined {
    return this.state.process(pid, atSeq);
  }

  /** "source.exe (pid 364)": the process that had the pid as of `atSeq` (without it, the latest). */
  processLabel(pid: number, atSeq?: number): string {
    return processLabel(this.state, pid, atSeq);
  }

  sockets(): SocketState[] {
    return this.state.allSockets();
  }

  socket(id: string): SocketState | undefined {
    return this.state.socket(id);
  }

  /** Sockets not closed yet. */
  openSockets(): SocketState[] {
    return [...this.state.sockets.values()].filter((s) => s.closedSeq === undefined);
  }

  /** Exports not imported (by their target) and not settled yet. */
  pendingHandoffs(): Handoff[] {
    return [...this.state.unsettled].map((id) => this.state.handoff(id)).filter((h): h is Handoff => h !== undefined);
  }

  descriptor(id: string): DescriptorState | undefined {
    return this.state.descriptor(id);
  }

  /** Descriptors of one socket in every process, open and closed, in creation order. */
  descriptorsOf(socket: SocketState): DescriptorState[] {
    return socket.descriptorIds.map((id) => this.state.descriptor(id)).filter((d): d is DescriptorState => d !== undefined);
  }

  /**
   * Descriptors a process holds (open) or held (closed). For a running process: those of its live sockets and the
   * last holder of each SOCKET value, without walking the history; for an exited one, the whole history.
   */
  descriptorsIn(pid: number): DescriptorState[] {
    const table = this.state.handles.get(pid);
    if (!table) return this.state.descriptorsOfPid(pid);
    const found = new Map<string, DescriptorState>();
    for (const d of this.state.descriptors.values()) if (d.pid === pid) found.set(d.id, d);
    for (const d of table.values()) found.set(d.id, d);
    return [...found.values()].sort((a, b) => a.created.seq - b.created.seq);
  }

  /** The descriptor a SOCKET value names in a process right now (the latest holder of that value). */
  descriptorByHandle(pid: number, handle: number): DescriptorState | undefined {
    return this.state.handleOf(pid, handle);
  }

  handoffs(): Handoff[] {
    return this.state.allHandoffs();
  }

  /** The `n` latest handoffs (by export), oldest first. */
  latestHandoffs(n: number): Handoff[] {
    return this.state.latestHandoffs(n);
  }

  /** The `n` latest findings, oldest first. */
  latestFindings(n: number): Finding[] {
    const count = this.state.findingCount;
    const findings: Finding[] = [];
    for (let i = Math.max(0, count - n); i < count; i++) findings.push(this.state.findingAt(i));
    return findings;
  }

  /** How many handoffs so far (cheap: no list is built). */
  get handoffCount(): number {
    return this.state.nextHandoff - 1;
  }

  /** Processes running now (their threads are the debugger's threads). */
  running(): ProcessState[] {
    return [...this.state.processes.values()];
  }

  /** Source: duplicated a socket for another process; target: imported one; child: started by a traced process. */
  role(pid: number, atSeq?: number): ProcessRole {
    const p = this.state.process(pid, atSeq);
    if (p?.exported && p.imported) return 'source+target';
    if (p?.exported) return 'source';
    if (p?.imported) return 'target';
    return p && this.state.process(p.parentPid, p.startSeq) ? 'child' : 'process';
  }

}

/** A process as it starts; every property there from the start, so every process has one shape. */
function newProcess(pid: number, parentPid: number, image: string, commandLine: string, startSeq: number): ProcessState {
  return { pid, parentPid, image, commandLine, startSeq, exitSeq: undefined, exitCode: undefined, threads: [], wsaStartups: 0, cleanedUpBy: undefined, exported: undefined, imported: undefined };
}

/** A process attached to while running: its WSAStartup came before the trace, so it counts as made. */
function attachedProcess(p: ProcessState): ProcessState {
  return { ...p, attached: true, wsaStartups: 1 };
}

/** Runs a whole trace through a fresh model. */
export function modelOf(events: Iterable<TraceEvent>, finish = true): ShareModel {
  const model = new ShareModel();
  for (const e of events) model.apply(e);
  if (finish) model.finish();
  return model;
}
