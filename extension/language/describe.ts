/**
 * Short words for events: the compact form of an event line, and what part an event played in a finding (the
 * registration that was cancelled, the export, the import, the call that created a descriptor). The facts come from
 * the model; this only words them.
 */

import { baseName, handleLabel, socketLabel, type Finding, type Handoff } from '../../tracer/model';
import { formatCall, truncate } from '../../tracer/export/format';
import type { ApiCallEvent, ApiReturnEvent } from '../../tracer/trace';
import type { TraceDocumentIndex } from './document-index';

interface HandoffLinks {
  readonly byImport: Map<number, Handoff>;
  readonly byExport: Map<number, Handoff>;
}
const handoffLinks = new WeakMap<TraceDocumentIndex, HandoffLinks>();

/** The model's handoffs by the seq of their export call and of each import call, built once per index. */
function linksOf(index: TraceDocumentIndex): HandoffLinks {
  let links = handoffLinks.get(index);
  if (!links) {
    links = { byImport: new Map(), byExport: new Map() };
    for (const h of index.model.handoffs()) {
      links.byExport.set(h.exportCall.seq, h);
      for (const i of h.imports) links.byImport.set(i.call.seq, h);
    }
    handoffLinks.set(index, links);
  }
  return links;
}

/** The handoff an import call (by its entry seq) took its WSAPROTOCOL_INFO from. */
export function handoffOfImport(index: TraceDocumentIndex, callSeq: number): Handoff | undefined {
  return linksOf(index).byImport.get(callSeq);
}

/** The handoff an export call (by its entry seq) made. */
export function handoffOfExport(index: TraceDocumentIndex, callSeq: number): Handoff | undefined {
  return linksOf(index).byExport.get(callSeq);
}

/** The call and return of the api event with index `i` (either side), as far as the trace has them. */
export function callPair(index: TraceDocumentIndex, i: number): { call?: ApiCallEvent; ret?: ApiReturnEvent; callIndex: number; retIndex: number } {
  const event = index.event(i);
  if (event.kind !== 'api') return { callIndex: -1, retIndex: -1 };
  const other = index.partner(i);
  const otherEvent = other >= 0 ? index.event(other) : undefined;
  if (event.phase === 'call') return { call: event, ret: otherEvent as ApiReturnEvent | undefined, callIndex: i, retIndex: other };
  return { call: otherEvent as ApiCallEvent | undefined, ret: event, callIndex: other, retIndex: i };
}

/** "WSAEventSelect(s=0x2c, hEventObject=0x40, lNetworkEvents=FD_READ) = 0", "process-exit (exit code 0)". */
export function compactEvent(index: TraceDocumentIndex, i: number): string {
  const e = index.event(i);
  switch (e.kind) {
    case 'api': {
      const { call, ret } = callPair(index, i);
      if (call) return formatCall(call, ret);
      return `${e.api} returned ${e.phase === 'return' ? e.result : '?'} (its call is not in the trace)`;
    }
    case 'process-start':
      return `process-start ${baseName(e.image)} (pid ${e.pid}, parent pid ${e.parentPid})`;
    case 'process-exit':
      return `process-exit (exit code ${e.exitCode})`;
    case 'thread-start':
      return `thread-start tid ${e.tid}`;
    case 'thread-exit':
      return `thread-exit tid ${e.tid} (exit code ${e.exitCode})`;
    case 'module-load':
      return `module-load ${e.module} at ${e.base}`;
    case 'output':
      return `output on ${e.stream}: ${truncate(e.text.replace(/\s+/g, ' ').trim(), 80)}`;
    case 'records-lost':
      return `records-lost: ${e.count} records`;
    case 'capture-setup':
      return `capture-setup: ${e.inProcess.length} APIs recorded in the process, ${e.onBreakpoints.length} on breakpoints${e.unwindData ? '' : ', no unwind data'}`;
  }
}

/** The entry event of the call `seq` belongs to (the seq itself for a call or a non-api event); no line is parsed. */
export function callSeqOf(index: TraceDocumentIndex, seq: number): number {
  const i = index.indexOfSeq(seq);
  const other = index.partner(i);
  return other >= 0 && other < i ? index.seqOf(other) : seq; // a call comes before its return
}

/** What the call with entry `callSeq` did in `finding`, from the model. */
export function involvement(index: TraceDocumentIndex, callSeq: number, finding: Finding): string {
  const model = index.model;
  const socket = finding.socketId === undefined ? undefined : model.socket(finding.socketId);
  if (socket) {
    for (const r of socket.cancelledRegistrations) {
      if (r.call.seq === callSeq) return `the ${r.kind} whose registration was cancelled (${model.processLabel(r.pid)}, descriptor ${handleLabel(r.handle)})`;
      if (r.cancelledBy?.seq === callSeq) return `the ${r.cancelledBy.api} that cancelled the registration of ${model.processLabel(r.pid)}`;
    }
    if (socket.created.seq === callSeq) return `the ${socket.created.api} that created ${socketLabel(socket)}`;
    for (const d of model.descriptorsOf(socket)) {
      const where = `descriptor ${handleLabel(d.handle)} in ${model.processLabel(d.pid)}`;
      if (d.created.seq === callSeq) return `the ${d.created.api} that ${d.origin === 'import' ? 'imported' : 'created'} ${where}`;
      if (d.closeEvents?.includes(callSeq)) return `the ${d.closedBy === 'process-exit' ? 'process exit' : (d.closedBy ?? 'closesocket')} that closed ${where}`;
    }
  }
  const exported = handoffOfExport(index, callSeq);
  if (exported) return `the export: ${exported.exportCall.api} in ${model.processLabel(exported.sourcePid)} for ${model.processLabel(exported.targetPid)}`;
  const imported = handoffOfImport(index, callSeq);
  if (imported) {
    const n = imported.imports.findIndex((i) => i.call.seq === callSeq);
    const which = n === 0 ? 'the first import' : `import ${n + 1}`;
    return `${which} of the WSAPROTOCOL_INFO exported at event ${imported.exportCall.seq}, in ${model.processLabel(imported.imports[n].call.pid)}`;
  }
  const i = index.indexOfSeq(callSeq);
  return i < 0 ? `event ${callSeq} involved` : `event ${callSeq} involved: ${compactEvent(index, i)}`;
}
