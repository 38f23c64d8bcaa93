/**
 * The "Shared Sockets" view's content as of the current stop: open sockets with their descriptors per process and
 * registration, pending handoffs, recent findings. Plain JSON (it crosses DAP as a custom response).
 */

import { socketLabel, type ShareModel } from '../tracer/model';
import { findingsScope, socketScope, type VarNode } from './presenter';

export interface OverviewNode {
  label: string;
  description?: string;
  /** A finding's severity, for an icon. */
  severity?: string;
  /** The event to move a replay to when the node is chosen. */
  seq?: number;
  children?: OverviewNode[];
}

function plain(node: VarNode, depth: number): OverviewNode {
  return { label: node.name, description: node.value, ...(node.children && depth > 0 ? { children: node.children().map((c) => plain(c, depth - 1)) } : {}) };
}

export function sharedSocketsOverview(model: ShareModel): OverviewNode[] {
  const sockets = model.openSockets().map((s) => {
    const holders = model.descriptorsOf(s).filter((d) => d.closedSeq === undefined);
    const pids = new Set(holders.map((d) => d.pid));
    const registration = s.registration ? `, ${s.registration.kind} by pid ${s.registration.pid}` : '';
    return {
      label: socketLabel(s),
      description: `${holders.length} descriptor${holders.length === 1 ? '' : 's'} in ${pids.size} process${pids.size === 1 ? '' : 'es'}${registration}`,
      seq: s.created.seq,
      children: socketScope(model, s.id).map((n) => plain(n, 2)),
    };
  });
  const pending = model.pendingHandoffs().map((h) => ({ label: h.id, description: `exported by ${model.processLabel(h.sourcePid)} for ${model.processLabel(h.targetPid)} at event ${h.exportCall.seq}, not imported yet`, seq: h.exportCall.seq }));
  const findings = model.findings().filter((f) => f.severity !== 'info');
  const recent = findingsScope(model)
    .filter((n) => !n.name.startsWith('info') && !n.name.startsWith('earlier'))
    .slice(-50)
    .reverse()
    .map((n) => plain(n, 1));
  return [
    { label: 'Sockets', description: `${sockets.length} open`, children: sockets },
    { label: 'Pending handoffs', description: String(pending.length), children: pending },
    { label: 'Findings', description: `${findings.filter((f) => f.severity === 'error').length} errors, ${findings.filter((f) => f.severity === 'warning').length} warnings`, children: recent.map((n, i) => ({ ...n, severity: findings[findings.length - 1 - i]?.severity })) },
  ];
}
