/**
 * The debugger's scopes as plain trees, knowing nothing of DAP: the current call, the process's descriptors, one
 * socket, the handoffs and the findings. Every fact comes from the model (tracer/model); every word from
 * tracer/describe.
 */

import { descriptorWithSocket, findingFacts, handleLabel, handoffFacts, socketFacts, socketOfCall, threadName, uniqueNames } from '../tracer/describe';
import type { ShareModel } from '../tracer/model';
import type { VarNode } from './var-node';

export type { VarNode } from './var-node';
export { callScope } from './presenter-call';
export { threadName };

/** The socket the call is about (tracer/describe's socketOfCall). */
export const currentSocketId = socketOfCall;

/** This process's descriptors, open ones first, each expanding to its socket. */
export function descriptorsScope(model: ShareModel, pid: number): VarNode[] {
  const all = model.descriptorsIn(pid);
  const ordered = [...all.filter((d) => d.closedSeq === undefined), ...all.filter((d) => d.closedSeq !== undefined)];
  return uniqueNames(
    ordered.map((d) => ({ name: handleLabel(d.handle), value: descriptorWithSocket(model, d), type: 'SOCKET', children: () => socketFacts(model, d.socketId) })),
  );
}

/** One socket: its label, state, descriptors in every process, shared state and registrations. */
export function socketScope(model: ShareModel, socketId: string): VarNode[] {
  return socketFacts(model, socketId);
}

/** Every handoff so far: "h1" → "exported by source.exe (pid 364) for target.exe (pid 512) at event 25: imported at event 27". */
export function handoffsScope(model: ShareModel): VarNode[] {
  return handoffFacts(model);
}

/** The findings raised so far, newest last: "error registration-cancelled" → its message. */
export function findingsScope(model: ShareModel): VarNode[] {
  return findingFacts(model);
}
