/**
 * The words for findings: counts by severity, groups by socket, one finding in a line, its facts, and what part a
 * call played in one (the registration that was cancelled, the export, the import, the close).
 */

import { descriptorLabel, handleLabel, socketLabel, type Finding, type Handoff, type Severity, type ShareModel } from '../model';
import { closedByText } from './descriptors';
import { recentFirst, uniqueNames, type Fact } from './facts';
import { eventList } from './text';

export const SEVERITY_ORDER: readonly Severity[] = ['error', 'warning', 'info'];

export function isInfo(f: Finding): boolean {
  return f.severity === 'info';
}

/** The most severe severity among findings, or undefined for none. */
export function worstSeverity(findings: readonly Finding[]): Severity | undefined {
  return SEVERITY_ORDER.find((s) => findings.some((f) => f.severity === s));
}

export type Tally = Record<Severity, number>;

export function tally(findings: readonly Finding[]): Tally {
  const counts: Tally = { error: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  return counts;
}

function count(n: number, severity: Severity): string {
  return `${n} ${severity}${severity === 'info' || n === 1 ? '' : 's'}`;
}

/** "2 errors, 1 warning, 3 info": every severity counted, as `sockshare check` ends. */
export function tallyLine(counts: Tally): string {
  return SEVERITY_ORDER.map((s) => count(counts[s], s)).join(', ');
}

/** "1 error, 2 info": the severities there are, or "none". */
export function severitySummary(findings: readonly Finding[]): string {
  if (findings.length === 0) return 'none';
  const counts = tally(findings);
  return SEVERITY_ORDER.filter((s) => counts[s] > 0).map((s) => count(counts[s], s)).join(', ');
}

/** "registration-cancelled: WSAEventSelect in target.exe …" */
export function findingText(f: Finding): string {
  return `${f.rule}: ${f.message}`;
}

/** "error registration-cancelled" */
export function findingTitle(f: Finding): string {
  return `${f.severity} ${f.rule}`;
}

/** The info findings by rule, the most frequent rule first (a trace closes many sockets: they should not bury the rest). */
export function infoByRule(findings: readonly Finding[]): { readonly rule: string; readonly findings: readonly Finding[] }[] {
  const byRule = new Map<string, Finding[]>();
  for (const f of findings) {
    if (!isInfo(f)) continue;
    const list = byRule.get(f.rule);
    if (list) list.push(f);
    else byRule.set(f.rule, [f]);
  }
  return [...byRule].map(([rule, list]) => ({ rule, findings: list })).sort((a, b) => b.findings.length - a.findings.length);
}

/** "39 socket-closed, 2 descriptor-closed" */
export function ruleCounts(groups: readonly { readonly rule: string; readonly findings: readonly Finding[] }[]): string {
  return groups.map((g) => `${g.findings.length} ${g.rule}`).join(', ');
}

export const NO_SOCKET_TITLE = 'Not tied to a socket';

export interface FindingGroup {
  /** "socket #1 (TCP ? -> 127.0.0.1:5000)", or "Not tied to a socket". */
  readonly title: string;
  readonly socketId?: string;
  readonly findings: readonly Finding[];
}

/** A socket id's place in creation order (ids are s1, s2, …). */
function socketOrder(id: string): number {
  const n = Number(id.slice(1));
  return Number.isFinite(n) ? n : Number.MAX_SAFE_INTEGER;
}

/**
 * Findings by socket, sockets in creation order, findings about no socket last. A socket the model no longer keeps
 * (`check` models without history) is titled as its findings named it.
 */
export function findingGroups(model: ShareModel, findings: readonly Finding[]): FindingGroup[] {
  const bySocket = new Map<string, Finding[]>();
  const rest: Finding[] = [];
  for (const f of findings) {
    if (f.socketId === undefined) {
      rest.push(f);
      continue;
    }
    const list = bySocket.get(f.socketId);
    if (list) list.push(f);
    else bySocket.set(f.socketId, [f]);
  }
  const groups: FindingGroup[] = [...bySocket.keys()].sort((a, b) => socketOrder(a) - socketOrder(b)).map((id) => {
    const list = bySocket.get(id) ?? [];
    const socket = model.socket(id);
    return { title: socket ? socketLabel(socket) : (list[list.length - 1]?.socketLabel ?? `socket #${id.slice(1)}`), socketId: id, findings: list };
  });
  if (rest.length > 0) groups.push({ title: NO_SOCKET_TITLE, findings: rest });
  return groups;
}

function findingDetails(model: ShareModel, f: Finding): Fact[] {
  return [
    { name: 'rule', value: f.rule },
    { name: 'severity', value: f.severity },
    { name: 'message', value: f.message },
    { name: 'raised at', value: `event ${f.seq}` },
    { name: 'events', value: f.events.join(', ') },
    ...(f.socketLabel ? [{ name: 'socket', value: f.socketLabel }] : []),
    { name: 'pids', value: findingProcesses(model, f) },
  ];
}

/** "source.exe (pid 364), target.exe (pid 512)", or "none" */
export function findingProcesses(model: ShareModel, f: Finding): string {
  return f.pids.map((pid) => model.processLabel(pid)).join(', ') || 'none';
}

/** The findings raised so far, newest last: "error registration-cancelled" → its message. */
export function findingFacts(model: ShareModel): Fact[] {
  const fact = (f: Finding): Fact => ({ name: findingTitle(f), value: f.message, children: () => findingDetails(model, f) });
  return uniqueNames(recentFirst(() => model.findings(), model.findingCount, fact, 'earlier findings', (n) => model.latestFindings(n)));
}

/** "  error  registration-cancelled: … (events 23, 32)": one finding in a console line. */
export function findingConsoleLine(f: Finding): string {
  return `  ${f.severity}  ${findingText(f)} (${eventList(f.events)})`;
}

/** The handoffs by the seq of their export call and of each import call. */
export interface HandoffCalls {
  byExport(callSeq: number): Handoff | undefined;
  byImport(callSeq: number): Handoff | undefined;
}

/** What the call with entry `callSeq` did in `finding`, from the model; `otherwise` words an event it cannot place. */
export function involvement(model: ShareModel, handoffs: HandoffCalls, callSeq: number, finding: Finding, otherwise: (seq: number) => string): string {
  const socket = finding.socketId === undefined ? undefined : model.socket(finding.socketId);
  if (socket) {
    for (const r of socket.cancelledRegistrations) {
      if (r.call.seq === callSeq) return `the ${r.kind} whose registration was cancelled (${model.processLabel(r.pid)}, descriptor ${handleLabel(r.handle)})`;
      if (r.cancelledBy?.seq === callSeq) return `the ${r.cancelledBy.api} that cancelled the registration of ${model.processLabel(r.pid)}`;
    }
    if (socket.created.seq === callSeq) return `the ${socket.created.api} that created ${socketLabel(socket)}`;
    for (const d of model.descriptorsOf(socket)) {
      const where = descriptorLabel(model.state, d);
      if (d.created.seq === callSeq) return `the ${d.created.api} that ${d.origin === 'import' ? 'imported' : 'created'} ${where}`;
      if (d.closeEvents?.includes(callSeq)) return `the ${closedByText(d.closedBy)} that closed ${where}`;
    }
  }
  const exported = handoffs.byExport(callSeq);
  if (exported) return `the export: ${exported.exportCall.api} in ${model.processLabel(exported.sourcePid)} for ${model.processLabel(exported.targetPid)}`;
  const imported = handoffs.byImport(callSeq);
  if (imported) {
    const n = imported.imports.findIndex((i) => i.call.seq === callSeq);
    const which = n === 0 ? 'the first import' : `import ${n + 1}`;
    return `${which} of the WSAPROTOCOL_INFO exported at event ${imported.exportCall.seq}, in ${model.processLabel(imported.imports[n].call.pid)}`;
  }
  return otherwise(callSeq);
}
