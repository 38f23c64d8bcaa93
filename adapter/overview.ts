/**
 * The "Shared Sockets" view's content as of the current stop: open sockets with their descriptors per process and
 * registration, pending handoffs, recent findings. Plain JSON (it crosses DAP as a custom response).
 */

import { findingProcesses, findingTitle, pendingHandoffText, plural, socketFacts, socketLabel, type Fact } from '../tracer/describe';
import type { Finding, ShareModel } from '../tracer/model';

export interface OverviewNode {
  label: string;
  description?: string;
  /** A finding's severity, for an icon. */
  severity?: string;
  /**
   * The event to move a replay to when the node is chosen: one at which what the node shows exists (a socket's
   * creating call has returned, an export has returned, a finding has been raised).
   */
  seq?: number;
  children?: OverviewNode[];
}

/** Recent errors and warnings the view lists, newest first. */
const RECENT_FINDINGS = 50;

function plain(node: Fact, depth: number): OverviewNode {
  return { label: node.name, description: node.value, ...(node.children && depth > 0 ? { children: node.children().map((c) => plain(c, depth - 1)) } : {}) };
}

export function sharedSocketsOverview(model: ShareModel): OverviewNode[] {
  const sockets = model.openSockets().map((s) => {
    const holders = model.descriptorsOf(s).filter((d) => d.closedSeq === undefined);
    const pids = new Set(holders.map((d) => d.pid));
    const registration = s.registration ? `, ${s.registration.kind} by pid ${s.registration.pid}` : '';
    return {
      label: socketLabel(s),
      description: `${plural(holders.length, 'descriptor')} in ${plural(pids.size, 'process', 'processes')}${registration}`,
      // The socket exists once its creating call returned (at the call's entry the replay would show it not open yet).
      seq: s.created.returnSeq,
      children: socketFacts(model, s.id).map((n) => plain(n, 2)),
    };
  });
  const pending = model.pendingHandoffs().map((h) => ({ label: h.id, description: pendingHandoffText(model, h), seq: h.exportCall.returnSeq }));
  const serious = model.findings().filter((f) => f.severity !== 'info');
  const errors = serious.filter((f) => f.severity === 'error').length;
  return [
    { label: 'Sockets', description: `${sockets.length} open`, children: sockets },
    { label: 'Pending handoffs', description: String(pending.length), children: pending },
    { label: 'Findings', description: `${plural(errors, 'error')}, ${plural(serious.length - errors, 'warning')}`, children: findingNodes(model, serious) },
  ];
}

/** The newest errors and warnings first, each moving a replay to the event that raised it. */
function findingNodes(model: ShareModel, serious: readonly Finding[]): OverviewNode[] {
  return serious.slice(-RECENT_FINDINGS).reverse().map((f) => ({
    label: findingTitle(f),
    description: f.message,
    severity: f.severity,
    seq: f.seq,
    children: [
      { label: 'message', description: f.message },
      { label: 'raised at', description: `event ${f.seq}`, seq: f.seq },
      { label: 'events', description: f.events.join(', ') },
      ...(f.socketLabel ? [{ label: 'socket', description: f.socketLabel }] : []),
      { label: 'processes', description: findingProcesses(model, f) },
    ],
  }));
}
