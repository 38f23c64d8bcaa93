/** The sections every report format prints, as plain rows: the trace's facts, its processes and its handoffs. */

import type { TraceEvent, TraceHeader } from '../trace/schema';
import type { ProcessRole, ShareModel } from '../model';
import {
  exitText, handoffOutcome, handoffSocketText, handoffSourceText, importRowText, plural, programCalls, severitySummary,
} from '../describe';

/** The trace header and counts, as label/value pairs. */
export function traceFacts(header: TraceHeader, events: readonly TraceEvent[], model: ShareModel): [string, string][] {
  const facts: [string, string][] = [
    ['Recorded', header.startTime],
    ['Host OS', header.hostOs],
    ['Tracer', header.tracerVersion],
    ['Format', `${header.format} v${header.version}`],
  ];
  for (const [key, value] of Object.entries(header.capture ?? {})) facts.push([`Capture ${key}`, typeof value === 'string' ? value : JSON.stringify(value)]);
  const calls = programCalls(events).length;
  facts.push(['Events', `${events.length} (${plural(calls, 'program call')})`]);
  facts.push(['Processes', String(model.processes().length)]);
  facts.push(['Handoffs', String(model.handoffs().length)]);
  facts.push(['Findings', severitySummary(model.findings())]);
  return facts;
}

export interface ProcessRow {
  readonly pid: number;
  readonly image: string;
  readonly role: ProcessRole;
  /** The exit code, or "running" when the trace ended before the process did. */
  readonly exit: string;
}

export function processRows(model: ShareModel): ProcessRow[] {
  return model.processes().map((p) => ({ pid: p.pid, image: p.image, role: model.role(p.pid), exit: exitText(p) }));
}

/** One handoff as the reports list it: who exported what for whom, and what became of it. */
export interface HandoffRow {
  readonly id: string;
  readonly exportSeq: number;
  /** "source.exe (pid 364), descriptor 0x1a4" */
  readonly source: string;
  readonly target: string;
  readonly socket: string;
  /** "#17 by target.exe (pid 512): descriptor 0x2b8", "#17 by other.exe (pid 777): failed (WSAEINVAL)", or "none" */
  readonly imports: string;
  readonly status: string;
}

export function handoffRows(model: ShareModel): HandoffRow[] {
  return model.handoffs().map((h) => ({
    id: h.id,
    exportSeq: h.exportCall.seq,
    source: handoffSourceText(model, h),
    target: model.processLabel(h.targetPid),
    socket: handoffSocketText(model, h),
    imports: h.imports.length > 0 ? h.imports.map((i) => importRowText(model, i)).join('; ') : 'none',
    status: handoffOutcome(h),
  }));
}
