/**
 * How the lane exports (the Markdown timeline, the SVG diagram) lay a trace out: which process goes in which column,
 * the export → import links across the IPC column, and the findings marked on each call.
 */

import type { Finding, ProcessRole, ShareModel } from '../model';
import { baseName, roleTitle, type HookedCall } from '../describe';

export interface Lane {
  readonly pid: number;
  readonly role: ProcessRole;
  /** "Source: source.exe (pid 364)" */
  readonly title: string;
  /** The image's file name ("source.exe"), when the trace saw the process start. */
  readonly image?: string;
}

/** Columns left of the IPC column (the exporting processes) and right of it (targets and the rest). */
export interface LanePlan {
  readonly left: readonly Lane[];
  readonly right: readonly Lane[];
}

/**
 * One lane per process that made a call, sources left of IPC, every other process right of it (a two-process
 * handoff gives Source | IPC | Target). Without any source, the first process takes the left side.
 */
export function planLanes(model: ShareModel, calls: readonly HookedCall[]): LanePlan {
  const started = model.processes().map((p) => p.pid);
  const calling = new Set(calls.map((c) => c.call.pid));
  const pids = [...new Set([...started.filter((pid) => calling.has(pid)), ...calling])];
  const lanes = pids.map((pid): Lane => {
    const role = model.role(pid);
    const image = model.process(pid)?.image;
    return { pid, role, title: `${roleTitle(role)}: ${model.processLabel(pid)}`, image: image === undefined ? undefined : baseName(image) };
  });
  const isSource = (lane: Lane) => lane.role === 'source' || lane.role === 'source+target';
  const left = lanes.filter(isSource);
  const right = lanes.filter((lane) => !isSource(lane));
  if (left.length === 0 && right.length > 1) left.push(right.shift() as Lane);
  return { left, right };
}

/** One export → import pair of a handoff, as the model links them. */
export interface HandoffLink {
  readonly handoffId: string;
  readonly exportSeq: number;
  readonly importSeq: number;
  readonly ok: boolean;
}

export function handoffLinks(model: ShareModel): HandoffLink[] {
  return model.handoffs().flatMap((h) => h.imports.map((i) => ({ handoffId: h.id, exportSeq: h.exportCall.seq, importSeq: i.call.seq, ok: i.ok })));
}

/**
 * The findings to mark on each call (by call seq): errors and warnings on every call they involve, info findings
 * only on the call that raised them, so a creation is not flagged by every later close.
 */
export function findingsByCall(calls: readonly HookedCall[], findings: readonly Finding[]): Map<number, Finding[]> {
  const callOf = new Map<number, number>();
  for (const { call, ret } of calls) {
    callOf.set(call.seq, call.seq);
    if (ret) callOf.set(ret.seq, call.seq);
  }
  const marks = new Map<number, Finding[]>();
  for (const finding of findings) {
    const involved = finding.severity === 'info' ? [finding.seq] : finding.events;
    const callSeqs = new Set(involved.map((seq) => callOf.get(seq)).filter((seq): seq is number => seq !== undefined));
    for (const seq of callSeqs) marks.set(seq, [...(marks.get(seq) ?? []), finding]);
  }
  return marks;
}

/** "⚠ registration-cancelled" per finding rule marked on a call (ℹ for info findings). */
export function findingMarks(findings: readonly Finding[]): string {
  const seen = new Set<string>();
  const marks: string[] = [];
  for (const f of findings) {
    if (seen.has(f.rule)) continue;
    seen.add(f.rule);
    marks.push(`${f.severity === 'info' ? 'ℹ' : '⚠'} ${f.rule}`);
  }
  return marks.join(' ');
}
