/**
 * What the exporters share: calls paired with their returns, the compact call form, escaping, the lane plan
 * (which process goes in which column) and the report sections every format prints (facts, findings, processes).
 * Meaning comes from the model; this module only reads events and formats.
 */

import type { ApiCallEvent, ApiReturnEvent, ArgValue, TraceEvent, TraceHeader } from '../trace/schema';
import { isProtocolInfo } from '../trace/schema';
import {
  AF_NAMES, FD_FLAGS, IOCTL_NAMES, IPPROTO_NAMES, LEVEL_NAMES, SHUTDOWN_NAMES, SOCK_NAMES, WSA_FLAGS,
  baseName, errorName, flagNames, handleLabel, hex, nameOf, optionName, plural, socketLabel,
  type Finding, type Handoff, type ProcessRole, type Severity, type ShareModel,
} from '../model';

// ---- Calls and their returns ----

/** One hooked call: its entry event and, unless the process died mid-call, its return event. */
export interface HookedCall {
  readonly call: ApiCallEvent;
  readonly ret?: ApiReturnEvent;
}

/** Every hooked call in seq order, each paired with the return whose callSeq names it. */
export function pairCalls(events: readonly TraceEvent[]): HookedCall[] {
  const returns = new Map<number, ApiReturnEvent>();
  for (const e of events) if (e.kind === 'api' && e.phase === 'return') returns.set(e.callSeq, e);
  const calls: HookedCall[] = [];
  for (const e of events) if (e.kind === 'api' && e.phase === 'call') calls.push({ call: e, ret: returns.get(e.seq) });
  return calls;
}

/** The calls the program made itself (not the ones Winsock made from inside ws2_32). */
export function programCalls(events: readonly TraceEvent[]): HookedCall[] {
  return pairCalls(events).filter((c) => !c.call.internal);
}

// ---- The compact call form ----

/** Arguments the compact form leaves out: out-buffers and lengths that say nothing about the socket. */
const HIDDEN_ARGS: Record<string, readonly string[]> = {
  WSADuplicateSocketA: ['lpProtocolInfo'],
  WSADuplicateSocketW: ['lpProtocolInfo'],
  bind: ['namelen'],
  connect: ['namelen'],
  WSAConnect: ['namelen'],
  accept: ['addr', 'addrlen'],
};

const SOCKET_RESULT_APIS = new Set(['socket', 'WSASocketA', 'WSASocketW', 'accept', 'WSAAccept']);

type ArgNamer = (value: number, args: Record<string, ArgValue>) => string;

/** Arguments shown by name (Winsock constants) or in hex (descriptors, versions, control codes). */
const ARG_NAMERS: Record<string, ArgNamer> = {
  s: handleLabel,
  sListenSocket: handleLabel,
  sAcceptSocket: handleLabel,
  af: (v) => nameOf(AF_NAMES, v),
  type: (v) => nameOf(SOCK_NAMES, v),
  protocol: (v) => nameOf(IPPROTO_NAMES, v),
  dwFlags: (v) => flagNames(WSA_FLAGS, v),
  lNetworkEvents: (v) => flagNames(FD_FLAGS, v),
  lEvent: (v) => flagNames(FD_FLAGS, v),
  how: (v) => nameOf(SHUTDOWN_NAMES, v),
  level: (v) => nameOf(LEVEL_NAMES, v),
  optname: (v, args) => optionName(typeof args.level === 'number' ? args.level : -1, v).replace(/^[^/]*\//, ''),
  cmd: (v) => IOCTL_NAMES[v >>> 0] ?? hex(v >>> 0),
  dwIoControlCode: (v) => IOCTL_NAMES[v >>> 0] ?? hex(v >>> 0),
  wVersionRequested: hex,
};

export function formatArg(name: string, value: ArgValue, args: Record<string, ArgValue> = {}): string {
  if (isProtocolInfo(value)) return 'WSAPROTOCOL_INFO';
  if (value === null) return 'NULL';
  const namer = ARG_NAMERS[name];
  if (typeof value === 'number' && namer) return namer(value, args);
  return typeof value === 'string' ? value : String(value);
}

/** Arguments left out when zero, their default (WSASocket's socket group g). */
const HIDDEN_WHEN_ZERO = new Set(['g']);

/** "s=0x1a4, dwProcessId=512": the arguments worth reading, NULL pointers and defaults left out. */
export function formatArgs(call: ApiCallEvent): string {
  const hidden = HIDDEN_ARGS[call.api] ?? [];
  return Object.entries(call.args)
    .filter(([name, value]) => value !== null && !hidden.includes(name) && !(value === 0 && HIDDEN_WHEN_ZERO.has(name)))
    .map(([name, value]) => `${name}=${formatArg(name, value, call.args)}`)
    .join(', ');
}

/** "0x2b8", "SOCKET_ERROR (WSAEINVAL)", or "?" while the call has not returned. */
export function formatResult(call: ApiCallEvent, ret?: ApiReturnEvent): string {
  if (!ret) return '? (never returned)';
  let value: string;
  if (SOCKET_RESULT_APIS.has(call.api)) value = ret.result === -1 ? 'INVALID_SOCKET' : handleLabel(ret.result);
  else value = ret.result === -1 ? 'SOCKET_ERROR' : String(ret.result);
  return ret.error === undefined ? value : `${value} (${errorName(ret.error)})`;
}

/** "WSADuplicateSocketW(s=0x1a4, dwProcessId=512) = 0" */
export function formatCall(call: ApiCallEvent, ret?: ApiReturnEvent): string {
  return `${call.api}(${formatArgs(call)}) = ${formatResult(call, ret)}`;
}

// ---- Escaping ----

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text and attribute values for HTML and SVG. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]);
}

/** Plain Markdown text: no emphasis, links, code or HTML can come out of it. Intraword "_" stays (FD_READ). */
export function escapeMarkdown(text: string): string {
  const alnum = (c: string | undefined) => c !== undefined && /[A-Za-z0-9]/.test(c);
  return text.replace(/[\\`*[\]<&_]/g, (c, at: number) => (c === '_' && alnum(text[at - 1]) && alnum(text[at + 1]) ? c : `\\${c}`));
}

/** A Markdown code span that holds any text, backticks included. */
export function markdownCode(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longestRun + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** A table cell: pipes escaped (GFM splits cells on them even inside code spans), no line breaks. */
export function markdownCell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

// ---- Processes and lanes ----

export function roleTitle(role: ProcessRole): string {
  return role.charAt(0).toUpperCase() + role.slice(1);
}

/** "source.exe (pid 364)", or "pid 364" for a process the trace never saw start. */
export function processTitle(model: ShareModel, pid: number): string {
  const p = model.processes().find((q) => q.pid === pid);
  return p ? `${baseName(p.image)} (pid ${pid})` : `pid ${pid}`;
}

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
    return { pid, role, title: `${roleTitle(role)}: ${processTitle(model, pid)}`, image: image === undefined ? undefined : baseName(image) };
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

// ---- Findings ----

export const SEVERITY_ORDER: readonly Severity[] = ['error', 'warning', 'info'];

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

/** The most severe severity among findings, or undefined for none. */
export function worstSeverity(findings: readonly Finding[]): Severity | undefined {
  return SEVERITY_ORDER.find((s) => findings.some((f) => f.severity === s));
}

export interface FindingGroup {
  /** "socket #1 (TCP ? -> 127.0.0.1:5000)", or "Not about one socket". */
  readonly title: string;
  readonly socketId?: string;
  readonly findings: readonly Finding[];
}

/** Findings by socket, sockets in creation order, findings without a socket last; only those `include` keeps. */
export function findingGroups(model: ShareModel, include: (f: Finding) => boolean = () => true): FindingGroup[] {
  const findings = model.findings().filter(include);
  const groups: FindingGroup[] = model.sockets()
    .map((s) => ({ title: socketLabel(s), socketId: s.id, findings: findings.filter((f) => f.socketId === s.id) }))
    .filter((g) => g.findings.length > 0);
  const known = new Set(groups.map((g) => g.socketId));
  const rest = findings.filter((f) => f.socketId === undefined || !known.has(f.socketId));
  if (rest.length > 0) groups.push({ title: 'Not about one socket', findings: rest });
  return groups;
}

export function isInfo(f: Finding): boolean {
  return f.severity === 'info';
}

/** The info findings by rule, the most frequent rule first (a trace closes many sockets: they should not bury the rest). */
export function infoByRule(model: ShareModel): { readonly rule: string; readonly findings: readonly Finding[] }[] {
  const byRule = new Map<string, Finding[]>();
  for (const f of model.findings()) {
    if (!isInfo(f)) continue;
    const list = byRule.get(f.rule);
    if (list) list.push(f);
    else byRule.set(f.rule, [f]);
  }
  return [...byRule].map(([rule, findings]) => ({ rule, findings })).sort((a, b) => b.findings.length - a.findings.length);
}

/** "39 socket-closed, 2 descriptor-closed" */
export function ruleCounts(groups: readonly { readonly rule: string; readonly findings: readonly Finding[] }[]): string {
  return groups.map((g) => `${g.findings.length} ${g.rule}`).join(', ');
}

/** "1 error, 1 warning, 2 info" */
export function severitySummary(findings: readonly Finding[]): string {
  if (findings.length === 0) return 'none';
  return SEVERITY_ORDER.map((s) => [s, findings.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}${s === 'info' || n === 1 ? '' : 's'}`)
    .join(', ');
}

/** "#17, #18, #19" */
export function seqList(seqs: readonly number[]): string {
  return seqs.map((s) => `#${s}`).join(', ');
}

// ---- Report sections ----

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
  return model.handoffs().map((h) => {
    const socket = h.socketId === undefined ? undefined : model.socket(h.socketId);
    const imports = h.imports.map((i) => {
      const by = `#${i.call.seq} by ${processTitle(model, i.call.pid)}`;
      if (!i.ok) return `${by}: failed${i.error === undefined ? '' : ` (${errorName(i.error)})`}`;
      const d = i.descriptorId === undefined ? undefined : model.descriptor(i.descriptorId);
      return d ? `${by}: descriptor ${handleLabel(d.handle)}` : by;
    });
    return {
      id: h.id,
      exportSeq: h.exportCall.seq,
      source: `${processTitle(model, h.sourcePid)}, descriptor ${handleLabel(h.sourceHandle)}`,
      target: processTitle(model, h.targetPid),
      socket: socket ? socketLabel(socket) : 'not traced',
      imports: imports.length > 0 ? imports.join('; ') : 'none',
      status: handoffStatus(h),
    };
  });
}

function handoffStatus(h: Handoff): string {
  if (h.settled === 'never-imported') return 'never imported';
  if (h.settled === 'source-kept-open') return 'imported; the source kept its descriptor open';
  if (h.imports.some((i) => i.ok && i.call.pid === h.targetPid)) return 'imported';
  return h.imports.length > 0 ? 'not imported by its target' : 'not imported yet';
}

export function processRows(model: ShareModel): ProcessRow[] {
  return model.processes().map((p) => ({ pid: p.pid, image: p.image, role: model.role(p.pid), exit: p.exitCode === undefined ? 'running' : String(p.exitCode) }));
}
