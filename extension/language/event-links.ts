/**
 * How the events of an analysed trace document relate: a call and its return, the handoff an export made or an
 * import took, and the compact line and the part in a finding of any event, worded by tracer/describe.
 */

import { eventLine, involvement as involvementInFinding, type HandoffCalls } from '../../tracer/describe';
import type { Finding, Handoff } from '../../tracer/model';
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

/** Drops the links of an index still being built: its model has more handoffs now. */
export function forgetLinks(index: TraceDocumentIndex): void {
  if (!index.done) handoffLinks.delete(index);
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
  return eventLine(index.event(i), callPair(index, i));
}

/** The entry event of the call `seq` belongs to (the seq itself for a call or a non-api event); no line is parsed. */
export function callSeqOf(index: TraceDocumentIndex, seq: number): number {
  const i = index.indexOfSeq(seq);
  const other = index.partner(i);
  return other >= 0 && other < i ? index.seqOf(other) : seq; // a call comes before its return
}

/** What the call with entry `callSeq` did in `finding`, from the model. */
export function involvement(index: TraceDocumentIndex, callSeq: number, finding: Finding): string {
  const handoffs: HandoffCalls = { byExport: (seq) => handoffOfExport(index, seq), byImport: (seq) => handoffOfImport(index, seq) };
  return involvementInFinding(index.model, handoffs, callSeq, finding, (seq) => {
    const i = index.indexOfSeq(seq);
    return i < 0 ? `event ${seq} involved` : `event ${seq} involved: ${compactEvent(index, i)}`;
  });
}
