/**
 * The words for descriptors: where one came from, whether it is open, and what closed it ("closed by" is worded here
 * only). The model's own finding messages word closes as sentences of their own (tracer/model/ops.ts).
 */

import { handleLabel, type CallRef, type DescriptorState, type ShareModel } from '../model';

export type ClosedBy = NonNullable<DescriptorState['closedBy']>;

const CLOSED_BY: Readonly<Record<ClosedBy, string>> = {
  closesocket: 'closesocket',
  'process-exit': 'process exit',
  WSACleanup: 'WSACleanup',
};

/** "closesocket", "process exit", "WSACleanup": what closed a descriptor (closesocket when the trace does not say). */
export function closedByText(by: ClosedBy | undefined): string {
  return CLOSED_BY[by ?? 'closesocket'];
}

/** "closed at event 30 by closesocket" */
export function closedText(d: Pick<DescriptorState, 'closedSeq' | 'closedBy'>): string {
  return `closed at event ${d.closedSeq} by ${closedByText(d.closedBy)}`;
}

/** "open", or "closed at event 30 by process exit" */
export function openOrClosedText(d: Pick<DescriptorState, 'closedSeq' | 'closedBy'>): string {
  return d.closedSeq === undefined ? 'open' : closedText(d);
}

/** "created by socket at event 9", "imported from handoff h1 at event 27", "accepted by accept at event 14" */
export function originText(d: DescriptorState): string {
  const at = `at event ${d.created.seq}`;
  switch (d.origin) {
    case 'import': return d.handoffId ? `imported from handoff ${d.handoffId} ${at}` : `imported ${at} (the export was not traced)`;
    case 'accept': return `accepted by ${d.created.api} ${at}`;
    default: return `created by ${d.created.api} ${at}`;
  }
}

/** "imported (handoff h1)", "from WSASocketW": the origin in a table column. */
export function originShortText(d: DescriptorState): string {
  return d.origin === 'import' ? `imported${d.handoffId ? ` (handoff ${d.handoffId})` : ''}` : `from ${d.created.api}`;
}

/** "0x1a4 in source.exe (pid 364)": a descriptor named by its handle where the socket is already said. */
export function handleInProcess(model: ShareModel, d: Pick<DescriptorState, 'pid' | 'handle'> & { readonly created?: CallRef }): string {
  return `${handleLabel(d.handle)} in ${model.processLabel(d.pid, d.created?.seq)}`;
}

/** The handle of a descriptor by id, or the id when the model does not know it. */
export function descriptorHandle(model: ShareModel, id: string): string {
  const d = model.descriptor(id);
  return d ? handleLabel(d.handle) : id;
}
