/**
 * Moving around a trace: go to definition (an import to its export, a SOCKET value to the call that created that
 * descriptor, a return to its call), the outline (processes with their threads, sockets with their descriptors) and
 * the "Replay from here" code lenses. Links come from the model (handoffs, descriptors as of the event).
 */

import { SymbolKind, type CodeLens, type DocumentSymbol, type Location, type Range } from 'vscode-languageserver';
import { descriptorAt, eventOwner, exitNote, handleInProcess, openOrClosedText, originShortText, socketEndText, socketLabel } from '../../tracer/describe';
import { callSeqOf, handoffOfImport } from './event-links';
import type { ProcessMark, TraceDocumentIndex } from './document-index';
import { propertyAt } from './json-line';

/** Outline entries of each kind (processes, sockets) listed; a last entry says how many more there are. */
export const MAX_SYMBOLS_EACH = 2000;
/** Code lenses at most: finding lines first, then the handoffs' export and import calls in trace order. */
export const MAX_CODE_LENSES = 2000;
export const REPLAY_COMMAND = 'sockshare.replayFromHere';

function locationOfSeq(index: TraceDocumentIndex, seq: number): Location | null {
  const line = index.lineOfSeq(seq);
  return line < 0 ? null : { uri: index.uri, range: index.lineRange(line) };
}

/** The call that created the descriptor a SOCKET value names in `pid` as of event `i`. */
function descriptorOrigin(index: TraceDocumentIndex, i: number, pid: number, handle: number): Location | null {
  const d = descriptorAt(index.modelAt(i), pid, handle, index.seqOf(i));
  return d ? locationOfSeq(index, d.created.seq) : null;
}

export function definition(index: TraceDocumentIndex, line: number, character: number): Location | null {
  const i = index.eventAtLine(line);
  if (i < 0) return null;
  const event = index.event(i);
  if (event.kind !== 'api') return null;
  const path = propertyAt(index.lineText(line), character);
  if (event.phase === 'call') {
    const s = event.args.s;
    const onHandle = path === 'args.s' && typeof s === 'number';
    const handoff = handoffOfImport(index, event.seq);
    if (handoff && !onHandle) return locationOfSeq(index, handoff.exportCall.seq);
    return typeof s === 'number' ? descriptorOrigin(index, i, event.pid, s) : null;
  }
  if (path === 'result' && event.result >= 0) {
    const origin = descriptorOrigin(index, i, event.pid, event.result);
    if (origin) return origin;
  }
  return locationOfSeq(index, event.callSeq);
}

function span(index: TraceDocumentIndex, first: number, last: number): Range {
  const end = Math.max(first, last);
  return { start: { line: first, character: 0 }, end: { line: end, character: index.lineText(end).length } };
}

function more(index: TraceDocumentIndex, count: number, what: string): DocumentSymbol[] {
  if (count <= 0) return [];
  const range = index.lineRange(index.lineCount - 1);
  return [{ name: `(${count} more ${what} not listed)`, kind: SymbolKind.Null, range, selectionRange: range }];
}

function processSymbols(index: TraceDocumentIndex): DocumentSymbol[] {
  const model = index.model;
  const lastLine = index.eventCount > 0 ? index.eventLine(index.eventCount - 1) : 0;
  const processes = model.processes();
  const threadsOf = new Map<number, ProcessMark[]>();
  for (const t of index.threadStarts) {
    const list = threadsOf.get(t.pid);
    if (list) list.push(t);
    else threadsOf.set(t.pid, [t]);
  }
  const symbols: DocumentSymbol[] = [];
  for (const p of processes.slice(0, MAX_SYMBOLS_EACH)) {
    const first = index.lineOfSeq(p.startSeq);
    if (first < 0) continue;
    const last = p.exitSeq === undefined ? lastLine : Math.max(first, index.lineOfSeq(p.exitSeq));
    const threads = (threadsOf.get(p.pid) ?? []).filter((t) => t.line >= first && t.line <= last);
    symbols.push({
      name: eventOwner(model, p.pid, p.startSeq),
      detail: exitNote(p),
      kind: SymbolKind.Module,
      range: span(index, first, last),
      selectionRange: index.lineRange(first),
      children: threads.map((t) => ({ name: `thread ${t.tid}`, kind: SymbolKind.Event, range: index.lineRange(t.line), selectionRange: index.lineRange(t.line) })),
    });
  }
  return [...symbols, ...more(index, processes.length - MAX_SYMBOLS_EACH, 'processes')];
}

function socketSymbols(index: TraceDocumentIndex): DocumentSymbol[] {
  const model = index.model;
  const sockets = model.sockets();
  const symbols: DocumentSymbol[] = [];
  for (const s of sockets.slice(0, MAX_SYMBOLS_EACH)) {
    const first = index.lineOfSeq(s.created.seq);
    if (first < 0) continue;
    let last = s.closedSeq === undefined ? first : index.lineOfSeq(s.closedSeq);
    const children: DocumentSymbol[] = [];
    for (const d of model.descriptorsOf(s)) {
      const created = index.lineOfSeq(d.created.seq);
      if (created < 0) continue;
      const closed = d.closedSeq === undefined ? created : index.lineOfSeq(d.closedSeq);
      last = Math.max(last, created, closed);
      children.push({
        name: handleInProcess(model, d),
        detail: `${originShortText(d)}, ${openOrClosedText(d)}`,
        kind: SymbolKind.Variable,
        range: span(index, created, closed),
        selectionRange: index.lineRange(created),
      });
    }
    symbols.push({
      name: socketLabel(s),
      detail: `${s.phase}, ${socketEndText(s)}`,
      kind: SymbolKind.Object,
      range: span(index, first, last),
      selectionRange: index.lineRange(first),
      children,
    });
  }
  return [...symbols, ...more(index, sockets.length - MAX_SYMBOLS_EACH, 'sockets')];
}

/** Processes (start order) then sockets (creation order). */
export function symbols(index: TraceDocumentIndex): DocumentSymbol[] {
  if (index.header === undefined) return [];
  return [...processSymbols(index), ...socketSymbols(index)];
}

/** "Replay from here" on the call of each error or warning finding, and on each export and import call. */
export function codeLenses(index: TraceDocumentIndex): CodeLens[] {
  if (index.header === undefined) return [];
  const seqs = new Set<number>();
  const add = (seq: number) => {
    if (seqs.size < MAX_CODE_LENSES) seqs.add(seq);
  };
  for (const f of index.model.findings()) if (f.severity !== 'info') add(callSeqOf(index, f.seq));
  for (const h of index.model.handoffs()) {
    if (seqs.size >= MAX_CODE_LENSES) break;
    add(h.exportCall.seq);
    for (const i of h.imports) add(i.call.seq);
  }
  const lenses: CodeLens[] = [];
  for (const seq of seqs) {
    const line = index.lineOfSeq(seq);
    if (line < 0) continue;
    lenses.push({ range: index.lineRange(line), command: { title: 'Replay from here', command: REPLAY_COMMAND, arguments: [index.uri, seq] } });
  }
  return lenses.sort((a, b) => a.range.start.line - b.range.start.line);
}
