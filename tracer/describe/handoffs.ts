/**
 * The words for handoffs (a WSADuplicateSocket export and its WSASocket(FROM_PROTOCOL_INFO) imports): who exported
 * what for whom, what became of it, and each import.
 */

import {
  WSA_FLAGS, describeError, errorName, flagNames, handleLabel, hex, socketLabel,
  type Handoff, type ImportAttempt, type ShareModel,
} from '../model';
import { callLabel } from './calls';
import { factList, recentFirst, type Fact } from './facts';
import { socketFacts } from './sockets';

const NOT_IMPORTED_YET = 'not imported yet';

const SETTLED: Readonly<Record<NonNullable<Handoff['settled']>, string>> = {
  'never-imported': 'never imported',
  'source-kept-open': 'the source kept its descriptor open',
};

/** "never imported", "the source kept its descriptor open" */
export function settledText(settled: NonNullable<Handoff['settled']>): string {
  return SETTLED[settled];
}

/** "imported at event 27", "pending", "reused (2 imports)", "imported by the wrong process ...", "never imported" */
export function handoffStatus(model: ShareModel, h: Handoff): string {
  const never = h.settled === 'never-imported';
  if (h.imports.length > 1) return `reused (${h.imports.length} imports)${never ? '; never imported by the target' : ''}`;
  const first = h.imports[0];
  if (!first) return never ? SETTLED['never-imported'] : 'pending';
  const at = `at event ${first.call.seq}`;
  if (first.call.pid !== h.targetPid) return `imported by the wrong process (${model.processLabel(first.call.pid, first.call.seq)}) ${at}${never ? '; never imported by the target' : ''}`;
  if (!first.ok) return `import failed ${at} (${errorName(first.error ?? 0)})${never ? '; never imported' : '; pending'}`;
  return `imported ${at}`;
}

/** A report table's status column: "imported", "never imported", "imported; the source kept its descriptor open", … */
export function handoffOutcome(h: Handoff): string {
  if (h.settled === 'never-imported') return SETTLED['never-imported'];
  if (h.settled === 'source-kept-open') return `imported; ${SETTLED['source-kept-open']}`;
  if (h.imports.some((i) => i.ok && i.call.pid === h.targetPid)) return 'imported';
  return h.imports.length > 0 ? 'not imported by its target' : NOT_IMPORTED_YET;
}

/** "exported by source.exe (pid 364) for target.exe (pid 512) at event 25" */
export function exportText(model: ShareModel, h: Handoff): string {
  const at = h.exportCall.seq;
  return `exported by ${model.processLabel(h.sourcePid, at)} for ${model.processLabel(h.targetPid, at)} at event ${at}`;
}

/** "exported by source.exe (pid 364) for target.exe (pid 512) at event 25, not imported yet" */
export function pendingHandoffText(model: ShareModel, h: Handoff): string {
  return `${exportText(model, h)}, ${NOT_IMPORTED_YET}`;
}

/** "source.exe (pid 364), descriptor 0x1a4" */
export function handoffSourceText(model: ShareModel, h: Handoff): string {
  return `${model.processLabel(h.sourcePid, h.exportCall.seq)}, descriptor ${handleLabel(h.sourceHandle)}`;
}

/** The socket of a handoff by its label, or "not traced". */
export function handoffSocketText(model: ShareModel, h: Handoff): string {
  const socket = h.socketId === undefined ? undefined : model.socket(h.socketId);
  return socket ? socketLabel(socket) : 'not traced';
}

function importedHandle(model: ShareModel, i: ImportAttempt): string | undefined {
  const d = i.descriptorId === undefined ? undefined : model.descriptor(i.descriptorId);
  return d ? handleLabel(d.handle) : undefined;
}

/** "#17 by target.exe (pid 512): descriptor 0x2b8", "#17 by other.exe (pid 777): failed (WSAEINVAL)" */
export function importRowText(model: ShareModel, i: ImportAttempt): string {
  const by = `#${i.call.seq} by ${model.processLabel(i.call.pid, i.call.seq)}`;
  if (!i.ok) return `${by}: failed${i.error === undefined ? '' : ` (${errorName(i.error)})`}`;
  const handle = importedHandle(model, i);
  return handle ? `${by}: descriptor ${handle}` : by;
}

/** "event 17 by target.exe (pid 512) -> descriptor 0x2b8", "event 17 by other.exe (pid 777) failed (WSAEINVAL)" */
export function importLineText(model: ShareModel, i: ImportAttempt): string {
  const by = `event ${i.call.seq} by ${model.processLabel(i.call.pid, i.call.seq)}`;
  if (!i.ok) return `${by} failed${i.error === undefined ? '' : ` (${errorName(i.error)})`}`;
  const handle = importedHandle(model, i);
  return handle ? `${by} -> descriptor ${handle}` : by;
}

function importFact(model: ShareModel, i: ImportAttempt, index: number): Fact {
  const handle = importedHandle(model, i) ?? '?';
  const where = `${i.call.api} at event ${i.call.seq}`;
  const by = model.processLabel(i.call.pid, i.call.seq);
  const value = i.ok ? `ok: ${handle} in ${by}, ${where}` : `failed in ${by}, ${where}: ${describeError(i.error ?? 0)}`;
  return {
    name: `[${index}]`,
    value,
    children: () => [
      { name: 'call', value: callLabel(model, i.call) },
      { name: 'dwFlags', value: `${flagNames(WSA_FLAGS, i.flags)} (${hex(i.flags >>> 0)})`, type: 'DWORD' },
      i.ok ? { name: 'descriptor', value: handle, type: 'SOCKET' } : { name: 'error', value: describeError(i.error ?? 0) },
    ],
  };
}

function handoffDetails(model: ShareModel, h: Handoff): Fact[] {
  const socket = h.socketId ? model.socket(h.socketId) : undefined;
  return [
    { name: 'status', value: handoffStatus(model, h) },
    { name: 'source', value: handoffSourceText(model, h) },
    { name: 'target', value: model.processLabel(h.targetPid, h.exportCall.seq) },
    { name: 'exported', value: callLabel(model, h.exportCall) },
    socket ? { name: 'socket', value: socketLabel(socket), children: () => socketFacts(model, socket.id) } : { name: 'socket', value: 'not traced' },
    factList('imports', h.imports.map((i, n) => importFact(model, i, n))),
    ...(h.settled ? [{ name: 'settled', value: settledText(h.settled) }] : []),
  ];
}

/** Every handoff so far: "h1" → "exported by source.exe (pid 364) for target.exe (pid 512) at event 25: imported at event 27". */
export function handoffFacts(model: ShareModel): Fact[] {
  const fact = (h: Handoff): Fact => ({ name: h.id, value: `${exportText(model, h)}: ${handoffStatus(model, h)}`, children: () => handoffDetails(model, h) });
  return recentFirst(() => model.handoffs(), model.handoffCount, fact, 'earlier handoffs', (n) => model.latestHandoffs(n));
}
